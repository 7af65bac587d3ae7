/**
 * Secret environment variables: the rules for secret names and keys (Kubernetes' own), the native format's ways of
 * writing a secret variable, and the split of a manifest's env into plain values (`env`) and secret ones
 * (`secretEnv`). The values themselves are never part of an error, a warning or anything printed.
 *
 * Native, map form:  `KEY: plain` · `KEY: {secretKeyRef: {name: wandb, key: api-key}}` · `KEY: {value: s3cr3t, secret: true}`
 * Native, list form: `{name, value}` · `{name, valueFrom: {secretKeyRef: {name, key}}}` · `{name, value, secret: true}`
 * Kubernetes EnvVar: `valueFrom.secretKeyRef {name, key, optional?}`; other valueFrom kinds are warned and skipped.
 */
import type { FieldViolation } from "@switchyard/core";
import * as z from "zod";
import type { SecretEnvSource } from "./job-spec.js";
import { warnAt } from "./normalize-common.js";
import type { NormalizeContext } from "./normalize-common.js";
import { envName, obj } from "./schema-kit.js";
import type { PathSegment } from "./violations.js";

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

type Problem = Pick<FieldViolation, "message" | "expected" | "hint">;

/** Why `name` is not a valid secret name (a Kubernetes DNS subdomain), or undefined when it is one. */
export function secretNameProblem(name: string): Problem | undefined {
  if (name.length > 0 && name.length <= 253 && DNS_SUBDOMAIN.test(name)) return undefined;
  const labels = name.toLowerCase().split(".").map((l) => l.replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "")).filter((l) => l.length > 0);
  const suggestion = labels.join(".").slice(0, 253).replace(/[-.]+$/, "") || "wandb";
  return {
    message: "is not a valid secret name",
    expected: "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters",
    hint: `e.g. \`${suggestion}\``,
  };
}

/** Why `key` is not a valid key of a secret (Kubernetes' rule for Secret and ConfigMap keys), or undefined. */
export function secretKeyProblem(key: string): Problem | undefined {
  const ok = key.length > 0 && key.length <= 253 && SECRET_KEY.test(key) && key !== "." && !key.startsWith("..");
  if (ok) return undefined;
  const suggestion = key.replace(/[^-._a-zA-Z0-9]+/g, "-").replace(/^\.+/, "").slice(0, 253) || "api-key";
  return {
    message: "is not a valid secret key",
    expected: "letters, digits, '-', '_' and '.', at most 253 characters, not '.' and not starting with '..'",
    hint: `e.g. \`${suggestion}\``,
  };
}

function refine(problem: (v: string) => Problem | undefined) {
  return z.string().superRefine((v, ctx) => {
    const p = problem(v);
    if (p !== undefined) ctx.addIssue({ code: "custom", message: p.message, input: v, params: { expected: p.expected, hint: p.hint } });
  });
}

export const secretName = () => refine(secretNameProblem);
export const secretKey = () => refine(secretKeyProblem);

/** `{name, key, optional?}`: a key of one of the job's team's secrets. */
export const secretKeyRefSchema = () => obj({ name: secretName(), key: secretKey(), optional: z.boolean().nullish() });

const scalar = () => z.union([z.string(), z.number(), z.boolean()]);
type Ctx = z.core.$RefinementCtx;

function custom(ctx: Ctx, input: unknown, path: PathSegment[], message: string, expected: string, hint: string): void {
  ctx.addIssue({ code: "custom", message, input, path, params: { expected, hint } });
}

