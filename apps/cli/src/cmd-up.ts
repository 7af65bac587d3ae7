import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { createFileOnce, ensurePrivateDir, setPrivateUmask } from "@switchyard/core";
import { CliExit, EXIT } from "./exit.js";
import { configPath, defaultDataDir, readCliConfig, writeCliConfig } from "./cli-config.js";
import { Supervisor, serviceEntry } from "./supervisor.js";

export interface UpOptions {
  dataDir?: string;
  port?: string;
  host?: string;
  gpus?: string;
  demo?: boolean;
  graceMs?: string;
  singleProcess?: boolean;
  jobsDir?: string;
  users?: string;
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  db?: string;
  executor?: string;
}

/**
 * The first admin's token: the gateway makes sure this file holds a valid one when it starts (issuing it on the first
 * start, or when the old one was revoked or is near its expiry), and `up` copies it into the CLI config.
 */
function adminTokenFile(dataDir: string): string {
  return join(dataDir, "admin-token");
}

export function demoManifestPath(): string {
  return fileURLToPath(new URL("../../../examples/demo-train/job.yaml", import.meta.url));
}

/** The demo's experiment (a search over the demo trainer's --lr and --hidden), as a path to type from here. */
function demoExperimentPath(): string {
  const file = fileURLToPath(new URL("../../../examples/demo-train/experiment.yaml", import.meta.url));
  const rel = relative(process.cwd(), file);
  return rel.startsWith("..") ? file : rel;
}

async function runDemo(url: string, token: string): Promise<void> {
  // Loaded only for the demo: the supervisor itself stays small (its RSS counts in the platform's idle footprint).
  const { connectApi } = await import("./api.js");
  const { followLogs, readManifest, submitManifest, waitForJob } = await import("./cmd-jobs.js");
  const api = connectApi({ server: url, token });
  const m = readManifest(demoManifestPath());
  const res = await submitManifest(api, m, true);
  const job = res.job!;
  const name = job.metadata!.name;
  const team = job.metadata!.team;
  process.stdout.write(`\ndemo: submitted job/${name} — a small neural network trained with Node alone\n`);
  await followLogs(api, name, team, 0, process.stdout);
  const final = await waitForJob(api, name, team);
  const arts = await api.jobs.listArtifacts({ name, team });
  process.stdout.write(`demo: job/${name} ${final.status?.phase}; artifacts in ${arts.outputDir}: ${arts.artifacts.map((a) => a.path).join(", ")}\n`);
  process.stdout.write(`      try: switchyard describe ${name} · switchyard metrics ${name} · switchyard artifacts ${name} --download ./model\n`);
  if (final.status?.phase === "Succeeded") {
    process.stdout.write(`      serve it: switchyard models register demo --from job://${name}/model.onnx && switchyard serve demo --model models://demo --wait\n`);
    process.stdout.write(`      tune it:  switchyard experiments create -f ${demoExperimentPath()} && switchyard experiments describe demo-tune\n`);
  }
}

/** The environment every service reads its configuration from (the same for one process or several). */
function serviceEnv(o: UpOptions, dataDir: string): Record<string, string> {
  return {
    SWITCHYARD_DATA_DIR: dataDir,
    SWITCHYARD_HOST: "127.0.0.1",
    SWITCHYARD_ADMIN_TOKEN_FILE: adminTokenFile(dataDir),
    // The dashboard, as `npm run build` left it (the gateway serves it at /; it says so when it is not built).
    SWITCHYARD_WEB_DIR: fileURLToPath(new URL("../../web/dist", import.meta.url)),
    ...(o.gpus !== undefined ? { SWITCHYARD_SIMULATE_GPUS: o.gpus } : {}),
    ...(o.graceMs ? { SWITCHYARD_GRACE_MS: o.graceMs } : {}),
    ...(o.jobsDir ? { SWITCHYARD_JOBS_DIR: resolve(o.jobsDir) } : {}),
    ...(o.users ? { SWITCHYARD_USERS_FILE: resolve(o.users) } : {}),
    ...(o.db ? { SWITCHYARD_DB: o.db } : {}),
    ...(o.executor ? { SWITCHYARD_EXECUTOR: o.executor } : {}),
    // The CLI config holds the admin token: jobs must not see it (sandboxed jobs get an empty directory there).
    SWITCHYARD_CONFIG: configPath(),
    ...(o.tls ? { SWITCHYARD_TLS: "self-signed" } : {}),
    ...(o.tlsCert ? { SWITCHYARD_TLS_CERT: resolve(o.tlsCert) } : {}),
    ...(o.tlsKey ? { SWITCHYARD_TLS_KEY: resolve(o.tlsKey) } : {}),
  };
}

