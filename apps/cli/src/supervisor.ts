import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, statSync, type WriteStream } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseReadyLine, type ReadyInfo } from "@switchyard/core";

export interface ServiceSpec {
  name: string;
  /** Absolute path of the service's entry point. */
  entry: string;
  env: Record<string, string>;
  /** Variables made anew for each start, restarts included (a one-time join token). */
  freshEnv?: () => Record<string, string>;
}

interface Running {
  spec: ServiceSpec;
  child: ChildProcess;
  startedAt: number;
  ready?: ReadyInfo;
}

export interface SupervisorOptions {
  logsDir: string;
  /** Called with warnings and errors the services log (pino JSON lines on stderr). */
  onLog?: (service: string, level: number, msg: string) => void;
  onRestart?: (service: string, code: number | null, delayMs: number) => void;
  /** Called when a restarted service is ready again (its new pid is in `pids()`, its count in `restarts`). */
  onRestarted?: (service: string) => void;
}

/**
 * Node flags every service runs with. A small semi-space (V8's default grows to 16 MB) keeps ~13 MB less per service
 * (bench `jobs`, perServiceRssMb). The trade, measured there: 1 MB instead of 2 saves under 1 MB at rest and ~2 MB
 * after a burst, but scavenges cost the jobs service ~15% more CPU per submission (the requests in flight survive
 * each scavenge); 4 MB buys no throughput.
 */
export const SERVICE_NODE_ARGS: readonly string[] = ["--max-semi-space-size=2"];

/**
 * Environment every service gets unless the operator's says otherwise. glibc gives each thread that mallocs its own
 * arena (libuv's pool, V8's GC helpers, SQLite): two arenas hold a service's native allocations in ~3 MB less RSS
 * after a burst of requests (bench `jobs`), at no measurable cost — the services' threads rarely allocate at once.
 */
export const SERVICE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: "2" };

/**
 * The service's bundled entry (`npm run build`). A bundle older than the compiled files it was made from (a plain
 * `tsc -b` since) would run old code: `up` refuses it and says how to rebuild.
 */
export function serviceEntry(pkg: "control" | "jobs" | "serving" | "experiments" | "gateway"): string {
  const bundle = fileURLToPath(import.meta.resolve(`@switchyard/${pkg}/main`));
  const compiled = join(dirname(dirname(bundle)), "main.js");
  const age = (f: string) => statSync(f, { throwIfNoEntry: false })?.mtimeMs;
  const b = age(bundle);
  const c = age(compiled);
  if (b === undefined || (c !== undefined && c > b)) throw new Error(`${bundle} is ${b === undefined ? "missing" : "older than the compiled service"}: run \`npm run build\``);
  return bundle;
}

/**
 * `switchyard up`'s process supervisor: starts a service, waits for its ready line, restarts it with backoff when it
 * dies, writes its logs to `<logsDir>/<service>.log`, and stops everything gracefully (SIGTERM, then SIGKILL).
 */
export class Supervisor {
  private readonly running = new Map<string, Running>();
  private readonly backoff = new Map<string, number>();
  private readonly logs = new Map<string, WriteStream>();
  /** How many times each service was restarted after dying (0 for a platform that never lost a process). */
  readonly restarts: Record<string, number> = {};
  private stopping = false;

  constructor(private readonly o: SupervisorOptions) {
    mkdirSync(o.logsDir, { recursive: true, mode: 0o700 });
  }

  private log(name: string): WriteStream {
    let s = this.logs.get(name);
    if (!s) this.logs.set(name, (s = createWriteStream(join(this.o.logsDir, `${name}.log`), { flags: "a", mode: 0o600 })));
    return s;
  }

  /** Starts a service and resolves with its ready info (address…), or rejects if it exits first. */
  start(spec: ServiceSpec, readyTimeoutMs = 30_000): Promise<ReadyInfo> {
    return new Promise((resolve, reject) => {
      // SWITCHYARD_NODE_ARGS: extra node flags for every service (e.g. --cpu-prof), for profiling; they come after
      // SERVICE_NODE_ARGS, so they can override them.
      const nodeArgs = [...SERVICE_NODE_ARGS, ...(process.env.SWITCHYARD_NODE_ARGS ?? "").split(" ").filter(Boolean)];
      const child = spawn(process.execPath, [...nodeArgs, spec.entry], { env: { ...SERVICE_ENV, ...process.env, ...spec.env, ...(spec.freshEnv?.() ?? {}) }, stdio: ["ignore", "pipe", "pipe", "ipc"] });
      const r: Running = { spec, child, startedAt: Date.now() };
      this.running.set(spec.name, r);
      const log = this.log(spec.name);
      let settled = false;
      const timer = setTimeout(() => {
        if (!settled) {
          settled = true;
          reject(new Error(`${spec.name} did not become ready within ${readyTimeoutMs} ms (see ${join(this.o.logsDir, `${spec.name}.log`)})`));
        }
      }, readyTimeoutMs);
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const ready = parseReadyLine(line);
        if (ready && !settled) {
          settled = true;
          clearTimeout(timer);
          r.ready = ready;
          resolve(ready);
        } else log.write(line + "\n");
      });
      createInterface({ input: child.stderr! }).on("line", (line) => {
        log.write(line + "\n");
        if (!this.o.onLog) return;
        try {
          const j = JSON.parse(line) as { level?: number; msg?: string };
          if ((j.level ?? 0) >= 40) this.o.onLog(spec.name, j.level ?? 40, j.msg ?? line);
        } catch {
          this.o.onLog(spec.name, 50, line);
        }
      });
      child.on("exit", (code, signal) => {
        log.write(`[supervisor] ${spec.name} exited code=${code} signal=${signal}\n`);
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(new Error(`${spec.name} exited before it was ready (code ${code}, signal ${signal}); see ${join(this.o.logsDir, `${spec.name}.log`)}`));
          return;
        }
        if (this.stopping || this.running.get(spec.name)?.child !== child) return;
        // Crashed: restart with backoff (reset after a minute of good health).
        const healthy = Date.now() - r.startedAt > 60_000;
        const delay = healthy ? 500 : Math.min((this.backoff.get(spec.name) ?? 250) * 2, 30_000);
        this.backoff.set(spec.name, delay);
        this.o.onRestart?.(spec.name, code, delay);
        setTimeout(() => {
          if (this.stopping) return;
          this.restarts[spec.name] = (this.restarts[spec.name] ?? 0) + 1;
          this.start(spec).then(
            () => this.o.onRestarted?.(spec.name),
            (err: unknown) => log.write(`[supervisor] restart failed: ${String(err)}\n`),
          );
        }, delay);
      });
    });
  }

  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [n, r] of this.running) if (r.child.pid !== undefined && r.child.exitCode === null) out[n] = r.child.pid;
    return out;
  }

  /** Stops services in the given order (each: SIGTERM, then SIGKILL after `graceMs`). */
  async stop(order: string[], graceMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const name of order) {
      const r = this.running.get(name);
      if (!r || r.child.exitCode !== null || r.child.signalCode !== null) continue;
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => r.child.kill("SIGKILL"), graceMs);
        r.child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        r.child.kill("SIGTERM");
      });
    }
    for (const s of this.logs.values()) s.end();
  }
}
