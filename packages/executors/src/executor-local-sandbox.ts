/**
 * How the local executor keeps a job from the platform's rights: the user switch (util-linux `setpriv`), the sandbox
 * (bubblewrap, unprivileged through user namespaces once the user is switched), and the chain of programs the
 * root-run command script execs:
 *
 *   setpriv --reuid U --regid G (--init-groups | --clear-groups | --groups …) --no-new-privs --
 *     bwrap --die-with-parent --unshare-pid --unshare-ipc --bind / / --dev-bind /dev /dev --proc /proc
 *           --tmpfs /dev/shm (--tmpfs HIDDEN | --bind VISIBLE VISIBLE)… --chdir CWD --
 *       env -C CWD /bin/sh -c USER_SIDE switchyard-replica ARGV…
 *
 * The job's environment never passes through a program that runs as root: the root shell opens it on fd 3 and the
 * switched user's shell (USER_SIDE) reads and exports it, then execs `env --default-signal=TERM` and the argv. The
 * root shell ignores SIGTERM before the exec so that setpriv, both bwrap processes and that shell outlive a SIGTERM
 * to the group (the outer bwrap would die of it and the shim would then SIGKILL a checkpointing trainer); `env`
 * restores the default for the program alone, and bwrap hands back the program's exit status.
 *
 * Here too: the shape checks of a launch spec (`validateLaunch`) and the checks against the file system and the
 * accounts (`planLaunch`), so that whatever would fail after the start fails the launch instead, with the fix.
 */
import { execFile } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access, realpath } from "node:fs/promises";
import { isAbsolute, normalize, sep } from "node:path";
import { Code, SwitchyardError, invalidArgument } from "@switchyard/core";
import type { FieldViolation } from "@switchyard/core";
import { checkReachable, lookupAccount, type Account } from "./check-reachable.js";
import type { ReplicaLaunch, RunAs } from "./executor.js";
import { launchViolations, requireDirectory } from "./launch-checks.js";

export type SandboxOptions =
  /** Every replica runs in bubblewrap: own pid and IPC namespaces, shared network, each `hide` path an empty tmpfs. */
  | { kind: "bwrap"; /** default /usr/bin/bwrap */ bwrapPath?: string; hide: string[] }
  | { kind: "none" };

export type CompiledSandbox = Readonly<{ kind: "bwrap"; bwrapPath: string; hide: readonly string[] }> | Readonly<{ kind: "none" }>;

export const DEFAULT_BWRAP_PATH = "/usr/bin/bwrap";
const SETPRIV = "/usr/bin/setpriv";
const ENV = "/usr/bin/env";
/** Run by the switched user: exports the environment read from fd 3, closes it, restores SIGTERM, execs the argv. */
const USER_SIDE = `e=$(/bin/cat <&3) || exit 126; exec 3<&-; eval "$e" || exit 126; exec ${ENV} --default-signal=TERM -u PWD -u OLDPWD -- "$@"`;

export function compileSandboxOptions(options: SandboxOptions | undefined): CompiledSandbox {
  if (options === undefined || options.kind === "none") return Object.freeze({ kind: "none" });
  if (options.kind !== "bwrap") {
    throw invalidArgument(`local executor: unknown sandbox kind "${String((options as { kind: unknown }).kind)}"`, [
      { field: "sandbox.kind", message: "unknown kind", expected: '"bwrap" or "none"', got: String((options as { kind: unknown }).kind) },
    ]);
  }
  const bwrapPath = options.bwrapPath ?? DEFAULT_BWRAP_PATH;
  const problems: FieldViolation[] = [];
  if (!isAbsolute(bwrapPath)) problems.push({ field: "sandbox.bwrapPath", message: "must be an absolute path", got: bwrapPath });
  if (!Array.isArray(options.hide)) problems.push({ field: "sandbox.hide", message: "must be a list of absolute paths" });
  const hide = (Array.isArray(options.hide) ? options.hide : []).map((p, i) => {
    if (typeof p !== "string" || !isAbsolute(p) || p.includes("\0") || normalize(p) === sep) {
      problems.push({ field: `sandbox.hide[${i}]`, message: "must be an absolute path other than /", got: String(p) });
    }
    return typeof p === "string" ? normalize(p) : "";
  });
  if (problems.length > 0) throw invalidArgument(`local executor: invalid sandbox: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`, problems);
  return Object.freeze({ kind: "bwrap", bwrapPath, hide: Object.freeze([...new Set(hide)]) });
}