interface Started {
  url: string;
  /** The edge's TLS: its certificate's fingerprint, and the file to trust when it is self-signed. */
  tls?: { fingerprint: string; caFile?: string } | undefined;
  /** The services' pids now, and how many times each was restarted (up.json, rewritten after every restart). */
  state(): { services: Record<string, number>; restarts: Record<string, number> };
  stop(): Promise<void>;
}

/**
 * Mints join tokens for the services `up` starts: signed with the data dir's join key, pinned to the CA control made
 * (`<data>/secrets/ca.crt`, read at each mint: the CA is control's). Only the small join-token module of the mesh is
 * loaded (its `./join` sub-path), not the mesh.
 */
async function joinTokens(dataDir: string): Promise<(service: string) => string> {
  const [{ keyPath, loadOrCreateKey }, { certificateFingerprint, mintJoinToken }, { readFileSync }] = await Promise.all([import("@switchyard/core"), import("@switchyard/mesh/join"), import("node:fs")]);
  const key = loadOrCreateKey(keyPath(dataDir, "join"));
  return (service) => mintJoinToken(key, { namespace: "system", account: service, caFingerprint: certificateFingerprint(readFileSync(join(dataDir, "secrets", "ca.crt"), "utf8")) });
}

/** The order `up` stops the services in. */
const STOP_ORDER = ["gateway", "experiments", "serving", "jobs", "control"];

/** Each service in its own process under the supervisor, restarted with backoff when it dies. */
async function startProcesses(o: UpOptions, dataDir: string, onRestarted: () => void): Promise<Started> {
  const sup = new Supervisor({
    logsDir: join(dataDir, "logs"),
    onLog: (svc, _level, msg) => process.stderr.write(`[${svc}] ${msg}\n`),
    onRestart: (svc, code, delay) => process.stderr.write(`[up] ${svc} exited (code ${code}); restarting in ${delay} ms\n`),
    onRestarted,
  });
  // The gateway first (no new requests), control last (the others deregister from it). Experiments before jobs: it
  // submits to jobs. Stopping serving stops no replica, nor stopping experiments any trial: they are jobs, which keep
  // running as every job does while the platform is down.
  const order = STOP_ORDER;
  const env = serviceEnv(o, dataDir);
  try {
    // control listens on a Unix socket in the data dir: a restarted control is found at the same address.
    const control = await sup.start({ name: "control", entry: serviceEntry("control"), env });
    const common = { ...env, SWITCHYARD_CONTROL: control.address };
    // Each child enrols with control's CA with a one-time join token minted for its own identity at each (re)start.
    const joinToken = await joinTokens(dataDir);
    const gatewaySpec = { name: "gateway", entry: serviceEntry("gateway"), env: { ...common, SWITCHYARD_PORT: o.port ?? "8080", SWITCHYARD_HOST: o.host ?? "127.0.0.1" }, freshEnv: () => ({ SWITCHYARD_JOIN_TOKEN: joinToken("gateway") }) };
    const service = (name: "jobs" | "serving" | "experiments") => ({ name, entry: serviceEntry(name), env: common, freshEnv: () => ({ SWITCHYARD_JOIN_TOKEN: joinToken(name) }) });
    // Every entry is found before any of them starts: a missing bundle stops `up` with its message, not halfway.
    const services = [service("jobs"), service("serving"), service("experiments")];
    const [gateway] = await Promise.all([sup.start(gatewaySpec), ...services.map((s) => sup.start(s))]);
    // Same for the gateway: the URL in the CLI config stays right across its restarts.
    gatewaySpec.env.SWITCHYARD_PORT = gateway.address.split(":").pop()!;
    return { url: String(gateway.url), tls: gateway.tls as Started["tls"], state: () => ({ services: sup.pids(), restarts: { ...sup.restarts } }), stop: () => sup.stop(order) };
  } catch (err) {
    await sup.stop(order, 2000);
    throw err;
  }
}

