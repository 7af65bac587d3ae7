/**
 * Trial templates: the formats a trial may be written in, trial parameters' references (a parameter, or Katib's
 * `${trialSpec.Name}` family), the `${trialParameters.NAME}` placeholders in the template's strings (and the native
 * `${NAME}` short form), and a template rendered into one trial's job manifest: placeholders replaced, the trial's
 * name, team, queue and labels written in.
 */
import { closestMatch } from "./did-you-mean.js";
import type { TrialDraft } from "./experiment-common.js";
import { mapping } from "./experiment-common.js";
import type { TrialFormat, TrialParameter } from "./experiment-spec.js";
import { EXPERIMENT_LABEL, KATIB_EXPERIMENT_LABEL, KATIB_TRIAL_LABEL, TRIAL_LABEL } from "./experiment-spec.js";
import { KUEUE_QUEUE_LABEL } from "./normalize-common.js";
import { describeValue } from "./violations.js";
import type { PathSegment, Violations } from "./violations.js";

/** The job formats a trial may be written in. */
export const TRIAL_FORMATS: readonly { apiVersion: string; kind: string; format: TrialFormat }[] = [
  { apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", format: "pytorchjob" },
  { apiVersion: "batch/v1", kind: "Job", format: "batchjob" },
  { apiVersion: "switchyard/v1", kind: "Job", format: "native" },
];
const TRIAL_FORMATS_TEXT = "a PyTorchJob (kubeflow.org/v1), a batch/v1 Job or a switchyard/v1 Job";

/** The trial's format, or undefined with a violation at its apiVersion or kind. */
export function trialFormatOf(t: TrialDraft, out: Violations): TrialFormat | undefined {
  const { apiVersion, kind } = t.template;
  const hit = TRIAL_FORMATS.find((f) => f.apiVersion === apiVersion && f.kind === kind);
  if (hit !== undefined) return hit.format;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    const which = typeof apiVersion !== "string" ? "apiVersion" : "kind";
    out.add(t.toSource([which]), { message: `is required: the trial template is a job manifest`, expected: TRIAL_FORMATS_TEXT, hint: "start the template with e.g. `apiVersion: batch/v1` and `kind: Job`", at: "key" });
    return undefined;
  }
  const near = closestMatch(kind, TRIAL_FORMATS.map((f) => f.kind));
  const sameVersion = TRIAL_FORMATS.find((f) => f.apiVersion === apiVersion);
  out.add(t.toSource(["kind"]), {
    message: `${apiVersion} ${kind} is not supported as a trial`, expected: TRIAL_FORMATS_TEXT, got: JSON.stringify(kind),
    hint: near !== undefined && sameVersion !== undefined ? `did you mean \`${sameVersion.kind}\`?` : "rewrite the trial as a PyTorchJob or a batch/v1 Job: this platform runs trials as processes, and trains distributed with PyTorch",
  });
  return undefined;
}

const META_KEYS = ["Name", "Namespace", "Kind", "APIVersion"] as const;
type MetaKey = (typeof META_KEYS)[number];

/** What a trial parameter's reference stands for. */
export type Reference =
  | { kind: "parameter"; name: string }
  | { kind: "meta"; key: MetaKey }
  | { kind: "label" | "annotation"; key: string }
  | { kind: "invalid"; message: string; hint: string };

export function readReference(ref: string): Reference {
  const m = /^\$\{trialSpec\.(.*)\}$/.exec(ref);
  if (m !== null) {
    const key = m[1] ?? "";
    if ((META_KEYS as readonly string[]).includes(key)) return { kind: "meta", key: key as MetaKey };
    const sub = /^(Labels|Annotations)\[(.+)\]$/.exec(key);
    if (sub !== null) return { kind: sub[1] === "Labels" ? "label" : "annotation", key: sub[2] ?? "" };
    const forms = ["Name", "Namespace", "Kind", "APIVersion", "Labels[key]", "Annotations[key]"];
    const near = closestMatch(key, forms);
    return { kind: "invalid", message: `${ref} is not a trial metadata reference`, hint: near !== undefined ? `did you mean \`\${trialSpec.${near}}\`?` : `use one of ${forms.map((f) => `\${trialSpec.${f}}`).join(", ")}` };
  }
  if (ref.includes("${")) return { kind: "invalid", message: `${ref} is neither a parameter's name nor a trial metadata reference`, hint: "write a parameter's name (`reference: lr`), or e.g. `${trialSpec.Name}` for the trial's name" };
  return { kind: "parameter", name: ref };
}