/** Shape checks of a launch spec, all problems at once (no file system access). */
export function validateLaunch(spec: ReplicaLaunch, sandbox: CompiledSandbox, baseEnv: Readonly<Record<string, string>>): void {
  const problems: FieldViolation[] = [...launchViolations(spec), ...isolationViolations(spec, sandbox, baseEnv)];
  if (problems.length > 0) {
    throw invalidArgument(`cannot launch run "${String(spec.runId)}": ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`, problems);
  }
}

/** What the sandbox and the user switch require of a launch (`runAs`'s own shape: launch-checks.ts). */
function isolationViolations(spec: ReplicaLaunch, sandbox: CompiledSandbox, baseEnv: Readonly<Record<string, string>>): FieldViolation[] {
  const problems: FieldViolation[] = [];
  if (spec.visiblePaths !== undefined) {
    if (!Array.isArray(spec.visiblePaths)) problems.push({ field: "visiblePaths", message: "must be a list of absolute paths" });
    else {
      spec.visiblePaths.forEach((p, i) => {
        if (typeof p !== "string" || !isAbsolute(p) || p.includes("\0")) problems.push({ field: `visiblePaths[${i}]`, message: "must be an absolute path", got: String(p) });
      });
    }
  }
  if (spec.runAs !== undefined || sandbox.kind !== "none") {
    if (typeof spec.command?.[0] === "string" && spec.command[0].includes("=")) {
      problems.push({ field: "command[0]", message: "must not contain '=' (env(1) would read it as a variable)", got: spec.command[0] });
    }
    const home = replicaHome(spec, baseEnv);
    if (spec.workingDir === undefined && (home === undefined || !isAbsolute(home))) {
      problems.push({ field: "workingDir", message: "is required when a sandboxed replica has no absolute HOME (the run's own directory is the platform's)" });
    }
  }
  return problems;
}

/** The replica's HOME: the spec's env, else the account's, else the base environment's. */
function replicaHome(spec: ReplicaLaunch, baseEnv: Readonly<Record<string, string>>): string | undefined {
  return spec.env?.["HOME"] ?? spec.runAs?.home ?? baseEnv["HOME"];
}

export interface LaunchPlan {
  /** The working directory (symlinks resolved when the chain is used). */
  cwd: string;
  /** HOME, USER and LOGNAME of the `runAs` account: base environment the spec's env may override. */
  identityEnv: Record<string, string>;
  /** The argv the root-run script execs after opening the environment on fd 3; null: exec the job's argv directly. */
  chain: string[] | null;
}

/**
 * Resolves where and how a replica runs, checking on the way everything that would otherwise fail after the start:
 * the working directory and visible paths exist and are reachable by the `runAs` account, and this process may switch
 * to it. Throws FAILED_PRECONDITION (with the fix) or INVALID_ARGUMENT; creates nothing.
 */
