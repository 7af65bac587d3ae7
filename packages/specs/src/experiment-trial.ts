/**
 * An experiment's trial template checked as a whole: its trial parameters and their references, its placeholders,
 * its primary container, and the job itself, rendered with sample values (each parameter's min or first value) and
 * read by the job parser, whose violations and warnings point at the template's own lines in the experiment file.
 */
import { closestMatch } from "./did-you-mean.js";
import type { ExperimentContext, ExperimentDraft, TrialDraft, TrialParameterDraft } from "./experiment-common.js";
import { mapping } from "./experiment-common.js";
import { sampleValue } from "./experiment-parameters.js";
import type { ExperimentTrialTemplate, JsonValue, TrialFormat } from "./experiment-spec.js";
import { MAX_EXPERIMENT_NAME_LENGTH, MAX_PARAMETER_VALUE_LENGTH } from "./experiment-spec.js";
import { readReference, renderTrial, scanTemplate, templatePath, trialFormatOf, trialLabels } from "./experiment-template.js";
import type { TrialIdentity } from "./experiment-template.js";
import { MAX_MANIFEST_BYTES, readJobDocument } from "./job-manifest.js";
import type { JobSpec } from "./job-spec.js";
import { warnAt } from "./normalize-common.js";
import { DNS_LABEL } from "./schema-kit.js";
import { MappedViolations } from "./violations.js";
import type { PathSegment, Violations } from "./violations.js";

/** The checked trial template, or undefined (with violations) when it cannot be used. */
export function checkTrialTemplate(d: ExperimentDraft, ctx: ExperimentContext): ExperimentTrialTemplate | undefined {
  const t = d.trial;
  if (t === undefined) return undefined;
  const out = ctx.violations;
  const format = trialFormatOf(t, out);
  refuseIdentity(t, out);
  const trialParameters = d.trialParameters ?? [];
  checkTrialParameters(trialParameters, d, t, out);
  const names = trialParameters.map((tp) => tp.name);
  const scanned = scanTemplate(t, names, d.trialParametersComplete, out);
  for (const tp of trialParameters) {
    if (!scanned.uses.has(tp.name)) {
      const what = d.trialParametersImplied ? `parameter ${tp.name} is not used by the trial template: write \${${tp.name}} where the trial reads it` : `trial parameter ${tp.name} is never used: the template has no \${trialParameters.${tp.name}}`;
      warnAt(ctx, tp.path, what);
    }
  }
  if (!d.trialParametersImplied) {
    for (const p of d.parameters) {
      if (trialParameters.every((tp) => tp.reference !== p.name)) warnAt(ctx, p.path, `parameter ${p.name} is not passed to trials: no trial parameter references it`);
    }
  }
  if (format === undefined) return undefined;
  const primary = primaryContainer(format, scanned.template, t, d, out);
  const template = scanned.template;
  checkRenderedSize(template, scanned.uses, d, t, out);
  // A batch Job whose primary container could not be told is checked with its first one (that problem is reported).
  validateRendered(template, format, d, t, format === "batchjob" ? (primary ?? containerNames(format, template)[0]) : primary, ctx);
  const spec: ExperimentTrialTemplate = {
    format,
    trialParameters: trialParameters.map((tp) => (tp.description !== undefined ? { name: tp.name, reference: tp.reference, description: tp.description } : { name: tp.name, reference: tp.reference })),
    spec: template as { [key: string]: JsonValue },
  };
  if (primary !== undefined) spec.primaryContainerName = primary;
  return spec;
}

/** A trial's name, namespace or team is the platform's to set (Katib refuses them too). */
function refuseIdentity(t: TrialDraft, out: Violations): void {
  const meta = mapping(t.template["metadata"]);
  if (meta === undefined) return;
  for (const k of ["name", "generateName", "namespace", "team"]) {
    if (meta[k] === undefined || meta[k] === null) continue;
    out.add(t.toSource(["metadata", k]), {
      message: `is set for each trial: a trial's job is named after the trial, in the experiment's team`, expected: `no metadata.${k} in a trial template`, at: "key",
      hint: "remove it; a trial can read its own name through a trial parameter with `reference: ${trialSpec.Name}`",
    });
  }
}

