// Shared by bench/serving.ts: closed-loop throughput arms measured in interleaved rounds (a new seeded order every
// round, so drift and whatever an arm leaves behind hit every arm alike; with a fixed order the arms in one place of
// it came out lowest in five runs of five), each with the CPU time every process spent per request,
// how busy each process's event loop was, and, for a batching replica, the rows per model run.
import { availableParallelism } from "node:os";
import { closedLoop, cpuDuring, forMs, type InferCall, type LoadResult } from "./lib-inference.js";
import { round } from "./lib-platform.js";

export interface ThroughputArm {
  name: string;
  call: InferCall;
  /** The model server's pid (its CPU is counted as `modelServer`). */
  server: number;
  /** A batching deployment's name: its rows per run are read around the arm. */
  batchedModel?: string;
}

export interface ThroughputOptions {
  arms: ThroughputArm[];
  rounds: number;
  seconds: number;
  concurrency: number;
  /** The platform's processes whose CPU is counted by name. */
  pids: Record<string, number>;
  /** Runs at the start of every round (the in-process baseline). */
  eachRound: () => Promise<void>;
  /** A deployment's batch-size histogram now: rows summed over runs, runs. */
  batchRows: (model: string) => Promise<{ sum: number; count: number }>;
}

export interface ArmResult {
  runs: LoadResult[];
  /** Median over rounds. */
  itemsPerSec: number;
  /** Each round's, in order. */
  itemsPerSecByRound: number[];
  /** CPU ms per answered request, per process (and `others`, `machineBusyPct`), averaged over rounds. */
  cpu: Record<string, number>;
  /** Each process's main thread (its event loop), % of one core, averaged over rounds. */
  loopBusyPct: Record<string, number>;
  rowsPerRun?: number;
  /** Every round's latencies and failures together. */
  all: LoadResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A copy in an order of its own per seed (Fisher–Yates with xorshift32): the same seed, the same order. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let state = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export async function measureThroughput(o: ThroughputOptions): Promise<Map<string, ArmResult>> {
  for (const arm of o.arms) await closedLoop(arm.call, o.concurrency, forMs(1000));
  const runs = new Map(o.arms.map((a) => [a.name, [] as LoadResult[]]));
  const cpu = new Map(o.arms.map((a) => [a.name, {} as Record<string, number>]));
  const loops = new Map(o.arms.map((a) => [a.name, {} as Record<string, number>]));
  const rows = new Map<string, { sum: number; count: number }>();
  for (let r = 0; r < o.rounds; r++) {
    await o.eachRound();
    for (const arm of shuffled(o.arms, r + 1)) {
      // Half a second unmeasured first: what the arm before it (or the idle in-process baseline) left behind settles.
      await closedLoop(arm.call, o.concurrency, forMs(500));
      const before = arm.batchedModel ? await o.batchRows(arm.batchedModel) : undefined;
      const { value, cpuMs, mainThreadMs, wallMs } = await cpuDuring({ ...o.pids, modelServer: arm.server }, () => closedLoop(arm.call, o.concurrency, forMs(o.seconds * 1000)));
      runs.get(arm.name)!.push(value);
      if (before) {
        const after = await o.batchRows(arm.batchedModel!);
        const acc = rows.get(arm.name) ?? { sum: 0, count: 0 };
        rows.set(arm.name, { sum: acc.sum + after.sum - before.sum, count: acc.count + after.count - before.count });
      }
      const c = cpu.get(arm.name)!;
      for (const [k, v] of Object.entries(cpuMs)) c[k] = (c[k] ?? 0) + v / Math.max(1, value.ok) / o.rounds;
      // How busy each process's event loop (main thread) was, in % of one core: a single-threaded stage at ~100% is
      // the bottleneck of the pipeline.
      const l = loops.get(arm.name)!;
      for (const [k, v] of Object.entries(mainThreadMs)) l[k] = (l[k] ?? 0) + (v / wallMs / o.rounds) * 100;
      // How busy the machine's cores were, every process counted, in %.
      c.machineBusyPct = (c.machineBusyPct ?? 0) + (Object.values(cpuMs).reduce((x, y) => x + y, 0) / (wallMs * availableParallelism()) / o.rounds) * 100;
    }
  }
  const out = new Map<string, ArmResult>();
  for (const arm of o.arms) {
    const rs = runs.get(arm.name)!;
    const all: LoadResult = {
      ok: rs.reduce((s, x) => s + x.ok, 0),
      failed: rs.reduce((s, x) => s + x.failed, 0),
      seconds: rs.reduce((s, x) => s + x.seconds, 0),
      latencies: rs.flatMap((x) => x.latencies).sort((x, y) => x - y),
      failures: new Map(rs.flatMap((x) => [...x.failures])),
      versions: new Map(),
    };
    const rr = rows.get(arm.name);
    out.set(arm.name, {
      runs: rs,
      itemsPerSec: median(rs.map((x) => x.ok / x.seconds)),
      itemsPerSecByRound: rs.map((x) => round(x.ok / x.seconds, 0)),
      cpu: Object.fromEntries(Object.entries(cpu.get(arm.name)!).map(([k, v]) => [k, round(v, 3)])),
      loopBusyPct: Object.fromEntries(Object.entries(loops.get(arm.name)!).map(([k, v]) => [k, round(v, 0)])),
      ...(rr ? { rowsPerRun: rr.sum / Math.max(1, rr.count) } : {}),
      all,
    });
  }
  return out;
}
