/** `switchyard serve`, `switchyard deployments …` and `switchyard models …`: model serving through the gateway. */
import { toJson } from "@bufbuild/protobuf";
import { DeploymentSchema, ModelVersionSchema, type Deployment } from "@switchyard/api";
import { Code, SwitchyardError, errorText, parseDurationMs } from "@switchyard/core";
import { parseDeploymentManifest } from "@switchyard/specs";
import type { Command } from "commander";
import { CliExit, EXIT, type Api, type GlobalOptions } from "./api.js";
import { readManifest, withApi } from "./cmd-jobs.js";
import { appliedText, deploymentsTable, describeDeployment, modelsTable, registeredText, trafficText } from "./deployment-format.js";
import { waitForDeployment } from "./deployment-wait.js";
import { parseFormat } from "./format.js";
import { buildServeManifest, canaryPercent, checkDeploymentName, checkServeMode, type ServeFlags } from "./serve-manifest.js";

const DEFAULT_WAIT = "5m";

function timeoutMs(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) throw new CliExit(EXIT.usage, `--timeout "${text}" is not a duration such as 90s, 2m or 1h`);
  return ms;
}

interface Prepared {
  manifest: string;
  baseDir: string;
  canary: number | undefined;
}

/**
 * A manifest file is read here first, so that its mistakes are reported with the file's name, line and column (the
 * request carries no file name). The service parses it again with the same code.
 */
function checkManifestFile(text: string, file: string): void {
  try {
    parseDeploymentManifest(text, { file });
  } catch (err) {
    const e = SwitchyardError.from(err);
    if (e.code === Code.InvalidArgument) throw new CliExit(EXIT.usage, errorText(e.message, e.details));
  }
}

/** What `serve` checks before any server is needed; the manifest (or the file) and the canary it sends. */
function prepareServe(g: GlobalOptions, name: string | undefined, command: string[], o: ServeFlags): Prepared {
  checkServeMode(name, command, o, g.team);
  if (o.wait) timeoutMs(o.timeout ?? DEFAULT_WAIT);
  const canary = canaryPercent(o.canary);
  if (o.file !== undefined) {
    const m = readManifest(o.file);
    checkManifestFile(m.text, m.fileName);
    return { manifest: m.text, baseDir: m.baseDir, canary };
  }
  const cwd = process.cwd();
  return { manifest: buildServeManifest(name!, o, command, { team: g.team, cwd }).text, baseDir: cwd, canary };
}

/** Applies, prints what happened, and with --wait waits for a ready replica: exit 0 ready, 1 not. */
async function applyAndReport(api: Api, p: Prepared, o: { dryRun?: boolean; wait?: boolean; timeout?: string }): Promise<number> {
  const res = await api.serving.applyDeployment({ manifest: p.manifest, baseDir: p.baseDir, dryRun: o.dryRun === true, ...(p.canary !== undefined ? { canaryTrafficPercent: p.canary } : {}) });
  for (const w of res.warnings) process.stderr.write(`warning: ${w}\n`);
  const d = res.deployment!;
  process.stdout.write(appliedText(res, api.server, o.dryRun === true) + "\n");
  if (o.dryRun) {
    if (d.manifest !== "") process.stdout.write(d.manifest.endsWith("\n") ? d.manifest : `${d.manifest}\n`);
    return EXIT.ok;
  }
  if (!o.wait) return EXIT.ok;
  const timeoutText = o.timeout ?? DEFAULT_WAIT;
  const r = await waitForDeployment(() => api.serving.getDeployment({ name: d.name }), { timeoutMs: timeoutMs(timeoutText), timeoutText, report: (line) => process.stderr.write(line + "\n") });
  process.stderr.write(r.text + "\n");
  return r.ok ? EXIT.ok : EXIT.failed;
}

