/**
 * Which Unix account runs a job: the submitting platform user's mapped account, as Slurm runs a job as its submitter.
 * `users.yaml` (SWITCHYARD_USERS_FILE, default `<data>/users.yaml`) maps platform users to accounts; `default` is the
 * account of everyone unmapped (`nobody` unless set; an empty value refuses their jobs). Accounts are looked up with
 * `getent passwd` (so LDAP/SSSD accounts work as local ones) or given as `{uid, gid}`. uid 0 and gid 0 are never a
 * job's: a job never runs with the platform's rights.
 *
 * ```yaml
 * default: nobody
 * users:
 *   alice: alice              # a Unix account
 *   bob: {uid: 5001, gid: 5001}
 * ```
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Code, SwitchyardError, parseYamlDocument, type FieldViolation } from "@switchyard/core";
import { LineCounter, isMap, isScalar, type Node } from "yaml";

export interface JobAccount {
  uid: number;
  gid: number;
  /** The passwd name, when the account has one. */
  name?: string;
  /** The passwd home directory, when the account has one. */
  home?: string;
}

type AccountRef = { name: string } | { uid: number; gid: number };

export interface UsersMapping {
  /** The account of users without an entry; undefined refuses their jobs. */
  readonly defaultAccount: AccountRef | undefined;
  readonly users: ReadonlyMap<string, AccountRef>;
}

export const DEFAULT_USERS_MAPPING: UsersMapping = { defaultAccount: { name: "nobody" }, users: new Map() };

/** Parses users.yaml; errors name the file, line and column, what was expected, and how to fix it. */
export function parseUsersMapping(text: string, file = "users.yaml"): UsersMapping {
  const lc = new LineCounter();
  const doc = parseYamlDocument(text, { what: file, file, lineCounter: lc, uniqueKeys: true }); // a local file an admin writes: small
  const problems: FieldViolation[] = [];
  const at = (node: Node | null | undefined, field: string, message: string, expected: string) => {
    const pos = node?.range ? lc.linePos(node.range[0]) : undefined;
    problems.push({ field, message, expected, file, ...(pos ? { line: pos.line, column: pos.col } : {}), hint: `see the format at the top of ${file}'s documentation (docs/ARCHITECTURE.md, "Who runs a job")` });
  };
  for (const e of doc.errors) problems.push({ field: "(yaml)", message: e.message, ...(e.linePos?.[0] ? { line: e.linePos[0].line, column: e.linePos[0].col } : {}) });
  const root = doc.contents;
  let defaultAccount: AccountRef | undefined = { name: "nobody" };
  const users = new Map<string, AccountRef>();
  if (problems.length === 0 && root !== null && !isMap(root)) at(root, "(root)", "must be a mapping", "default: ACCOUNT and users: {USER: ACCOUNT}");
  else if (isMap(root)) {
    for (const item of root.items) {
      const key = isScalar(item.key) ? String(item.key.value) : "";
      if (key === "default") {
        const v = item.value as Node | null;
        if (isScalar(v) && (v.value === "" || v.value === null)) defaultAccount = undefined;
        else defaultAccount = accountRef(v, "default", at);
      } else if (key === "users") {
        if (item.value === null) continue;
        if (!isMap(item.value)) {
          at(item.value as Node, "users", "must be a mapping of platform users to accounts", "users: {alice: alice}");
          continue;
        }
        for (const u of item.value.items) {
          const name = isScalar(u.key) ? String(u.key.value) : "";
          const ref = accountRef(u.value as Node | null, `users.${name}`, at);
          if (ref) users.set(name, ref);
        }
      } else at(item.key as Node, key, "is not a field of users.yaml", "default | users");
    }
  }
  if (problems.length > 0) {
    throw new SwitchyardError(Code.InvalidArgument, `${file}: ${problems.map((p) => `${p.line ? `${p.line}:${p.column}: ` : ""}${p.field} ${p.message}`).join("; ")}`, { details: problems });
  }
  return { defaultAccount, users };
}

function accountRef(node: Node | null, field: string, at: (n: Node | null | undefined, f: string, m: string, e: string) => void): AccountRef | undefined {
  if (isScalar(node) && typeof node.value === "string" && /^[a-z_][a-z0-9_.-]*\$?$/i.test(node.value)) return { name: node.value };
  if (isMap(node)) {
    const uid = Number(node.get("uid"));
    const gid = Number(node.get("gid"));
    if (Number.isInteger(uid) && Number.isInteger(gid) && uid > 0 && gid > 0 && node.items.length === 2) return { uid, gid };
  }
  at(node, field, "is not an account", "a Unix account name, or {uid: N, gid: N} with N > 0");
  return undefined;
}

/** Reads the mapping file; a missing file is the default mapping (everyone → nobody). */
export function loadUsersMapping(path: string): UsersMapping {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return DEFAULT_USERS_MAPPING;
    throw err;
  }
  return parseUsersMapping(text, path);
}

const accounts = new Map<string, { account: JobAccount | undefined; at: number }>();
const ACCOUNT_TTL_MS = 60_000;

/**
 * An account from passwd (`getent`, so directory services work too). Remembered for a minute: every submission and
 * every launch asks, and a process spawn each time cost more than the rest of a submission.
 */
export function lookupAccount(name: string): JobAccount | undefined {
  const hit = accounts.get(name);
  if (hit !== undefined && Date.now() - hit.at < ACCOUNT_TTL_MS) return hit.account;
  const r = spawnSync("getent", ["passwd", name], { encoding: "utf8", timeout: 5000 });
  const line = r.status === 0 ? r.stdout.split("\n")[0] : undefined;
  let account: JobAccount | undefined;
  if (line) {
    const [user, , uid, gid, , home] = line.split(":");
    account = { name: user!, uid: Number(uid), gid: Number(gid), home: home || undefined };
  }
  if (accounts.size > 1000) accounts.clear();
  accounts.set(name, { account, at: Date.now() });
  return account;
}

/**
 * The account that runs a job submitted by `user` (empty for a platform service's own submissions): the mapped one,
 * else the default. Refuses (FAILED_PRECONDITION, with the fix) unmapped users when there is no default, accounts that
 * do not exist, and uid/gid 0.
 */
export function resolveJobAccount(mapping: UsersMapping, user: string, lookup: (name: string) => JobAccount | undefined = lookupAccount): JobAccount {
  const ref = mapping.users.get(user) ?? mapping.defaultAccount;
  const who = user ? `platform user "${user}"` : "a platform service's job";
  if (ref === undefined) {
    throw new SwitchyardError(Code.FailedPrecondition, `no Unix account runs the jobs of ${who}: users.yaml maps nobody by default; an admin adds "users: {${user || "NAME"}: ACCOUNT}" to it`);
  }
  const account = "name" in ref ? lookup(ref.name) : { uid: ref.uid, gid: ref.gid };
  if (account === undefined) throw new SwitchyardError(Code.FailedPrecondition, `the Unix account "${(ref as { name: string }).name}" that runs the jobs of ${who} does not exist on this machine: create it or fix users.yaml`);
  if (account.uid === 0 || account.gid === 0) {
    throw new SwitchyardError(Code.FailedPrecondition, `users.yaml maps ${who} to a uid/gid 0 account ("${account.name ?? account.uid}"): jobs never run with root's rights; map it to an ordinary account`);
  }
  return account;
}
