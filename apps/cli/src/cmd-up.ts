import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
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
}

/** `switchyard up`: starts control, then jobs and the gateway, and supervises them until Ctrl-C. */
export async function up(o: UpOptions): Promise<number> {
  const t0 = Date.now();
  const dataDir = resolve(o.dataDir ?? defaultDataDir());
  mkdirSync(dataDir, { recursive: true });
  const sup = new Supervisor({
    logsDir: join(dataDir, "logs"),
    onLog: (svc, _level, msg) => process.stderr.write(`[${svc}] ${msg}\n`),
    onRestart: (svc, code, delay) => process.stderr.write(`[up] ${svc} exited (code ${code}); restarting in ${delay} ms\n`),
  });
  const base = { SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_HOST: "127.0.0.1" };
  const order = ["gateway", "jobs", "control"];
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write("\n[up] stopping: gateway, jobs, control\n");
    await sup.stop(order);
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
  try {
    const control = await sup.start({ name: "control", entry: serviceEntry("control"), env: { ...base, SWITCHYARD_PORT: "0" } });
    // Restarts of control reuse its first port, so the others reconnect to the same address.
    const controlPort = control.address.split(":").pop()!;
    sup.start.bind(sup);
    const common = { ...base, SWITCHYARD_CONTROL: control.address };
    const [, gateway] = await Promise.all([
      sup.start({
        name: "jobs",
        entry: serviceEntry("jobs"),
        env: { ...common, SWITCHYARD_PORT: "0", ...(o.gpus !== undefined ? { SWITCHYARD_SIMULATE_GPUS: o.gpus } : {}), ...(o.graceMs ? { SWITCHYARD_GRACE_MS: o.graceMs } : {}) },
      }),
      sup.start({ name: "gateway", entry: serviceEntry("gateway"), env: { ...common, SWITCHYARD_PORT: o.port ?? "8080", SWITCHYARD_HOST: o.host ?? "127.0.0.1", SWITCHYARD_ADMIN_TOKEN_FILE: adminTokenFile(dataDir) } }),
    ]);
    void controlPort;
    const url = String(gateway.url);
    const token = readFileSync(adminTokenFile(dataDir), "utf8").trim();
    writeCliConfig({ ...readCliConfig(), server: url, token });
    writeFileSync(join(dataDir, "up.json"), JSON.stringify({ url, pid: process.pid, services: sup.pids(), readyMs: Date.now() - t0 }, null, 2));
    process.stdout.write(`Switchyard is up at ${url} (ready in ${Date.now() - t0} ms)\n  data: ${dataDir}\n  CLI config: ${configPath()}\n  Ctrl-C stops it.\n`);
    if (o.demo) {
      try {
        await runDemo(url, token);
      } catch (err) {
        const e = (await import("./api.js")).explain(err);
        process.stderr.write(`demo failed: ${e.message}\n`);
      }
    }
  } catch (err) {
    process.stderr.write(`up failed: ${err instanceof CliExit ? err.message : (err as Error).message}\n`);
    await sup.stop(order, 2000);
    return EXIT.failed;
  }
  await new Promise(() => undefined);
  return EXIT.ok;
}

export function registerUp(program: Command): void {
  program
    .command("up")
    .description("start the platform on this machine (control, jobs, gateway) and supervise it")
    .option("--data-dir <dir>", "where state, logs and artifacts live", undefined)
    .option("--port <port>", "the gateway's port (gRPC, gRPC-Web, Connect JSON on one port)", "8080")
    .option("--host <host>", "the gateway's address", "127.0.0.1")
    .option("--gpus <n>", "simulate N GPUs where there are none")
    .option("--grace-ms <ms>", "SIGTERM→SIGKILL grace for cancelled jobs")
    .option("--demo", "submit the bundled demo training job once the platform is up")
    .action(async (o: UpOptions) => {
      if (o.gpus !== undefined && !/^\d+$/.test(o.gpus)) throw new CliExit(EXIT.usage, `--gpus must be a whole number (got "${o.gpus}")`);
      process.exitCode = await up(o);
    });
}