const SERVE_EXAMPLES = `
Examples:
  switchyard serve demo --model job://demo-train/model.onnx --wait      # a job's artifact
  switchyard serve demo --model models://demo@2 --min 0 --max 4 --target 8
  switchyard serve demo --model ./model.onnx --max-batch-size 32 --max-queue-delay-us 2000
  switchyard serve demo --model models://demo@3 --canary 10           # a new revision takes 10% of requests
  switchyard serve echo --custom -- python3 server.py                  # your own server of the Open Inference Protocol on $PORT
  switchyard serve -f isvc.yaml --wait                                 # a KServe InferenceService or a switchyard/v1 Deployment

The flags describe the whole deployment, as a manifest does: what is left out takes its default, also when NAME exists.
A change of model or serving configuration makes a new revision beside the current one (all traffic moves to it once it
is ready, or --canary PCT of it: then \`deployments promote\` or \`deployments rollback\`); a change of scale only changes
the current revision. Requests go to POST /v2/models/NAME/infer on the gateway (the Open Inference Protocol).
--team (before or after serve) is the deployment's team; exit codes: 0 done (with --wait: a replica is ready), 1 not
ready in time or failed, 2 invalid input, 3 the platform could not be reached or refused the credentials.`;

function registerServe(program: Command): void {
  const serve = program
    .command("serve")
    .argument("[name]", "the deployment's name (a DNS label): its requests go to /v2/models/NAME")
    .argument("[command...]", "with --custom, after `--`: the server's command and arguments")
    .description("serve a model: create a deployment, or change one (a new revision, or a new scale)")
    .option("-f, --file <file>", "a manifest instead of flags: KServe serving.kserve.io/v1beta1 InferenceService or switchyard/v1 Deployment (YAML or JSON)")
    .option("--model <uri>", "job://JOB/model.onnx, ./model.onnx or /abs/model.onnx (a file on this machine), or models://NAME[@VERSION]")
    .option("--replicas <n>", "a fixed number of replicas")
    .option("--min <n>", "autoscale: at least N replicas (0: scale to zero when idle)")
    .option("--max <n>", "autoscale: at most N replicas")
    .option("--target <n>", "autoscale: concurrent requests per replica to aim for")
    .option("--gpus <n>", "GPUs per replica (0.5: half of one)")
    .option("--cpu <cores>", "CPU cores per replica (2, 500m)")
    .option("--memory <quantity>", "memory per replica (4Gi, 512Mi)")
    .option("--canary <percent>", "the new revision takes this share of requests while the previous one serves the rest (0–100)")
    .option("--max-batch-size <n>", "batch requests together, up to N inputs in one model run")
    .option("--max-queue-delay-us <n>", "wait at most this many microseconds to fill a batch")
    .option("--preferred-batch-sizes <list>", "batch sizes to form when possible, e.g. 8,16")
    .option("--custom", "a server of your own: its command follows `--` (it serves the Open Inference Protocol over HTTP on $PORT)")
    .option("--wait", "wait until the newest revision has a ready replica; exit 0 when it has, 1 when it cannot or the time is up")
    .option("--timeout <duration>", `with --wait: how long (default ${DEFAULT_WAIT})`)
    .option("--dry-run", "validate and show the deployment it would make; change nothing")
    .addHelpText("after", SERVE_EXAMPLES);
  let prepared: Prepared | undefined;
  serve.action(
    withApi(
      serve,
      async (api, _g, _name: string | undefined, _command: string[], o: ServeFlags) => applyAndReport(api, prepared!, o),
      (g, name: string | undefined, command: string[], o: ServeFlags) => {
        prepared = prepareServe(g, name, command, o);
      },
    ),
  );
}

function printDeployment(d: Deployment, format: string | undefined, server: string): void {
  const f = parseFormat(format, ["table", "json", "yaml"]);
  if (f === "json") process.stdout.write(JSON.stringify(toJson(DeploymentSchema, d), null, 2) + "\n");
  else if (f === "yaml") process.stdout.write(d.manifest.endsWith("\n") ? d.manifest : `${d.manifest}\n`);
  else process.stdout.write(deploymentsTable([d]) + `\n  inference: POST ${server.replace(/\/+$/, "")}${d.url || `/v2/models/${d.name}`}/infer\n`);
}