/** Names given once, and references to a parameter or to metadata the trial has. */
function checkTrialParameters(tps: readonly TrialParameterDraft[], d: ExperimentDraft, t: TrialDraft, out: Violations): void {
  const params = d.parameters.map((p) => p.name);
  const meta = mapping(t.template["metadata"]);
  const labels = [...Object.keys(mapping(meta?.["labels"]) ?? {}), ...Object.keys(trialLabels({ trialName: "", experiment: "", team: "" }))];
  const annotations = Object.keys(mapping(meta?.["annotations"]) ?? {});
  const seen = new Set<string>();
  for (const tp of tps) {
    if (seen.has(tp.name)) out.add([...tp.path, "name"], { message: `declares trial parameter ${tp.name} a second time`, expected: "each name once", got: JSON.stringify(tp.name), hint: "rename or remove one of the two" });
    seen.add(tp.name);
    const r = readReference(tp.reference);
    const at = [...tp.path, "reference"];
    if (r.kind === "invalid") out.add(at, { message: r.message, got: JSON.stringify(tp.reference), hint: r.hint });
    else if (r.kind === "parameter" && !params.includes(r.name) && d.parametersComplete) {
      const near = closestMatch(r.name, params);
      out.add(at, { message: `names ${r.name}, which is not a parameter of this experiment`, expected: `one of ${params.join(", ")}`, got: JSON.stringify(r.name), hint: near !== undefined ? `did you mean \`${near}\`?` : "name one of `parameters`, or add the parameter" });
    } else if (r.kind === "label" || r.kind === "annotation") {
      const keys = r.kind === "label" ? labels : annotations;
      if (!keys.includes(r.key)) {
        const near = closestMatch(r.key, keys);
        out.add(at, { message: `reads ${r.kind} ${r.key}, which the trial template does not have`, expected: keys.length > 0 ? `one of ${keys.join(", ")}` : `a ${r.kind} under the template's metadata`, got: JSON.stringify(tp.reference), hint: near !== undefined ? `did you mean \`${near}\`?` : `add it to the template's \`metadata.${r.kind}s\`` });
      }
    }
  }
}

/** Names of the containers of a PyTorchJob's Master and Worker, or of a batch Job's pod. */
function containerNames(format: TrialFormat, template: Record<string, unknown>): string[] {
  const spec = mapping(template["spec"]);
  const pods = format === "pytorchjob" ? ["Master", "Worker"].map((r) => mapping(mapping(mapping(spec?.["pytorchReplicaSpecs"])?.[r])?.["template"])) : [mapping(spec?.["template"])];
  return [...new Set(pods.flatMap((p) => {
    const cs = mapping(p?.["spec"])?.["containers"];
    return Array.isArray(cs) ? cs.map((c) => mapping(c)?.["name"]).filter((n): n is string => typeof n === "string") : [];
  }))];
}

/** The container whose output holds the metrics: named, or the only possible one. */
function primaryContainer(format: TrialFormat, template: Record<string, unknown>, t: TrialDraft, d: ExperimentDraft, out: Violations): string | undefined {
  const given = t.primaryContainerName;
  if (format === "native") {
    if (given !== undefined) d.ignored.push(given.path);
    return undefined;
  }
  const names = containerNames(format, template);
  if (given === undefined) {
    if (format === "pytorchjob") return "pytorch";
    if (names.length <= 1) return names[0];
    out.add([...t.path.slice(0, -1), "primaryContainerName"], { message: "is required: the trial's pod has several containers", expected: `one of ${names.join(", ")}`, hint: `name the container that trains, e.g. \`primaryContainerName: ${names[0] ?? "training-container"}\``, at: "key" });
    return undefined;
  }
  if (!names.includes(given.value)) {
    const near = closestMatch(given.value, names);
    out.add(given.path, { message: `names no container of the trial template`, expected: names.length > 0 ? `one of ${names.join(", ")}` : "a container's name", got: JSON.stringify(given.value), hint: near !== undefined ? `did you mean \`${near}\`?` : "name the container that trains" });
    return undefined;
  }
  if (format === "pytorchjob" && given.value !== "pytorch") {
    out.add(given.path, { message: "names a container this platform does not run: a PyTorchJob runs its container named pytorch", expected: "pytorch", got: JSON.stringify(given.value), hint: "write `primaryContainerName: pytorch`, the container that trains and prints the metrics" });
    return undefined;
  }
  return given.value;
}