const PLACEHOLDER = /\$\{([^{}]*)\}/g;
const LONG = "trialParameters.";

export interface ScannedTemplate {
  /** The template with the short form written long. */
  template: Record<string, unknown>;
  /** How many times each trial parameter is used. */
  uses: Map<string, number>;
}

/**
 * Every placeholder in the template's strings checked against the trial parameters (at the position of the string
 * that holds it), and the native short form `${name}` written as `${trialParameters.name}`. Other `${...}` (a shell's
 * `${HOME}`) are left as written, unless they look like a misspelt trial parameter.
 */
export function scanTemplate(t: TrialDraft, names: readonly string[], complete: boolean, out: Violations): ScannedTemplate {
  const uses = new Map<string, number>();
  const use = (name: string) => uses.set(name, (uses.get(name) ?? 0) + 1);
  const text = (s: string, path: PathSegment[]): string =>
    s.replace(PLACEHOLDER, (whole: string, inner: string) => {
      const at = t.toSource(path);
      if (inner.startsWith(LONG)) {
        const name = inner.slice(LONG.length);
        if (names.includes(name)) use(name);
        else if (complete) {
          const near = closestMatch(name, names);
          out.add(at, {
            message: `uses ${whole}, which is not a declared trial parameter`, expected: names.length > 0 ? `one of ${names.map((n) => `\${trialParameters.${n}}`).join(", ")}` : "a declared trial parameter", got: JSON.stringify(whole),
            hint: near !== undefined ? `did you mean \`\${trialParameters.${near}}\`?` : t.shortForm ? `add ${name} to \`parameters\`` : `declare it under \`trialTemplate.trialParameters\`: \`{name: ${name}, reference: <a parameter>}\``,
          });
        }
        return whole;
      }
      if (inner.startsWith("trialSpec.")) {
        out.add(at, {
          message: `uses ${whole}, a trial metadata reference: it is a trial parameter's \`reference\`, not a placeholder`, got: JSON.stringify(whole),
          hint: `declare \`{name: trialName, reference: "${whole}"}\` under trialParameters and write \`\${trialParameters.trialName}\``,
        });
        return whole;
      }
      if (t.shortForm && names.includes(inner)) {
        use(inner);
        return `\${${LONG}${inner}}`;
      }
      const near = names.includes(inner) ? inner : closestMatch(inner, names);
      if (near !== undefined) {
        out.add(at, {
          message: t.shortForm ? `uses ${whole}, which names no trial parameter` : `uses ${whole}, which is not substituted: a placeholder is written \`\${trialParameters.NAME}\``, got: JSON.stringify(whole),
          hint: `did you mean \`\${${t.shortForm ? "" : LONG}${near}}\`? (An environment variable is read by the shell as \`$${inner}\`, without braces.)`,
        });
      }
      return whole;
    });
  const walk = (v: unknown, path: PathSegment[]): unknown => {
    if (typeof v === "string") return text(v, path);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    const m = mapping(v);
    if (m === undefined) return v;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(m)) {
      if (k.includes(`\${${LONG}`) || (t.shortForm && names.some((n) => k.includes(`\${${n}}`)))) {
        out.add(t.toSource([...path, k]), { message: "has a placeholder in a key: placeholders are replaced in values only", got: JSON.stringify(k), hint: "put the placeholder in the value", at: "key" });
      }
      o[k] = walk(x, [...path, k]);
    }
    return o;
  };
  return { template: walk(t.template, []) as Record<string, unknown>, uses };
}

/** Replaces `${trialParameters.NAME}` in every string of `v` (keys untouched); other text is kept. */
export function substitute(v: unknown, values: ReadonlyMap<string, string>): unknown {
  if (typeof v === "string") {
    return v.replace(PLACEHOLDER, (whole: string, inner: string) => (inner.startsWith(LONG) ? (values.get(inner.slice(LONG.length)) ?? whole) : whole));
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, values));
  const m = mapping(v);
  if (m === undefined) return v;
  return Object.fromEntries(Object.entries(m).map(([k, x]) => [k, substitute(x, values)]));
}

export interface TrialIdentity {
  trialName: string;
  experiment: string;
  team: string;
  queue?: string;
}

