import { fromJson, ScalarType, toJson, type DescField, type DescMessage, type JsonValue, type Message } from "@bufbuild/protobuf";
import { Code, SwitchyardError, type FieldViolation } from "@switchyard/core";
import { resolveFieldPath, type HttpRoute, type PathVariable } from "./http-rule.js";
import { checkMessageJson } from "./json-check.js";

/** Google's system parameter `alt` chooses a response's form: json, sse (server-sent events) or media (raw bytes). */
export const ALT_PARAM = "alt";

export function invalid(details: FieldViolation[]): SwitchyardError {
  const first = details[0]!;
  const more = details.length > 1 ? ` (and ${details.length - 1} more problem${details.length > 2 ? "s" : ""})` : "";
  return new SwitchyardError(Code.InvalidArgument, `${first.field}: ${first.message}${first.hint ? ` — ${first.hint}` : ""}${more}`, { details });
}

/** Fields a query parameter may set: scalars, enums and lists of them, reached through singular messages. */
export function queryFields(message: DescMessage, prefix = "", depth = 0): { path: string; field: DescField }[] {
  const out: { path: string; field: DescField }[] = [];
  for (const f of message.fields) {
    const p = prefix ? `${prefix}.${f.jsonName}` : f.jsonName;
    if (f.fieldKind === "scalar" || f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind !== "message")) out.push({ path: p, field: f });
    else if (f.fieldKind === "message" && !f.message.typeName.startsWith("google.protobuf.") && depth < 3) out.push(...queryFields(f.message, p, depth + 1));
    else if (f.fieldKind === "message" && f.message.typeName === "google.protobuf.Timestamp") out.push({ path: p, field: f });
  }
  return out;
}

const paramCache = new WeakMap<HttpRoute, { path: string; field: DescField }[]>();

/** The query parameters a route takes: the query-able fields its path does not bind (none when the body is "*"). */
export function queryParamsOf(route: HttpRoute): { path: string; field: DescField }[] {
  let params = paramCache.get(route);
  if (!params) {
    const bound = new Set(route.variables.map((v) => v.fields.map((f) => f.jsonName).join(".")));
    params = route.body === "*" ? [] : queryFields(route.method.input).filter((q) => !bound.has(q.path) && !(route.bodyField && q.path.split(".")[0] === route.bodyField.jsonName));
    paramCache.set(route, params);
  }
  return params;
}

/** A string from a path or query parameter as proto3 JSON wants the field's value. */
function fromParam(f: DescField, raw: string, name: string, out: FieldViolation[]): JsonValue | undefined {
  const scalar = f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar") ? f.scalar : undefined;
  if (scalar === ScalarType.BOOL) {
    if (raw === "true" || raw === "1" || raw === "") return true;
    if (raw === "false" || raw === "0") return false;
    out.push({ field: name, message: "is not a boolean", expected: "true or false", got: JSON.stringify(raw), hint: `e.g. ?${name}=true` });
    return undefined;
  }
  const isEnum = f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum");
  if (isEnum && /^-?\d+$/.test(raw)) return Number(raw);
  return raw;
}

function setPath(obj: Record<string, unknown>, fields: readonly DescField[], value: unknown): void {
  let o = obj;
  fields.forEach((f, i) => {
    if (f.name !== f.jsonName) delete o[f.name];
    if (i === fields.length - 1) {
      o[f.jsonName] = value;
      return;
    }
    const next = o[f.jsonName];
    if (typeof next !== "object" || next === null || Array.isArray(next)) o[f.jsonName] = {};
    o = o[f.jsonName] as Record<string, unknown>;
  });
}

function isJsonContentType(ct: string | undefined): boolean {
  if (!ct) return true;
  const t = ct.split(";")[0]!.trim().toLowerCase();
  return t === "application/json" || (t.startsWith("application/") && t.endsWith("+json")) || t === "text/plain";
}

/**
 * The request message a REST call stands for: the body as the rule's `body` says, then the query parameters, then the
 * path variables (which win). Every problem is reported with its field, what was expected and how to fix it.
 */
