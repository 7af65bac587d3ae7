/**
 * The platform's data directory is private: it holds the token signing key, the CA key and the join key, every team's job specs
 * and the admin token. Directories are 0700 and files 0600, created that way (a umask set at start, and explicit modes
 * here), never chmod'ed after the fact; a data dir that others can read is refused at start with the fix.
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Code, SwitchyardError } from "./errors.js";

/** Files and directories the process creates are its own alone (call first thing in every entry point). */
export function setPrivateUmask(): void {
  process.umask(0o077);
}

function ownUid(): number {
  return process.getuid?.() ?? -1;
}

function modeText(mode: number): string {
  return (mode & 0o777).toString(8);
}

/**
 * Makes sure `dir` exists as a directory that only this process's user can read: creates it (0700, parents too) when
 * missing; refuses one owned by another user or readable, writable or enterable by group or others, saying how to fix it.
 */
export function ensurePrivateDir(dir: string, what = "data directory"): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new SwitchyardError(Code.FailedPrecondition, `the ${what} ${dir} is not a directory`);
  const uid = ownUid();
  if (uid >= 0 && st.uid !== uid) {
    throw new SwitchyardError(Code.FailedPrecondition, `the ${what} ${dir} belongs to uid ${st.uid}, not to this process's user (uid ${uid}): run the platform as its owner, or give it a directory of its own`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new SwitchyardError(
      Code.FailedPrecondition,
      `the ${what} ${dir} is open to other users (mode ${modeText(st.mode)}): it holds signing keys, tokens and job secrets. ` +
        `Run \`chmod 700 ${dir}\` (and check that nothing in it was read meanwhile: rotate tokens with \`switchyard token revoke\`), then start again`,
    );
  }
}

/**
 * Reads a secret file of `bytes` random bytes, creating it (0600, atomically: written whole under a temporary name,
 * then linked into place, so concurrent starters agree on one key) when it does not exist. A key file that others
 * can read is refused.
 */
export function loadOrCreateKey(path: string, bytes = 32): Buffer {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const existing = readKey(path);
  if (existing) return existing;
  createFileOnce(path, randomBytes(bytes).toString("base64") + "\n", 0o600);
  return readKey(path)!;
}

/**
 * Writes `text` to `path` unless it exists: whole, under a temporary name first, then linked into place, so that
 * concurrent starters agree on one content and nobody reads a half-written file. Returns false when it existed.
 */
export function createFileOnce(path: string, text: string, mode: number): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", mode);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return false;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * The text of a file that must be its owner's alone; undefined when it does not exist. One others can read is refused
 * (FAILED_PRECONDITION): `the <what> <path> is readable by other users (mode …): <fix>`.
 */
export function readPrivateText(path: string, what: string, fix: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if ((st.mode & 0o077) !== 0) throw new SwitchyardError(Code.FailedPrecondition, `the ${what} ${path} is readable by other users (mode ${modeText(st.mode)}): ${fix}`);
  return readFileSync(path, "utf8");
}

function readKey(path: string): Buffer | undefined {
  const text = readPrivateText(path, "key file", `delete it (a new key is made at the next start; tokens signed with it stop working) or run \`chmod 600 ${path}\` if nobody else could have read it`);
  if (text === undefined) return undefined;
  const key = Buffer.from(text.trim(), "base64");
  if (key.length < 16) throw new SwitchyardError(Code.FailedPrecondition, `the key file ${path} is damaged (${key.length} bytes): delete it to make a new one`);
  return key;
}

/** Where the data dir's secrets live: `<data>/secrets/<name>.key`. */
export function keyPath(dataDir: string, name: string): string {
  return join(dataDir, "secrets", `${name}.key`);
}

// sun_path holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH = 107;

/**
 * The Unix socket a service listens on: `<data>/run/<name>.sock`, reachable by the data dir's owner alone. When that
 * path is too long for a socket address, a private directory in the system's temp dir stands in for `<data>/run`
 * (named after the data dir, checked to be ours and 0700 like the data dir itself).
 */
export function serviceSocketPath(dataDir: string, name: string): string {
  const inData = join(dataDir, "run", `${name}.sock`);
  if (Buffer.byteLength(inData) <= MAX_SOCKET_PATH) {
    ensurePrivateDir(dirname(inData), "socket directory");
    return inData;
  }
  const dir = join(tmpdir(), `switchyard-${ownUid()}-${createHash("sha256").update(dataDir).digest("hex").slice(0, 12)}`);
  ensurePrivateDir(dir, "socket directory");
  return join(dir, `${name}.sock`);
}

/** Where a service's mesh server listens: a Unix socket in the data dir (the default), or TCP for other hosts. */
export type MeshListen = { readonly socketPath: string } | { readonly host: string; readonly port: number };

/**
 * Reads `SWITCHYARD_MESH_LISTEN`-style configuration: empty or `unix` → `<data>/run/<service>.sock`; `unix:/path` →
 * that socket; `tcp://host:port` (or `host:port`) → TCP, where every call must carry the service credential.
 */
export function meshListen(value: string | undefined, dataDir: string, service: string): MeshListen {
  const v = (value ?? "").trim();
  if (v === "" || v === "unix") return { socketPath: serviceSocketPath(dataDir, service) };
  if (v.startsWith("unix:")) return { socketPath: v.slice("unix:".length) };
  const hostPort = v.replace(/^tcp:\/\//, "");
  const i = hostPort.lastIndexOf(":");
  const port = Number(hostPort.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SwitchyardError(Code.InvalidArgument, `SWITCHYARD_MESH_LISTEN: "${v}" is not a listen address; expected unix, unix:/path or tcp://host:port`);
  }
  return { host: hostPort.slice(0, i).replace(/^\[|\]$/g, ""), port };
}

/** Frees a Unix socket path for binding: nothing there, or a stale socket nobody answers on (removed). */
export async function claimSocketPath(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new SwitchyardError(Code.FailedPrecondition, `${path} exists and is not a socket: remove it, or configure another socket path`);
  const live = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
  if (live) throw new SwitchyardError(Code.FailedPrecondition, `another server already listens on ${path}: stop it first (is the platform already running on this data directory?)`);
  unlinkSync(path);
}
