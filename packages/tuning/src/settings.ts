// Katib passes algorithm settings as name → string. Each algorithm declares its settings once (kind, default, range,
// description); `compileSettings` checks them all and fills the defaults, so an algorithm reads typed values only.
import type { SettingProblem } from "./types.js";

export type SettingKind = "int" | "number" | "enum" | "string" | "bool";

export interface SettingSpec {
  readonly name: string;
  readonly kind: SettingKind;
  /** Filled in when the setting is absent; absent and no default means optional (undefined). */
  readonly default?: number | string | boolean;
  /** int/number: inclusive bounds; `exclusiveMin` for a strict lower bound. */
  readonly min?: number;
  readonly exclusiveMin?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  /** Other names accepted for the setting (Katib's spellings). */
  readonly aliases?: readonly string[];
  readonly description: string;
}

export type SettingValue = number | string | boolean | undefined;
export type CompiledSettings = Readonly<Record<string, SettingValue>>;

/** Settings every algorithm accepts and ignores (the seed rules; Katib's examples pass random_state). */
const IGNORED = new Set(["random_state"]);

function describe(spec: SettingSpec): string {
  switch (spec.kind) {
    case "int":
    case "number": {
      const what = spec.kind === "int" ? "an integer" : "a number";
      const lower = spec.exclusiveMin !== undefined ? ` > ${spec.exclusiveMin}` : spec.min !== undefined ? ` ≥ ${spec.min}` : "";
      const upper = spec.max !== undefined ? `${lower ? " and" : ""} ≤ ${spec.max}` : "";
      return `${what}${lower}${upper}`;
    }
    case "enum":
      return `one of ${spec.values!.map((v) => `"${v}"`).join(", ")}`;
    case "bool":
      return `"true" or "false"`;
    case "string":
      return "a non-empty string";
  }
}

function parseOne(spec: SettingSpec, raw: string): { value?: SettingValue; problem?: string } {
  const text = raw.trim();
  const bad = (): { problem: string } => ({ problem: `expected ${describe(spec)}, got ${JSON.stringify(raw)}` });
  switch (spec.kind) {
    case "int":
    case "number": {
      if (text === "") return bad();
      const n = Number(text);
      if (!Number.isFinite(n) || (spec.kind === "int" && !Number.isInteger(n))) return bad();
      if (spec.min !== undefined && n < spec.min) return bad();
      if (spec.exclusiveMin !== undefined && !(n > spec.exclusiveMin)) return bad();
      if (spec.max !== undefined && n > spec.max) return bad();
      return { value: n };
    }
    case "enum":
      return spec.values!.includes(text) ? { value: text } : bad();
    case "bool":
      return text === "true" ? { value: true } : text === "false" ? { value: false } : bad();
    case "string":
      return text === "" ? bad() : { value: text };
  }
}

/** Checks `raw` against `specs`: unknown names, bad values. Returns the typed settings with defaults filled. */
export function compileSettings(owner: string, specs: readonly SettingSpec[], raw: Readonly<Record<string, string>>): { settings: CompiledSettings; problems: SettingProblem[] } {
  const problems: SettingProblem[] = [];
  const settings: Record<string, SettingValue> = {};
  const byName = new Map<string, SettingSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    for (const a of s.aliases ?? []) byName.set(a, s);
    settings[s.name] = s.default;
  }
  const given = new Set<string>();
  for (const [name, value] of Object.entries(raw)) {
    if (IGNORED.has(name)) continue;
    const spec = byName.get(name);
    if (spec === undefined) {
      const known = specs.map((s) => s.name);
      problems.push({ setting: name, message: `${owner} has no setting "${name}"; ${known.length > 0 ? `its settings are ${known.join(", ")}` : "it takes no settings"}` });
      continue;
    }
    if (given.has(spec.name)) {
      problems.push({ setting: name, message: `"${spec.name}" is given twice (as ${name} and an alias)` });
      continue;
    }
    given.add(spec.name);
    if (typeof value !== "string") {
      problems.push({ setting: name, message: `expected ${describe(spec)} as a string, got ${JSON.stringify(value)}` });
      continue;
    }
    const r = parseOne(spec, value);
    if (r.problem !== undefined) problems.push({ setting: name, message: r.problem });
    else settings[spec.name] = r.value;
  }
  return { settings, problems };
}
