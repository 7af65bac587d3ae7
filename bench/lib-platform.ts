// Shared by the benchmarks: start `switchyard up` as a real process tree in a temp dir and talk to it.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliEnv, spawnUp } from "../apps/cli/src/test-platform.js";

export interface BenchPlatform {
  url: string;
  token: string;
  dir: string;
  dataDir: string;
  proc: ChildProcess;
  readyMs: number;
  stop(): Promise<void>;
}

export async function startPlatform(args: string[] = [], env: Record<string, string> = {}): Promise<BenchPlatform> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  const dataDir = join(dir, "data");
  const t0 = performance.now();
  const up = await spawnUp(cliEnv(join(dir, "config.yaml"), { SWITCHYARD_LOG_LEVEL: "warn", ...env }), ["--data-dir", dataDir, "--port", "0", ...args]);
  const readyMs = performance.now() - t0;
  const token = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  return {
    url: up.url,
    token,
    dir,
    dataDir,
    proc: up.proc,
    readyMs,
    async stop() {
      await up.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Summed VmRSS (MB) of the supervisor and its services, from /proc. */
export function platformRssMb(dataDir: string): number {
  const state = JSON.parse(readFileSync(join(dataDir, "up.json"), "utf8")) as { pid: number; services: Record<string, number> };
  let kb = 0;
  for (const pid of [state.pid, ...Object.values(state.services)]) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    kb += Number(m?.[1] ?? 0);
  }
  return kb / 1024;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * POSTs submissions (`{name, manifest}`, request id `bench-<name>`) from `concurrency` callers, retrying each with the
 * same request id while the platform is unreachable or answers 5xx (a kill -9 under test); a 4xx is the benchmark's
 * own mistake and stops it. At most 1,000 tries a submission. `onAck` sees the count of acknowledged ones.
 */
export async function submitAll(
  url: string,
  token: string,
  bodies: { name: string; manifest: string }[],
  o: { concurrency?: number; onAck?: (n: number) => void } = {},
): Promise<{ acked: Set<string>; seconds: number; retries: number }> {
  const acked = new Set<string>();
  let retries = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.concurrency ?? 32 }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const b = bodies[i]!;
        const body = JSON.stringify({ manifest: b.manifest, requestId: `bench-${b.name}` });
        for (let attempt = 1; ; attempt++) {
          const r = await fetch(`${url}/v1/jobs`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body }).then(
            async (res) => ({ status: res.status, text: await res.text() }),
            () => ({ status: 0, text: "unreachable" }),
          );
          if (r.status >= 200 && r.status < 300) break;
          if ((r.status >= 400 && r.status < 500) || attempt >= 1000) throw new Error(`submission ${b.name}: ${r.status} ${r.text.slice(0, 300)}`);
          retries++;
          await new Promise((res) => setTimeout(res, 20));
        }
        acked.add(b.name);
        o.onAck?.(acked.size);
      }
    }),
  );
  return { acked, seconds: (performance.now() - t0) / 1000, retries };
}
