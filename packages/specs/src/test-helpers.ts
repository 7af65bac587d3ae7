/** Helpers for this package's tests: catching the one error a bad manifest throws, and checking whole specs (jobs and deployments). */
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import type { FieldViolation } from "@switchyard/core";
import type { JobResources, JobSpec } from "./job-spec.js";
import { parseJobManifest } from "./job-manifest.js";
import { parseDeploymentManifest } from "./deployment-manifest.js";
import type { DeploymentSpec } from "./deployment-spec.js";
import { parseExperimentManifest } from "./experiment-manifest.js";
import type { ExperimentSpec, ParseExperimentManifestOptions } from "./experiment-spec.js";

/** The violations of a manifest that must be refused; fails the test if it parses. */
export function violationsOf(text: string, file = "job.yaml"): readonly FieldViolation[] {
  try {
    parseJobManifest(text, { file });
  } catch (err) {
    assert.ok(err instanceof SwitchyardError, `expected a SwitchyardError, got ${String(err)}`);
    assert.equal(err.code, Code.InvalidArgument);
    return err.details;
  }
  assert.fail("the manifest was accepted");
}

/** `line:column field` for each violation, the compact form tests compare. */
export function where(details: readonly FieldViolation[]): string[] {
  return details.map((d) => `${d.line ?? "?"}:${d.column ?? "?"} ${d.field}`);
}

function isWholeResources(r: JobResources): boolean {
  return (
    Number.isSafeInteger(r.gpus) && r.gpus >= 0 &&
    Number.isSafeInteger(r.gpuMilli) && r.gpuMilli >= 0 && r.gpuMilli < 1000 && (r.gpuMilli === 0 || r.gpus === 0) &&
    Number.isSafeInteger(r.cpuMilli) && r.cpuMilli >= 0 &&
    Number.isSafeInteger(r.memoryMb) && r.memoryMb >= 0 &&
    (r.gpuType === undefined || typeof r.gpuType === "string")
  );
}

const isStrings = (a: unknown): boolean => Array.isArray(a) && a.every((s) => typeof s === "string");
const isStringMap = (m: unknown): boolean => typeof m === "object" && m !== null && Object.values(m).every((v) => typeof v === "string");

/** Absent, or a non-empty map of well-formed sources whose names are not also plain variables. */
function isSecretEnv(secretEnv: JobSpec["secretEnv"], env: Record<string, string>): boolean {
  if (secretEnv === undefined) return true;
  const entries = Object.entries(secretEnv);
  return entries.length > 0 && entries.every(([name, s]) => !Object.hasOwn(env, name) && (
    (s.kind === "ref" && typeof s.secret === "string" && typeof s.key === "string" && (s.optional === undefined || s.optional === true)) ||
    (s.kind === "inline" && typeof s.value === "string") ||
    (s.kind === "sealed" && typeof s.ciphertext === "string")
  ));
}

/** Fails unless `spec` is a whole JobSpec: every required field present, of its type, within its range. */
export function assertWholeSpec(spec: JobSpec): void {
  assert.ok((spec.name === undefined) !== (spec.generateName === undefined), "exactly one of name and generateName");
  assert.equal(typeof spec.team, "string");
  assert.ok(isStringMap(spec.labels), "labels");
  assert.equal(typeof spec.queue, "string");
  assert.ok(Number.isSafeInteger(spec.priority), "priority");
  assert.ok(Number.isSafeInteger(spec.replicas) && spec.replicas >= 1, "replicas");
  assert.ok(isWholeResources(spec.resources), "resources");
  assert.ok(isStrings(spec.command) && spec.command.length > 0, "command");
  assert.ok(isStrings(spec.args), "args");
  assert.ok(isStringMap(spec.env), "env");
  assert.ok(isSecretEnv(spec.secretEnv, spec.env), "secretEnv");
  assert.ok(["Never", "OnFailure", "ExitCode"].includes(spec.restartPolicy), "restartPolicy");
  assert.ok(Number.isSafeInteger(spec.backoffLimit) && spec.backoffLimit >= 0, "backoffLimit");
  assert.equal(typeof spec.suspend, "boolean");
  if (spec.activeDeadlineSeconds !== undefined) assert.ok(Number.isSafeInteger(spec.activeDeadlineSeconds) && spec.activeDeadlineSeconds > 0);
  if (spec.ttlSecondsAfterFinished !== undefined) assert.ok(Number.isSafeInteger(spec.ttlSecondsAfterFinished) && spec.ttlSecondsAfterFinished >= 0);
  if (spec.distributed !== undefined) assert.ok(spec.distributed.framework === "pytorch" && Number.isSafeInteger(spec.distributed.nprocPerNode) && spec.distributed.nprocPerNode >= 1);
  if (spec.roles !== undefined) {
    assert.equal(spec.roles[0]?.name, "Master");
    assert.equal(spec.roles.reduce((n, r) => n + r.replicas, 0), spec.replicas);
    for (const r of spec.roles) {
      assert.ok(isWholeResources(r.resources) && isStrings(r.command) && r.command.length > 0 && isStrings(r.args) && isStringMap(r.env) && isSecretEnv(r.secretEnv, r.env));
    }
  }
}

