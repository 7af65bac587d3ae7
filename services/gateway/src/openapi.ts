import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { CODE_NAMES } from "./http-errors.js";
import type { HttpRoute } from "./http-rule.js";
import { queryParamsOf } from "./rest-transcode.js";
import { StreamForms } from "./rest-stream.js";

type Schema = Record<string, unknown>;

const ERROR_REF = { $ref: "#/components/schemas/Error" };

function scalarSchema(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", minimum: 0, maximum: 4294967295 };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      // proto3 JSON writes 64-bit integers as strings (JavaScript numbers cannot hold them); it reads either.
      return { type: "string", format: "uint64", pattern: "^[0-9]+$" };
    default:
      return { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
  }
}

const WKT: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", example: "1.5s" },
  "google.protobuf.FieldMask": { type: "string" },
  "google.protobuf.Struct": { type: "object", additionalProperties: true },
  "google.protobuf.Value": {},
  "google.protobuf.ListValue": { type: "array", items: {} },
  "google.protobuf.Empty": { type: "object" },
  "google.protobuf.Any": { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"], additionalProperties: true },
  "google.protobuf.DoubleValue": scalarSchema(ScalarType.DOUBLE),
  "google.protobuf.FloatValue": scalarSchema(ScalarType.FLOAT),
  "google.protobuf.Int64Value": scalarSchema(ScalarType.INT64),
  "google.protobuf.UInt64Value": scalarSchema(ScalarType.UINT64),
  "google.protobuf.Int32Value": scalarSchema(ScalarType.INT32),
  "google.protobuf.UInt32Value": scalarSchema(ScalarType.UINT32),
  "google.protobuf.BoolValue": scalarSchema(ScalarType.BOOL),
  "google.protobuf.StringValue": scalarSchema(ScalarType.STRING),
  "google.protobuf.BytesValue": scalarSchema(ScalarType.BYTES),
};

/** JSON Schemas of messages, by full proto name, each written once and referenced. */
class Schemas {
  readonly components: Record<string, Schema> = {};

  ref(m: DescMessage): Schema {
    const wkt = WKT[m.typeName];
    if (wkt) return wkt;
    if (!(m.typeName in this.components)) {
      this.components[m.typeName] = {}; // placeholder: recursive messages refer to themselves
      const properties: Record<string, Schema> = {};
      for (const f of m.fields) properties[f.jsonName] = this.field(f);
      this.components[m.typeName] = { type: "object", title: m.name, properties, additionalProperties: false };
    }
    return { $ref: `#/components/schemas/${m.typeName}` };
  }

  private enumSchema(e: DescEnum): Schema {
    return { type: "string", enum: e.values.map((v) => v.name) };
  }

