import { Code, SwitchyardError, invalidArgument } from "@switchyard/core";
import { ClusterState } from "../cluster-state.js";
import { Heap } from "../heap.js";
import { neverFits } from "../reasons.js";
import type { SwitchyardSchedulerOptions } from "../scheduler-switchyard.js";
import { compileTopology } from "../topology.js";
import type { NodeInfo, PendingJob, QueuesConfig, RunningJob, ScheduleDecision, Scheduler } from "../types.js";
import { DecayedUsage, usageKey } from "../decayed-usage.js";
import { jain, mean, percentile } from "./metrics.js";
import { createPolicy, type PolicyName } from "./policies.js";
import { simJobGpus, splitOversized, type SimJob } from "./workload.js";

export interface SimulateOptions {
  readonly jobs: readonly SimJob[];
  readonly nodes: readonly NodeInfo[];
  /** Default `switchyard`. */
  readonly policy?: PolicyName;
  /** A scheduler to use instead of a named policy. */
  readonly scheduler?: Scheduler;
  readonly schedulerOptions?: SwitchyardSchedulerOptions;
  readonly queues?: QueuesConfig;
  /** Time a preempted job loses when it starts again (default 30 s). */
  readonly restartPenaltyS?: number;
  /** A running job checkpoints this often; a preemption loses the work since the last one (default 600 s). */
  readonly checkpointIntervalS?: number;
  /** Wake-ups the scheduler asks for are rounded up to this grid (default 60 s), as a periodic scheduler would. */
  readonly reviewIntervalS?: number;
  /** Also return one row per job (`SimResult.details`). */
  readonly details?: boolean;
  /** Wall-time guard: stop after this much real time and throw, saying where the replay stood (default 10 min). */
  readonly maxWallMs?: number;
}

/** What happened to one job. */
export interface SimJobResult {
  id: string;
  team: string;
  /** A serving replica: `endS` is the end of the simulation (it was still running, or waiting), `jctS` NaN. */
  serving?: true;
  submitS: number;
  firstStartS: number;
  endS: number;
  jctS: number;
  queueS: number;
  preemptions: number;
  /** Each run of the job: when it started and ended (simulated seconds), and whether a preemption ended it. */
  runs: { startS: number; endS: number; preempted: boolean }[];
}

export interface TeamResult {
  team: string;
  jobs: number;
  avgJctS: number;
  avgQueueDelayS: number;
  gpuHours: number;
}

/** Serving replicas of a simulation, apart from the training figures. */
export interface ServingResult {
  replicas: number;
  /** How often a running serving replica was stopped by a preemption (the scheduler should make this 0 but for higher priorities). */
  stops: number;
  /** Time each replica waited to start (its first start and every restart after a stop; until the end if it was still waiting). */
  avgWaitS: number;
  maxWaitS: number;
  /** Replicas not running when the simulation ended (never started, or stopped and not started again). */
  waitingAtEnd: number;
  gpuHours: number;
}

/**
 * The training figures (`jobs`, JCT, queueing, preemptions, lost GPU time, per team) count training jobs only; serving
 * replicas are in `serving`, and in the makespan and GPU utilization.
 */
export interface SimResult {
  policy: string;
  jobs: number;
  avgJctS: number;
  p50JctS: number;
  p95JctS: number;
  p99JctS: number;
  /** Time jobs spent waiting in the queue (first start and every requeue after a preemption). */
  avgQueueDelayS: number;
  p95QueueDelayS: number;
  makespanS: number;
  /** Allocated GPU-time (restarts and lost work included) / (GPUs × makespan). */
  gpuUtilization: number;
  /** Jain's index over teams of each team's mean run-time/JCT (1 = every team served alike). */
  jainFairness: number;
  preemptions: number;
  /** Preemptions per job, and the most any one job had. */
  preemptionsPerJob: number;
  maxJobPreemptions: number;
  /** GPU time thrown away by preemptions (work since the last checkpoint, and restart penalties), in GPU-hours and as a percentage of the workload's GPU time. */
  lostGpuHours: number;
  lostGpuTimePct: number;
  /** Jobs left out because they can never fit on the cluster, each with why. */
  refused: { id: string; reason: string }[];
  /** Jobs placed or found unplaceable per second of scheduler time. */
  decisionsPerSec: number;
  cycles: number;
  schedulerMs: number;
  perTeam: TeamResult[];
  /** Only when the workload has serving replicas. */
  serving?: ServingResult;
  /** Packing experiment only. */
  allocatedGpus?: number;
  strandedGpus?: number;
  refusedJobs?: number;
  details?: SimJobResult[];
}

