/**
 * How jobs are kept from the platform's rights, decided once at start:
 * - `switch-user`: the platform runs as root; every replica runs as its submitter's mapped Unix account (users.yaml,
 *   job-users.ts), inside bubblewrap too when it works here (the data dir, other jobs' directories and the CLI config
 *   do not exist for the job; its own pid namespace);
 * - `sandbox`: the platform runs as an ordinary user; replicas run as that user inside bubblewrap, where the same
 *   paths do not exist;
 * - `single-user`: neither root nor bubblewrap: a job could read everything the platform can. The platform says so at
 *   start and accepts work only from admins (the gateway issues no member tokens).
 * A job's own directory `<jobsDir>/<uid>` (output, checkpoints, home) lives outside the data dir and belongs to the
 * job's account (0700); the jobs dir itself is enterable but not listable (0711), so no job learns another's uid.
 */
import { chmodSync, chownSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { Code, SwitchyardError, type Logger } from "@switchyard/core";
import { checkReachable, probeSandbox, type RunAs, type SandboxOptions } from "@switchyard/executors";
import { resolveJobAccount, type JobAccount, type UsersMapping } from "./job-users.js";

export type IsolationMode = "switch-user" | "sandbox" | "single-user";

export interface JobIsolationOptions {
  jobsDir: string;
  /** The PATH every replica starts with (`jobPath`); a job's own `env.PATH` replaces it. */
  jobPath: string;
  mapping: UsersMapping;
  hidePaths: readonly string[];
  sandbox: "auto" | "none";
  logger: Logger;
}

/** What one job's replicas are launched with. */
export interface JobPlacement {
  jobDir: string;
  runAs: RunAs | undefined;
  visiblePaths: string[];
  /**
   * The base environment the platform adds — PATH, and HOME when the executor does not set it from runAs (which adds
   * the account's HOME, USER and LOGNAME) — and nothing of the platform's own; the spec's env overrides it.
   */
  env: Record<string, string>;
}

export class JobIsolation {
  private constructor(
    readonly mode: IsolationMode,
    readonly sandboxOptions: SandboxOptions,
    private readonly o: JobIsolationOptions,
    private readonly platformUid: number,
    private readonly platformGid: number,
  ) {}

  /** Probes what this machine allows (root? a working bubblewrap?) and prepares the jobs dir. */
  static async create(o: JobIsolationOptions): Promise<JobIsolation> {
    const uid = process.getuid?.() ?? -1;
    const gid = process.getgid?.() ?? -1;
    const root = uid === 0;
    // As root, bubblewrap runs after the switch to the job's account: probe it as an unprivileged account.
    const probe = o.sandbox === "none" ? ({ ok: false, why: "SWITCHYARD_SANDBOX=none" } as const) : await probeSandbox(root ? { asUid: 65534, asGid: 65534 } : {});
    const sandbox: SandboxOptions = probe.ok ? { kind: "bwrap", bwrapPath: probe.bwrapPath, hide: [...o.hidePaths] } : { kind: "none" };
    const mode: IsolationMode = root ? "switch-user" : probe.ok ? "sandbox" : "single-user";
    // Enterable, not listable, by the jobs' accounts — and so is every directory made on the way to it (the umask
    // took their x bits away at creation).
    const first = mkdirSync(o.jobsDir, { recursive: true, mode: 0o711 });
    if (first !== undefined) for (let d = o.jobsDir; d.startsWith(first); d = dirname(d)) chmodSync(d, 0o711);
    else if ((statSync(o.jobsDir).mode & 0o777) !== 0o711) chmodSync(o.jobsDir, 0o711);
    const iso = new JobIsolation(mode, sandbox, o, uid, gid);
    if (mode === "single-user") {
      o.logger.warn({ why: probe.ok ? "" : probe.why }, "jobs run with the platform's own rights: it is not root and bubblewrap does not work here, so this is a single-user platform (only admins may submit; the gateway issues no member tokens). Install bubblewrap, or run the platform as root with users.yaml");
    } else if (root && !probe.ok) {
      o.logger.warn({ why: probe.why }, "bubblewrap does not work here: jobs run as their mapped accounts without a private mount and pid namespace (map teams to distinct accounts so they cannot read each other's files)");
    }
    if (root) {
      const fallback = o.mapping.defaultAccount ? iso.tryAccount("") : undefined;
      if (fallback) await checkReachable(o.jobsDir, { uid: fallback.uid, gid: fallback.gid, ...(fallback.name ? { name: fallback.name } : {}) }, "enter", "the jobs directory").catch((err: unknown) => o.logger.warn({ err: (err as Error).message }, "the default job account cannot reach the jobs directory: set SWITCHYARD_JOBS_DIR (up --jobs-dir) to a path it can enter"));
    }
    o.logger.info({ mode, sandbox: sandbox.kind, jobsDir: o.jobsDir }, "job isolation");
    return iso;
  }

  private tryAccount(user: string): JobAccount | undefined {
    try {
      return resolveJobAccount(this.o.mapping, user);
    } catch {
      return undefined;
    }
  }

  /** The account a user's jobs run as; throws FAILED_PRECONDITION (with the fix) when none may. */
  accountFor(user: string): JobAccount {
    if (this.mode !== "switch-user") return { uid: this.platformUid, gid: this.platformGid };
    return resolveJobAccount(this.o.mapping, user);
  }

  /** Refuses what this platform cannot run safely: a single-user platform runs admins' and services' work only. */
  checkSubmitter(user: string, role: string | undefined): void {
    if (this.mode === "single-user" && role !== undefined && role !== "admin") {
      throw new SwitchyardError(Code.FailedPrecondition, `this platform runs jobs with its own rights (not root, no working bubblewrap), so it accepts jobs from admins only (you are ${user}, a ${role}): an admin installs bubblewrap or runs it as root with users.yaml`);
    }
    this.accountFor(user);
  }

  jobDir(uid: string, which?: "output" | "checkpoints" | "home"): string {
    return which ? join(this.o.jobsDir, uid, which) : join(this.o.jobsDir, uid);
  }

  /**
   * Makes the job's directory (idempotent) owned by its account, and says how to launch its replicas: as whom, with
   * which HOME, and which paths stay visible inside the sandbox (its own directory, its working directory).
   */
  prepareJob(uid: string, user: string, workingDirs: readonly string[]): JobPlacement {
    const account = this.accountFor(user);
    const dir = this.jobDir(uid);
    for (const d of [dir, this.jobDir(uid, "output"), this.jobDir(uid, "checkpoints"), this.jobDir(uid, "home")]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
      if (this.mode === "switch-user") {
        const st = statSync(d);
        if (st.uid !== account.uid || st.gid !== account.gid) chownSync(d, account.uid, account.gid);
      }
    }
    const visiblePaths = [dir, ...workingDirs.filter((w) => !w.startsWith(dir + "/"))];
    // Without a switch the job runs as the platform's user: its HOME is the job's own, not the platform's.
    if (this.mode !== "switch-user") return { jobDir: dir, runAs: undefined, visiblePaths, env: { PATH: this.o.jobPath, HOME: this.jobDir(uid, "home") } };
    // The account's own home when it has one of its own (not `/nonexistent` or a system directory), else the job's.
    const home = account.home && ownsDirectory(account.home, account.uid) ? account.home : this.jobDir(uid, "home");
    return { jobDir: dir, runAs: { uid: account.uid, gid: account.gid, home, ...(account.name ? { user: account.name } : {}) }, visiblePaths, env: { PATH: this.o.jobPath } };
  }
}

function ownsDirectory(p: string, uid: number): boolean {
  try {
    const st = statSync(p);
    return st.isDirectory() && st.uid === uid;
  } catch {
    return false;
  }
}
