import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeSandbox } from "@switchyard/executors";
import { DEFAULT_TRUST_DOMAIN, serviceId } from "@switchyard/mesh";
import { CertificateAuthority } from "@switchyard/mesh/ca";
import { ROOT, asAccount, cliEnv, runCli, spawnUp, type CliResult, type UpProcess } from "./test-platform.js";

// The open inside, closed: every attack of the issue, replayed by an unprivileged local user (`nobody`, through
// setpriv) or by a member's job, against a real `switchyard up` tree, and refused. Needs root (to switch users);
// the non-root platform is tested where bubblewrap works here.

const NOBODY = asAccount(65534);
const ATTACKER = join(ROOT, "apps/cli/src/test-attacker.mjs");
const NOT_ROOT = process.getuid?.() !== 0 && "these tests switch users (setpriv): run them as root";

interface Attempt {
  op: string;
  target: string;
  ok: boolean;
  code?: string | number;
  error?: string;
}

/** Runs the attacker fixture as `nobody` (or `as`) and returns its attempts. */
function attack(args: string[], as = NOBODY): Attempt[] {
  const r = spawnSync(as[0]!, [...as.slice(1), process.execPath, ATTACKER, ...args], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Attempt);
}

/** A temp tree every user can enter (as a shared machine's project directory is); the data dir inside stays private. */
function sharedDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out.push(p);
    if (lstatSync(p).isDirectory()) walk(p, out);
  }
  return out;
}