  field(f: DescField): Schema {
    switch (f.fieldKind) {
      case "scalar":
        return scalarSchema(f.scalar);
      case "enum":
        return this.enumSchema(f.enum);
      case "message":
        return this.ref(f.message);
      case "list":
        return { type: "array", items: f.listKind === "scalar" ? scalarSchema(f.scalar) : f.listKind === "enum" ? this.enumSchema(f.enum) : this.ref(f.message) };
      case "map":
        return { type: "object", additionalProperties: f.mapKind === "scalar" ? scalarSchema(f.scalar) : f.mapKind === "enum" ? this.enumSchema(f.enum) : this.ref(f.message) };
    }
  }
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

/** Routes written by hand (the Open Inference Protocol's /v2): their paths, schemas and tags, added as they are. */
export interface OpenApiExtra {
  readonly tags: readonly { name: string; description?: string }[];
  readonly paths: Readonly<Record<string, Record<string, unknown>>>;
  readonly schemas: Readonly<Record<string, Record<string, unknown>>>;
}

/**
 * An OpenAPI 3.1 document for the REST routes, generated from the same descriptors and annotations the transcoder
 * routes by: what it says is what the gateway does. `extra`: hand-written routes, added beside them.
 */
export function openApiDocument(routes: readonly HttpRoute[], info: OpenApiInfo, streamForms = new StreamForms(routes), extra?: OpenApiExtra): Record<string, unknown> {
  const schemas = new Schemas();
  const paths: Record<string, Record<string, unknown>> = {};
  const opIds = new Map<string, number>();
  const tags = new Set<string>();
  for (const r of routes) {
    const base = `${r.service.name}_${r.method.name}`;
    const n = opIds.get(base) ?? 0;
    opIds.set(base, n + 1);
    tags.add(r.service.name);
    const parameters: Schema[] = r.variables.map((v) => ({
      name: v.fieldPath,
      in: "path",
      required: true,
      schema: schemas.field(v.fields[v.fields.length - 1]!),
      ...(r.pieces.slice(v.from, v.to).some((p) => p.kind === "rest") ? { description: "may contain '/'" } : {}),
    }));
    for (const q of queryParamsOf(r)) {
      parameters.push({ name: q.path, in: "query", required: false, schema: schemas.field(q.field), ...(q.field.fieldKind === "list" ? { style: "form", explode: true } : {}) });
    }
    const streaming = r.method.methodKind === "server_streaming";
    const forms = streaming ? streamForms.of(r) : undefined;
    if (forms) {
      const alts = forms.forms.filter((f) => f.alt !== undefined);
      parameters.push({
        name: "alt",
        in: "query",
        required: false,
        description: `the response's form (without it, the Accept header chooses among the response's media types; the default is ${forms.fallback.mediaType}): ${alts.map((f) => `${f.alt} (${f.mediaType})`).join(", ")}`,
        schema: { type: "string", enum: alts.map((f) => f.alt) },
      });
    }
    const out = r.responseBodyField ? schemas.field(r.responseBodyField) : schemas.ref(r.method.output);
    const content: Record<string, unknown> = forms
      ? Object.fromEntries(
          forms.forms.map((f) => [
            f.mediaType,
            f.mediaType === "application/json"
              ? { schema: { type: "array", items: schemas.ref(r.method.output), description: f.description } }
              : { schema: { type: "string", description: f.description, ...(f.mediaType === "application/octet-stream" ? { format: "binary" } : {}) } },
          ]),
        )
      : { "application/json": { schema: out } };
    const op: Record<string, unknown> = {
      operationId: n === 0 ? base : `${base}_${n + 1}`,
      tags: [r.service.name],
      summary: `${r.service.name}.${r.method.name}`,
      description: `Transcoded from the gRPC method ${r.service.typeName}/${r.method.name}.`,
      parameters,
      responses: {
        "200": { description: streaming ? "a stream of messages" : "OK", content },
        default: { description: "an error: the gRPC code mapped to the HTTP status", content: { "application/json": { schema: ERROR_REF } } },
      },
    };
    if (r.body !== "") {
      const schema = r.body === "*" ? schemas.ref(r.method.input) : schemas.field(r.bodyField!);
      op["requestBody"] = { required: r.body !== "*", content: { "application/json": { schema } } };
    }
    const item = (paths[r.openApiPath] ??= {});
    item[r.httpMethod.toLowerCase()] = op;
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title, version: info.version, ...(info.description ? { description: info.description } : {}) },
    tags: [...[...tags].map((name) => ({ name })), ...(extra?.tags ?? [])],
    security: [{ bearer: [] }],
    paths: { ...paths, ...extra?.paths },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "a token from `switchyard up` (the admin's), `switchyard token create`, or `switchyard login`" } },
      schemas: {
        ...schemas.components,
        ...extra?.schemas,
        Error: {
          type: "object",
          required: ["code", "message", "details"],
          properties: {
            code: { type: "string", enum: CODE_NAMES.slice(1) },
            message: { type: "string" },
            details: { type: "array", items: { $ref: "#/components/schemas/FieldViolation" } },
          },
        },
        FieldViolation: {
          type: "object",
          required: ["field", "message"],
          properties: {
            field: { type: "string", description: "dotted path of the field, e.g. spec.resources.gpus" },
            message: { type: "string" },
            expected: { type: "string" },
            got: { type: "string" },
            hint: { type: "string", description: "how to fix it" },
            file: { type: "string" },
            line: { type: "integer" },
            column: { type: "integer" },
          },
        },
      },
    },
  };
}
