/**
 * The real Slurm the Slurm executor's tests run on: the one named by SWITCHYARD_TEST_SLURM_CONF, else a one-node
 * cluster started here with scripts/slurm-local.sh (root only) and stopped at the end. With SWITCHYARD_TEST_SLURM=1
 * (CI) a Slurm that cannot be had fails the tests; without it they skip, saying why. Test-only; not in index.ts.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { Executor } from "./executor.js";
import { createSlurmExecutor, type SlurmExecutorOptions } from "./executor-slurm.js";

export const NOBODY = { uid: 65534, gid: 65534, user: "nobody" };
const SCRIPT = new URL("../../../scripts/slurm-local.sh", import.meta.url).pathname;
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface SlurmFixture {
  /** Null when there is a Slurm to test on; else why not. */
  readonly missing: string | null;
  readonly conf: string;
  /** A temp dir every account can enter (0755), holding the runs and the jobs' directories. */
  readonly root: string;
  readonly runsDir: string;
  /** Skips the test (returning false) when there is no Slurm and none is required. */
  needs(t: TestContext): boolean;
  /** An executor over the fixture's runs; its sbatch is a wrapper that counts submissions. */
  executor(extra?: Partial<SlurmExecutorOptions>): Executor;
  /** The job-name prefix of this fixture's executors (unique, so that a shared Slurm's other jobs are never touched). */
  readonly prefix: string;
  /** How many times the executors ran sbatch for the gang. */
  sbatchCalls(gangId: string): Promise<number>;
  /** A directory owned by nobody, for a job's files. */
  jobDir(name: string): Promise<string>;
  /** Ends every allocation of this fixture (what a failed test left running) and waits until Slurm has let go of them. */
  cancelAll(): Promise<void>;
  /** A Slurm client command with SLURM_CONF set. */
  slurm(command: string, args: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function slurmFixture(name: string): Promise<SlurmFixture> {
  const required = process.env["SWITCHYARD_TEST_SLURM"] === "1";
  const root = await mkdtemp(join(tmpdir(), `switchyard-${name}-`));
  await chmod(root, 0o755);
  let conf = process.env["SWITCHYARD_TEST_SLURM_CONF"] ?? "";
  let startedDir: string | null = null;
  let missing: string | null = null;
  if (conf === "") {
    if (process.getuid?.() !== 0) missing = "starting a Slurm needs root (or set SWITCHYARD_TEST_SLURM_CONF to a running one)";
    else if (!["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch"].every((p) => existsSync(p))) missing = "Slurm is not installed (apt-get install -y slurm-wlm munge)";
    else {
      startedDir = join(root, "slurm");
      try {
        const t0 = Date.now();
        conf = execFileSync(SCRIPT, ["start", startedDir], { encoding: "utf8", env: { PATH: SYSTEM_PATH } }).trim();
        process.stderr.write(`# slurm-local.sh start took ${Date.now() - t0} ms\n`);
      } catch (err) {
        missing = `scripts/slurm-local.sh could not start Slurm: ${(err as Error).message}`;
      }
    }
  }
  if (missing === null && process.getuid?.() !== 0) missing = "the Slurm executor's tests submit as nobody, which needs root";
  if (missing === null) {
    try {
      execFileSync("sinfo", ["-h", "-o", "%t"], { env: { PATH: SYSTEM_PATH, SLURM_CONF: conf }, stdio: "pipe", timeout: 15_000 });
    } catch (err) {
      missing = `the Slurm of ${conf} does not answer sinfo: ${String((err as { stderr?: unknown }).stderr ?? err).trim()}`;
    }
  }
  if (missing !== null && required) {
    if (startedDir !== null) execFileSync(SCRIPT, ["stop", startedDir], { env: { PATH: SYSTEM_PATH } });
    await rm(root, { recursive: true, force: true });
    throw new Error(`SWITCHYARD_TEST_SLURM=1 but there is no Slurm to test on: ${missing}`);
  }
  const env = { PATH: SYSTEM_PATH, SLURM_CONF: conf };
  const runsDir = join(root, "runs");
  const bin = join(root, "bin");
  const calls = join(root, "sbatch.calls");
  if (missing === null) {
    await mkdir(bin);
    const real = execFileSync("/bin/sh", ["-c", "command -v sbatch"], { encoding: "utf8", env }).trim();
    await writeFile(join(bin, "sbatch"), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  }
  const executors: Executor[] = [];
  const prefix = `sytest-${randomBytes(3).toString("hex")}-`;
const cancelAll = async (): Promise<void> => {
    if (missing !== null) return;
    const mine = (): string[] =>
      execFileSync("squeue", ["-h", "-o", "%i %j"], { encoding: "utf8", env })
        .split("\n")
        .filter((l) => l.includes(` ${prefix}`) || l.includes(` outside-${prefix}`))
        .map((l) => l.split(" ")[0]!);
    const ids = mine();
    if (ids.length === 0) return;
    // A job that ended meanwhile makes scancel complain: nothing to do about it.
    const quiet = { env, stdio: "ignore" } as const;
    for (const args of [["--signal=KILL", "--full", ...ids], ids]) {
      try {
        execFileSync("scancel", args, quiet);
      } catch {
        // ended already
      }
    }
    for (let i = 0; i < 300 && mine().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  };

  return {
    prefix,
    missing,
    conf,
    root,
    runsDir,
    needs(t) {
      if (missing === null) return true;
      t.skip(`no Slurm: ${missing}`);
      return false;
    },
    executor(extra = {}) {
      const ex = createSlurmExecutor({ runsDir, slurmConf: conf, pollMs: 100, maxPollMs: 400, jobNamePrefix: prefix, commands: { sbatch: join(bin, "sbatch") }, ...extra });
      executors.push(ex);
      return ex;
    },
    async sbatchCalls(gangId) {
      const text = await readFile(calls, "utf8").catch(() => "");
      return text.split("\n").filter((line) => line.includes(`--job-name=${prefix}${gangId} `)).length;
    },
    async jobDir(job) {
      const dir = join(root, "jobs", job);
      await mkdir(dir, { recursive: true });
      await chmod(join(root, "jobs"), 0o755);
      await chown(dir, NOBODY.uid, NOBODY.gid);
      return dir;
    },
    slurm(command, args) {
      return new Promise((resolve, reject) =>
        execFile(command, args, { env, encoding: "utf8" }, (err, stdout, stderr) => (err ? reject(new Error(`${command} ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout))),
      );
    },
    cancelAll,
    async close() {
      await Promise.all(executors.map((ex) => ex.close()));
      await cancelAll();
      if (startedDir !== null) execFileSync(SCRIPT, ["stop", startedDir], { env: { PATH: SYSTEM_PATH } });
      await rm(root, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}
