/**
 * Slurm's command-line clients as the Slurm engine uses them (`sbatch`, `squeue`, `scontrol`, `scancel`, `sacct`),
 * and the parsing of what they print. Every command runs with a fixed environment (PATH, and SLURM_CONF when
 * configured; never this process's own, so a platform that itself runs inside a Slurm job does not leak its SLURM_*
 * variables into a submission) and a timeout. Job states are read in batches: the ids asked for within one turn of
 * the event loop go to one `squeue`.
 */
import { execFile } from "node:child_process";
import { Code, SwitchyardError } from "@switchyard/core";
import type { ExecutorNode } from "./executor.js";

export type SlurmCommand = "sbatch" | "squeue" | "scontrol" | "scancel" | "sacct";

export interface SlurmCliOptions {
  /** Path of each client. */
  commands: Readonly<Record<SlurmCommand, string>>;
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
  /** sbatch's own limit: it is run under `timeout -s KILL`, so that even an orphaned sbatch ends by then. */
  submitTimeoutMs: number;
}

/** A job as squeue shows it. */
export interface SlurmJob {
  id: string;
  name: string;
  /** PENDING, RUNNING, COMPLETING, COMPLETED, CANCELLED, FAILED, TIMEOUT, NODE_FAIL, … */
  state: string;
  reason: string;
  /** The numeric user id the job runs as (squeue's %U); null when Slurm did not say. */
  uid: number | null;
}