/** TCP ports some process of `pids` listens on (their socket inodes, matched in /proc/net/tcp{,6}). */
function listeningPorts(pids: number[]): number[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: "utf8" }).toString());
      if (m) inodes.add(m[1]!);
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === "0A" && inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(":")[1]!, 16));
    }
  }
  return [...ports].sort();
}

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Submits `script` as a Job through the CLI (as the config's user) and waits for it; returns its name and log. */
function runJob(env: NodeJS.ProcessEnv, dir: string, name: string, script: string, o: { team?: string; envYaml?: string; as?: string[] } = {}): { name: string; log: string; uid: string } {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: ${name}, team: ${o.team ?? "default"}}\nspec:\n  resources: {cpu: 10m, memory: 16Mi}\n  command: [/bin/sh, -c, ${JSON.stringify(script)}]\n${o.envYaml ?? ""}`);
  chmodSync(file, 0o644);
  const s = runCli(env, ["submit", file, "--wait"], undefined, o.as);
  const log = runCli(env, ["logs", name], undefined, o.as).stdout;
  assert.equal(s.code, 0, `${name}: ${s.stderr}${s.stdout}\n${log}`);
  const uid = (JSON.parse(ok(runCli(env, ["get", name, "-o", "json"], undefined, o.as), "get")) as { metadata: { uid: string } }).metadata.uid;
  return { name, log, uid };
}

/** A job script that tries to read each path and says READ or DENIED, then lists what it sees of `dirs`. */
function probeScript(reads: string[], dirs: string[]): string {
  return [
    "echo uid=$(id -u) gid=$(id -g)",
    ...reads.map((f) => `if cat '${f}' >/dev/null 2>&1; then echo 'READ ${f}'; else echo 'DENIED ${f}'; fi`),
    ...dirs.map((d) => `echo "ENTRIES ${d} $(ls -A '${d}' 2>/dev/null | wc -l)"`),
    "echo PIDS $(ls /proc | grep -c '^[0-9]')",
    "env | sort | sed 's/^/ENV /'",
  ].join("\n");
}

describe("a hostile local user against a platform run as root", { skip: NOT_ROOT }, () => {
  const dir = sharedDir("switchyard-inside-");
  const dataDir = join(dir, "data");
  const jobsDir = join(dir, "jobs");
  const users = join(dir, "users.yaml");
  // The operator's environment holds secrets that must never reach a job.
  const leaks = { SWITCHYARD_TOKEN: "leak-operator-token-7d1f", SWITCHYARD_JOIN_TOKEN: "leak-join-token-93ab", AWS_SECRET_ACCESS_KEY: "leak-cloud-key-51c2" };
  const env = cliEnv(join(dir, "config.yaml"));
  let p: UpProcess;
  let alice: NodeJS.ProcessEnv;
  /** Whether bubblewrap works here (as root the platform uses it when it does; the account switch holds either way). */
  let sandboxed = false;
  before(async () => {
    sandboxed = (await probeSandbox({ asUid: 65534, asGid: 65534 })).ok;
    writeFileSync(users, "# platform user -> Unix account\ndefault: nobody\nusers:\n  alice: {uid: 40001, gid: 40001}\n");
    p = await spawnUp({ ...env, ...leaks }, ["--data-dir", dataDir, "--jobs-dir", jobsDir, "--users", users, "--port", "0", "--grace-ms", "1000"]);
    const token = ok(runCli(env, ["token", "create", "--user", "alice", "--team", "vision", "--role", "member"]), "token create").trim().split("\n").pop()!;
    const aliceConfig = join(dir, "alice.yaml");
    writeFileSync(aliceConfig, `server: ${p.url}\ntoken: ${token}\n`, { mode: 0o600 });
    alice = cliEnv(aliceConfig);
  });
  after(async () => {
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opens no service port to other users: mesh and metrics listen on sockets in the 0700 data dir; only the gateway is on TCP", () => {
    const sockets = readdirSync(join(dataDir, "run")).map((n) => join(dataDir, "run", n));
    assert.deepEqual(sockets.map((s) => s.split("/").pop()).sort(), ["control-metrics.sock", "control.sock", "experiments-metrics.sock", "experiments.sock", "jobs-metrics.sock", "jobs.sock", "serving-metrics.sock", "serving.sock"]);
    for (const a of attack(["connect", ...sockets])) assert.deepEqual([a.target, a.ok, a.code], [a.target, false, "EACCES"]);
    const up = JSON.parse(readFileSync(join(dataDir, "up.json"), "utf8")) as { pid: number; services: Record<string, number> };
    assert.deepEqual(listeningPorts([up.pid, ...Object.values(up.services)]), [Number(new URL(p.url).port)]);
  });

  it("keeps the data dir private: 0700 directories, 0600 files, and nobody reads the signing key, the CA key, databases, tokens or logs", () => {
    const all = walk(dataDir);
    assert.ok(all.length > 15, all.join("\n"));
    for (const f of [dataDir, ...all]) assert.equal(lstatSync(f).mode & 0o077, 0, `${f} is mode ${(lstatSync(f).mode & 0o777).toString(8)}`);
    const targets = ["admin-token", "up.json", "gateway/gateway.db", "jobs/jobs.db", "jobs/jobs.db-wal", "control/control.db", "secrets/ca.pem", "secrets/join.key", "secrets/jobs-secrets.key", "logs/jobs.log"].map((f) => join(dataDir, f));
    for (const a of attack(["read", ...targets])) assert.deepEqual([a.target, a.ok, a.code], [a.target, false, "EACCES"]);
  });

  it("believes no identity header without a token at the gateway", async () => {
    const res = await fetch(`${p.url}/v1/jobs`, { headers: { "x-switchyard-user": "admin", "x-switchyard-role": "admin", "x-switchyard-teams": "default", "x-switchyard-caller": "gateway" } });
    assert.equal(res.status, 401);
  });

  it("runs a member's job as the mapped account, with its own environment, unable to read the platform's or another team's files", () => {
    const admin = runJob(env, dir, "admins-private", 'echo top-secret > "$SWITCHYARD_OUTPUT_DIR/private.txt"; id -u');
    assert.match(admin.log, /^65534$/m, "an unmapped user's job runs as nobody");
    const other = join(jobsDir, admin.uid, "output", "private.txt");
    const reads = ["admin-token", "gateway/gateway.db", "jobs/jobs.db", "secrets/ca.pem", "secrets/join.key", "secrets/jobs-secrets.key"].map((f) => join(dataDir, f));
    const job = runJob(alice, dir, "curious", probeScript([...reads, other, join(dir, "config.yaml")], [dataDir, jobsDir]), { team: "vision" });
    assert.match(job.log, /^uid=40001 gid=40001$/m);
    for (const f of [...reads, other, join(dir, "config.yaml")]) assert.match(job.log, new RegExp(`^DENIED ${f}$`, "m"));
    assert.doesNotMatch(job.log, /^READ /m);
    assert.match(job.log, new RegExp(`^ENTRIES ${dataDir} 0$`, "m"), "the data dir does not exist for the job");
    if (sandboxed) {
      assert.match(job.log, new RegExp(`^ENTRIES ${jobsDir} 1$`, "m"), "of the jobs dir, it sees its own directory only");
      assert.ok(Number(/^PIDS (\d+)$/m.exec(job.log)![1]) < 10, "its own pid namespace: no platform process in sight");
    } else assert.match(job.log, new RegExp(`^ENTRIES ${jobsDir} 0$`, "m"), "the jobs dir is not listable (0711)");
    for (const v of Object.values(leaks)) assert.ok(!job.log.includes(v), `the operator's ${v} reached the job`);
    const names = [...job.log.matchAll(/^ENV ([A-Z_a-z0-9]+)=/gm)].map((m) => m[1]);
    assert.deepEqual(names.filter((n) => !/^(SWITCHYARD_|CUDA_VISIBLE_DEVICES|PATH|LANG|HOME|USER|LOGNAME|SHLVL|PWD|OLDPWD|_)/.test(n!)), [], "nothing of the supervisor's environment");
  });

  it("lists a job's symbolic links as links and never serves what they point at", async () => {
    const script = ['cd "$SWITCHYARD_OUTPUT_DIR"', `ln -s '${join(dataDir, "admin-token")}' token`, "ln -s / root", "mkdir d", `ln -s '${dataDir}' d/data`, "echo real > real.txt"].join("; ");
    const job = runJob(alice, dir, "linker", script, { team: "vision" });
    const list = ok(runCli(alice, ["artifacts", job.name]), "artifacts");
    assert.match(list, /token \(symbolic link: not served\)/);
    assert.match(list, /real\.txt\s+5/);
    const token = readFileSync(join(dir, "alice.yaml"), "utf8").match(/token: (\S+)/)![1]!;
    for (const path of ["token", "root/etc/hostname", "d/data/admin-token", "d/data/gateway/gateway.db"]) {
      const res = await fetch(`${p.url}/v1/jobs/${job.name}/artifacts/${path}?team=vision`, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.text();
      assert.equal(res.status, 403, `${path}: ${res.status} ${body}`);
      assert.ok(!body.includes("sy_") && !body.includes("SQLite"), "no byte of the target");
    }
    const dl = runCli(alice, ["artifacts", job.name, "--download", join(dir, "dl")]);
    assert.equal(dl.code, 0, dl.stderr);
    assert.match(dl.stderr, /skipped token: a symbolic link/);
    assert.equal(readFileSync(join(dir, "dl", "real.txt"), "utf8"), "real\n");
  });

  it("keeps secrets encrypted at rest and out of get, describe, REST and the platform's logs, while the job gets them", async () => {
    ok(runCli(alice, ["secrets", "create", "wandb", "--team", "vision", "--from-literal", "api-key=S3CR3T-REF-VALUE-4411"]), "secrets create");
    const envYaml = "  env:\n    WANDB_API_KEY: {secretKeyRef: {name: wandb, key: api-key}}\n    HF_TOKEN: {value: INLINE-SECRET-VALUE-9033, secret: true}\n    PLAIN: visible\n";
    // The job proves it got the values without printing them (its log is at rest in the data dir too).
    const job = runJob(alice, dir, "secretive", 'for v in "$WANDB_API_KEY" "$HF_TOKEN" "$PLAIN"; do printf %s "$v" | sha256sum; done', { team: "vision", envYaml });
    const secrets = ["S3CR3T-REF-VALUE-4411", "INLINE-SECRET-VALUE-9033"];
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    assert.deepEqual([...job.log.matchAll(/^([0-9a-f]{64}) /gm)].map((m) => m[1]), [...secrets, "visible"].map(sha));
    const token = readFileSync(join(dir, "alice.yaml"), "utf8").match(/token: (\S+)/)![1]!;
    const shown = [
      ok(runCli(alice, ["get", job.name, "-o", "yaml"]), "get"),
      ok(runCli(alice, ["describe", job.name]), "describe"),
      ok(runCli(alice, ["secrets", "list", "-o", "json"]), "secrets list"),
      await (await fetch(`${p.url}/v1/jobs/${job.name}?team=vision`, { headers: { authorization: `Bearer ${token}` } })).text(),
    ];
    assert.match(shown[0]!, /wandb/, "get shows the reference");
    for (const text of shown) for (const s of secrets) assert.ok(!text.includes(s), `${s} shown:\n${text}`);
    for (const f of walk(dataDir).filter((f) => lstatSync(f).isFile())) {
      const bytes = readFileSync(f);
      for (const s of secrets) assert.ok(!bytes.includes(s), `${s} at rest in ${f}`);
    }
  });
});