/**
 * `--single-process`: every service in this process, with the embedded registry shared in memory and calls between
 * co-hosted services short-circuited by the mesh — one code path, a smaller footprint for small machines.
 */
async function startInProcess(o: UpOptions, dataDir: string): Promise<Started> {
  const [{ LocalTable }, { createLogger }, { startControl, loadControlConfig }, { startJobs, loadJobsConfig }, { startServing, loadServingConfig }, { startExperiments, loadExperimentsConfig }, { startGateway, loadGatewayConfig }] =
    await Promise.all([
      import("@switchyard/mesh"),
      import("@switchyard/core"),
      import("@switchyard/control"),
      import("@switchyard/jobs"),
      import("@switchyard/serving"),
      import("@switchyard/experiments"),
      import("@switchyard/gateway"),
    ]);
  mkdirSync(join(dataDir, "logs"), { recursive: true, mode: 0o700 });
  const env = { ...process.env, ...serviceEnv(o, dataDir) };
  const level = env.SWITCHYARD_LOG_LEVEL ?? "info";
  const log = (component: string) => createLogger({ component, level, destination: join(dataDir, "logs", `${component}.log`) });
  // One table of co-hosted servers: calls between the services stay in memory, through the same policy chain.
  const local = new LocalTable();
  const control = await startControl(loadControlConfig(env), log("control"), local);
  const jobs = await startJobs(loadJobsConfig(env), log("jobs"), control.registry, local);
  const serving = await startServing(loadServingConfig(env), log("serving"), control.registry, local);
  const experiments = await startExperiments(loadExperimentsConfig(env), log("experiments"), control.registry, local);
  const gateway = await startGateway(loadGatewayConfig({ ...env, SWITCHYARD_PORT: o.port ?? "8080", SWITCHYARD_HOST: o.host ?? "127.0.0.1" }), log("gateway"), control.registry, local);
  return {
    url: gateway.url,
    tls: gateway.tls,
    state: () => ({ services: {}, restarts: {} }),
    async stop() {
      // STOP_ORDER, in this process.
      await gateway.stop();
      await experiments.stop();
      await serving.stop();
      await jobs.stop();
      await control.stop();
    },
  };
}

/** A process's start time (clock ticks since boot, /proc/PID/stat field 22): with the pid, it names one process. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** What a lock file says: `PID STARTTIME`. */
function lockOwner(text: string): { pid: number; start: string } | undefined {
  const [pid, start] = text.trim().split(/\s+/);
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 && start ? { pid: n, start } : undefined;
}