export async function planLaunch(spec: ReplicaLaunch, sandbox: CompiledSandbox, runDir: string, baseEnv: Readonly<Record<string, string>>): Promise<LaunchPlan> {
  const { runAs } = spec;
  if (runAs === undefined && sandbox.kind === "none") {
    if (spec.workingDir !== undefined) await requireDirectory(spec.workingDir, spec.runId);
    return { cwd: spec.workingDir ?? runDir, identityEnv: {}, chain: null };
  }
  const workingDir = spec.workingDir ?? replicaHome(spec, baseEnv) ?? "";
  await requireDirectory(workingDir, spec.runId);
  const cwd = await realpath(workingDir);
  const visible: string[] = [];
  for (const p of spec.visiblePaths ?? []) {
    const real = await realpath(p).catch(() => null);
    if (real === null) {
      throw new SwitchyardError(Code.FailedPrecondition, `cannot launch run "${spec.runId}": visible path ${p} does not exist; create it or drop it from visiblePaths`, {
        details: [{ field: "visiblePaths", message: "must exist", got: p }],
      });
    }
    if (!visible.includes(real)) visible.push(real);
  }
  const chain: string[] = [];
  const identityEnv: Record<string, string> = {};
  let who: Account | undefined;
  if (runAs !== undefined) {
    who = await accountFor(runAs, spec.runId);
    await checkReachable(workingDir, who, "read-enter", "working directory");
    for (const p of spec.visiblePaths ?? []) await checkReachable(p, who, "read-enter", "visible path");
    await requireExecutable(SETPRIV, "util-linux's setpriv is needed to run jobs as another user; install util-linux");
    chain.push(...setprivWords(runAs));
    const name = runAs.user ?? String(runAs.uid);
    Object.assign(identityEnv, { HOME: runAs.home, USER: name, LOGNAME: name });
  }
  if (sandbox.kind === "bwrap") {
    await requireExecutable(sandbox.bwrapPath, `bubblewrap is needed by the sandbox; install it (Debian: apt-get install bubblewrap) or fix sandbox.bwrapPath`);
    chain.push(...bwrapWords(sandbox.bwrapPath, await mountWords(sandbox.hide, visible, cwd, spec.runId, who), cwd));
  }
  chain.push(ENV, "-C", cwd, "/bin/sh", "-c", USER_SIDE, "switchyard-replica", ...spec.command);
  return { cwd, identityEnv, chain };
}

/** The account to check paths for; refuses a switch this process cannot make. */
async function accountFor(runAs: RunAs, runId: string): Promise<Account> {
  const ownUid = process.getuid?.() ?? -1;
  if (ownUid !== 0) {
    if (runAs.uid !== ownUid || runAs.gid !== process.getgid?.()) {
      throw new SwitchyardError(
        Code.FailedPrecondition,
        `cannot launch run "${runId}" as uid ${runAs.uid} gid ${runAs.gid}: the local executor runs as uid ${ownUid} gid ${process.getgid?.()}, not as root, ` +
          `and only root can switch users; run the jobs service as root (jobs still never run as root) or map jobs to uid ${ownUid}`,
        { details: [{ field: "runAs.uid", message: "differs from the executor's own uid, which is not root", got: String(runAs.uid) }] },
      );
    }
    return { uid: runAs.uid, gid: runAs.gid, groups: process.getgroups?.() ?? [], ...(runAs.user !== undefined ? { name: runAs.user } : {}) };
  }
  let groups = runAs.groups;
  if (runAs.user !== undefined) {
    const account = await lookupAccount(runAs.user);
    if (account.uid !== runAs.uid) {
      throw new SwitchyardError(Code.FailedPrecondition, `cannot launch run "${runId}": runAs.user "${runAs.user}" is uid ${account.uid} on this machine, not ${runAs.uid}`, {
        details: [{ field: "runAs.user", message: "names another uid", expected: String(runAs.uid), got: String(account.uid) }],
      });
    }
    groups ??= account.groups;
  }
  return { uid: runAs.uid, gid: runAs.gid, groups: groups ?? [], ...(runAs.user !== undefined ? { name: runAs.user } : {}) };
}

function setprivWords(runAs: RunAs): string[] {
  if (process.getuid?.() !== 0) return [SETPRIV, "--no-new-privs", "--"];
  const groups =
    runAs.groups !== undefined
      ? runAs.groups.length > 0
        ? ["--groups", runAs.groups.join(",")]
        : ["--clear-groups"]
      : runAs.user !== undefined
        ? ["--init-groups"]
        : ["--clear-groups"];
  return [SETPRIV, "--reuid", String(runAs.uid), "--regid", String(runAs.gid), ...groups, "--no-new-privs", "--"];
}

function bwrapWords(bwrapPath: string, mounts: string[], cwd: string): string[] {
  return [
    bwrapPath, "--die-with-parent", "--unshare-pid", "--unshare-ipc",
    "--bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm",
    ...mounts, "--chdir", cwd, "--",
  ];
}

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
const depth = (path: string): number => path.split(sep).filter((p) => p !== "").length;

/**
 * `--tmpfs` for each hidden path that exists (and that the account can reach) and `--bind` for each visible one, shallowest first, so a visible path
 * under a hidden one shows through and a hidden path under a visible one stays hidden. The working directory must
 * not end up hidden.
 */
