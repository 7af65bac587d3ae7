/**
 * Whether a Unix account can reach a path, decided from `stat` alone before anything runs as that account: every
 * ancestor must grant it search (x), and the path itself read and search (a directory) or read (a file). The classic
 * owner/group/other bits are applied as the kernel does (the owner class wins even when it grants less); POSIX ACLs
 * and capabilities are not consulted, so an ACL that grants access reads as blocked (the safe side).
 */
import { execFile } from "node:child_process";
import { readFile, realpath, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { isAbsolute, join, sep } from "node:path";
import { Code, SwitchyardError, invalidArgument } from "@switchyard/core";

export interface Account {
  uid: number;
  gid: number;
  /** Supplementary groups; default none. */
  groups?: number[];
  /** For messages; default the uid's passwd name, else `uid N`. */
  name?: string;
}

const READ = 4;
const SEARCH = 1;

/**
 * Throws FAILED_PRECONDITION naming the first directory that blocks `who` on the way to `path` (symlinks resolved),
 * its mode and owner, and the fix; or saying that `path` does not exist. `what` names the path in the message.
 */
export async function checkReachable(path: string, who: Account, need: "enter" | "read-enter", what = "path"): Promise<void> {
  if (typeof path !== "string" || !isAbsolute(path)) {
    throw invalidArgument(`${what} must be an absolute path`, [{ field: what, message: "must be an absolute path", got: String(path) }]);
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SwitchyardError(
      Code.FailedPrecondition,
      `${what} ${path} ${code === "ENOENT" || code === "ENOTDIR" ? "does not exist" : `cannot be resolved (${code ?? String(err)})`}; create it or fix the path`,
      { details: [{ field: what, message: "must exist", got: path }], cause: err },
    );
  }
  if (who.uid === 0) return;
  const parts = real.split(sep).filter((p) => p !== "");
  let current = "/";
  for (let i = 0; i <= parts.length; i++) {
    const st = await stat(current);
    const last = i === parts.length;
    const bits = !last ? SEARCH : st.isDirectory() ? (need === "enter" ? SEARCH : READ | SEARCH) : READ;
    if (!grants(st, who, bits)) {
      const name = who.name ?? (await accountNames()).users.get(who.uid) ?? `uid ${who.uid}`;
      const owner = await ownerText(st);
      const where = real === path ? "" : ` (${real})`;
      throw new SwitchyardError(
        Code.FailedPrecondition,
        `${what} ${path}${where} is not reachable by ${name} (uid ${who.uid}): ${current} is mode ${(st.mode & 0o7777).toString(8)} owned by ${owner}; ` +
          "move the job's files or map the user to an account that can read them",
        { details: [{ field: what, message: `${current} does not grant ${bitsText(bits)} to uid ${who.uid}`, got: path }] },
      );
    }
    if (!last) current = join(current, parts[i]!);
  }
}

function grants(st: Stats, who: Account, bits: number): boolean {
  const groups = who.groups ?? [];
  const shift = st.uid === who.uid ? 6 : st.gid === who.gid || groups.includes(st.gid) ? 3 : 0;
  return ((st.mode >> shift) & bits) === bits;
}

function bitsText(bits: number): string {
  return bits === SEARCH ? "search (x)" : bits === READ ? "read (r)" : "read and search (r-x)";
}

async function ownerText(st: Stats): Promise<string> {
  const { users, groups } = await accountNames();
  return `${users.get(st.uid) ?? `uid ${st.uid}`}:${groups.get(st.gid) ?? `gid ${st.gid}`}`;
}

/** Local account names for messages only (/etc/passwd and /etc/group; accounts from NSS elsewhere show as numbers). */
async function accountNames(): Promise<{ users: Map<number, string>; groups: Map<number, string> }> {
  const parse = async (file: string): Promise<Map<number, string>> => {
    const names = new Map<number, string>();
    const text = await readFile(file, "utf8").catch(() => "");
    for (const line of text.split("\n")) {
      const [name, , id] = line.split(":");
      if (name !== undefined && id !== undefined && /^\d+$/.test(id) && !names.has(Number(id))) names.set(Number(id), name);
    }
    return names;
  };
  const [users, groups] = await Promise.all([parse("/etc/passwd"), parse("/etc/group")]);
  return { users, groups };
}

/**
 * The uid and the groups (`id -G`: the primary group and what initgroups adds) of a named account, through NSS;
 * FAILED_PRECONDITION when this machine has no such account.
 */
export async function lookupAccount(user: string): Promise<{ uid: number; groups: number[] }> {
  // Remembered for a minute: every replica's launch asks, and two processes per launch add up.
  const hit = known.get(user);
  if (hit !== undefined && Date.now() - hit.at < 60_000) return hit.account;
  const account = await lookupAccountNow(user);
  if (known.size > 1000) known.clear();
  known.set(user, { account, at: Date.now() });
  return account;
}

const known = new Map<string, { account: { uid: number; groups: number[] }; at: number }>();

async function lookupAccountNow(user: string): Promise<{ uid: number; groups: number[] }> {
  const id = (args: string[]): Promise<string> =>
    new Promise((resolve, reject) =>
      execFile("/usr/bin/id", [...args, "--", user], { env: {}, timeout: 10_000 }, (err, stdout, stderr) =>
        err === null ? resolve(stdout) : reject(new Error(stderr.trim() || err.message)),
      ),
    );
  try {
    const [uid, groups] = await Promise.all([id(["-u"]), id(["-G"])]);
    return { uid: Number(uid.trim()), groups: groups.trim().split(/\s+/).filter((g) => g !== "").map(Number) };
  } catch (err) {
    throw new SwitchyardError(Code.FailedPrecondition, `runAs.user "${user}" is not an account on this machine (${(err as Error).message}); create it or leave runAs.user unset`, {
      details: [{ field: "runAs.user", message: "no such account", got: user }],
      cause: err,
    });
  }
}