function registerDeployments(program: Command): void {
  const deployments = program.command("deployments").alias("deployment").description("model deployments: list (the default), get, describe, apply, promote, rollback, delete");

  const list = deployments.command("list", { isDefault: true }).alias("ls").description("deployments of your teams (--team: one team's), with their state, ready replicas and traffic").option("-o, --output <format>", "table|json", "table");
  list.action(
    withApi(list, async (api, g, o: { output?: string }) => {
      const f = parseFormat(o.output, ["table", "json"]);
      const res = await api.serving.listDeployments({ team: g.team ?? "" });
      if (f === "json") process.stdout.write(JSON.stringify({ items: res.deployments.map((d) => toJson(DeploymentSchema, d)) }, null, 2) + "\n");
      else process.stdout.write((res.deployments.length ? deploymentsTable(res.deployments) : "no deployments (switchyard serve NAME --model … makes one)") + "\n");
    }, (_g, o: { output?: string }) => void parseFormat(o.output, ["table", "json"])),
  );

  const get = deployments.command("get").argument("<name>", "the deployment").description("a deployment: -o yaml is its manifest (apply it again with `serve -f`), -o json the API's form").option("-o, --output <format>", "table|yaml|json", "table");
  get.action(
    withApi(get, async (api, _g, name: string, o: { output?: string }) => {
      printDeployment(await api.serving.getDeployment({ name }), o.output, api.server);
    }, (_g, _name: string, o: { output?: string }) => void parseFormat(o.output, ["table", "json", "yaml"])),
  );

  const describe = deployments.command("describe").argument("<name>", "the deployment").description("a deployment with its revisions, traffic split and replicas (each a job)");
  describe.action(
    withApi(describe, async (api, _g, name: string) => {
      process.stdout.write(describeDeployment(await api.serving.getDeployment({ name }), api.server) + "\n");
    }),
  );

  const apply = deployments
    .command("apply")
    .description("create or change a deployment from a manifest (as `serve -f FILE`)")
    .requiredOption("-f, --file <file>", "KServe serving.kserve.io/v1beta1 InferenceService or switchyard/v1 Deployment (YAML or JSON)")
    .option("--canary <percent>", "the new revision takes this share of requests while the previous one serves the rest (0–100)")
    .option("--wait", "wait until the newest revision has a ready replica; exit 0 when it has, 1 when it cannot or the time is up")
    .option("--timeout <duration>", `with --wait: how long (default ${DEFAULT_WAIT})`)
    .option("--dry-run", "validate and show the deployment it would make; change nothing");
  let prepared: Prepared | undefined;
  apply.action(
    withApi(
      apply,
      async (api, _g, o: ServeFlags) => applyAndReport(api, prepared!, o),
      (g, o: ServeFlags) => {
        prepared = prepareServe(g, undefined, [], o);
      },
    ),
  );

  const change = (verb: string, description: string, call: (api: Api, name: string) => Promise<Deployment>, said: (d: Deployment) => string) => {
    const c = deployments.command(verb).argument("<name>", "the deployment").description(description);
    c.action(
      withApi(c, async (api, _g, name: string) => {
        process.stdout.write(said(await call(api, name)) + "\n");
      }),
    );
  };
  change("promote", "the canary revision takes all traffic; the previous one drains and stops", (api, name) => api.serving.promoteDeployment({ name }), (d) => `deployment/${d.name} promoted: traffic ${trafficText(d, true)}`);
  change("rollback", "abandon the canary revision: all traffic back to the previous one; the canary drains and stops", (api, name) => api.serving.rollbackDeployment({ name }), (d) => `deployment/${d.name} rolled back: traffic ${trafficText(d, true)}`);
  change(
    "delete",
    "stop taking requests, let those in flight finish, stop every replica and forget the deployment (registered models stay)",
    (api, name) => api.serving.deleteDeployment({ name }),
    (d) => `deployment/${d.name} deleted: new requests are refused; its replicas stop once those in flight have finished`,
  );
}