async function mountWords(hide: readonly string[], visible: readonly string[], cwd: string, runId: string, who: Account | undefined): Promise<string[]> {
  // A hidden path the switched account cannot even reach needs no mount (and bwrap, running as that account, could not
  // make one there): the kernel already keeps the job out.
  const reachable = async (p: string): Promise<boolean> => who === undefined || (await checkReachable(p, who, "enter").then(() => true, () => false));
  const real = (await Promise.all(hide.map((p) => realpath(p).catch(() => null)))).filter((p): p is string => p !== null);
  const hidden = [...new Set(real)];
  for (let i = hidden.length - 1; i >= 0; i--) if (!(await reachable(hidden[i]!))) hidden.splice(i, 1);
  for (const v of visible) {
    if (hidden.includes(v)) {
      throw new SwitchyardError(Code.FailedPrecondition, `cannot launch run "${runId}": visible path ${v} is a path the sandbox hides; give the job a directory of its own below it`, {
        details: [{ field: "visiblePaths", message: "is hidden by sandbox.hide", got: v }],
      });
    }
  }
  const ops = [...hidden.map((path) => ({ path, bind: false })), ...visible.map((path) => ({ path, bind: true }))];
  ops.sort((a, b) => depth(a.path) - depth(b.path));
  const cover = ops.filter((op) => within(cwd, op.path)).at(-1);
  if (cover !== undefined && !cover.bind) {
    throw new SwitchyardError(
      Code.FailedPrecondition,
      `cannot launch run "${runId}": working directory ${cwd} lies under ${cover.path}, which the sandbox hides; add it to visiblePaths or choose another`,
      { details: [{ field: "workingDir", message: "is hidden by the sandbox", got: cwd }] },
    );
  }
  return ops.flatMap((op) => (op.bind ? ["--bind", op.path, op.path] : ["--tmpfs", op.path]));
}

async function requireExecutable(path: string, fix: string): Promise<void> {
  try {
    await access(path, fsConstants.X_OK);
  } catch {
    throw new SwitchyardError(Code.FailedPrecondition, `${path} is missing or not executable: ${fix}`);
  }
}

export type SandboxProbe = { ok: true; bwrapPath: string } | { ok: false; why: string };

/**
 * Whether the sandbox works here: runs the launch's kind of bwrap invocation on /bin/true (as `asUid`/`asGid`
 * through setpriv when given and this process is root; `asGid` defaults to `asUid`) with a 5 s timeout.
 */
export async function probeSandbox(o: { bwrapPath?: string; asUid?: number; asGid?: number } = {}): Promise<SandboxProbe> {
  const bwrapPath = o.bwrapPath ?? DEFAULT_BWRAP_PATH;
  try {
    await requireExecutable(bwrapPath, "install bubblewrap (Debian: apt-get install bubblewrap)");
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
  const words: string[] = [];
  if (o.asUid !== undefined && process.getuid?.() === 0) {
    words.push(SETPRIV, "--reuid", String(o.asUid), "--regid", String(o.asGid ?? o.asUid), "--clear-groups", "--no-new-privs", "--");
  }
  words.push(...bwrapWords(bwrapPath, [], "/"), "/bin/true");
  return new Promise((resolve) => {
    execFile(words[0]!, words.slice(1), { env: {}, timeout: 5000, killSignal: "SIGKILL" }, (err, _stdout, stderr) => {
      if (err === null) return resolve({ ok: true, bwrapPath });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      const what = e.killed === true ? "timed out after 5 s" : stderr.trim() || `${e.code === "ENOENT" ? `${words[0]} is missing` : `exit code ${String(e.code)}`}`;
      const hint = /namespace|Operation not permitted|setting up uid map/i.test(stderr)
        ? " (are unprivileged user namespaces disabled? see sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone and AppArmor's restrict_unprivileged_userns)"
        : "";
      const as = words[0] === SETPRIV ? ` as uid ${String(o.asUid)}` : "";
      resolve({ ok: false, why: `${bwrapPath}${as} could not run /bin/true in a sandbox: ${what}${hint}` });
    });
  });
}
