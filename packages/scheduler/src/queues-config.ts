import { Violations, closest, isRecord, parseYamlSource, type SourceDoc } from "./yaml-source.js";
import { validateDefaultsAndTeams, validateLimits } from "./queues-limits.js";
import type { QueueSpec, QueuesConfig, ResourceQuota } from "./types.js";

const BASE_RESOURCES = ["gpus", "gpuMilli", "cpuMilli", "memoryMb"] as const;
const QUEUE_FIELDS = ["name", "team", "cohort", "weight", "resources", "limits"];
const QUOTA_FIELDS = ["nominalQuota", "borrowingLimit", "lendingLimit"];
const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$/;

const RESOURCE_HINTS: Record<string, string> = {
  cpu: "use cpuMilli (1 CPU = 1000 cpuMilli)",
  cpus: "use cpuMilli (1 CPU = 1000 cpuMilli)",
  memory: "use memoryMb (a number of MiB)",
  mem: "use memoryMb (a number of MiB)",
  "nvidia.com/gpu": "use gpus (whole GPUs) or gpus/<TYPE>",
  gpu: "use gpus (whole GPUs) or gpus/<TYPE>",
  milligpu: "use gpuMilli (shares of shared GPUs, 1000 = one GPU)",
};

/** Is `name` a resource a quota can limit? */
export function isQuotaResource(name: string): boolean {
  return (BASE_RESOURCES as readonly string[]).includes(name) || /^gpus\/[^\s/]+$/.test(name);
}

/**
 * Parses a `queues.yaml`:
 * ```yaml
 * queues:
 *   - name: vision            # the job's `queue` (or its team) selects the queue
 *     team: vision            # default: the name
 *     cohort: research        # queues of one cohort lend each other unused quota
 *     weight: 1               # fair-share weight
 *     resources:
 *       gpus: { nominalQuota: 16, borrowingLimit: 8, lendingLimit: 4 }
 *       gpus/A100: 8          # a number is a nominalQuota
 *       cpuMilli: { nominalQuota: 256000 }
 * ```
 * Throws SwitchyardError InvalidArgument listing every problem with file:line:column, what was expected and a hint.
 */
export function parseQueuesConfig(yamlText: string, file = "queues.yaml"): QueuesConfig {
  const doc = parseYamlSource(yamlText, file);
  return validateQueuesConfig(doc.value, file, doc);
}

/** Validates an already parsed queues document (for example JSON from an API). */
export function validateQueuesConfig(value: unknown, file = "queues", doc?: SourceDoc): QueuesConfig {
  const v = new Violations(doc, file);
  let list: unknown = value;
  let prefix = "queues";
  const config: QueuesConfig = { queues: [] };
  if (isRecord(value)) {
    for (const k of Object.keys(value)) if (!["queues", "defaults", "teams"].includes(k)) v.add(k, `unknown field "${k}"`, { expected: "queues, defaults or teams", hint: "the document has queues (a list), and optionally defaults and teams", atKey: true });
    list = value["queues"];
    validateDefaultsAndTeams(value, config, v);
  } else if (Array.isArray(value)) {
    prefix = "";
  }
  if (!Array.isArray(list)) {
    v.add(prefix === "" ? "(document)" : "queues", value === null || value === undefined ? "the document is empty" : "expected a list of queues", {
      expected: "queues: [ {name, team, cohort, resources}, … ]",
      got: list === undefined ? "nothing" : typeof list,
      hint: "start the file with `queues:` followed by `- name: …` entries",
    });
    v.throwIfAny(`invalid queues config ${file}`);
    return config;
  }
  const queues = config.queues;
  const seen = new Map<string, number>();
  list.forEach((raw, i) => {
    const at = prefix === "" ? `[${i}]` : `${prefix}[${i}]`;
    const q = validateQueue(raw, at, v);
    if (q === undefined) return;
    const prev = seen.get(q.name);
    if (prev !== undefined) v.add(`${at}.name`, `queue "${q.name}" is defined twice`, { hint: `queue ${prev} has the same name; names must be unique` });
    seen.set(q.name, i);
    queues.push(q);
  });
  v.throwIfAny(`invalid queues config ${file}`);
  return config;
}