/** A map-form env value written as a mapping: an inline value (secret or not) or a secretKeyRef. */
const envValueObject = () =>
  obj({ value: scalar().optional(), secret: z.boolean().optional(), secretKeyRef: secretKeyRefSchema().optional() }).superRefine((v, ctx) => {
    if (v.value === undefined && v.secretKeyRef === undefined) {
      custom(ctx, v, [], "needs a `value` or a `secretKeyRef`", "{value: ..., secret: true} or {secretKeyRef: {name: ..., key: ...}}", "e.g. `WANDB_API_KEY: {secretKeyRef: {name: wandb, key: api-key}}` (create it with `switchyard secrets create`)");
    } else if (v.value !== undefined && v.secretKeyRef !== undefined) {
      custom(ctx, v, ["secretKeyRef"], "cannot be given with `value`", "either `value` or `secretKeyRef`", "keep `secretKeyRef` to read the value from the team's secret, or `value` to write it here");
    } else if (v.secretKeyRef !== undefined && v.secret !== undefined) {
      custom(ctx, v, ["secret"], "only goes with an inline `value`", "no `secret` next to `secretKeyRef`", "remove `secret`: a value read from a secret is secret already");
    }
  });

/** What an inline secret's value is shown as, wherever a manifest is printed or stored. */
export const REDACTED = "(secret)";

/** A list-form env entry: `{name, value}`, `{name, value, secret: true}` or `{name, valueFrom: {secretKeyRef}}`. */
const envListItem = () =>
  obj({ name: envName(), value: scalar().optional(), secret: z.boolean().optional(), valueFrom: obj({ secretKeyRef: secretKeyRefSchema() }).optional() }).superRefine((v, ctx) => {
    if (v.valueFrom !== undefined && v.value !== undefined) {
      custom(ctx, v, ["valueFrom"], "cannot be given with `value`", "either `value` or `valueFrom`", "keep `valueFrom` to read the value from the team's secret, or `value` to write it here");
    } else if (v.valueFrom !== undefined && v.secret !== undefined) {
      custom(ctx, v, ["secret"], "only goes with an inline `value`", "no `secret` next to `valueFrom`", "remove `secret`: a value read from a secret is secret already");
    } else if (v.secret === true && v.value === undefined) {
      custom(ctx, v, ["secret"], "marks no value", "`value` next to `secret: true`", "add the `value`, or read it from a team secret with `valueFrom: {secretKeyRef: {name: ..., key: ...}}`");
    }
  });

/**
 * The native format's env: a map `{NAME: value}` or the list `[{name, value}]`, each with secret forms. The map's
 * value union is flat (not `scalar()` inside a union) so that a wrong mapping is reported by its own field.
 */
export const nativeEnvSchema = () => z.union([z.record(envName(), z.union([z.string(), z.number(), z.boolean(), envValueObject()])), z.array(envListItem())]);

export type NativeEnv = z.output<ReturnType<typeof nativeEnvSchema>>;
type SecretKeyRef = z.output<ReturnType<typeof secretKeyRefSchema>>;

/** A manifest's env split in two: plain values, and secret variables by name. */
export interface SplitEnv {
  env: Record<string, string>;
  secretEnv: Record<string, SecretEnvSource>;
}

function refSource(r: SecretKeyRef): SecretEnvSource {
  return r.optional === true ? { kind: "ref", secret: r.name, key: r.key, optional: true } : { kind: "ref", secret: r.name, key: r.key };
}

/**
 * Collects variables; a name given once as plain and once as secret (possible in list form) is a violation at the
 * second entry. A later duplicate of the same kind wins, as in Kubernetes.
 */
class EnvCollector {
  readonly out: SplitEnv = { env: {}, secretEnv: {} };

  constructor(
    private readonly path: readonly PathSegment[],
    private readonly ctx: NormalizeContext,
  ) {}

  plain(name: string, value: string, at: PathSegment): void {
    if (this.conflicts(name, "secretEnv", at, "plain")) return;
    this.out.env[name] = value;
  }

  secret(name: string, source: SecretEnvSource, at: PathSegment): void {
    if (this.conflicts(name, "env", at, "secret")) return;
    // `switchyard get -o yaml` prints inline secret values as "(secret)": submitted back, that would become the value.
    if (source.kind === "inline" && source.value === REDACTED && this.ctx.acceptRedacted !== true) {
      this.ctx.violations.add([...this.path, at, "value"], {
        message: `is "${REDACTED}": the value was hidden when the job was printed`,
        expected: "the secret's real value",
        hint: "write the value again, or read it from a team secret: `{secretKeyRef: {name: ..., key: ...}}`",
      });
      return;
    }
    this.out.secretEnv[name] = source;
  }

