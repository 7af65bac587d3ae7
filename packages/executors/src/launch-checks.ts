/**
 * Shape checks of a launch spec that hold for every engine (no file system access): the run id, the argv, the
 * environment's names, the GPU indices, `runAs`, and the placement fields (`node`, requests, time limit, `gang`).
 * Each engine adds its own (local: the sandbox; Slurm: what it can honour) and throws once with every problem.
 */
import { stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import type { FieldViolation } from "@switchyard/core";
import type { ReplicaLaunch, RunAs } from "./executor.js";

/** A run id (and a gang id): usable as a file name. */
export const RUN_ID = /^[A-Za-z0-9._-]{1,200}$/;
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ACCOUNT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
/** A node name as Slurm and Kubernetes spell them: no spaces, commas or brackets (never a host list). */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function validRunId(id: unknown): id is string {
  return typeof id === "string" && RUN_ID.test(id) && id !== "." && id !== "..";
}

/** Every problem of the spec's shape that no engine could run. */
export function launchViolations(spec: ReplicaLaunch): FieldViolation[] {
  const problems: FieldViolation[] = [];
  if (!validRunId(spec.runId)) {
    problems.push({ field: "runId", message: "must be usable as a file name", expected: "1-200 characters of [A-Za-z0-9._-]", got: String(spec.runId) });
  }
  if (!Array.isArray(spec.command) || spec.command.length === 0 || spec.command[0] === "") {
    problems.push({ field: "command", message: "must name a program", expected: "a non-empty argv" });
  } else {
    spec.command.forEach((arg, i) => {
      if (typeof arg !== "string" || arg.includes("\0")) problems.push({ field: `command[${i}]`, message: "must be a string without NUL bytes" });
    });
  }
  for (const [key, value] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME.test(key)) {
      problems.push({ field: `env.${key}`, message: "is not a valid environment variable name", expected: "[A-Za-z_][A-Za-z0-9_]*", got: key });
    } else if (typeof value !== "string" || value.includes("\0")) {
      problems.push({ field: `env.${key}`, message: "must be a string without NUL bytes" });
    }
  }
  if (!Array.isArray(spec.gpuIndices) || !spec.gpuIndices.every((g) => Number.isSafeInteger(g) && g >= 0)) {
    problems.push({ field: "gpuIndices", message: "must be a list of GPU indices", expected: "integers >= 0", got: JSON.stringify(spec.gpuIndices) });
  }
  if (spec.workingDir !== undefined && (typeof spec.workingDir !== "string" || !isAbsolute(spec.workingDir))) {
    problems.push({ field: "workingDir", message: "must be an absolute path", got: String(spec.workingDir) });
  }
  problems.push(...runAsViolations(spec.runAs), ...placementViolations(spec));
  return problems;
}

function runAsViolations(r: RunAs | undefined): FieldViolation[] {
  const problems: FieldViolation[] = [];
  if (r === undefined) return problems;
  const id = (field: string, v: unknown): void => {
    if (!Number.isSafeInteger(v) || (v as number) < 0) problems.push({ field, message: "must be an integer >= 0", got: String(v) });
    else if (v === 0) problems.push({ field, message: "must not be 0: a job never runs as root or with root's group", got: "0" });
  };
  id("runAs.uid", r.uid);
  id("runAs.gid", r.gid);
  if (r.user !== undefined && (typeof r.user !== "string" || !ACCOUNT_NAME.test(r.user))) {
    problems.push({ field: "runAs.user", message: "is not an account name", got: String(r.user) });
  }
  if (typeof r.home !== "string" || !isAbsolute(r.home) || r.home.includes("\0")) problems.push({ field: "runAs.home", message: "must be an absolute path", got: String(r.home) });
  if (r.groups !== undefined) {
    if (!Array.isArray(r.groups)) problems.push({ field: "runAs.groups", message: "must be a list of group ids" });
    else r.groups.forEach((g, i) => id(`runAs.groups[${i}]`, g));
  }
  return problems;
}

/** `node`, the requests, the time limit and `gang`: optional, but well formed when given. */
function placementViolations(spec: ReplicaLaunch): FieldViolation[] {
  const problems: FieldViolation[] = [];
  const whole = (field: string, v: unknown, min: number): void => {
    if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < min)) problems.push({ field, message: `must be an integer >= ${min}`, got: String(v) });
  };
  if (spec.node !== undefined && (typeof spec.node !== "string" || !NODE_NAME.test(spec.node))) {
    problems.push({ field: "node", message: "must be one node's name", expected: "[A-Za-z0-9][A-Za-z0-9._-]*", got: String(spec.node) });
  }
  whole("cpuMilli", spec.cpuMilli, 0);
  whole("memoryMb", spec.memoryMb, 0);
  whole("timeLimitSeconds", spec.timeLimitSeconds, 1);
  const g = spec.gang;
  if (g !== undefined) {
    if (typeof g !== "object" || g === null) problems.push({ field: "gang", message: "must be { id, size, index }" });
    else {
      if (!validRunId(g.id)) problems.push({ field: "gang.id", message: "must be usable as a file name", expected: "1-200 characters of [A-Za-z0-9._-]", got: String(g.id) });
      whole("gang.size", g.size, 1);
      whole("gang.index", g.index, 0);
      if (g.size === undefined) problems.push({ field: "gang.size", message: "is required" });
      if (g.index === undefined) problems.push({ field: "gang.index", message: "is required" });
      else if (Number.isSafeInteger(g.size) && Number.isSafeInteger(g.index) && g.index >= g.size) {
        problems.push({ field: "gang.index", message: `must be below gang.size (${g.size})`, got: String(g.index) });
      }
    }
  }
  return problems;
}

export async function requireDirectory(path: string, runId: string): Promise<void> {
  const s = await stat(path).catch(() => null);
  if (s === null || !s.isDirectory()) {
    throw new SwitchyardError(
      Code.FailedPrecondition,
      `cannot launch run "${runId}": working directory ${path} ${s === null ? "does not exist" : "is not a directory"}; create it or fix workingDir`,
      { details: [{ field: "workingDir", message: "must be an existing directory", got: path }] },
    );
  }
}

/**
 * Concurrent launches of one run id share one attempt (both engines: a second `launch` while the first is under way
 * gets the first's answer rather than racing it); the entry goes when it settles.
 */
export class LaunchesInFlight<T> {
  private readonly byRunId = new Map<string, Promise<T>>();

  run(runId: string, launch: () => Promise<T>): Promise<T> {
    const inFlight = this.byRunId.get(runId);
    if (inFlight !== undefined) return inFlight;
    const p = launch().finally(() => this.byRunId.delete(runId));
    this.byRunId.set(runId, p);
    return p;
  }
}