/** A trial must render to a manifest the jobs service accepts: the most each placeholder can grow by is bounded. */
function checkRenderedSize(template: Record<string, unknown>, uses: ReadonlyMap<string, number>, d: ExperimentDraft, t: TrialDraft, out: Violations): void {
  let bytes = JSON.stringify(template).length;
  const annotations = mapping(mapping(template["metadata"])?.["annotations"]) ?? {};
  for (const tp of d.trialParameters ?? []) {
    const r = readReference(tp.reference);
    const p = r.kind === "parameter" ? d.parameters.find((x) => x.name === r.name)?.value : undefined;
    // The longest text the value can be: a list's longest value, a number's 24 characters, an annotation as written, a name's 63.
    const longest = p?.list !== undefined ? Math.max(...p.list.map((v) => JSON.stringify(v).length)) : p !== undefined ? 24
      : r.kind === "annotation" ? JSON.stringify(String(annotations[r.key] ?? "")).length : r.kind === "parameter" ? MAX_PARAMETER_VALUE_LENGTH : 64;
    bytes += (uses.get(tp.name) ?? 0) * Math.max(0, longest - tp.name.length - 19);
  }
  if (bytes > MAX_MANIFEST_BYTES) {
    out.add(t.path, { message: `renders to about ${bytes} bytes per trial, more than a job manifest may be (${MAX_MANIFEST_BYTES})`, hint: "use fewer placeholders, or shorter values", at: "key" });
  }
}

/**
 * The template rendered with sample values and read as a job: its violations and warnings are mapped back to the
 * template's lines, the fields it ignores join the experiment's one warning, and inline secrets are refused (they would
 * be copied into every trial and printed with the experiment).
 */
function validateRendered(template: Record<string, unknown>, format: TrialFormat, d: ExperimentDraft, t: TrialDraft, primary: string | undefined, ctx: ExperimentContext): void {
  const samples = new Map(d.parameters.map((p) => [p.name, p.value !== undefined ? sampleValue(p.value) : "0"]));
  const named = d.name !== undefined && d.name.length <= MAX_EXPERIMENT_NAME_LENGTH && DNS_LABEL.test(d.name);
  const id: TrialIdentity = { trialName: `${named ? d.name : "experiment"}-sample00`, experiment: named ? (d.name ?? "") : "experiment", team: d.team };
  if (d.queue !== undefined) id.queue = d.queue;
  const rendered = renderTrial(template, format, d.trialParameters ?? [], (p) => samples.get(p), id, primary);
  const map = (p: readonly PathSegment[]) => t.toSource(templatePath(p, rendered.keptContainer));
  const mapped = new MappedViolations(ctx.locator, ctx.file, map);
  const warnings: string[] = [];
  const job = readJobDocument(rendered.doc, { out: mapped, locator: ctx.locator, warnings, sourcePath: map, ignored: d.ignored, ...(ctx.file !== undefined ? { file: ctx.file } : {}) });
  ctx.violations.list.push(...mapped.list);
  ctx.warnings.push(...warnings);
  if (rendered.keptContainer !== undefined) {
    const containers = mapping(mapping(mapping(template["spec"])?.["template"])?.["spec"])?.["containers"];
    if (Array.isArray(containers)) containers.forEach((_, i) => i !== rendered.keptContainer && d.ignored.push(t.toSource(["spec", "template", "spec", "containers", i])));
  }
  if (job?.spec !== undefined) refuseInlineSecrets(job.spec, format, t, ctx.violations);
  const labels = mapping(mapping(template["metadata"])?.["labels"]) ?? {};
  for (const k of Object.keys(trialLabels(id))) if (k in labels) warnAt(ctx, t.toSource(["metadata", "labels", k]), "is set for each trial (to its experiment or its name) and replaced");
  const own = mapping(template["spec"])?.["queue"];
  if (format === "native" && d.queue !== undefined && typeof own === "string" && own !== d.queue) warnAt(ctx, t.toSource(["spec", "queue"]), `is replaced by the experiment's queue, ${d.queue}`);
}

function refuseInlineSecrets(job: JobSpec, format: TrialFormat, t: TrialDraft, out: Violations): void {
  const where = (role: number | undefined): PathSegment[] => (format !== "native" ? ["spec"] : role === undefined ? ["spec", "env"] : ["spec", "roles", role, "env"]);
  const envs: [number | undefined, JobSpec["secretEnv"]][] = [[undefined, job.secretEnv], ...(job.roles ?? []).map((r, i): [number, JobSpec["secretEnv"]] => [i, r.secretEnv])];
  for (const [role, secretEnv] of envs) {
    for (const [name, s] of Object.entries(secretEnv ?? {})) {
      if (s.kind !== "inline") continue;
      out.add(t.toSource(where(role)), {
        message: `sets ${name} as an inline secret: a template's value is copied into every trial and printed with the experiment`, expected: "a secretKeyRef",
        hint: `store it as a team secret (\`switchyard secrets create\`) and write \`${name}: {secretKeyRef: {name: ..., key: ...}}\``,
      });
    }
  }
}
