// Generators and mutations shared by the manifest fuzz tests (job-manifest-fuzz.test.ts,
// deployment-manifest-fuzz.test.ts): random documents built from a format's real field names, and fixtures with one
// value replaced or removed. Test-only: nothing outside tests imports it.
import fc from "fast-check";

/** Random YAML-able values whose mapping keys are `fields` and whose leaves come from `scalar`. */
export function manifestValues(fields: readonly string[], scalar: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      scalar,
      fc.array(tie("value"), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom(...fields), tie("value"), { maxKeys: 4, noNullPrototype: true }),
    ),
  })).value;
}

export type Path = (string | number)[];

/** Every path in a document (the root included). */
export function pathsOf(v: unknown, at: Path = []): Path[] {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => pathsOf(x, [...at, i]))];
  if (typeof v === "object" && v !== null) return [at, ...Object.entries(v).flatMap(([k, x]) => pathsOf(x, [...at, k]))];
  return [at];
}

/** The document with the value at `path` replaced by `next`, or removed. */
export function mutate(doc: unknown, path: Path, next: unknown, remove: boolean): unknown {
  if (path.length === 0) return remove ? {} : next;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const seg of path.slice(0, -1)) parent = parent[seg] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (remove && Array.isArray(parent) && typeof last === "number") parent.splice(last, 1);
  else if (remove) delete parent[last];
  else parent[last] = next;
  return copy;
}
