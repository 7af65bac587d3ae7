/**
 * Reading zod schemas back: which fields an object schema allows at a document path (for "did you mean"),
 * and how to name zod's types to a person.
 */
import type * as z from "zod";

/** The parts of zod v4's schema definitions this walk reads. */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: readonly z.ZodType[];
  in?: z.ZodType;
  left?: z.ZodType;
  right?: z.ZodType;
  getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional", "success"]);

/** The object-like schemas a schema stands for once wrappers, pipes, lazies and unions are looked through. */
function expand(schema: z.ZodType, depth = 0): z.ZodType[] {
  if (depth > 20) return [];
  const def = defOf(schema);
  if (WRAPPERS.has(def.type) && def.innerType !== undefined) return expand(def.innerType, depth + 1);
  if (def.type === "pipe" && def.in !== undefined) return expand(def.in, depth + 1);
  if (def.type === "lazy" && def.getter !== undefined) return expand(def.getter(), depth + 1);
  if (def.type === "union" && def.options !== undefined) return def.options.flatMap((o) => expand(o, depth + 1));
  if (def.type === "intersection" && def.left !== undefined && def.right !== undefined) {
    return [...expand(def.left, depth + 1), ...expand(def.right, depth + 1)];
  }
  return [schema];
}

function step(schema: z.ZodType, seg: string | number): z.ZodType[] {
  const def = defOf(schema);
  if (def.type === "object" && def.shape !== undefined && typeof seg === "string") {
    const next = def.shape[seg];
    return next === undefined ? [] : [next];
  }
  if (def.type === "array" && def.element !== undefined && typeof seg === "number") return [def.element];
  if (def.type === "record" && def.valueType !== undefined) return [def.valueType];
  return [];
}

/** The field names allowed by the object schema found at `path` inside `schema` (empty when there is none). */
export function knownKeysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let current = expand(schema);
  for (const seg of path) current = current.flatMap((s) => step(s, seg)).flatMap((s) => expand(s));
  const keys = new Set<string>();
  for (const s of current) {
    const def = defOf(s);
    if (def.type === "object" && def.shape !== undefined) for (const k of Object.keys(def.shape)) keys.add(k);
  }
  return [...keys].sort();
}

const TYPE_NAMES: Record<string, string> = {
  int: "a whole number",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
  record: "a mapping",
  map: "a mapping",
};

export function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}

/** How to write a value of the expected type for field `key`. */
export function typeHint(expected: string, key: string): string {
  switch (expected) {
    case "int":
    case "number":
      return `write a number without quotes, e.g. \`${key}: 1\``;
    case "string":
      return `quote the value, e.g. \`${key}: "..."\``;
    case "boolean":
      return `write \`${key}: true\` or \`${key}: false\` without quotes`;
    case "array":
      return `write a list, e.g. \`${key}: ["a", "b"]\` or one \`- item\` per line`;
    case "object":
    case "record":
      return `write a mapping: \`${key}:\` followed by indented \`field: value\` lines`;
    default:
      return `write \`${key}\` as ${typeName(expected)}`;
  }
}