describe("a hostile local user against a mesh that listens on TCP", { skip: NOT_ROOT }, () => {
  const dir = sharedDir("switchyard-inside-tcp-");
  const env = cliEnv(join(dir, "config.yaml"));
  let p: UpProcess;
  let addresses: Record<string, string>;
  before(async () => {
    p = await spawnUp({ ...env, SWITCHYARD_MESH_LISTEN: "tcp://127.0.0.1:0" }, ["--data-dir", join(dir, "data"), "--jobs-dir", join(dir, "jobs"), "--port", "0"]);
    const st = ok(runCli(env, ["mesh", "status"]), "mesh status");
    addresses = Object.fromEntries([...st.matchAll(/^(control|jobs)\s+(127\.0\.0\.1:\d+)/gm)].map((m) => [m[1]!, m[2]!]));
    assert.deepEqual(Object.keys(addresses).sort(), ["control", "jobs"], st);
  });
  after(async () => {
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses every call without a certificate of the platform's CA, whatever identity it claims", async () => {
    const forged = { "x-switchyard-caller": "gateway", "x-switchyard-user": "admin", "x-switchyard-role": "admin", "x-switchyard-teams": "default" };
    // A certificate that says "gateway", made by a CA of the attacker's own (files the attacker, nobody, can read).
    const { ca } = await CertificateAuthority.create(DEFAULT_TRUST_DOMAIN);
    const mine = await ca.issueWorkload(serviceId(DEFAULT_TRUST_DOMAIN, "gateway"), 3600_000);
    writeFileSync(join(dir, "forged.crt"), mine.certPem, { mode: 0o644 });
    writeFileSync(join(dir, "forged.key"), mine.keyPem, { mode: 0o644 });
    const foreign = `${join(dir, "forged.crt")},${join(dir, "forged.key")}`;
    const transports = ["plain", "nocert", foreign];
    const attempts = transports.flatMap((tls) => [
      ...["submit", "cancel", "list", "health"].map((c) => attack(["grpc", addresses.jobs!, c, JSON.stringify(forged), tls])),
      ...["takedown", "register", "health"].map((c) => attack(["grpc", addresses.control!, c, JSON.stringify(forged), tls])),
    ]).flat();
    assert.equal(attempts.length, 21);
    for (const a of attempts) {
      // jobs requires a client certificate of the CA in the TLS handshake: no connection at all (UNAVAILABLE). control
      // asks for one without requiring it (a new workload enrols without one), so a TLS caller gets through the
      // handshake and every method but Enroll refuses it (UNAUTHENTICATED); plaintext never gets a connection.
      const expected = a.target.startsWith(addresses.control!) && !a.target.endsWith(" plain") ? 16 : 14;
      assert.deepEqual([a.target, a.ok, a.code], [a.target, false, expected], a.error);
    }
    // The platform is untouched: no policy was stored, no rogue instance registered, no job submitted.
    assert.equal(ok(runCli(env, ["list"]), "list").trim(), "no jobs");
    assert.doesNotMatch(ok(runCli(env, ["mesh", "get"]), "mesh get"), /takedown/);
    assert.equal(runCli(env, ["gpus"]).code, 0);
    assert.doesNotMatch(ok(runCli(env, ["mesh", "status"]), "mesh status"), /127\.0\.0\.1:1 /);
  });
});

