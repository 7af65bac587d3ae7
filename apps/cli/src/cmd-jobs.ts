import { randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Job } from "@switchyard/api";
import { SwitchyardError, errorText } from "@switchyard/core";
import { jobSpecToManifest, parseJobManifest } from "@switchyard/specs";
import type { Command } from "commander";
import { stringify } from "yaml";
import { CliExit, EXIT, connectApi, explain, type Api, type GlobalOptions } from "./api.js";
import { duration, parseFormat, printJobs, resourcesLines, table } from "./format.js";
import { jobResource } from "./job-resource.js";
import { pollUntil } from "./poll.js";

const FINAL = new Set(["Succeeded", "Failed", "Cancelled"]);

interface SubmitFlags {
  wait?: boolean;
  follow?: boolean;
  generateName?: boolean;
  replace?: boolean;
  allowUnschedulable?: boolean;
  output?: string;
}

export function readManifest(file: string): { text: string; fileName: string; baseDir: string } {
  const path = resolve(file);
  try {
    return { text: readFileSync(path, "utf8"), fileName: file, baseDir: dirname(path) };
  } catch (err) {
    throw new CliExit(EXIT.usage, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Submits with a request id, retrying while the platform is unreachable: the same id never creates a second job. */
export async function submitManifest(api: Api, m: { text: string; fileName: string; baseDir: string }, generateName: boolean, more: { replace?: boolean; allowUnschedulable?: boolean } = {}) {
  const requestId = randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.jobs.submitJob({ requestId, manifest: m.text, fileName: m.fileName, baseDir: m.baseDir, generateName, replace: more.replace === true, allowUnschedulable: more.allowUnschedulable === true });
    } catch (err) {
      const ce = ConnectError.from(err);
      if (ce.code !== Code.Unavailable || attempt >= 4) throw err;
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
}

export async function followLogs(api: Api, name: string, team: string, replica: number, out: NodeJS.WritableStream): Promise<void> {
  for await (const chunk of api.jobs.getLogs({ name, team, replica, follow: true })) out.write(chunk.data);
}

/** A job Queued this long is said to wait, with why; again each time the reason changes. */
export const QUIET_WAIT_MS = 3000;

/**
 * Says why a job waits: nothing during its first `QUIET_WAIT_MS` in the queue (most jobs start by then), then the
 * waiting reason, and again whenever it changes (a job that is preempted and requeued starts a new quiet period).
 */
export class WaitReporter {
  private queuedSince: number | undefined;
  private last = "";

  constructor(
    private readonly name: string,
    private readonly out: NodeJS.WritableStream | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  see(job: Job): void {
    if (job.status?.phase !== "Queued") {
      this.queuedSince = undefined;
      this.last = "";
      return;
    }
    const t = this.now();
    this.queuedSince ??= t;
    if (this.out === undefined || t - this.queuedSince < QUIET_WAIT_MS) return;
    const why = job.status.message || job.status.reason || "queued";
    if (why === this.last) return;
    this.last = why;
    this.out.write(`job/${this.name} is waiting: ${why}\n`);
  }
}

/** Polls the job until `done` says so; with `report`, says why it waits while it is Queued (WaitReporter). */
async function pollJob(api: Api, name: string, team: string, done: (phase: string) => boolean, report?: NodeJS.WritableStream): Promise<Job> {
  const reporter = new WaitReporter(name, report);
  const polled = await pollUntil(() => api.jobs.getJob({ name, team }), (job) => done(job.status?.phase ?? ""), { onEach: (job) => reporter.see(job) });
  return polled.value;
}

/** Polls until the job ends; with `report`, says why it waits while it is Queued. */
export function waitForJob(api: Api, name: string, team: string, report?: NodeJS.WritableStream): Promise<Job> {
  return pollJob(api, name, team, (phase) => FINAL.has(phase), report);
}

/** Polls until the job has left the queue (started or ended), saying why it waits meanwhile. */
export function waitUntilStarted(api: Api, name: string, team: string, report: NodeJS.WritableStream): Promise<Job> {
  return pollJob(api, name, team, (phase) => phase !== "Queued", report);
}

function exitFor(job: Job): number {
  return job.status?.phase === "Succeeded" ? EXIT.ok : EXIT.failed;
}

/** Prints what submit or rerun answered, then waits or follows as asked. */
async function reportSubmitted(api: Api, res: Awaited<ReturnType<Api["jobs"]["submitJob"]>>, o: SubmitFlags): Promise<number> {
  const job = res.job!;
  for (const w of res.warnings) process.stderr.write(`warning: ${w}\n`);
  const name = job.metadata!.name;
  const team = job.metadata!.team;
  if (o.output === "json" || o.output === "yaml") process.stdout.write(printJobs([job], parseFormat(o.output)) + "\n");
  else process.stdout.write(`job/${name} submitted (uid ${job.metadata!.uid}, team ${team})${res.replayed ? " [already submitted]" : ""}\n`);
  if (!o.wait && !o.follow) return EXIT.ok;
  if (o.follow) {
    await waitUntilStarted(api, name, team, process.stderr);
    await followLogs(api, name, team, 0, process.stdout);
  }
  const final = await waitForJob(api, name, team, process.stderr);
  process.stderr.write(`job/${name} ${final.status?.phase}: ${final.status?.message}\n`);
  return exitFor(final);
}

type Action = (api: Api, g: GlobalOptions, ...args: never[]) => Promise<number | void>;

/**
 * Wraps an action: connects, runs, maps errors to messages and exit codes. `check` runs first, before any server is
 * needed: what is wrong with the arguments is said even where no platform is configured.
 */
export function withApi(cmd: Command, action: Action, check?: (g: GlobalOptions, ...args: never[]) => void) {
  return async (...args: unknown[]) => {
    const g = cmd.optsWithGlobals() as GlobalOptions;
    let api: Api | undefined;
    try {
      (check as ((g: GlobalOptions, ...a: unknown[]) => void) | undefined)?.(g, ...args);
      api = connectApi(g);
      const code = await (action as (api: Api, g: GlobalOptions, ...a: unknown[]) => Promise<number | void>)(api, g, ...args);
      process.exitCode = code ?? 0;
    } catch (err) {
      const e = explain(err, api?.server);
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = e.code;
    }
  };
}

/** The options submit and rerun share: what happens after the job is stored, and the fit check. */
function runOptions(cmd: Command): Command {
  return cmd
    .option("--wait", "wait until the job ends; exit 0 if it Succeeded, 1 if it Failed or was Cancelled")
    .option("--follow", "stream replica 0's logs until the job ends (implies --wait)")
    .option("--allow-unschedulable", "accept a job that can never fit on the current inventory (a cluster that will grow)")
    .option("-o, --output <format>", "table|json|yaml", "table");
}

export function registerJobCommands(program: Command): void {
  const submit = runOptions(
    program
      .command("submit")
      .argument("<file>", "job manifest: switchyard/v1 Job, Kubeflow PyTorchJob or TrainJob (YAML or JSON)")
      .description("submit a training job")
      .option("--generate-name", "add a random suffix to the job's name")
      .option("--replace", "a finished job of the same name is deleted first (its files stay until retention)"),
  );
  submit.action(
    withApi(submit, async (api, _g, file: string, o: SubmitFlags) => {
      const res = await submitManifest(api, readManifest(file), Boolean(o.generateName), { replace: Boolean(o.replace), allowUnschedulable: Boolean(o.allowUnschedulable) });
      return reportSubmitted(api, res, o);
    }),
  );

  const rerun = runOptions(
    program
      .command("rerun")
      .argument("<job>", "name or uid of a job to run again, as it ran (command, resources, environment, secrets)")
      .description("submit a job again from its stored spec: under the same name (the old job must have finished; it is replaced) or, with --generate-name, beside it")
      .option("--generate-name", "a fresh name; the old job stays"),
  );
  rerun.action(
    withApi(rerun, async (api, g, name: string, o: SubmitFlags) => {
      const res = await api.jobs.rerunJob({ name, team: g.team ?? "", generateName: Boolean(o.generateName), requestId: randomUUID(), allowUnschedulable: Boolean(o.allowUnschedulable) });
      return reportSubmitted(api, res, o);
    }),
  );

  const del = program
    .command("delete")
    .argument("<job>", "name or uid of a finished job")
    .description("delete a finished job: gone from get, list and describe, its name free again (cancel a running one first)")
    .option("--purge", "delete its logs, artifacts and checkpoints now too (otherwise they stay until its queue's retention or `switchyard gc`)");
  del.action(
    withApi(del, async (api, g, name: string, o: { purge?: boolean }) => {
      const res = await api.jobs.deleteJob({ name, team: g.team ?? "", purge: Boolean(o.purge) });
      const j = res.job!;
      const files = o.purge ? (res.purged ? `; its files are deleted (${res.freedBytes} bytes freed)` : "") : res.outputDir ? `; its files stay in ${res.outputDir} until retention (or \`switchyard gc\`): --purge deletes them now` : "";
      process.stdout.write(`job/${j.metadata!.name} deleted (it had ${j.status!.phase})${files}\n`);
    }),
  );

  const get = program.command("get").argument("<job>", "name or uid").description("show a job").option("-o, --output <format>", "table|json|yaml", "table");
  get.action(
    withApi(get, async (api, g, name: string, o: { output?: string }) => {
      const job = await api.jobs.getJob({ name, team: g.team ?? "" });
      process.stdout.write(printJobs([job], parseFormat(o.output)) + "\n");
    }),
  );

  const list = program
    .command("list")
    .alias("ls")
    .description("list jobs")
    .option("--state <phase>", "only jobs in this phase (Queued, Running, Succeeded, …)")
    .option("--queue <name>", "only jobs in this queue")
    .option("--user <name>", "only jobs this user submitted")
    .option("-o, --output <format>", "table|json|yaml", "table");
  list.action(
    withApi(list, async (api, g, o: { state?: string; queue?: string; user?: string; output?: string }) => {
      const res = await api.jobs.listJobs({ state: o.state ?? "", team: g.team ?? "", queue: o.queue ?? "", user: o.user ?? "" });
      const f = parseFormat(o.output);
      if (f !== "table") process.stdout.write((f === "json" ? JSON.stringify({ items: res.jobs.map(jobResource) }, null, 2) : stringify({ items: res.jobs.map(jobResource) })) + "\n");
      else process.stdout.write((res.jobs.length ? printJobs(res.jobs, "table") : "no jobs") + "\n");
    }),
  );

  const describe = program.command("describe").argument("<job>", "name or uid").description("a job with its replicas and events").option("-o, --output <format>", "table|json|yaml", "table");
  describe.action(
    withApi(describe, async (api, g, name: string, o: { output?: string }) => {
      const format = parseFormat(o.output);
      const res = await api.jobs.describeJob({ name, team: g.team ?? "" });
      const j = res.job!;
      if (format !== "table") {
        const events = res.events.map((e) => ({ time: e.time ? timestampDate(e.time).toISOString() : null, type: e.type, attempt: e.attempt, ...(e.replica >= 0 ? { replica: e.replica } : {}), message: e.message }));
        const doc = { job: jobResource(j), events };
        process.stdout.write((format === "json" ? JSON.stringify(doc, null, 2) : stringify(doc)) + "\n");
        return;
      }
      const s = j.status!;
      const lines = [
        `Name:       ${j.metadata!.name}`,
        `UID:        ${j.metadata!.uid}`,
        `Team:       ${j.metadata!.team}    Queue: ${j.spec!.queue}    Priority: ${j.spec!.priority}`,
        `Phase:      ${s.phase}${s.reason ? ` (${s.reason})` : ""}`,
        ...(s.message ? [`Message:    ${s.message}`] : []),
        `Command:    ${[...j.spec!.command, ...j.spec!.args].join(" ")}`,
        `Replicas:   ${j.spec!.replicas}    Restart: ${j.spec!.restartPolicy} (backoffLimit ${j.spec!.backoffLimit})    Attempt: ${s.attempt}`,
        ...resourcesLines(j),
        `Duration:   ${duration(s.startTime, s.completionTime)}`,
        "",
      ];
      if (s.replicas.length) {
        lines.push(table(["REPLICA", "ROLE", "STATE", "GPUS", "EXIT", "PID"], s.replicas.map((r) => [String(r.index), r.role, r.state, r.gpus.length ? r.gpus.join(",") : "-", r.exitCode === undefined ? "-" : String(r.exitCode), r.pid ? String(r.pid) : "-"])), "");
      }
      lines.push("Events:");
      lines.push(table(["TIME", "TYPE", "ATTEMPT", "MESSAGE"], res.events.map((e) => [e.time ? timestampDate(e.time).toISOString() : "-", e.type, String(e.attempt), e.message])));
      process.stdout.write(lines.join("\n") + "\n");
    }),
  );

  const logs = program.command("logs").argument("<job>", "name or uid").description("a replica's output").option("-f, --follow", "keep streaming until the replica ends").option("--replica <n>", "replica index", "0").option("--attempt <n>", "attempt (default: the latest)");
  logs.action(
    withApi(logs, async (api, g, name: string, o: { follow?: boolean; replica: string; attempt?: string }) => {
      for await (const chunk of api.jobs.getLogs({ name, team: g.team ?? "", replica: Number(o.replica), follow: Boolean(o.follow), attempt: o.attempt === undefined ? 0 : Number(o.attempt) })) process.stdout.write(chunk.data);
    }),
  );

  const metrics = program.command("metrics").argument("<job>", "name or uid").description("name=value metrics the job printed").option("-o, --output <format>", "table|json", "table");
  metrics.action(
    withApi(metrics, async (api, g, name: string, o: { output?: string }) => {
      const res = await api.jobs.getMetrics({ name, team: g.team ?? "" });
      if (parseFormat(o.output, ["table", "json"]) === "json") {
        const out = Object.fromEntries(res.series.map((s) => [s.name, { latest: s.latest, min: s.min, max: s.max, points: s.points.map((p) => ({ step: Number(p.step), value: p.value, time: p.time ? timestampDate(p.time).toISOString() : undefined })) }]));
        process.stdout.write(JSON.stringify(out, null, 2) + "\n");
        return;
      }
      process.stdout.write(table(["METRIC", "LATEST", "MIN", "MAX", "POINTS"], res.series.map((s) => [s.name, String(s.latest), String(s.min), String(s.max), String(s.points.length)])) + "\n");
    }),
  );

  const artifacts = program.command("artifacts").argument("<job>", "name or uid").description("files the job wrote to $SWITCHYARD_OUTPUT_DIR").option("--download <dir>", "copy them into DIR");
  artifacts.action(
    withApi(artifacts, async (api, g, name: string, o: { download?: string }) => {
      const team = g.team ?? "";
      const res = await api.jobs.listArtifacts({ name, team });
      if (!o.download) {
        const rows = res.artifacts.map((a) => [a.symlink ? `${a.path} (symbolic link: not served)` : a.path, a.symlink ? "-" : String(a.sizeBytes)]);
        process.stdout.write((rows.length ? table(["PATH", "BYTES"], rows) : "no artifacts") + "\n");
        return;
      }
      const root = resolve(o.download);
      for (const a of res.artifacts) {
        if (a.symlink) {
          process.stderr.write(`skipped ${a.path}: a symbolic link (links in a job's output are never served)\n`);
          continue;
        }
        const dest = resolve(root, a.path);
        if (!dest.startsWith(root + sep)) throw new CliExit(EXIT.failed, `the server listed an artifact path that leaves ${root}: "${a.path}"; nothing written for it`);
        mkdirSync(dirname(dest), { recursive: true });
        const stream = api.jobs.readArtifact({ name, team, path: a.path });
        await pipeline(Readable.from((async function* () { for await (const c of stream) yield c.data; })()), createWriteStream(dest));
        process.stdout.write(`${dest}\n`);
      }
    }),
  );

  const cancel = program.command("cancel").argument("<job>", "name or uid").description("stop every process of the job (SIGTERM, grace, SIGKILL)");
  cancel.action(
    withApi(cancel, async (api, g, name: string) => {
      const asked = Date.now();
      const job = await api.jobs.cancelJob({ name, team: g.team ?? "" });
      const done = job.status!.completionTime !== undefined && timestampDate(job.status!.completionTime).getTime() < asked - 1000;
      process.stdout.write(`job/${job.metadata!.name} ${job.status!.phase === "Cancelled" ? (done ? "was already cancelled" : "cancelled") : "cancelling"}\n`);
    }),
  );

  const gpus = program.command("gpus").description("the GPU inventory and who holds each GPU");
  gpus.action(
    withApi(gpus, async (api) => {
      const res = await api.jobs.listGpus({});
      if (res.gpus.length === 0) {
        process.stdout.write(res.node ? `no GPUs on ${res.node} (start with --gpus N to simulate some)\n` : "no GPUs on the cluster's nodes\n");
        return;
      }
      const used = (x: (typeof res.gpus)[number]) => [x.job || "-", x.gpuMilliUsed ? `${x.gpuMilliUsed / 10}%` : "-"];
      if (!res.node) {
        // A cluster's GPUs (the Slurm executor): per node, as its GRES say.
        process.stdout.write(table(["NODE", "INDEX", "TYPE", "JOB", "USED"], res.gpus.map((x) => [x.node, String(x.index), x.name, ...used(x)])) + "\n");
        return;
      }
      process.stdout.write(table(["INDEX", "NAME", "MEMORY", "UUID", "JOB", "USED"], res.gpus.map((x) => [String(x.index), x.name + (x.simulated ? " (simulated)" : ""), `${x.memoryMb} MiB`, x.uuid, ...used(x)])) + "\n");
    }),
  );

  program
    .command("validate")
    .argument("<file>", "job manifest")
    .description("check a manifest without submitting it; prints the native spec it becomes and the warnings")
    .action((file: string) => {
      const m = readManifest(file);
      try {
        const r = parseJobManifest(m.text, { file: m.fileName, baseDir: m.baseDir });
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        process.stdout.write(stringify(jobSpecToManifest(r.spec)));
        process.stderr.write(`${file}: valid ${r.source}\n`);
      } catch (err) {
        const e = SwitchyardError.from(err);
        process.stderr.write(`${errorText(e.message, e.details)}\n`);
        process.exitCode = EXIT.usage;
      }
    });
}
