/** Helpers for this package's tests: catching the one error a bad manifest throws, and checking whole specs (jobs and deployments). */
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import type { FieldViolation } from "@switchyard/core";
import type { JobResources, JobSpec } from "./job-spec.js";
import { parseJobManifest } from "./job-manifest.js";
import { parseDeploymentManifest } from "./deployment-manifest.js";
import type { DeploymentSpec } from "./deployment-spec.js";

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