describe("the data dir's permissions are checked at start", { skip: NOT_ROOT }, () => {
  it("refuses a data dir that other users can read, saying how to fix it", () => {
    const dir = sharedDir("switchyard-inside-open-");
    const dataDir = join(dir, "data");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const r = runCli(cliEnv(join(dir, "config.yaml")), ["up", "--data-dir", dataDir, "--port", "0"]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /open to other users \(mode 755\)[\s\S]*chmod 700/);
  });
});

/** A platform run by an ordinary user (uid `uid`, no passwd entry), in a tree that user owns. */
async function unprivilegedPlatform(uid: number, extraEnv: Record<string, string>): Promise<{ dir: string; own: string; env: NodeJS.ProcessEnv; up: UpProcess; as: string[] }> {
  const dir = sharedDir("switchyard-inside-user-");
  const own = join(dir, "own");
  mkdirSync(join(own, "home"), { recursive: true });
  for (const d of [own, join(own, "home")]) {
    chownSync(d, uid, uid);
    chmodSync(d, 0o700);
  }
  chmodSync(own, 0o755);
  const as = asAccount(uid);
  const env = { ...cliEnv(join(own, "home", "config.yaml")), HOME: join(own, "home"), ...extraEnv };
  const up = await spawnUp(env, ["--data-dir", join(own, "data"), "--jobs-dir", join(own, "jobs"), "--port", "0"], as);
  return { dir, own, env, up, as };
}