interface JobState {
  readonly sim: SimJob;
  readonly gpus: number;
  pending: PendingJob;
  running: RunningJob | undefined;
  doneS: number;
  attainedGpuMs: number;
  preemptions: number;
  firstStartS: number;
  endS: number;
  runStartS: number;
  runPenaltyS: number;
  queuedAtS: number;
  waitS: number;
  allocGpuS: number;
  lostGpuS: number;
  runs: { startS: number; endS: number; preempted: boolean }[];
  version: number;
}

/**
 * The jobs that can never run on the cluster, even empty, each with why (a job larger than the cluster is refused
 * with a reason, never waited on). Throws InvalidArgument when the cluster has no GPUs.
 */
export function checkFits(jobs: readonly SimJob[], nodes: readonly NodeInfo[]): { id: string; reason: string }[] {
  const topo = compileTopology(nodes);
  if (topo.totalGpus === 0) throw invalidArgument("the cluster has no GPUs", [{ field: "cluster", message: "no node has a GPU", hint: "give the nodes GPUs" }]);
  const state = new ClusterState(topo);
  const bad: { id: string; reason: string }[] = [];
  for (const j of jobs) {
    const why = neverFits(state, { uid: j.id, name: j.id, team: j.team, queue: j.team, priority: j.priority, submittedAtMs: 0, seq: 0, replicas: [...j.replicas] });
    if (why !== undefined) bad.push({ id: j.id, reason: why });
  }
  return bad;
}

/**
 * Replays a workload in simulated time with the real scheduler: event-driven (arrivals, completions, wake-ups the
 * scheduler asks for); after each batch of events at one instant the scheduler runs a cycle, preempted jobs are
 * requeued (losing work since their last checkpoint, and a restart penalty when they start again), and the cycle is
 * repeated at the same instant so that the jobs it made room for start.
 */