/** States in which a job holds (or waits for) an allocation: not over yet. */
const ACTIVE = new Set(["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"]);
/** States in which a job's processes may still run on its nodes. */
const HOLDING = new Set(["CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "SIGNALING", "STAGE_OUT", "STOPPED"]);

export function jobActive(state: string): boolean {
  return ACTIVE.has(state);
}

/** The outcome of a command that ran to its end. */
interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export class SlurmCli {
  private batch: Map<string, Array<(job: SlurmJob | null | Error) => void>> | null = null;
  private sacctWorks: boolean | undefined;

  constructor(private readonly o: SlurmCliOptions) {}

  /** Runs a client; rejects UNAVAILABLE when it could not run or timed out, resolves with its exit code otherwise. */
  run(command: SlurmCommand, args: readonly string[], input?: string): Promise<Ran> {
    const file = this.o.commands[command];
    return new Promise((resolve, reject) => {
      const child = execFile(file, args, { env: this.o.env, timeout: this.o.timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        const e = err as { code?: unknown; killed?: boolean; message: string } | null;
        if (e !== null && (typeof e.code !== "number" || e.killed === true)) {
          const why = e.killed === true ? `timed out after ${this.o.timeoutMs} ms` : e.message;
          return reject(new SwitchyardError(Code.Unavailable, `Slurm's ${command} (${file}) failed: ${why}; is Slurm up (SLURM_CONF, slurmctld)?`, { cause: err, retryable: true }));
        }
        resolve({ code: e === null ? 0 : (e.code as number), stdout, stderr });
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  /**
   * Submits; resolves with the job id. No answer (sbatch's time limit, a socket timeout, no controller) is UNAVAILABLE:
   * the job may or may not exist, and only a look by name can tell. Any other failure is a refusal (Slurm, or sbatch
   * itself, said no: an impossible request, a bad flag): FAILED_PRECONDITION with its message, `retryable` false.
   */
  async sbatch(args: readonly string[], timeoutPath: string): Promise<string> {
    const seconds = Math.max(1, Math.ceil(this.o.submitTimeoutMs / 1000));
    const file = this.o.commands.sbatch;
    const r = await new Promise<Ran>((resolve, reject) => {
      execFile(timeoutPath, ["-s", "KILL", `${seconds}s`, file, ...args], { env: this.o.env, timeout: this.o.submitTimeoutMs + 5000, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
        const e = err as { code?: unknown; message: string } | null;
        if (e !== null && typeof e.code !== "number") return reject(new SwitchyardError(Code.Unavailable, `sbatch (${file}) could not run: ${e.message}`, { cause: err, retryable: true }));
        resolve({ code: e === null ? 0 : (e.code as number), stdout, stderr });
      });
    });
    const id = /^(\d+)(;\S+)?\s*$/.exec(r.stdout.trim())?.[1];
    if (r.code === 0 && id !== undefined) return id;
    const message = (r.stderr.trim() || r.stdout.trim() || `exit code ${r.code}`).split("\n").slice(-3).join("; ");
    if (r.code === 137 || r.code === 124) {
      throw new SwitchyardError(Code.Unavailable, `sbatch did not answer within ${seconds} s: ${message}`, { retryable: true });
    }
    // No answer, or one that may have come after the controller took the job: only a look by name can tell.
    if (/Socket timed out|timed out|Zero Bytes were transmitted|Connection reset|Unable to contact slurm controller|connect failure|Transport endpoint/i.test(message)) {
      throw new SwitchyardError(Code.Unavailable, `sbatch failed (exit code ${r.code}): ${message}`, { retryable: true });
    }
    throw new SwitchyardError(Code.FailedPrecondition, `Slurm refused the allocation: ${message}`, { retryable: false });
  }

  /** The job's state, or null when Slurm no longer knows it (ended longer ago than MinJobAge, or never existed). */
  job(id: string): Promise<SlurmJob | null> {
    return new Promise((resolve, reject) => {
      if (this.batch === null) {
        this.batch = new Map();
        setImmediate(() => void this.flush());
      }
      const waiting = this.batch.get(id) ?? [];
      waiting.push((v) => (v instanceof Error ? reject(v) : resolve(v)));
      this.batch.set(id, waiting);
    });
  }

  private async flush(): Promise<void> {
    const batch = this.batch!;
    this.batch = null;
    const ids = [...batch.keys()];
    const found = new Map<string, SlurmJob>();
    try {
      for (let i = 0; i < ids.length; i += 500) {
        for (const job of await this.squeue(["-j", ids.slice(i, i + 500).join(",")])) found.set(job.id, job);
      }
    } catch (err) {
      for (const waiting of batch.values()) for (const w of waiting) w(err as Error);
      return;
    }
    for (const [id, waiting] of batch) for (const w of waiting) w(found.get(id) ?? null);
  }

  /**
   * Jobs named exactly `name` and, when `uid` is given, running as that user, in any state Slurm still remembers;
   * sacct's too when accounting is configured. Anyone may name a job anything: the user is what says it is ours.
   */
  async jobsNamed(name: string, sinceMs: number, uid?: number): Promise<string[]> {
    const ids = new Set((await this.squeue(["--name", name])).filter((j) => j.name === name && (uid === undefined || j.uid === uid)).map((j) => j.id));
    if (this.sacctWorks !== false) {
      const since = new Date(sinceMs - 86_400_000).toISOString().slice(0, 19);
      const r = await this.run("sacct", ["-n", "-X", "-P", "--name", name, "-o", "JobIDRaw,JobName,UID", "-S", since]).catch(() => null);
      if (r === null || r.code !== 0) this.sacctWorks = false;
      else {
        this.sacctWorks = true;
        for (const line of r.stdout.split("\n")) {
          const [id, jobName, jobUid] = line.split("|");
          if (id !== undefined && /^\d+$/.test(id) && jobName === name && (uid === undefined || Number(jobUid) === uid)) ids.add(id);
        }
      }
    }
    return [...ids].sort((a, b) => Number(a) - Number(b));
  }

  private async squeue(filter: string[]): Promise<SlurmJob[]> {
    const r = await this.run("squeue", ["--states=all", "-h", "-o", "%i|%T|%r|%U|%j", ...filter]);
    if (r.code !== 0) {
      // One unknown id alone makes squeue fail ("Invalid job id specified"); with others it just leaves it out.
      if (/Invalid job id/i.test(r.stderr)) return [];
      throw new SwitchyardError(Code.Unavailable, `squeue failed (exit code ${r.code}): ${r.stderr.trim()}`, { retryable: true });
    }
    return parseSqueue(r.stdout);
  }

  /** `scancel ARGS`; an already finished job is not an error. */
  async scancel(args: readonly string[]): Promise<void> {
    const r = await this.run("scancel", args);
    if (r.code !== 0 && !/already completing|completed|Invalid job id|not found/i.test(r.stderr)) {
      throw new SwitchyardError(Code.Unavailable, `scancel ${args.join(" ")} failed (exit code ${r.code}): ${r.stderr.trim()}`, { retryable: true });
    }
  }

  /**
   * The nodes of `partition` (when not given, of the cluster's default partition, where sbatch without --partition
   * submits) with what allocations other than the platform's (job names not starting with `ownPrefix`) hold on each:
   * `scontrol -d show node` and `scontrol -d show job`.
   */
  async inventory(partition: string | undefined, ownPrefix: string): Promise<ExecutorNode[]> {
    const [nodes, jobs] = await Promise.all([this.run("scontrol", ["-d", "-o", "show", "node"]), this.run("scontrol", ["-d", "-o", "show", "job"])]);
    partition ??= (this.defaultPartition ??= await this.readDefaultPartition()) ?? undefined;
    for (const [what, r] of [["nodes", nodes], ["jobs", jobs]] as const) {
      if (r.code !== 0 && !/No (jobs|nodes) in the system/i.test(r.stdout + r.stderr)) {
        throw new SwitchyardError(Code.Unavailable, `scontrol show ${what} failed (exit code ${r.code}): ${r.stderr.trim()}`, { retryable: true });
      }
    }
    return inventoryFrom(nodes.stdout, jobs.stdout, partition, ownPrefix);
  }

  /** Read once: the partition marked Default=YES, or null when none is (then every node is listed). */
  private defaultPartition: string | null | undefined;

  private async readDefaultPartition(): Promise<string | null> {
    const r = await this.run("scontrol", ["-o", "show", "partition"]);
    if (r.code !== 0) throw new SwitchyardError(Code.Unavailable, `scontrol show partition failed (exit code ${r.code}): ${r.stderr.trim()}`, { retryable: true });
    return defaultPartitionOf(r.stdout);
  }
}

/** The name of the partition `scontrol -o show partition` marks Default=YES, or null. */
export function defaultPartitionOf(text: string): string | null {
  for (const line of text.split("\n")) {
    const f = new Map(parseScontrolLine(line));
    if (f.get("Default") === "YES" && f.get("PartitionName")) return f.get("PartitionName")!;
  }
  return null;
}

export function parseSqueue(text: string): SlurmJob[] {
  const jobs: SlurmJob[] = [];
  for (const line of text.split("\n")) {
    const [id, state, reason, uid, ...name] = line.split("|");
    if (id === undefined || state === undefined || !/^\d+$/.test(id.trim())) continue;
    jobs.push({ id: id.trim(), state: state.trim(), reason: (reason ?? "").trim(), uid: /^\d+$/.test((uid ?? "").trim()) ? Number(uid) : null, name: name.join("|") });
  }
  return jobs;
}

/** `Key=Value` pairs of one line of `scontrol -o` output, in order (keys repeat: a job's per-node details). */
export function parseScontrolLine(line: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const key = /(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=/g;
  const marks: Array<{ key: string; start: number; valueStart: number }> = [];
  for (let m = key.exec(line); m !== null; m = key.exec(line)) marks.push({ key: m[1]!, start: m.index, valueStart: m.index + m[0].length });
  marks.forEach((mark, i) => pairs.push([mark.key, line.slice(mark.valueStart, i + 1 < marks.length ? marks[i + 1]!.start : line.length).trim()]));
  return pairs;
}

/** Slurm's own bound on a host list's names: more is not a cluster, but text a job's owner wrote. */
export const MAX_HOSTLIST_NAMES = 65_536;

/**
 * Expands a Slurm host list (`node[01-03,7],gpu-a`, `r[1-2]-n[1-2]`) into names, at most `maxNames` (the rest is
 * dropped): `scontrol show job` prints text other users chose (a job's name), so `n[0-999999999]` must cost nothing.
 */
export function expandHostlist(list: string, maxNames = MAX_HOSTLIST_NAMES): string[] {
  const names: string[] = [];
  let depth = 0;
  let part = "";
  for (const ch of `${list},`) {
    if (ch === "[") depth++;
    if (ch === "]") depth--;
    if (ch !== "," || depth > 0) part += ch;
    else if (part !== "") {
      names.push(...expandPart(part, maxNames - names.length));
      part = "";
    }
    if (names.length >= maxNames) break;
  }
  return names;
}

function expandPart(part: string, max: number): string[] {
  const m = /^([^[]*)\[([^\]]*)\](.*)$/.exec(part);
  if (m === null) return max > 0 ? [part] : [];
  const rests = expandPart(m[3]!, max);
  const out: string[] = [];
  for (const range of m[2]!.split(",")) {
    const [lo = "", hi = lo] = range.split("-");
    for (let n = Number(lo); n <= Number(hi); n++) {
      for (const rest of rests) {
        if (out.length >= max) return out;
        out.push(`${m[1]}${String(n).padStart(lo.length, "0")}${rest}`);
      }
    }
  }
  return out;
}

/** How many ids a list of CPU ids (`0-3,8`) names. */
function countIds(ids: string): number {
  let n = 0;
  for (const range of ids.split(",")) {
    const [lo, hi] = range.split("-").map(Number);
    if (lo === undefined || Number.isNaN(lo)) continue;
    n += (hi === undefined || Number.isNaN(hi) ? lo : hi) - lo + 1;
  }
  return n;
}

/** GPUs in a GRES list (`gpu:a100:2(S:0-1),gpu:1(IDX:0),shard:4`): [type, count] per gpu entry. */
export function gpuGres(gres: string): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const entry of gres.split(/,(?![^(]*\))/)) {
    const parts = entry.replace(/\(.*\)$/, "").split(":");
    if (parts[0] !== "gpu") continue;
    const count = Number(parts.at(-1));
    if (!Number.isFinite(count)) continue;
    out.push([parts.length >= 3 ? parts[1]! : "gpu", count]);
  }
  return out;
}

/** A node's State (`IDLE`, `MIXED+DRAIN`, `DOWN*`, `IDLE+POWERED_DOWN`) as one lowercase word. */
export function nodeState(raw: string): string {
  const s = raw.toUpperCase();
  if (s.includes("DRAIN")) return "drain";
  if (s.startsWith("DOWN")) return "down";
  if (s.includes("FAIL")) return "fail";
  if (s.includes("NOT_RESPONDING") || s.includes("*")) return "not_responding";
  if (s.includes("POWERED_DOWN") || s.includes("POWERING")) return "powered_down";
  return (s.split(/[+*]/)[0] ?? "unknown").toLowerCase() || "unknown";
}

export function inventoryFrom(nodesText: string, jobsText: string, partition: string | undefined, ownPrefix: string): ExecutorNode[] {
  const busy = new Map<string, { cpuMilli: number; memoryMb: number; gpus: number }>();
  for (const line of jobsText.split("\n")) {
    const pairs = parseScontrolLine(line);
    const field = (k: string): string | undefined => pairs.find(([key]) => key === k)?.[1];
    const state = field("JobState");
    if (state === undefined || !HOLDING.has(state) || (field("JobName") ?? "").startsWith(ownPrefix)) continue;
    let nodes: string[] = [];
    for (const [k, v] of pairs) {
      if (k === "Nodes") nodes = expandHostlist(v);
      const add = (what: "cpuMilli" | "memoryMb" | "gpus", n: number): void => {
        for (const node of nodes) {
          const b = busy.get(node) ?? { cpuMilli: 0, memoryMb: 0, gpus: 0 };
          b[what] += n;
          busy.set(node, b);
        }
      };
      if (k === "CPU_IDs") add("cpuMilli", countIds(v) * 1000);
      if (k === "Mem") add("memoryMb", Number(v) || 0);
      if (k === "GRES") add("gpus", gpuGres(v).reduce((sum, [, n]) => sum + n, 0));
    }
  }
  const out: ExecutorNode[] = [];
  for (const line of nodesText.split("\n")) {
    const f = new Map(parseScontrolLine(line));
    const name = f.get("NodeName");
    if (name === undefined) continue;
    if (partition !== undefined && !(f.get("Partitions") ?? "").split(",").includes(partition)) continue;
    const cpus = Number(f.get("CPUEfctv") ?? f.get("CPUTot") ?? 0) || 0;
    const memoryMb = Math.max(0, (Number(f.get("RealMemory") ?? 0) || 0) - (Number(f.get("MemSpecLimit") ?? 0) || 0));
    const gpus: ExecutorNode["gpus"] = [];
    for (const [type, count] of gpuGres(f.get("Gres") ?? "")) for (let i = 0; i < count; i++) gpus.push({ index: gpus.length, type });
    out.push({ name, cpuMilli: cpus * 1000, memoryMb, gpus, busy: busy.get(name) ?? { cpuMilli: 0, memoryMb: 0, gpus: 0 }, state: nodeState(f.get("State") ?? "UNKNOWN") });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
