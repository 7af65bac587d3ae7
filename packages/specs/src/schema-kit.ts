/**
 * Small zod building blocks shared by the manifest schemas: strict objects, Kubernetes scalar types, and leaf checks
 * (names, labels, env names, quantities) that report a message, the expected form and a hint.
 */
import * as z from "zod";
import { checkCpu, checkGpus, checkMemory } from "./quantity.js";

/** An object whose unknown keys are errors. */
export const obj = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape);

/** A Kubernetes optional field: absent and null (`key:` with nothing after it) both mean "not set". */
export const opt = <T extends z.ZodType>(schema: T) => schema.nullish();

export const str = () => z.string();
export const int = () => z.number().int();
export const bool = () => z.boolean();
export const strList = () => z.array(z.string());
export const strMap = () => z.record(z.string(), z.string());
/** Kubernetes IntOrString (ports, maxUnavailable…). */
export const intOrString = () => z.union([z.number().int(), z.string()]);
/** A map Kubernetes defines elsewhere that has no meaning here: accepted as any mapping. */
export const opaque = () => z.record(z.string(), z.unknown());

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** Kubernetes' rule for env var names (it allows `.` and `-`, unlike POSIX shells). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

type Ctx = z.core.$RefinementCtx;

function issue(ctx: Ctx, input: unknown, message: string, expected: string, hint: string): void {
  ctx.addIssue({ code: "custom", message, input, params: { expected, hint } });
}

/** A DNS-1123 label (job names, teams): lowercase letters, digits and `-`, at most `max` characters. */
export const dnsLabel = (what: string, max = 63) =>
  z.string().superRefine((v, ctx) => {
    if (v.length === 0 || v.length > max || !DNS_LABEL.test(v)) {
      const suggestion = v.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, max) || "my-job";
      issue(ctx, v, `is not a valid ${what}`, `lowercase letters, digits and '-', starting and ending with a letter or digit, at most ${max} characters`, `e.g. \`${suggestion}\``);
    }
  });

/** A generateName prefix: like a DNS label, may end with `-`, short enough for a 5-character suffix. */
export const generateNamePrefix = () =>
  z.string().superRefine((v, ctx) => {
    if (v.length === 0 || v.length > 58 || !/^[a-z0-9]([-a-z0-9]*)?$/.test(v)) {
      issue(ctx, v, "is not a valid generateName", "lowercase letters, digits and '-', starting with a letter or digit, at most 58 characters", "e.g. `generateName: train-` (a random 5-character suffix is added)");
    }
  });

/** A queue name: a DNS-1123 subdomain (lowercase, digits, `-` and `.`). */
export const queueName = () =>
  z.string().superRefine((v, ctx) => {
    if (v.length === 0 || v.length > 253 || !DNS_SUBDOMAIN.test(v)) {
      issue(ctx, v, "is not a valid queue name", "lowercase letters, digits, '-' and '.'", "e.g. `queue: default`");
    }
  });

export function isLabelKey(k: string): boolean {
  const slash = k.lastIndexOf("/");
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

const scalar = () => z.union([z.string(), z.number(), z.boolean()]);

const labelKey = () =>
  z.string().superRefine((k, ctx) => {
    if (!isLabelKey(k)) {
      issue(ctx, k, "is not a valid label key", "an optional DNS prefix and '/', then letters, digits, '-', '_' or '.' (at most 63)", "e.g. `app.example.com/team: vision` or `project: mnist`");
    }
  });

const labelValue = () =>
  scalar().superRefine((raw, ctx) => {
    const v = String(raw);
    if (v.length > 63 || (v !== "" && !LABEL_NAME.test(v))) {
      issue(ctx, raw, "is not a valid label value", "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", "shorten the value or replace other characters with '-'");
    }
  });

/** Kubernetes labels; numbers and booleans are written as strings (`version: 1` means "1"). */
export const labelMap = () => z.record(labelKey(), labelValue());

export function checkEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

/** An env var name: Kubernetes' rule. Used for map keys and for `name` in `[{name, value}]`. */
export const envName = () =>
  z.string().superRefine((v, ctx) => {
    if (!checkEnvName(v)) {
      issue(ctx, v, "is not a valid environment variable name", "letters, digits, '_', '-' or '.', not starting with a digit", "e.g. `LEARNING_RATE`");
    }
  });

const quantity = () => z.union([z.string(), z.number()]);

export const cpuQuantity = () =>
  quantity().superRefine((v, ctx) => {
    const r = checkCpu(v);
    if (!r.ok) issue(ctx, v, `CPU ${r.reason}`, 'CPU cores such as 2, "0.5" or "500m"', "write cores as a number, or millicores with `m`, e.g. `cpu: 500m`");
  });

export const memoryQuantity = () =>
  quantity().superRefine((v, ctx) => {
    const r = checkMemory(v);
    if (r.ok) return;
    const fix = typeof v === "string" ? /^(\d+(?:\.\d+)?)\s*([kmgtpe])i?b?$/i.exec(v.trim()) : null;
    const hint = fix !== null ? `write \`${fix[1]}${(fix[2] ?? "").toUpperCase()}i\` (powers of 2) — Kubernetes units are Ki, Mi, Gi or k, M, G` : "use Ki/Mi/Gi (powers of 2) or k/M/G (powers of 10), e.g. `memory: 4Gi`; a bare number is bytes";
    issue(ctx, v, `memory ${r.reason}`, 'a size such as "4Gi", "512Mi", "1G" or a number of bytes', hint);
  });

export const gpuQuantity = () =>
  quantity().superRefine((v, ctx) => {
    const r = checkGpus(v);
    if (!r.ok) {
      const hint = r.reason === "is negative" ? "use 0 for a CPU-only job" : "ask for whole GPUs (1, 2, …) or a share of a single GPU below 1 (0.5 = half a GPU)";
      issue(ctx, v, `GPU count ${r.reason}`, "a whole number ≥ 0, or a fraction of one GPU such as 0.5", hint);
    }
  });

/** nprocPerNode: an integer ≥ 1, or "auto" (GPUs per replica, or 1 without GPUs). */
export const nprocPerNode = (words: readonly string[] = ["auto"]) =>
  z.union([z.number().int(), z.string()]).superRefine((v, ctx) => {
    const n = typeof v === "number" ? v : /^\d+$/.test(v) ? Number(v) : undefined;
    if (n !== undefined ? n < 1 : !(typeof v === "string" && words.includes(v))) {
      issue(ctx, v, "is not a valid process count", `an integer ≥ 1 or ${words.map((w) => `"${w}"`).join(", ")}`, "e.g. `nprocPerNode: 2`, or `auto` for one process per GPU");
    }
  });
