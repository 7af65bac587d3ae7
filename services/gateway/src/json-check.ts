import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import type { FieldViolation } from "@switchyard/core";

/**
 * Checks a JSON value against a message descriptor the way proto3 JSON reads it, and says for each problem which
 * field, what was expected, what came, and how to fix it — before protobuf-es's own parser, whose errors do not.
 */
export function checkMessageJson(message: DescMessage, value: unknown, path = ""): FieldViolation[] {
  const out: FieldViolation[] = [];
  checkMessage(message, value, path, out, 0);
  return out.slice(0, MAX_VIOLATIONS);
}

/** The most problems one answer lists (and the checker looks for): a body of 200,000 unknown keys gets 50, not 200,000. */
const MAX_VIOLATIONS = 50;

const MAX_DEPTH = 32;
const INT32 = /^-?\d+$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function type(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** `a.b`, or `a["odd key"]` for keys that are not plain names (an empty key still names a place). */
function join(path: string, key: string): string {
  if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length]!;
}

const WRAPPERS: Record<string, ScalarType> = {
  "google.protobuf.DoubleValue": ScalarType.DOUBLE,
  "google.protobuf.FloatValue": ScalarType.FLOAT,
  "google.protobuf.Int64Value": ScalarType.INT64,
  "google.protobuf.UInt64Value": ScalarType.UINT64,
  "google.protobuf.Int32Value": ScalarType.INT32,
  "google.protobuf.UInt32Value": ScalarType.UINT32,
  "google.protobuf.BoolValue": ScalarType.BOOL,
  "google.protobuf.StringValue": ScalarType.STRING,
  "google.protobuf.BytesValue": ScalarType.BYTES,
};

function checkMessage(message: DescMessage, v: unknown, path: string, out: FieldViolation[], depth: number): void {
  if (depth > MAX_DEPTH) {
    out.push({ field: path, message: "is nested too deeply", expected: `at most ${MAX_DEPTH} levels`, hint: "flatten the value" });
    return;
  }
  switch (message.typeName) {
    case "google.protobuf.Timestamp":
      if (typeof v !== "string" || !RFC3339.test(v)) out.push({ field: path, message: "is not a timestamp", expected: "an RFC 3339 string", got: type(v), hint: 'e.g. "2024-05-01T12:00:00Z"' });
      return;
    case "google.protobuf.Duration":
      if (typeof v !== "string" || !/^-?\d+(\.\d{1,9})?s$/.test(v)) out.push({ field: path, message: "is not a duration", expected: 'seconds with an "s" suffix', got: type(v), hint: 'e.g. "1.5s"' });
      return;
    case "google.protobuf.FieldMask":
      if (typeof v !== "string") out.push({ field: path, message: "is not a field mask", expected: "comma-separated field paths", got: type(v) });
      return;
    case "google.protobuf.Value":
      return;
    case "google.protobuf.ListValue":
      if (!Array.isArray(v)) out.push({ field: path, message: "is not a list", expected: "an array", got: type(v) });
      return;
    case "google.protobuf.Struct":
      if (!isObject(v)) out.push({ field: path, message: "is not an object", expected: "an object", got: type(v) });
      return;
    case "google.protobuf.Any":
      if (!isObject(v) || typeof v["@type"] !== "string") out.push({ field: path, message: "is not an Any", expected: 'an object with "@type"', got: type(v) });
      return;
  }
  const wrapped = WRAPPERS[message.typeName];
  if (wrapped !== undefined) {
    checkScalar(wrapped, v, path, out);
    return;
  }
  if (!isObject(v)) {
    out.push({ field: path || "body", message: "is not an object", expected: `a JSON object (${message.name})`, got: type(v), hint: path ? `write ${path}: {…}` : "send a JSON object as the request body" });
    return;
  }
  const seen = new Map<DescField, string>();
  for (const [key, val] of Object.entries(v)) {
    if (out.length >= MAX_VIOLATIONS) return;
    const f = message.fields.find((x) => x.jsonName === key || x.name === key);
    const p = join(path, key);
    if (!f) {
      const names = message.fields.map((x) => x.jsonName);
      const best = names.map((n) => [n, distance(key, n)] as const).sort((a, b) => a[1] - b[1])[0];
      out.push({
        field: p,
        message: `is not a field of ${message.name}`,
        expected: names.length ? `one of ${names.join(", ")}` : "no fields",
        hint: best && best[1] <= Math.max(2, Math.floor(key.length / 3)) ? `did you mean "${best[0]}"?` : `remove "${key}"`,
      });
      continue;
    }
    const dup = seen.get(f);
    if (dup !== undefined) {
      out.push({ field: p, message: `sets the same field as "${dup}"`, hint: `keep one of "${dup}" and "${key}"` });
      continue;
    }
    seen.set(f, key);
    if (val === null) continue;
    checkField(f, val, p, out, depth);
  }
  for (const oneof of message.oneofs) {
    const set = oneof.fields.filter((f) => seen.has(f) && v[seen.get(f)!] !== null);
    if (set.length > 1) out.push({ field: join(path, oneof.name), message: `sets ${set.map((f) => f.jsonName).join(" and ")}, which exclude each other`, hint: "keep one of them" });
  }
}