export function simulate(o: SimulateOptions): SimResult {
  const restartPenaltyS = o.restartPenaltyS ?? 30;
  const ckptS = o.checkpointIntervalS ?? 600;
  const reviewS = o.reviewIntervalS ?? 60;
  if (!(restartPenaltyS >= 0)) throw invalidArgument(`restartPenaltyS must be ≥ 0 (got ${restartPenaltyS})`);
  if (!(ckptS > 0)) throw invalidArgument(`checkpointIntervalS must be > 0 (got ${ckptS})`);
  if (!(reviewS > 0)) throw invalidArgument(`reviewIntervalS must be > 0 (got ${reviewS})`);
  if (o.jobs.length === 0) throw invalidArgument("the workload has no jobs", [{ field: "jobs", message: "empty workload", hint: "check the trace file or the synthetic job count" }]);
  const maxWallMs = o.maxWallMs ?? 10 * 60_000;
  const nodes = o.nodes as NodeInfo[];
  const topo = compileTopology(nodes);
  const split = o.jobs.map((j) => splitOversized(j, topo.maxGpusPerNode));
  const refused = checkFits(split, nodes);
  const refusedIds = new Set(refused.map((r) => r.id));
  const jobs = refused.length === 0 ? split : split.filter((j) => !refusedIds.has(j.id));
  if (jobs.length === 0) {
    throw invalidArgument(`no job of the workload can ever fit on this cluster (first: ${refused[0]!.id}: ${refused[0]!.reason})`, [
      { field: "jobs", message: "can never fit", got: `${refused[0]!.id}: ${refused[0]!.reason}`, hint: "use a larger cluster" },
    ]);
  }
  // The oracle reference policy knows each job's remaining run time; nothing else does.
  const remainingS = (uid: string, nowS: number): number => {
    const s = states.get(uid)!;
    if (s.sim.serving === true) return Infinity;
    const run = s.running === undefined ? 0 : Math.max(0, nowS - s.runStartS - s.runPenaltyS);
    return Math.max(0, s.sim.durationS - s.doneS - run);
  };
  const scheduler = o.scheduler ?? createPolicy(o.policy ?? "switchyard", o.schedulerOptions, { remainingMs: (uid, nowMs) => remainingS(uid, nowMs / 1000) * 1000, restartPenaltyMs: restartPenaltyS * 1000 });

  const order = jobs.map((j, i) => ({ j, i })).sort((a, b) => a.j.submitS - b.j.submitS || a.i - b.i);
  const states = new Map<string, JobState>();
  const arrivals: JobState[] = order.map(({ j, i }) => {
    const uid = states.has(j.id) ? `${j.id}#${i}` : j.id;
    const s: JobState = {
      sim: j,
      gpus: simJobGpus(j),
      pending: {
        uid,
        name: j.id,
        team: j.team,
        queue: j.team,
        priority: j.priority,
        submittedAtMs: j.submitS * 1000,
        seq: i,
        replicas: [...j.replicas],
        ...(j.user !== undefined ? { user: j.user } : {}),
        ...(j.serving === true ? { serving: true } : {}),
      },
      running: undefined,
      doneS: 0,
      attainedGpuMs: 0,
      preemptions: 0,
      firstStartS: NaN,
      endS: NaN,
      runStartS: 0,
      runPenaltyS: 0,
      queuedAtS: j.submitS,
      waitS: 0,
      allocGpuS: 0,
      lostGpuS: 0,
      runs: [],
      version: 0,
    };
    states.set(uid, s);
    return s;
  });

  const completions = new Heap<{ t: number; s: JobState; version: number }>((a, b) => a.t < b.t || (a.t === b.t && a.s.pending.seq < b.s.pending.seq));
  let pending: PendingJob[] = [];
  let running: RunningJob[] = [];
  let next = 0;
  let wake = Infinity;
  let cycles = 0;
  let decisions = 0;
  let schedulerMs = 0;
  let preemptions = 0;
  let servingStops = 0;
  let finished = 0;
  const training = arrivals.reduce((n, s) => n + (s.sim.serving === true ? 0 : 1), 0);
  let lastDecision: ScheduleDecision | undefined;

  // Fair share's memory of past usage, as the jobs service keeps it (each run's GPU time added when it ends).
  const usage = new DecayedUsage(o.schedulerOptions?.usageHalfLifeMs);
  const used = (s: JobState, t: number): void => usage.add(usageKey(s.pending, o.queues), s.gpus * (t - s.runStartS) * 1000, t * 1000);
  const stop = (s: JobState, t: number): void => {
    used(s, t);
    const elapsed = t - s.runStartS;
    const progress = Math.max(0, elapsed - s.runPenaltyS);
    const kept = Math.floor(progress / ckptS) * ckptS;
    s.doneS += kept;
    s.lostGpuS += s.gpus * (elapsed - kept);
    s.attainedGpuMs += s.gpus * elapsed * 1000;
    s.allocGpuS += s.gpus * elapsed;
    s.runs.push({ startS: s.runStartS, endS: t, preempted: true });
    s.running = undefined;
    s.version++;
    s.preemptions++;
    s.queuedAtS = t;
    const { reserved: _r, ...rest } = s.pending;
    s.pending = { ...rest, attainedGpuMs: s.attainedGpuMs, queuedAtMs: t * 1000, preemptions: s.preemptions };
  };
  const start = (s: JobState, t: number, placement: RunningJob["placement"], preemptible: boolean): void => {
    s.waitS += t - s.queuedAtS;
    if (Number.isNaN(s.firstStartS)) s.firstStartS = t;
    s.runStartS = t;
    s.runPenaltyS = s.preemptions > 0 ? restartPenaltyS : 0;
    if (s.pending.reserved === true) {
      const { reserved: _r, ...rest } = s.pending;
      s.pending = rest;
    }
    s.running = { ...s.pending, placement, startedAtMs: t * 1000, checkpointedAtMs: t * 1000, ...(preemptible ? { preemptible: true } : {}) };
    s.version++;
    // A serving replica never completes: it runs until it is stopped or the simulation ends.
    if (s.sim.serving !== true) completions.push({ t: t + s.runPenaltyS + Math.max(0, s.sim.durationS - s.doneS), s, version: s.version });
  };

  const wall0 = performance.now();
  let simT = 0;
  for (;;) {
    if (performance.now() - wall0 > maxWallMs) {
      const first = lastDecision?.waiting[0];
      throw new SwitchyardError(
        Code.DeadlineExceeded,
        `the simulation was stopped after ${Math.round((performance.now() - wall0) / 1000)} s of wall time (the guard is ${Math.round(maxWallMs / 1000)} s), at simulated time ${Math.round(simT)} s: ` +
          `${finished} of ${training} training jobs finished, ${pending.length} waiting, ${running.length} running, ${preemptions} preemptions so far` +
          `${first !== undefined ? `; first waiting: ${first.uid}: ${first.reason}` : ""}`,
      );
    }
    // Every job has arrived and all training is done: the end (serving replicas would run on for ever).
    if (next >= arrivals.length && finished === training) break;
    const top = completions.peek();
    const tArrive = next < arrivals.length ? arrivals[next]!.sim.submitS : Infinity;
    const t = Math.min(tArrive, top?.t ?? Infinity, pending.length > 0 ? wake : Infinity);
    if (t === Infinity) break;
    simT = t;
    let changed = false;
    for (let c = completions.peek(); c !== undefined && c.t <= t; c = completions.peek()) {
      completions.pop();
      if (c.version !== c.s.version) continue;
      const s = c.s;
      used(s, t);
      s.allocGpuS += s.gpus * (t - s.runStartS);
      s.attainedGpuMs += s.gpus * (t - s.runStartS) * 1000;
      s.runs.push({ startS: s.runStartS, endS: t, preempted: false });
      s.running = undefined;
      s.endS = t;
      finished++;
      changed = true;
    }
    while (next < arrivals.length && arrivals[next]!.sim.submitS <= t) {
      pending.push(arrivals[next++]!.pending);
    }
    if (changed) running = running.filter((r) => states.get(r.uid)!.running === r);
    wake = Infinity;
    if (pending.length === 0) continue;
    // Again at the same instant while a cycle preempts: the jobs it stopped others for start in the next one.
    for (let round = 0; round < 64; round++) {
      for (const r of running) {
        const s = states.get(r.uid)!;
        const progress = Math.max(0, t - s.runStartS - s.runPenaltyS);
        r.checkpointedAtMs = (s.runStartS + s.runPenaltyS + Math.floor(progress / ckptS) * ckptS) * 1000;
      }
      const t0 = performance.now();
      const d = scheduler.schedule({ nowMs: t * 1000, nodes, pending, running, usageHistory: usage.snapshot(t * 1000), ...(o.queues !== undefined ? { queues: o.queues } : {}) });
      schedulerMs += performance.now() - t0;
      lastDecision = d;
      cycles++;
      decisions += d.start.length + d.waiting.length;
      const stopped: PendingJob[] = [];
      const reservedNow = new Set<string>();
      for (const p of d.preempt) {
        const s = states.get(p.uid);
        if (s?.running === undefined) continue;
        stop(s, t);
        stopped.push(s.pending);
        if (s.sim.serving === true) servingStops++;
        else preemptions++;
        if (p.forUid !== undefined) reservedNow.add(p.forUid);
      }
      // The jobs running jobs were stopped for are considered first until they start (PendingJob.reserved).
      let marked = false;
      for (const uid of reservedNow) {
        const s = states.get(uid);
        if (s === undefined || s.running !== undefined || !Number.isNaN(s.endS) || s.pending.reserved === true) continue;
        s.pending = { ...s.pending, reserved: true };
        marked = true;
      }
      if (marked) pending = pending.map((p) => (reservedNow.has(p.uid) ? states.get(p.uid)!.pending : p));
      const started: RunningJob[] = [];
      for (const st of d.start) {
        const s = states.get(st.uid);
        if (s === undefined || s.running !== undefined || !Number.isNaN(s.endS)) continue;
        start(s, t, st.placement, st.preemptible === true);
        started.push(s.running!);
      }
      if (stopped.length > 0 || started.length > 0) {
        pending = pending.filter((p) => states.get(p.uid)!.running === undefined);
        pending.push(...stopped);
        running = running.filter((r) => states.get(r.uid)!.running === r);
        running.push(...started);
      }
      if (d.nextReviewAtMs !== undefined) wake = Math.max(t + reviewS, Math.ceil(d.nextReviewAtMs / 1000 / reviewS) * reviewS);
      if (d.preempt.length === 0) break;
    }
  }
  if (finished < training) {
    const stuck = lastDecision?.waiting[0];
    throw new SwitchyardError(
      Code.FailedPrecondition,
      `the simulation stalled: ${training - finished} jobs can never start${stuck !== undefined ? `; first: ${stuck.uid}: ${stuck.reason}` : ""}`,
    );
  }
  // The end: serving replicas still running stop here, those still waiting waited until now.
  for (const s of arrivals) {
    if (s.sim.serving !== true) continue;
    if (s.running !== undefined) {
      s.allocGpuS += s.gpus * (simT - s.runStartS);
      s.runs.push({ startS: s.runStartS, endS: simT, preempted: false });
    } else s.waitS += simT - s.queuedAtS;
    s.endS = simT;
  }
  const result = summarize(scheduler.name, arrivals, topo.totalGpus, { cycles, decisions, schedulerMs, preemptions, servingStops }, refused);
  if (o.details === true) {
    result.details = arrivals.map((s) => ({
      id: s.sim.id,
      team: s.sim.team,
      ...(s.sim.serving === true ? { serving: true as const } : {}),
      submitS: s.sim.submitS,
      firstStartS: s.firstStartS,
      endS: s.endS,
      jctS: s.sim.serving === true ? NaN : s.endS - s.sim.submitS,
      queueS: s.waitS,
      preemptions: s.preemptions,
      runs: s.runs,
    }));
  }
  return result;
}

