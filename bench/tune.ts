// npm run bench -- tune
// 1. The algorithms against Optuna (Debian's python3-optuna on /usr/bin/python3) on the same objectives, budgets and
//    seeds (bench/lib-tune-quality.ts; the objectives are written down in bench/README.md): TPE vs Optuna's TPE,
//    GP-EI vs random search, ASHA and medianstop vs Optuna's pruners, and the cost of a suggestion at 1,000 trials.
// 2. Trial start on the local executor: an experiment on `switchyard up` whose trials print when they started; from
//    the trial's creation (right after the algorithm suggested it) to its command running. Beside it, the same command
//    submitted as a plain job (creation → running), the floor the platform's job path sets.
import { measureTuneQuality } from "./lib-tune-quality.js";
import { percentile, round, startPlatform } from "./lib-platform.js";

const TRIALS = Number(process.env.BENCH_TUNE_TRIALS ?? 30);
const SEEDS = Number(process.env.BENCH_TUNE_SEEDS ?? 20);
const log = (line: string) => process.stdout.write(`${line}\n`);

async function api(url: string, token: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function trialStart(): Promise<{ trialStartP50Ms: number; trialStartP99Ms: number; plainJobStartP50Ms: number; trials: number }> {
  const p = await startPlatform();
  try {
    const experiment = `apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {name: bench-start, namespace: default}
spec:
  objective: {type: minimize, objectiveMetricName: loss, additionalMetricNames: [started]}
  algorithm: {algorithmName: random}
  parallelTrialCount: 3
  maxTrialCount: ${TRIALS}
  parameters:
  - {name: x, parameterType: double, feasibleSpace: {min: "0", max: "1"}}
  trialTemplate:
    trialParameters: [{name: x, reference: x}]
    trialSpec:
      apiVersion: switchyard/v1
      kind: Job
      spec:
        command: [/bin/sh, -c, "echo started=$(date +%s%3N) loss=\${trialParameters.x}"]
        resources: {cpu: 1m, memory: 1Mi}
`;
    await api(p.url, p.token, "POST", "/v1/experiments", { manifest: experiment });
    for (;;) {
      const e = await api(p.url, p.token, "GET", "/v1/experiments/bench-start");
      const status = e.status as { condition: string; message: string };
      if (status.condition !== "Running" && status.condition !== "Created") {
        if (status.condition !== "Succeeded") throw new Error(`the experiment ended ${status.condition}: ${status.message}`);
        break;
      }
      await sleep(200);
    }
    const { trials } = (await api(p.url, p.token, "GET", "/v1/experiments/bench-start/trials")) as { trials: { createdAt: string; observation: { metrics: { name: string; latest: string }[] } }[] };
    const starts = trials
      .map((t) => Number(t.observation.metrics.find((m) => m.name === "started")?.latest) - Date.parse(t.createdAt))
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
    // The floor: the same command as a plain job, creation → its command running.
    const plain: number[] = [];
    for (let i = 0; i < Math.min(TRIALS, 30); i++) {
      const name = `plain-${i}`;
      const r = (await api(p.url, p.token, "POST", "/v1/jobs", { manifest: JSON.stringify({ apiVersion: "switchyard/v1", kind: "Job", metadata: { name }, spec: { command: ["/bin/sh", "-c", "echo started=$(date +%s%3N)"], resources: { cpu: "1m", memory: "1Mi" } } }) })) as { job: { metadata: { creationTimestamp: string } } };
      const created = Date.parse(r.job.metadata.creationTimestamp);
      for (;;) {
        const m = (await api(p.url, p.token, "GET", `/v1/jobs/${name}/metrics`)) as { series?: { name: string; latest: number }[] };
        const s = m.series?.find((x) => x.name === "started");
        if (s) {
          plain.push(s.latest - created);
          break;
        }
        await sleep(20);
      }
    }
    plain.sort((a, b) => a - b);
    return { trialStartP50Ms: round(percentile(starts, 50)), trialStartP99Ms: round(percentile(starts, 99)), plainJobStartP50Ms: round(percentile(plain, 50)), trials: starts.length };
  } finally {
    await p.stop();
  }
}

async function main(): Promise<void> {
  log("== trial start on the local executor");
  const start = await trialStart();
  log(`trial start p50 ${start.trialStartP50Ms} ms, p99 ${start.trialStartP99Ms} ms over ${start.trials} trials (goal p50 ≤ 100); the same command as a plain job: p50 ${start.plainJobStartP50Ms} ms`);
  // BENCH_TUNE_ONLY=start: the trial start alone (the quality half takes minutes and needs Optuna).
  if (process.env.BENCH_TUNE_ONLY === "start") {
    process.stdout.write(`${JSON.stringify(start)}\n`);
    return;
  }
  log("== the algorithms against Optuna");
  const quality = await measureTuneQuality({ seeds: SEEDS, log });
  process.stdout.write(`${JSON.stringify({ ...quality, trialStartP50Ms: start.trialStartP50Ms, trialStartP99Ms: start.trialStartP99Ms, plainJobStartP50Ms: start.plainJobStartP50Ms })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
