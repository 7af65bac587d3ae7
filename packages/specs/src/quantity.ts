/**
 * Kubernetes resource quantities ("500m", "2", "4Gi", "1e3", 2) turned into the integer units of a JobSpec.
 * The `check*` functions return a reason instead of throwing, for validators; the `parseQuantity*` functions throw.
 */
import { SwitchyardError, Code } from "@switchyard/core";

const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|n|u|m|k|M|G|T|P|E)?$/;

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

export type QuantityResult = { ok: true; value: number } | { ok: false; reason: string };

/** A quantity's value in base units (cores, bytes, GPUs). Negative, non-finite and malformed values are refused. */
export function checkQuantity(input: unknown): QuantityResult {
  if (typeof input === "number") {
    if (!Number.isFinite(input)) return { ok: false, reason: "is not a finite number" };
    if (input < 0) return { ok: false, reason: "is negative" };
    return { ok: true, value: input };
  }
  if (typeof input !== "string") return { ok: false, reason: "is not a number or a quantity string" };
  const text = input.trim();
  if (text.startsWith("-")) return { ok: false, reason: "is negative" };
  const m = QUANTITY.exec(text.startsWith("+") ? text.slice(1) : text);
  if (m === null) return { ok: false, reason: "is not a quantity" };
  const suffix = m[2] ?? "";
  const scale = /^[eE][+-]?\d+$/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  const value = Number(m[1]) * (scale ?? Number.NaN);
  if (!Number.isFinite(value)) return { ok: false, reason: "is too large" };
  return { ok: true, value };
}

/** Rounds up to an integer, forgiving the last bits of floating-point noise (0.1 * 1000 is 100, not 101). */
function ceilUnits(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) < 1e-9 ? r : Math.ceil(x);
}

export type UnitsResult = { ok: true; value: number } | { ok: false; reason: string };

/** CPU cores as millicores, rounded up; must be more than 0. */
export function checkCpu(input: unknown): UnitsResult {
  const q = checkQuantity(input);
  if (!q.ok) return q;
  const milli = ceilUnits(q.value * 1000);
  if (milli <= 0) return { ok: false, reason: "must be more than 0" };
  if (!Number.isSafeInteger(milli)) return { ok: false, reason: "is too large" };
  return { ok: true, value: milli };
}

/** Memory in bytes (a bare number is bytes) as mebibytes, rounded up; must be more than 0. */
export function checkMemory(input: unknown): UnitsResult {
  const q = checkQuantity(input);
  if (!q.ok) return q;
  const mb = ceilUnits(q.value / 2 ** 20);
  if (mb <= 0) return { ok: false, reason: "must be more than 0" };
  if (!Number.isSafeInteger(mb)) return { ok: false, reason: "is too large" };
  return { ok: true, value: mb };
}

export type GpuResult = { ok: true; gpus: number; gpuMilli: number } | { ok: false; reason: string };

/** Whole GPUs (2 → gpus 2) or a share of one GPU (0.5 or "500m" → gpuMilli 500). */
export function checkGpus(input: unknown): GpuResult {
  const q = checkQuantity(input);
  if (!q.ok) return q;
  const milli = Math.round(q.value * 1000);
  if (Math.abs(q.value * 1000 - milli) > 1e-9) return { ok: false, reason: "is finer than a thousandth of a GPU" };
  if (milli % 1000 === 0) {
    const gpus = milli / 1000;
    return Number.isSafeInteger(gpus) ? { ok: true, gpus, gpuMilli: 0 } : { ok: false, reason: "is too large" };
  }
  if (milli > 1000) return { ok: false, reason: "is a fraction above one GPU" };
  return { ok: true, gpus: 0, gpuMilli: milli };
}

function fail(field: string, input: unknown, reason: string, expected: string, hint: string): never {
  const got = typeof input === "string" ? JSON.stringify(input) : String(input);
  throw new SwitchyardError(Code.InvalidArgument, `${field} ${got} ${reason}`, {
    details: [{ field, message: reason, expected, got, hint }],
  });
}

/** `"500m"` → 500, `2` → 2000, `"0.5"` → 500. Throws SwitchyardError(InvalidArgument) on a bad value. */
export function parseQuantityCpu(input: string | number): number {
  const r = checkCpu(input);
  if (!r.ok) fail("cpu", input, r.reason, "CPU cores such as 2, \"0.5\" or \"500m\"", "write cores as a number or millicores with `m`, e.g. `cpu: 500m`");
  return r.value;
}

/** `"4Gi"` → 4096, `"512Mi"` → 512, `"1G"` → 954, `1073741824` → 1024 (mebibytes, rounded up). Throws on a bad value. */
export function parseQuantityMemory(input: string | number): number {
  const r = checkMemory(input);
  if (!r.ok) fail("memory", input, r.reason, "a memory size such as \"4Gi\", \"512Mi\", \"1G\" or bytes", "use Ki/Mi/Gi (powers of 2) or k/M/G (powers of 10), e.g. `memory: 4Gi`");
  return r.value;
}

/** `2` → {gpus: 2, gpuMilli: 0}; `0.5` or `"500m"` → {gpus: 0, gpuMilli: 500}. Throws on a bad value. */
export function parseQuantityGpu(input: string | number): { gpus: number; gpuMilli: number } {
  const r = checkGpus(input);
  if (!r.ok) fail("gpus", input, r.reason, "whole GPUs (0, 1, 2, …) or a fraction of one GPU (0.25, \"500m\")", "ask for whole GPUs, or a share of a single GPU below 1");
  return { gpus: r.gpus, gpuMilli: r.gpuMilli };
}