function registerModels(program: Command): void {
  const models = program.command("models").alias("model").description("the model registry: versioned models of a team, from jobs' artifacts — list (the default), register, delete");

  const register = models
    .command("register")
    .argument("<name>", "the model's name in the team's registry (a DNS label); versions count from 1")
    .description("record a new version of a model from a finished job's artifact (copied, with its checksum and the job's final metrics)")
    .requiredOption("--from <uri>", "job://JOB/PATH: a file the job wrote to $SWITCHYARD_OUTPUT_DIR, e.g. job://demo-train/model.onnx")
    .option("--description <text>", "what this version is");
  const checkRegister = (_g: GlobalOptions, name: string, o: { from: string }) => {
    checkDeploymentName(name, "a model's name");
    if (!/^job:\/\/[^/]+\/./.test(o.from)) {
      throw new CliExit(EXIT.usage, `--from ${o.from}: a model is registered from a job's artifact, job://JOB/PATH (e.g. job://demo-train/model.onnx; \`switchyard artifacts JOB\` lists them); a file on this machine can be served as it is: \`switchyard serve NAME --model ./model.onnx\``);
    }
  };
  register.action(
    withApi(register, async (api, g, name: string, o: { from: string; description?: string }) => {
      const v = await api.serving.registerModel({ name, from: o.from, team: g.team ?? "", description: o.description ?? "" });
      process.stdout.write(registeredText(v) + "\n");
    }, checkRegister),
  );

  const list = models.command("list", { isDefault: true }).alias("ls").argument("[name]", "only this model's versions").description("registered models of your teams (--team: one team's): versions, where each came from, metrics, size").option("-o, --output <format>", "table|json", "table");
  list.action(
    withApi(list, async (api, g, name: string | undefined, o: { output?: string }) => {
      const f = parseFormat(o.output, ["table", "json"]);
      const res = await api.serving.listModels({ name: name ?? "", team: g.team ?? "" });
      if (f === "json") process.stdout.write(JSON.stringify({ items: res.versions.map((v) => toJson(ModelVersionSchema, v)) }, null, 2) + "\n");
      else process.stdout.write((res.versions.length ? modelsTable(res.versions) : name ? `no versions of model ${name}` : "no models (switchyard models register NAME --from job://JOB/model.onnx adds one)") + "\n");
    }, (_g, _name: string | undefined, o: { output?: string }) => void parseFormat(o.output, ["table", "json"])),
  );

  const del = models.command("delete").alias("rm").argument("<name@version>", "the version to delete, e.g. demo@2").description("delete one version of a model and its file (refused while a deployment's revision serves it)");
  const checkDelete = (_g: GlobalOptions, ref: string) => void modelRef(ref);
  del.action(
    withApi(del, async (api, g, ref: string) => {
      const { name, version } = modelRef(ref);
      const v = await api.serving.deleteModel({ name, version, team: g.team ?? "" });
      process.stdout.write(`deleted models://${v.name}@${v.version} (${v.checksum})\n`);
    }, checkDelete),
  );
}

/** NAME@VERSION, as `models delete` takes it. */
function modelRef(ref: string): { name: string; version: number } {
  const m = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)@([1-9]\d{0,8})$/.exec(ref);
  if (!m) throw new CliExit(EXIT.usage, `${ref}: name a version as NAME@VERSION, e.g. demo@2 (switchyard models NAME lists the versions)`);
  return { name: m[1]!, version: Number(m[3]) };
}

export function registerServingCommands(program: Command): void {
  registerServe(program);
  registerDeployments(program);
  registerModels(program);
}