export interface RenderedTrial {
  doc: Record<string, unknown>;
  /** A batch Job's primary container, when the others were left out: its index in the template. */
  keptContainer?: number;
}

/** The labels every trial carries. */
export function trialLabels(id: TrialIdentity): Record<string, string> {
  return { [EXPERIMENT_LABEL]: id.experiment, [TRIAL_LABEL]: id.trialName, [KATIB_EXPERIMENT_LABEL]: id.experiment, [KATIB_TRIAL_LABEL]: id.trialName };
}

/** A metadata map (labels, annotations) of the template, values as text, with parameter placeholders replaced. */
function metaMap(template: Record<string, unknown>, key: "labels" | "annotations", values: ReadonlyMap<string, string>): Record<string, string> {
  const m = mapping(mapping(template["metadata"])?.[key]) ?? {};
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(substitute(typeof v === "string" ? v : describeValue(v), values))]));
}

/**
 * One trial's job manifest: the template with each trial parameter's value in place of its placeholders (`value`
 * gives a parameter's text), and the trial's name, team, queue and labels written in the way its format says them.
 * A batch Job keeps only its primary container (the others are not run here).
 */
export function renderTrial(
  template: Record<string, unknown>, format: TrialFormat, trialParameters: readonly TrialParameter[], value: (parameter: string) => string | undefined,
  id: TrialIdentity, primaryContainerName?: string,
): RenderedTrial {
  const byParam = new Map<string, string>();
  for (const tp of trialParameters) {
    const r = readReference(tp.reference);
    const v = r.kind === "parameter" ? value(r.name) : undefined;
    if (v !== undefined) byParam.set(tp.name, v);
  }
  const labels = { ...metaMap(template, "labels", byParam), ...trialLabels(id) };
  const values = new Map(byParam);
  for (const tp of trialParameters) {
    const r = readReference(tp.reference);
    const v = r.kind === "meta" ? { Name: id.trialName, Namespace: id.team, Kind: String(template["kind"]), APIVersion: String(template["apiVersion"]) }[r.key]
      : r.kind === "label" ? labels[r.key]
      : r.kind === "annotation" ? metaMap(template, "annotations", byParam)[r.key]
      : undefined;
    if (v !== undefined) values.set(tp.name, v);
  }
  const doc = substitute(template, values) as Record<string, unknown>;
  const meta = mapping(doc["metadata"]) ?? {};
  doc["metadata"] = meta;
  delete meta["generateName"];
  meta["name"] = id.trialName;
  meta["labels"] = { ...(mapping(meta["labels"]) ?? {}), ...trialLabels(id) };
  const spec = mapping(doc["spec"]);
  if (format === "native") {
    meta["team"] = id.team;
    if (id.queue !== undefined && spec !== undefined) spec["queue"] = id.queue;
    return { doc };
  }
  meta["namespace"] = id.team;
  if (format === "pytorchjob") {
    if (id.queue !== undefined && spec !== undefined) {
      const run = (spec["runPolicy"] = mapping(spec["runPolicy"]) ?? {});
      run["schedulingPolicy"] = { ...(mapping(run["schedulingPolicy"]) ?? {}), queue: id.queue };
    }
    return { doc };
  }
  if (id.queue !== undefined) meta["labels"] = { ...(mapping(meta["labels"]) ?? {}), [KUEUE_QUEUE_LABEL]: id.queue };
  const pod = mapping(mapping(spec?.["template"])?.["spec"]);
  const containers = pod?.["containers"];
  if (pod === undefined || !Array.isArray(containers) || containers.length < 2 || primaryContainerName === undefined) return { doc };
  const kept = containers.findIndex((c) => mapping(c)?.["name"] === primaryContainerName);
  if (kept < 0) return { doc };
  pod["containers"] = [containers[kept]];
  return { doc, keptContainer: kept };
}

/** A path of a rendered trial as a path of its template (a batch Job's kept container is back at its own index). */
export function templatePath(path: readonly PathSegment[], keptContainer: number | undefined): PathSegment[] {
  const pod = ["spec", "template", "spec", "containers"];
  if (keptContainer === undefined || path.length < 5 || !pod.every((s, i) => path[i] === s) || path[4] !== 0) return [...path];
  return [...pod, keptContainer, ...path.slice(5)];
}