describe("a platform run by an ordinary user", { skip: NOT_ROOT }, () => {
  it("hides the data dir, the jobs dir and the CLI config from jobs with bubblewrap", async (t) => {
    const probe = await probeSandbox({ asUid: 40002, asGid: 40002 });
    if (!probe.ok) return t.skip(`bubblewrap does not work here: ${probe.why}`);
    const u = await unprivilegedPlatform(40002, {});
    t.after(async () => {
      await u.up.stop();
      rmSync(u.dir, { recursive: true, force: true });
    });
    const dataDir = join(u.own, "data");
    const reads = [join(dataDir, "admin-token"), join(dataDir, "gateway", "gateway.db"), join(u.own, "home", "config.yaml")];
    const job = runJob(u.env, u.own, "inside-job", probeScript(reads, [dataDir, join(u.own, "home")]), { as: u.as });
    assert.match(job.log, /^uid=40002 gid=40002$/m, "it runs as the platform's user, so the sandbox is what protects");
    for (const f of reads) assert.match(job.log, new RegExp(`^DENIED ${f}$`, "m"));
    assert.match(job.log, new RegExp(`^ENTRIES ${dataDir} 0$`, "m"));
    assert.match(job.log, new RegExp(`^ENTRIES ${join(u.own, "home")} 0$`, "m"), "the CLI config's directory is empty for the job");
    assert.ok(Number(/^PIDS (\d+)$/m.exec(job.log)![1]) < 10);
    for (const a of attack(["connect", join(dataDir, "run", "jobs.sock"), join(dataDir, "run", "control.sock")])) assert.equal(a.code, "EACCES");
    ok(runCli(u.env, ["token", "create", "--user", "bob", "--team", "default", "--role", "member"], undefined, u.as), "a member token on a sandboxed platform");
  });

  it("without a sandbox, says the platform is single-user and issues no member tokens", async (t) => {
    const u = await unprivilegedPlatform(40003, { SWITCHYARD_SANDBOX: "none" });
    t.after(async () => {
      await u.up.stop();
      rmSync(u.dir, { recursive: true, force: true });
    });
    const member = runCli(u.env, ["token", "create", "--user", "bob", "--team", "default", "--role", "member"], undefined, u.as);
    assert.notEqual(member.code, 0);
    assert.match(member.stderr, /single-user platform/);
    ok(runCli(u.env, ["token", "create", "--user", "vic", "--team", "default", "--role", "viewer"], undefined, u.as), "a viewer token");
    assert.match(readFileSync(join(u.own, "data", "logs", "gateway.log"), "utf8"), /single-user platform/);
  });
});