/** Is the process a lock names still the one that wrote it (not gone, not a reused pid)? */
function ownerAlive(o: { pid: number; start: string }): boolean {
  try {
    process.kill(o.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = startTime(o.pid);
  return now === undefined || now === o.start;
}

/**
 * One platform per data directory: `<data>/up.lock` says `PID STARTTIME` of the supervisor. It appears with its
 * content at once (createFileOnce: written aside, then linked into place). A lock whose process
 * is gone (kill -9, a crash) is renamed away — one taker wins the rename — and checked again before it is replaced, so
 * two `up`s never both hold it; only the holder removes it. Returns a message when another live `up` holds it.
 */
function lockDataDir(dataDir: string): { release(): void } | string {
  const file = join(dataDir, "up.lock");
  const mine = `${process.pid} ${startTime(process.pid) ?? "0"}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    // Appears with its content at once (written aside, then linked into place); false when a lock exists.
    if (createFileOnce(file, mine, 0o600)) {
      return {
        release: () => {
          try {
            if (readFileSync(file, "utf8") === mine) rmSync(file, { force: true });
          } catch {
            // Gone already.
          }
        },
      };
    }
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue; // removed meanwhile: try again
    }
    const owner = lockOwner(text);
    if (owner !== undefined && ownerAlive(owner)) {
      let url = "";
      try {
        url = (JSON.parse(readFileSync(join(dataDir, "up.json"), "utf8")) as { url?: string }).url ?? "";
      } catch {
        // up.json is written once the platform is ready.
      }
      return `a platform already runs on ${dataDir} (pid ${owner.pid}${url ? `, ${url}` : ""}): stop it first (Ctrl-C where it runs, or kill ${owner.pid}), or start another with --data-dir DIR --port N`;
    }
    // Stale: take it out of the way; whoever renames it first replaces it, the others look again.
    const stale = join(dataDir, `up.lock.stale.${process.pid}`);
    try {
      renameSync(file, stale);
    } catch {
      continue;
    }
    let moved = "";
    try {
      moved = readFileSync(stale, "utf8");
    } catch {
      // Nothing to compare.
    }
    if (moved !== text) {
      // Another up replaced the stale lock between our read and the rename: put its lock back.
      try {
        linkSync(stale, file);
      } catch {
        // It is gone or replaced again: the next look decides.
      }
    }
    rmSync(stale, { force: true });
  }
  return `cannot lock ${file}: other \`switchyard up\`s are starting on ${dataDir}`;
}

/** Whether host:port can be listened on now; the message when it cannot. */
async function portFree(host: string, port: string): Promise<string | undefined> {
  if (port === "0") return undefined;
  return new Promise((done) => {
    const s = createServer();
    s.once("error", (err: NodeJS.ErrnoException) =>
      done(err.code === "EADDRINUSE" ? `port ${port} on ${host} is in use (another platform? \`switchyard up --port N\` picks another)` : `cannot listen on ${host}:${port}: ${err.code ?? err.message}`),
    );
    s.listen(Number(port), host, () => s.close(() => done(undefined)));
  });
}

/** `switchyard up`: starts control, then jobs, serving, experiments and the gateway, and keeps them running until Ctrl-C. */
export async function up(o: UpOptions): Promise<number> {
  const t0 = Date.now();
  // Everything the platform creates is its user's alone; a data dir others can read is refused, with the fix.
  setPrivateUmask();
  const dataDir = resolve(o.dataDir ?? defaultDataDir());
  try {
    ensurePrivateDir(dataDir);
  } catch (err) {
    process.stderr.write(`up: ${(err as Error).message}\n`);
    return EXIT.usage;
  }
  const lock = lockDataDir(dataDir);
  if (typeof lock === "string") {
    process.stderr.write(`up: ${lock}\n`);
    return EXIT.usage;
  }
  const busy = await portFree(o.host ?? "127.0.0.1", o.port ?? "8080");
  if (busy !== undefined) {
    lock.release();
    process.stderr.write(`up: ${busy}\n`);
    return EXIT.usage;
  }
  process.on("exit", () => lock.release());
  let started: Started | undefined;
  let writeState = () => {};
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n[up] stopping: ${STOP_ORDER.join(", ")}\n`);
    await started?.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
  try {
    started = o.singleProcess ? await startInProcess(o, dataDir) : await startProcesses(o, dataDir, () => writeState());
  } catch (err) {
    process.stderr.write(`up failed: ${err instanceof CliExit ? err.message : (err as Error).message}\n`);
    lock.release();
    return EXIT.failed;
  }
  const url = started.url;
  const token = readFileSync(adminTokenFile(dataDir), "utf8").trim();
  const { ca: _oldCa, ...previous } = readCliConfig();
  writeCliConfig({ ...previous, server: url, token, ...(started.tls?.caFile ? { ca: started.tls.caFile } : {}) });
  const mode = o.singleProcess ? "single-process" : "multi-process";
  const readyMs = Date.now() - t0;
  writeState = () => writeFileSync(join(dataDir, "up.json"), JSON.stringify({ url, pid: process.pid, mode, ...started!.state(), readyMs }, null, 2), { mode: 0o600 });
  writeState();
  process.stdout.write(`Switchyard is up at ${url} (ready in ${Date.now() - t0} ms, ${mode})\n  dashboard: ${url}/ (sign in with a token: the admin's is in the CLI config)\n  data: ${dataDir}\n  CLI config: ${configPath()}\n  Ctrl-C stops it.\n`);
  if (started.tls) process.stdout.write(`  TLS certificate SHA-256 fingerprint: ${started.tls.fingerprint}${started.tls.caFile ? `\n  (self-signed; the CLI trusts ${started.tls.caFile}: give it to remote users with --ca-file, and have them compare the fingerprint)` : ""}\n`);
  if (o.demo) {
    try {
      await runDemo(url, token);
    } catch (err) {
      const e = (await import("./api.js")).explain(err);
      process.stderr.write(`demo failed: ${e.message}\n`);
    }
  }
  await new Promise(() => undefined);
  return EXIT.ok;
}

/** `switchyard join-token`: a one-time token for a service on another host to enrol with this platform's CA. */
function registerJoinToken(program: Command): void {
  program
    .command("join-token")
    .description("mint a one-time token for a service on another host to enrol with this platform's CA (run where control's data dir is)")
    .requiredOption("--service <name>", "the platform service it is for (jobs, serving, experiments, gateway)")
    .option("--data-dir <dir>", "control's data dir", undefined)
    .option("--ttl <duration>", "how long the token may wait to be used (e.g. 10m, 1h)", "10m")
    .action(async (o: { service: string; dataDir?: string; ttl: string }) => {
      const [{ keyPath, loadOrCreateKey, parseDurationMs }, { certificateFingerprint, mintJoinToken }] = await Promise.all([import("@switchyard/core"), import("@switchyard/mesh/join")]);
      const ttlMs = parseDurationMs(o.ttl);
      if (ttlMs === undefined || ttlMs <= 0 || ttlMs > 7 * 86_400_000) throw new CliExit(EXIT.usage, `--ttl: "${o.ttl}" is not a duration up to 7d (e.g. 10m, 1h)`);
      if (!/^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/.test(o.service)) throw new CliExit(EXIT.usage, `--service: "${o.service}" is not a service name (lower-case letters, digits, '.', '_' and '-')`);
      const dataDir = resolve(o.dataDir ?? defaultDataDir());
      const caFile = join(dataDir, "secrets", "ca.crt");
      let caPem: string;
      try {
        caPem = readFileSync(caFile, "utf8");
      } catch {
        throw new CliExit(EXIT.usage, `no CA in ${dataDir} (${caFile} is missing): start the platform there once (\`switchyard up --data-dir ${dataDir}\`), or pass the data dir of control with --data-dir`);
      }
      const token = mintJoinToken(loadOrCreateKey(keyPath(dataDir, "join")), { namespace: "system", account: o.service, caFingerprint: certificateFingerprint(caPem), ttlMs });
      process.stdout.write(`${token}\n`);
      process.stderr.write(`one-time, valid for ${o.ttl}. On the other host, copy ${caFile} and start ${o.service} with\n  SWITCHYARD_JOIN_TOKEN=<the token> SWITCHYARD_CA_FILE=<the copied ca.crt> SWITCHYARD_CONTROL=<control's host:port>\n`);
    });
}

/** `switchyard etcd-cert`: etcd's server certificate from the platform CA, and the flags that make etcd ask for ours. */
function registerEtcdCert(program: Command): void {
  program
    .command("etcd-cert")
    .description("issue etcd's server certificate from the platform CA (run where control's data dir is) and print the etcd flags for client-certificate authentication")
    .requiredOption("--host <names...>", "the names and addresses clients reach etcd by (e.g. 127.0.0.1 etcd.internal)")
    .requiredOption("-o, --output-dir <dir>", "where to write ca.crt, server.crt and server.key")
    .option("--data-dir <dir>", "control's data dir", undefined)
    .option("--days <n>", "validity in days", "365")
    .action(async (o: { host: string[]; outputDir: string; dataDir?: string; days: string }) => {
      const days = Number(o.days);
      if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CliExit(EXIT.usage, `--days: "${o.days}" is not a whole number of days from 1 to 3650`);
      const dataDir = resolve(o.dataDir ?? defaultDataDir());
      const [{ caPaths, serviceId, DEFAULT_TRUST_DOMAIN }, { loadOrCreateCa }] = await Promise.all([import("@switchyard/mesh"), import("@switchyard/mesh/ca")]);
      try {
        readFileSync(caPaths(dataDir).key);
      } catch {
        throw new CliExit(EXIT.usage, `no CA in ${dataDir}: start the platform there once (\`switchyard up --data-dir ${dataDir}\`), or pass control's data dir with --data-dir`);
      }
      const ca = await loadOrCreateCa(dataDir, process.env.SWITCHYARD_TRUST_DOMAIN || DEFAULT_TRUST_DOMAIN);
      const issued = await ca.issueWorkload(serviceId(ca.trustDomain, "etcd"), days * 86_400_000, o.host);
      const out = resolve(o.outputDir);
      mkdirSync(out, { recursive: true, mode: 0o700 });
      writeFileSync(join(out, "ca.crt"), ca.caPem, { mode: 0o644 });
      writeFileSync(join(out, "server.crt"), issued.certPem, { mode: 0o644 });
      // A key file that was there (its mode, or a link planted in a shared directory) is replaced, never written through.
      rmSync(join(out, "server.key"), { force: true });
      if (!createFileOnce(join(out, "server.key"), issued.keyPem, 0o600)) throw new CliExit(EXIT.failed, `${join(out, "server.key")} appeared while it was written: run again`);
      process.stdout.write(`etcd --client-cert-auth --trusted-ca-file ${join(out, "ca.crt")} --cert-file ${join(out, "server.crt")} --key-file ${join(out, "server.key")} --listen-client-urls https://${o.host[0]}:2379 --advertise-client-urls https://${o.host[0]}:2379 …\n`);
      process.stderr.write(`services then use SWITCHYARD_REGISTRY=etcd://${o.host[0]}:2379 and reach it with their own certificates\n`);
    });
}

/**
 * A database URL given as a flag is in the process's argv, which every local user can read (/proc/PID/cmdline) — for
 * `up`, as long as the platform runs. A password goes in SWITCHYARD_DB (the environment is the owner's alone), or in
 * libpq's own places (PGPASSWORD, ~/.pgpass), never in --db.
 */
export function refusePasswordInArgv(db: string): void {
  let password = "";
  try {
    password = new URL(db).password;
  } catch {
    // Not a URL: storeOptionsFor says what is wrong with it.
  }
  if (password !== "") {
    throw new CliExit(EXIT.usage, "--db holds a password, and a command line is readable by every user of this machine: put the URL in SWITCHYARD_DB instead (or the password in PGPASSWORD or ~/.pgpass), and leave --db out");
  }
}

export function registerUp(program: Command): void {
  registerJoinToken(program);
  registerEtcdCert(program);
  program
    .command("up")
    .description("start the platform on this machine (control, jobs, serving, experiments, gateway) and supervise it")
    .option("--data-dir <dir>", "where state, logs and artifacts live", undefined)
    .option("--port <port>", "the gateway's port (gRPC, gRPC-Web, Connect JSON on one port)", "8080")
    .option("--host <host>", "the gateway's address", "127.0.0.1")
    .option("--gpus <n>", "simulate N GPUs where there are none")
    .option("--grace-ms <ms>", "SIGTERM→SIGKILL grace for cancelled jobs")
    .option("--demo", "submit the bundled demo training job once the platform is up (then says how to serve and tune it)")
    .option("--tls", "serve the gateway over TLS with a self-signed certificate made once for --host (its fingerprint is printed)")
    .option("--tls-cert <pem>", "serve the gateway over TLS with this certificate (chain), for a gateway other machines reach")
    .option("--tls-key <pem>", "the key of --tls-cert (mode 600)")
    .option("--single-process", "host every service in this one process (calls between them stay in memory)")
    .option("--jobs-dir <dir>", "where jobs' own directories (outputs, checkpoints) live, outside the data dir (default: /var/lib/switchyard/jobs as root, ~/.local/share/switchyard-jobs otherwise)")
    .option("--users <file>", "users.yaml: which Unix account runs each platform user's jobs when the platform runs as root (default: <data-dir>/users.yaml; without it: nobody)")
    .option("--db <url>", "where every service keeps its state: postgres://user@host/db (one schema per service) instead of SQLite files in the data dir (also SWITCHYARD_DB)")
    .option("--executor <name>", "where jobs run: local (this machine, the default) or slurm (sbatch on the Slurm cluster SLURM_CONF names; we place, Slurm runs) (also SWITCHYARD_EXECUTOR)")
    .action(async (o: UpOptions) => {
      if (o.db !== undefined) refusePasswordInArgv(o.db);
      if (o.gpus !== undefined && !/^\d+$/.test(o.gpus)) throw new CliExit(EXIT.usage, `--gpus must be a whole number (got "${o.gpus}")`);
      if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new CliExit(EXIT.usage, "--tls-cert and --tls-key go together");
      if (o.tls && o.tlsCert) throw new CliExit(EXIT.usage, "--tls makes a self-signed certificate; with --tls-cert you bring your own: pass one or the other");
      process.exitCode = await up(o);
    });
}