function checkField(f: DescField, v: unknown, path: string, out: FieldViolation[], depth: number): void {
  switch (f.fieldKind) {
    case "scalar":
      checkScalar(f.scalar, v, path, out);
      return;
    case "enum":
      checkEnum(f.enum, v, path, out);
      return;
    case "message":
      checkMessage(f.message, v, path, out, depth + 1);
      return;
    case "list":
      if (!Array.isArray(v)) {
        out.push({ field: path, message: "is not a list", expected: "a JSON array", got: type(v), hint: `write ${path}: [${typeof v === "object" && v !== null ? "…" : String(v).slice(0, 40)}]` });
        return;
      }
      v.forEach((item, i) => {
        const p = `${path}[${i}]`;
        if (item === null) out.push({ field: p, message: "is null", expected: "a value", hint: "remove the null" });
        else if (f.listKind === "scalar") checkScalar(f.scalar, item, p, out);
        else if (f.listKind === "enum") checkEnum(f.enum, item, p, out);
        else checkMessage(f.message, item, p, out, depth + 1);
      });
      return;
    case "map":
      if (!isObject(v)) {
        out.push({ field: path, message: "is not a map", expected: "a JSON object of key: value", got: type(v) });
        return;
      }
      for (const [k, item] of Object.entries(v)) {
        const p = `${path}[${JSON.stringify(k)}]`;
        if (f.mapKey !== ScalarType.STRING) checkScalar(f.mapKey, f.mapKey === ScalarType.BOOL ? (k === "true" ? true : k === "false" ? false : k) : k, p, out);
        if (item === null) out.push({ field: p, message: "is null", expected: "a value", hint: "remove the entry" });
        else if (f.mapKind === "scalar") checkScalar(f.scalar, item, p, out);
        else if (f.mapKind === "enum") checkEnum(f.enum, item, p, out);
        else checkMessage(f.message, item, p, out, depth + 1);
      }
      return;
  }
}

function checkEnum(e: DescEnum, v: unknown, path: string, out: FieldViolation[]): void {
  if (typeof v === "string" && e.values.some((x) => x.name === v)) return;
  if (typeof v === "number" && Number.isInteger(v)) return;
  out.push({ field: path, message: "is not a valid value", expected: `one of ${e.values.map((x) => x.name).join(", ")}`, got: type(v) });
}

const LIMITS: Partial<Record<ScalarType, [bigint, bigint]>> = {
  [ScalarType.INT32]: [-(2n ** 31n), 2n ** 31n - 1n],
  [ScalarType.SINT32]: [-(2n ** 31n), 2n ** 31n - 1n],
  [ScalarType.SFIXED32]: [-(2n ** 31n), 2n ** 31n - 1n],
  [ScalarType.UINT32]: [0n, 2n ** 32n - 1n],
  [ScalarType.FIXED32]: [0n, 2n ** 32n - 1n],
  [ScalarType.INT64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.SINT64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.SFIXED64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.UINT64]: [0n, 2n ** 64n - 1n],
  [ScalarType.FIXED64]: [0n, 2n ** 64n - 1n],
};

function checkScalar(t: ScalarType, v: unknown, path: string, out: FieldViolation[]): void {
  switch (t) {
    case ScalarType.STRING:
      if (typeof v !== "string") out.push({ field: path, message: "is not a string", expected: "a string", got: type(v), hint: typeof v === "object" && v !== null ? "send a string, not a list or an object" : `quote it: "${String(v).slice(0, 40)}"` });
      else if (LONE_SURROGATE.test(v)) out.push({ field: path, message: "is not valid UTF-16 text", expected: "a string without lone surrogates", hint: "send UTF-8 text" });
      return;
    case ScalarType.BOOL:
      if (typeof v !== "boolean") out.push({ field: path, message: "is not a boolean", expected: "true or false", got: type(v) });
      return;
    case ScalarType.BYTES:
      if (typeof v !== "string" || !BASE64.test(v)) out.push({ field: path, message: "is not base64", expected: "bytes as a base64 string", got: type(v) });
      return;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      if (typeof v === "number" || (typeof v === "string" && (/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) || ["NaN", "Infinity", "-Infinity"].includes(v)))) return;
      out.push({ field: path, message: "is not a number", expected: "a number", got: type(v) });
      return;
    default: {
      const [min, max] = LIMITS[t] ?? [-(2n ** 63n), 2n ** 63n - 1n];
      const what = `an integer from ${min} to ${max}`;
      let n: bigint | undefined;
      if (typeof v === "number" && Number.isInteger(v)) n = BigInt(v);
      else if (typeof v === "string" && INT32.test(v)) n = BigInt(v);
      if (n === undefined) out.push({ field: path, message: "is not an integer", expected: what, got: type(v) });
      else if (n < min || n > max) out.push({ field: path, message: "is out of range", expected: what, got: String(v).slice(0, 40) });
    }
  }
}