/** The violations of a deployment manifest that must be refused; fails the test if it parses. */
export function deploymentViolationsOf(text: string, file = "deploy.yaml"): readonly FieldViolation[] {
  try {
    parseDeploymentManifest(text, { file });
  } catch (err) {
    assert.ok(err instanceof SwitchyardError, `expected a SwitchyardError, got ${String(err)}`);
    assert.equal(err.code, Code.InvalidArgument);
    return err.details;
  }
  assert.fail("the manifest was accepted");
}

/** Fails unless `spec` is a whole DeploymentSpec: every required field present, of its type, within its range. */
export function assertWholeDeployment(spec: DeploymentSpec): void {
  const int = (n: unknown, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isSafeInteger(n) && (n as number) >= min && (n as number) <= max;
  assert.ok(typeof spec.name === "string" && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(spec.name), "name");
  assert.equal(typeof spec.team, "string");
  if (spec.labels !== undefined) assert.ok(isStringMap(spec.labels) && Object.keys(spec.labels).length > 0, "labels");
  const m = spec.model;
  assert.ok(m.format === "onnx" || m.format === "custom", "model.format");
  if (m.format === "onnx") assert.ok(typeof m.storageUri === "string" && m.command === undefined && m.args === undefined && m.env === undefined && m.workingDir === undefined, "onnx model");
  else assert.ok(isStrings(m.command) && (m.command ?? []).length > 0, "custom model command");
  if (m.args !== undefined) assert.ok(isStrings(m.args), "args");
  if (m.env !== undefined) assert.ok(m.env.every((e) => typeof e.name === "string" && typeof e.value === "string"), "env");
  const r = spec.resources;
  assert.ok(Number.isFinite(r.gpus) && r.gpus >= 0 && (Number.isInteger(r.gpus) || r.gpus < 1), "gpus");
  assert.ok(Number.isFinite(r.cpu) && r.cpu > 0 && int(r.memoryBytes, 1), "cpu and memory");
  assert.ok(int(spec.minReplicas, 0, 64) && int(spec.maxReplicas, Math.max(1, spec.minReplicas), 64), "replicas");
  assert.ok((spec.scaleMetric === "concurrency" || spec.scaleMetric === "rps") && int(spec.scaleTarget, 1), "autoscaling");
  assert.ok(int(spec.containerConcurrency, 0) && int(spec.timeoutSeconds, 1), "containerConcurrency and timeoutSeconds");
  if (spec.canaryTrafficPercent !== undefined) assert.ok(int(spec.canaryTrafficPercent, 0, 100), "canaryTrafficPercent");
  const b = spec.batching;
  if (b !== undefined) {
    assert.ok(int(b.maxBatchSize, 1, 1024) && int(b.maxQueueDelayMicroseconds, 0) && int(b.maxQueueSize, 1) && int(b.queueTimeoutMicroseconds, 1), "batching");
    assert.ok(b.preferredBatchSizes.every((s, i) => int(s, 1, b.maxBatchSize) && (i === 0 || s > (b.preferredBatchSizes[i - 1] ?? 0))), "preferredBatchSizes");
  }
  if (spec.priorityClassName !== undefined) assert.equal(typeof spec.priorityClassName, "string");
  if (spec.queue !== undefined) assert.equal(typeof spec.queue, "string");
}

/** The violations of an experiment manifest that must be refused; fails the test if it parses. */
export function experimentViolationsOf(text: string, options: ParseExperimentManifestOptions = {}): readonly FieldViolation[] {
  try {
    parseExperimentManifest(text, { file: "exp.yaml", ...options });
  } catch (err) {
    assert.ok(err instanceof SwitchyardError, `expected a SwitchyardError, got ${String(err)}`);
    assert.equal(err.code, Code.InvalidArgument, err.message);
    return err.details;
  }
  assert.fail("the manifest was accepted");
}

/** Fails unless `spec` is a whole ExperimentSpec: every required field present, of its type, within its range. */
export function assertWholeExperiment(spec: ExperimentSpec): void {
  const int = (n: unknown, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isSafeInteger(n) && (n as number) >= min && (n as number) <= max;
  assert.ok(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(spec.name) && spec.name.length <= 54, "name");
  assert.ok(typeof spec.team === "string" && spec.team.length > 0, "team");
  const o = spec.objective;
  assert.ok((o.type === "minimize" || o.type === "maximize") && typeof o.metric === "string" && !o.additionalMetrics.includes(o.metric), "objective");
  assert.deepEqual(Object.keys(o.strategies), [o.metric, ...o.additionalMetrics], "strategies");
  if (o.goal !== undefined) assert.ok(Number.isFinite(o.goal), "goal");
  for (const a of [spec.algorithm, ...(spec.earlyStopping !== undefined ? [spec.earlyStopping] : [])]) {
    assert.ok(typeof a.name === "string" && Object.values(a.settings).every((v) => typeof v === "string"), "algorithm");
  }
  assert.ok(spec.parameters.length >= 1 && new Set(spec.parameters.map((p) => p.name)).size === spec.parameters.length, "parameters");
  for (const p of spec.parameters) {
    if (p.type === "double" || p.type === "int") {
      assert.ok(Number.isFinite(p.min) && Number.isFinite(p.max) && (p.min ?? 0) <= (p.max ?? 0) && p.list === undefined, `parameter ${p.name}`);
      if (p.type === "int") assert.ok(Number.isSafeInteger(p.min) && Number.isSafeInteger(p.max), `int parameter ${p.name}`);
    } else {
      assert.ok(p.list !== undefined && p.list.length > 0 && new Set(p.list).size === p.list.length && p.min === undefined, `parameter ${p.name}`);
      if (p.type === "discrete") assert.ok(p.list.every((v) => String(Number(v)) === v), `discrete parameter ${p.name}`);
    }
  }
  const t = spec.trialTemplate;
  assert.ok(["pytorchjob", "batchjob", "native"].includes(t.format) && typeof t.spec === "object", "trialTemplate");
  assert.ok(t.trialParameters.every((tp) => typeof tp.name === "string" && typeof tp.reference === "string"), "trialParameters");
  assert.ok(int(spec.parallelTrialCount, 1, 64), "parallelTrialCount");
  if (spec.maxTrialCount !== undefined) assert.ok(int(spec.maxTrialCount, spec.parallelTrialCount, 10_000), "maxTrialCount");
  if (spec.maxFailedTrialCount !== undefined) assert.ok(int(spec.maxFailedTrialCount, 0, spec.maxTrialCount ?? 10_000), "maxFailedTrialCount");
  assert.ok(["Never", "LongRunning", "FromVolume"].includes(spec.resumePolicy), "resumePolicy");
  const mc = spec.metricsCollector;
  assert.ok(mc.kind === "None" || (mc.kind === "StdOut" && mc.filters.length > 0) || (mc.kind === "File" && mc.path.length > 0 && (mc.format === "JSON" ? mc.filters.length === 0 : mc.filters.length > 0)), "metricsCollector");
}
