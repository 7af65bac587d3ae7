// Test helpers: start the real `jobs` service as a child process (real SQLite, real executor, real sockets) and talk
// to it over gRPC through the mesh client. Not part of the service.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { DescService } from "@bufbuild/protobuf";
import { Jobs, type Job } from "@switchyard/api";
import { parseReadyLine } from "@switchyard/core";
import { openStore } from "@switchyard/store";
import type { CrashPoint } from "./job-actions.js";
import { JobStore } from "./job-store.js";
import { migrations, type JobsDatabase } from "./schema.js";
import { createClient, createMeshRuntime, dataDirIdentity, type MeshClient, type WorkloadIdentity } from "@switchyard/mesh";

const ENTRY = fileURLToPath(new URL("../dist/main.js", import.meta.url));
/** main.ts with a crash point (crash-fixture.ts): the process SIGKILLs itself on reaching it. */
const CRASH_ENTRY = fileURLToPath(new URL("../dist/crash-fixture.js", import.meta.url));

export interface JobsProcess {
  child: ChildProcess;
  client: MeshClient<typeof Jobs>;
  address: string;
  /** kill -9, as a crash. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A temp tree for one test file: `dir` (enterable by every user, as a shared machine's project directory is) holds the
 * files jobs read and write (`file()`), `dataDir` the service's private data dir.
 */
export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), "switchyard-jobs-"));
  readonly dataDir = join(this.dir, "data");
  /** Jobs' own directories (outputs, checkpoints), outside the data dir, enterable by the jobs' accounts. */
  readonly jobsDir = join(this.dir, "jobs");
  readonly procs: JobsProcess[] = [];

  constructor() {
    chmodSync(this.dir, 0o755);
  }

  /** A client acting as a platform service (a certificate from the data dir's CA): a service's rights, no user's. */
  client<S extends DescService>(service: S, address: string): MeshClient<S> {
    this.identity ??= dataDirIdentity(this.dataDir, "tests");
    return createClient(service, { target: address, defaultTimeoutMs: 10_000, runtime: createMeshRuntime({ serviceName: "tests", credentials: this.identity }) });
  }
  private identity: WorkloadIdentity | undefined;

  /** Starts the service (`node`: the node binary to run it with; default this process's). */
  async startJobs(env: Record<string, string> = {}, crashAt?: CrashPoint, node = process.execPath): Promise<JobsProcess> {
    const child = spawn(node, crashAt ? [CRASH_ENTRY, crashAt] : [ENTRY], {
      env: { ...process.env, SWITCHYARD_DATA_DIR: this.dataDir, SWITCHYARD_JOBS_DIR: this.jobsDir, SWITCHYARD_GRACE_MS: "1000", SWITCHYARD_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const address = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (l) => {
        const ready = parseReadyLine(l);
        if (ready) resolve(ready.address);
      });
      child.once("exit", (code, sig) => reject(new Error(`jobs exited before ready: ${code} ${sig}`)));
    });
    const client = this.client(Jobs, address);
    const p: JobsProcess = {
      child,
      client,
      address,
      async crash() {
        client.close();
        child.kill("SIGKILL");
        await exited;
      },
      async stop() {
        client.close();
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          await exited;
        }
      },
    };
    this.procs.push(p);
    return p;
  }

  /** Waits for the jobs process to die on its own (a crash point). */
  static async died(p: JobsProcess, timeoutMs = 15_000): Promise<void> {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("jobs did not die")), timeoutMs);
      p.child.once("exit", () => {
        clearTimeout(t);
        p.client.close();
        resolve();
      });
    });
  }

  /** A file in the shared part of the tree, readable and writable by the jobs' users too. */
  file(name: string, content: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, content);
    chmodSync(p, 0o666);
    return p;
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) await p.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export async function waitForPhase(client: MeshClient<typeof Jobs>, name: string, phases: string[], timeoutMs = 20_000): Promise<Job> {
  return waitFor(`job ${name} to reach ${phases.join("|")}`, async () => {
    const j = await client.getJob({ name });
    return phases.includes(j.status?.phase ?? "") ? j : undefined;
  }, timeoutMs);
}

export function shellJob(name: string, script: string, extra = ""): string {
  return `apiVersion: switchyard/v1
kind: Job
metadata:
  name: ${name}
spec:
  resources: {cpu: 10m, memory: 16Mi}
  command: [/bin/sh, -c, ${JSON.stringify(script)}]
${extra}`;
}

/** A JobStore on a fresh SQLite file in a temp directory, for tests of the store and of what reads it; `close()` removes it. */
export async function openTestStore(prefix: string): Promise<{ store: JobStore; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `switchyard-${prefix}-`));
  const opened = await openStore<JobsDatabase>({ driver: "sqlite", location: join(dir, "jobs.db"), migrations });
  return {
    store: new JobStore(opened),
    async close() {
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