export function transcodeRequest(
  route: HttpRoute,
  vars: ReadonlyMap<PathVariable, string>,
  query: URLSearchParams,
  body: Buffer,
  contentType: string | undefined,
): Message {
  const violations: FieldViolation[] = [];
  let json: Record<string, unknown> = {};
  if (route.body === "") {
    if (body.length > 0) violations.push({ field: "body", message: `${route.httpMethod} ${route.template} takes no body`, hint: "send the fields as query parameters" });
  } else if (body.length > 0) {
    if (!isJsonContentType(contentType)) {
      violations.push({ field: "Content-Type", message: "is not JSON", expected: "application/json", got: JSON.stringify(contentType), hint: "send -H 'Content-Type: application/json'" });
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch (err) {
        violations.push({ field: "body", message: `is not valid JSON: ${(err as Error).message}`, hint: "send a JSON object; check the quotes, commas and brackets" });
      }
      if (route.body === "*") {
        if (parsed !== undefined && (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))) {
          violations.push({ field: "body", message: "is not a JSON object", expected: `the fields of ${route.method.input.name}`, got: Array.isArray(parsed) ? "an array" : JSON.stringify(parsed), hint: "send {…}" });
        } else if (parsed !== undefined) json = parsed as Record<string, unknown>;
      } else if (parsed !== undefined && route.bodyField) {
        json = { [route.bodyField.jsonName]: parsed };
      }
    }
  }

  for (const key of new Set(query.keys())) {
    if (key === ALT_PARAM) continue;
    if (key === "") {
      if (query.getAll(key).some((v) => v !== "")) violations.push({ field: "query", message: "has a parameter without a name", hint: "write ?name=value" });
      continue;
    }
    if (route.body === "*") {
      violations.push({ field: key, message: "is not a query parameter of this route", hint: `${route.httpMethod} ${route.template} takes its fields in the JSON body: move "${key}" there` });
      continue;
    }
    const fields = resolveFieldPath(route.method.input, key);
    const leaf = fields?.[fields.length - 1];
    const jsonPath = fields?.map((f) => f.jsonName).join(".");
    const allowed = queryParamsOf(route);
    if (!fields || !leaf || !allowed.some((q) => q.field === leaf && q.path === jsonPath)) {
      violations.push({ field: key, message: "is not a query parameter of this route", expected: allowed.length ? `one of ${allowed.map((q) => q.path).join(", ")}` : "no query parameters", hint: `remove "${key}"` });
      continue;
    }
    const values = query.getAll(key);
    if (leaf.fieldKind === "list") {
      const items = values.map((v) => fromParam(leaf, v, key, violations));
      setPath(json, fields, items);
    } else if (values.length > 1) {
      violations.push({ field: key, message: `is given ${values.length} times`, expected: "once", hint: `keep one ?${key}=` });
    } else {
      const v = fromParam(leaf, values[0]!, key, violations);
      if (v !== undefined) setPath(json, fields, v);
    }
  }

  for (const [v, raw] of vars) {
    const leaf = v.fields[v.fields.length - 1]!;
    const value = fromParam(leaf, raw, v.fieldPath, violations);
    if (value !== undefined) setPath(json, v.fields, value);
  }

  if (violations.length === 0) for (const v of checkMessageJson(route.method.input, json)) violations.push(v);
  if (violations.length > 0) throw invalid(violations);
  try {
    return fromJson(route.method.input, json as JsonValue, { ignoreUnknownFields: false });
  } catch (err) {
    throw invalid([{ field: "body", message: `cannot be read as ${route.method.input.name}: ${(err as Error).message}`, hint: "check the field types against /openapi.json" }]);
  }
}

/** A response message as REST returns it: proto3 JSON with every field present, or only `response_body`. */
export function responseJson(route: HttpRoute, schema: DescMessage, msg: Message): JsonValue {
  const json = toJson(schema, msg, { alwaysEmitImplicit: true }) as Record<string, JsonValue>;
  return route.responseBodyField ? (json[route.responseBodyField.jsonName] ?? null) : json;
}

/** The bytes field a streamed message's raw content comes from (`alt=media`): response_body, or its only bytes field. */
export function mediaField(route: HttpRoute): DescField | undefined {
  const f = route.responseBodyField;
  if (f) return f.fieldKind === "scalar" && f.scalar === ScalarType.BYTES ? f : undefined;
  const bytes = route.method.output.fields.filter((x) => x.fieldKind === "scalar" && x.scalar === ScalarType.BYTES);
  return bytes.length === 1 ? bytes[0] : undefined;
}