function summarize(
  policy: string,
  all: readonly JobState[],
  totalGpus: number,
  c: { cycles: number; decisions: number; schedulerMs: number; preemptions: number; servingStops: number },
  refused: { id: string; reason: string }[],
): SimResult {
  // Training figures over training jobs; serving replicas have no completion time, so only the span and the
  // allocation (utilization) count them.
  const states = all.filter((s) => s.sim.serving !== true);
  const serving = all.filter((s) => s.sim.serving === true);
  const jct = states.map((s) => s.endS - s.sim.submitS);
  const wait = states.map((s) => s.waitS);
  const sortedJct = [...jct].sort((a, b) => a - b);
  const sortedWait = [...wait].sort((a, b) => a - b);
  let first = Infinity;
  let last = -Infinity;
  let alloc = 0;
  for (const s of all) {
    first = Math.min(first, s.sim.submitS);
    last = Math.max(last, s.endS);
    alloc += s.allocGpuS;
  }
  let lost = 0;
  let work = 0;
  let maxJobPreemptions = 0;
  const teams = new Map<string, { jobs: number; jct: number; wait: number; gpuS: number; speed: number }>();
  states.forEach((s, i) => {
    lost += s.lostGpuS;
    work += s.gpus * s.sim.durationS;
    maxJobPreemptions = Math.max(maxJobPreemptions, s.preemptions);
    let t = teams.get(s.sim.team);
    if (t === undefined) teams.set(s.sim.team, (t = { jobs: 0, jct: 0, wait: 0, gpuS: 0, speed: 0 }));
    t.jobs++;
    t.jct += jct[i]!;
    t.wait += wait[i]!;
    t.gpuS += s.allocGpuS;
    t.speed += jct[i]! > 0 ? Math.min(1, s.sim.durationS / jct[i]!) : 1;
  });
  const makespanS = last - first;
  const perTeam = [...teams.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([team, t]) => ({ team, jobs: t.jobs, avgJctS: t.jct / t.jobs, avgQueueDelayS: t.wait / t.jobs, gpuHours: t.gpuS / 3600 }));
  const result: SimResult = {
    policy,
    jobs: states.length,
    avgJctS: mean(jct),
    p50JctS: percentile(sortedJct, 50),
    p95JctS: percentile(sortedJct, 95),
    p99JctS: percentile(sortedJct, 99),
    avgQueueDelayS: mean(wait),
    p95QueueDelayS: percentile(sortedWait, 95),
    makespanS,
    gpuUtilization: makespanS > 0 ? alloc / (totalGpus * makespanS) : 0,
    jainFairness: jain([...teams.values()].map((t) => t.speed / t.jobs)),
    preemptions: c.preemptions,
    preemptionsPerJob: states.length > 0 ? c.preemptions / states.length : 0,
    maxJobPreemptions,
    lostGpuHours: lost / 3600,
    lostGpuTimePct: work > 0 ? (100 * lost) / work : 0,
    refused,
    decisionsPerSec: c.schedulerMs > 0 ? c.decisions / (c.schedulerMs / 1000) : 0,
    cycles: c.cycles,
    schedulerMs: c.schedulerMs,
    perTeam,
  };
  if (serving.length > 0) {
    const waits = serving.map((s) => s.waitS);
    result.serving = {
      replicas: serving.length,
      stops: c.servingStops,
      avgWaitS: mean(waits),
      maxWaitS: Math.max(...waits),
      waitingAtEnd: serving.filter((s) => s.running === undefined).length,
      gpuHours: serving.reduce((g, s) => g + s.allocGpuS, 0) / 3600,
    };
  }
  return result;
}