function validateQueue(raw: unknown, at: string, v: Violations): QueueSpec | undefined {
  if (!isRecord(raw)) {
    v.add(at, "expected a queue (a mapping)", { expected: "{name, team, cohort?, weight?, resources}", got: raw });
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (!QUEUE_FIELDS.includes(k)) {
      const near = closest(k, QUEUE_FIELDS);
      v.add(`${at}.${k}`, `unknown field "${k}"`, { expected: `one of ${QUEUE_FIELDS.join(", ")}`, atKey: true, ...(near ? { hint: `did you mean ${near}?` } : {}) });
    }
  }
  const name = raw["name"];
  if (typeof name !== "string" || !NAME.test(name)) {
    v.add(`${at}.name`, name === undefined ? "a queue needs a name" : "invalid queue name", { expected: "letters, digits, '.', '_', '-' (at most 63)", got: name });
  }
  const team = raw["team"] ?? name;
  if (typeof team !== "string" || team === "") v.add(`${at}.team`, "expected a team name", { expected: "a non-empty string", got: team });
  const cohort = raw["cohort"];
  if (cohort !== undefined && (typeof cohort !== "string" || !NAME.test(cohort))) v.add(`${at}.cohort`, "invalid cohort name", { expected: "letters, digits, '.', '_', '-'", got: cohort });
  const weight = raw["weight"];
  if (weight !== undefined && (typeof weight !== "number" || !(weight > 0) || !Number.isFinite(weight))) {
    v.add(`${at}.weight`, "weight must be a positive number", { expected: "a number > 0", got: weight, hint: "weights scale fair share; 1 is the default" });
  }
  const resources: Record<string, ResourceQuota> = {};
  const res = raw["resources"];
  if (res === undefined) {
    v.add(`${at}.resources`, "a queue needs resources", { expected: "resources: {gpus: {nominalQuota: N}, …}", hint: "list at least gpus" });
  } else if (!isRecord(res)) {
    v.add(`${at}.resources`, "expected a mapping from resource name to quota", { got: res });
  } else {
    for (const [rname, rq] of Object.entries(res)) {
      const rat = `${at}.resources.${rname}`;
      if (!isQuotaResource(rname)) {
        const hint = RESOURCE_HINTS[rname.toLowerCase()] ?? (closest(rname, BASE_RESOURCES) !== undefined ? `did you mean ${closest(rname, BASE_RESOURCES)}?` : "GPU types are written gpus/<TYPE>, e.g. gpus/A100");
        v.add(rat, `unknown resource "${rname}"`, { expected: "gpus, gpus/<TYPE>, gpuMilli, cpuMilli or memoryMb", hint, atKey: true });
        continue;
      }
      const quota = validateQuota(rq, rat, typeof cohort === "string", v);
      if (quota !== undefined) resources[rname] = quota;
    }
  }
  if (typeof name !== "string" || typeof team !== "string") return undefined;
  const spec: QueueSpec = { name, team, resources };
  if (typeof cohort === "string") spec.cohort = cohort;
  if (typeof weight === "number") spec.weight = weight;
  const limits = validateLimits(raw["limits"], `${at}.limits`, v);
  if (limits !== undefined) spec.limits = limits;
  return spec;
}

function quantity(x: unknown): boolean {
  return typeof x === "number" && Number.isFinite(x) && x >= 0;
}

function validateQuota(raw: unknown, at: string, inCohort: boolean, v: Violations): ResourceQuota | undefined {
  if (typeof raw === "number") raw = { nominalQuota: raw };
  if (!isRecord(raw)) {
    v.add(at, "expected a quota", { expected: "a number (the nominal quota) or {nominalQuota, borrowingLimit?, lendingLimit?}", got: raw });
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (!QUOTA_FIELDS.includes(k)) {
      const near = closest(k, QUOTA_FIELDS);
      v.add(`${at}.${k}`, `unknown field "${k}"`, { expected: QUOTA_FIELDS.join(", "), atKey: true, ...(near ? { hint: `did you mean ${near}?` } : {}) });
    }
  }
  const out: ResourceQuota = { nominalQuota: 0 };
  let ok = true;
  for (const f of QUOTA_FIELDS) {
    const x = raw[f];
    if (x === undefined) {
      if (f === "nominalQuota") {
        v.add(`${at}.nominalQuota`, "nominalQuota is required", { expected: "a number ≥ 0" });
        ok = false;
      }
      continue;
    }
    if (!quantity(x)) {
      v.add(`${at}.${f}`, `${f} must be a non-negative number`, { expected: "a number ≥ 0", got: x });
      ok = false;
      continue;
    }
    (out as unknown as Record<string, number>)[f] = x as number;
  }
  if (!ok) return undefined;
  if (!inCohort && (out.borrowingLimit !== undefined || out.lendingLimit !== undefined)) {
    const f = out.borrowingLimit !== undefined ? "borrowingLimit" : "lendingLimit";
    v.add(`${at}.${f}`, `${f} means nothing without a cohort`, { hint: "add `cohort: <name>` to the queue, or remove the limit" });
  }
  if (out.lendingLimit !== undefined && out.lendingLimit > out.nominalQuota) {
    v.add(`${at}.lendingLimit`, "cannot lend more than the nominal quota", { expected: `≤ ${out.nominalQuota}`, got: out.lendingLimit });
  }
  return out;
}
