/** Helpers for this package's tests: catching the one error a bad manifest throws, and checking whole specs. */
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import type { FieldViolation } from "@switchyard/core";
import type { JobResources, JobSpec } from "./job-spec.js";
import { parseJobManifest } from "./job-manifest.js";

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