  private conflicts(name: string, other: keyof SplitEnv, at: PathSegment, kind: string): boolean {
    if (!Object.hasOwn(this.out[other], name)) return false;
    this.ctx.violations.add([...this.path, at, "name"], {
      message: `sets ${name} again, as a ${kind} value: a variable is either plain or secret`,
      expected: "each variable once",
      got: JSON.stringify(name),
      hint: `remove one of the two entries for ${name}`,
    });
    return true;
  }
}

/** The native env (either form) split into plain and secret variables. */
export function splitNativeEnv(env: NativeEnv | undefined, path: readonly PathSegment[], ctx: NormalizeContext): SplitEnv {
  const c = new EnvCollector(path, ctx);
  if (env === undefined) return c.out;
  if (Array.isArray(env)) {
    env.forEach((e, i) => {
      if (e.valueFrom !== undefined) c.secret(e.name, refSource(e.valueFrom.secretKeyRef), i);
      else if (e.secret === true) c.secret(e.name, { kind: "inline", value: String(e.value ?? "") }, i);
      else c.plain(e.name, e.value === undefined ? "" : String(e.value), i);
    });
    return c.out;
  }
  for (const [name, v] of Object.entries(env)) {
    if (typeof v !== "object") c.plain(name, String(v), name);
    else if (v.secretKeyRef !== undefined) c.secret(name, refSource(v.secretKeyRef), name);
    else if (v.secret === true) c.secret(name, { kind: "inline", value: String(v.value ?? "") }, name);
    else c.plain(name, String(v.value ?? ""), name);
  }
  return c.out;
}

export interface K8sEnvVar {
  name: string;
  value?: string | null;
  valueFrom?: ({ secretKeyRef?: SecretKeyRef | null } & Record<string, unknown>) | null;
}

/**
 * A Kubernetes EnvVar list: `value`s are plain, `valueFrom.secretKeyRef` reads the team's secret store; other
 * valueFrom kinds (config maps, field and resource refs) cannot be resolved here: warned and skipped.
 */
export function splitK8sEnv(env: readonly K8sEnvVar[] | null | undefined, path: readonly PathSegment[], ctx: NormalizeContext): SplitEnv {
  const c = new EnvCollector(path, ctx);
  (env ?? []).forEach((e, i) => {
    const from = e.valueFrom;
    if (from === undefined || from === null) {
      c.plain(e.name, e.value ?? "", i);
      return;
    }
    const ref = from.secretKeyRef;
    const others = Object.entries(from).filter(([k, v]) => k !== "secretKeyRef" && v !== undefined && v !== null).map(([k]) => k);
    if (ref === undefined || ref === null) {
      warnAt(ctx, [...path, i, "valueFrom"], `env ${e.name} uses valueFrom.${others[0] ?? "(nothing)"}, which this engine cannot resolve: the variable is not set; give it a \`value\`, or read it from a team secret with \`valueFrom.secretKeyRef\``);
      return;
    }
    if (others.length > 0) {
      ctx.violations.add([...path, i, "valueFrom", others[0] ?? ""], {
        message: "cannot be given with `secretKeyRef`", expected: "exactly one source in `valueFrom`", got: others.join(", "), hint: "keep `secretKeyRef` (read from the team's secret store) and remove the other",
      });
      return;
    }
    if (e.value !== undefined && e.value !== null && e.value !== "") {
      ctx.violations.add([...path, i, "value"], {
        message: "cannot be given with `valueFrom`", expected: "either `value` or `valueFrom`", hint: "remove `value`: the variable's value is read from the secret",
      });
      return;
    }
    c.secret(e.name, refSource(ref), i);
  });
  return c.out;
}

/** `target` with `secretEnv` set when there is any (a spec without secrets has no `secretEnv` field). */
export function withSecretEnv<T extends { secretEnv?: Record<string, SecretEnvSource> }>(target: T, secretEnv: Record<string, SecretEnvSource> | undefined): T {
  if (secretEnv !== undefined && Object.keys(secretEnv).length > 0) target.secretEnv = { ...secretEnv };
  return target;
}
