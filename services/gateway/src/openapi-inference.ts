import { DATATYPE_NAMES } from "@switchyard/inference";
import type { OpenApiExtra } from "./openapi.js";

// The OpenAPI entries of the Open Inference Protocol's REST routes (rest-inference.ts): written by hand, since the
// protocol's JSON is its own (not proto3 JSON of the gRPC messages), in the shapes its specification gives.

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ "application/json": { schema } });
const TAG = "Inference";

const parameters: Schema = {
  type: "object",
  description: "protocol parameters (e.g. content_type, binary_data_output)",
  additionalProperties: { type: ["string", "number", "boolean"] },
};

const SCHEMAS: Record<string, Schema> = {
  InferenceError: { type: "object", required: ["error"], properties: { error: { type: "string" } } },
  InferenceTensor: {
    type: "object",
    required: ["name", "shape", "datatype", "data"],
    properties: {
      name: { type: "string" },
      shape: { type: "array", items: { type: "integer", minimum: 0 } },
      datatype: { type: "string", enum: [...DATATYPE_NAMES] },
      parameters,
      data: { type: "array", description: "the elements in row-major order, flat or nested by the shape; BYTES as strings", items: {} },
    },
  },
  InferenceRequest: {
    type: "object",
    required: ["inputs"],
    properties: {
      id: { type: "string" },
      parameters,
      inputs: { type: "array", minItems: 1, items: ref("InferenceTensor") },
      outputs: { type: "array", items: { type: "object", required: ["name"], properties: { name: { type: "string" }, parameters } } },
    },
  },
  InferenceResponse: {
    type: "object",
    required: ["model_name", "outputs"],
    properties: { model_name: { type: "string" }, model_version: { type: "string" }, id: { type: "string" }, parameters, outputs: { type: "array", items: ref("InferenceTensor") } },
  },
  InferenceTensorMetadata: {
    type: "object",
    required: ["name", "datatype", "shape"],
    properties: { name: { type: "string" }, datatype: { type: "string" }, shape: { type: "array", items: { type: "integer", minimum: -1 }, description: "-1 for a variable dimension" } },
  },
  ModelMetadata: {
    type: "object",
    required: ["name", "platform", "inputs", "outputs"],
    properties: {
      name: { type: "string" },
      versions: { type: "array", items: { type: "string" } },
      platform: { type: "string" },
      inputs: { type: "array", items: ref("InferenceTensorMetadata") },
      outputs: { type: "array", items: ref("InferenceTensorMetadata") },
    },
  },
  ServerMetadata: {
    type: "object",
    required: ["name", "version", "extensions"],
    properties: { name: { type: "string" }, version: { type: "string" }, extensions: { type: "array", items: { type: "string" } } },
  },
  ModelReady: { type: "object", required: ["name", "ready"], properties: { name: { type: "string" }, ready: { type: "boolean" } } },
};

const errors = { default: { description: "an error: the gRPC code mapped to the HTTP status (400, 401, 404, 413, 429, 503, …)", content: json(ref("InferenceError")) } };
const modelParam = { name: "model", in: "path", required: true, schema: { type: "string" }, description: "the deployment's name" };
const versionParam = { name: "version", in: "path", required: true, schema: { type: "string", pattern: "^[1-9][0-9]*$" }, description: "a revision number of the deployment" };

function op(id: string, summary: string, description: string, responses: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { operationId: id, tags: [TAG], summary, description, responses: { ...responses, ...errors }, ...extra };
}

/** The /v2 paths and their schemas, for openApiDocument. */
export function inferenceOpenApi(): OpenApiExtra {
  const paths: Record<string, Record<string, unknown>> = {
    "/v2/health/live": { get: op("Inference_ServerLive", "Inference.ServerLive", "Whether the gateway answers. Public: no token.", { "200": { description: "live", content: json({ type: "object", properties: { live: { type: "boolean" } } }) } }, { security: [] }) },
    "/v2/health/ready": { get: op("Inference_ServerReady", "Inference.ServerReady", "Whether the gateway serves. Public: no token.", { "200": { description: "ready", content: json({ type: "object", properties: { ready: { type: "boolean" } } }) } }, { security: [] }) },
    "/v2": { get: op("Inference_ServerMetadata", "Inference.ServerMetadata", "The server's name, version and protocol extensions.", { "200": { description: "OK", content: json(ref("ServerMetadata")) } }) },
  };
  for (const versioned of [false, true]) {
    const base = versioned ? "/v2/models/{model}/versions/{version}" : "/v2/models/{model}";
    const params = versioned ? [modelParam, versionParam] : [modelParam];
    const suffix = versioned ? "_Version" : "";
    const which = versioned ? "a version (revision) of a model" : "a model (a deployment of one of the caller's teams; another team's answers 404 like a missing one)";
    paths[base] = { get: op(`Inference_ModelMetadata${suffix}`, "Inference.ModelMetadata", `Inputs and outputs of ${which}; a model scaled to zero is started first.`, { "200": { description: "OK", content: json(ref("ModelMetadata")) } }, { parameters: params }) };
    paths[`${base}/ready`] = {
      get: op(`Inference_ModelReady${suffix}`, "Inference.ModelReady", `Whether ${which} has a ready replica: 200 when it has, 503 when not.`, { "200": { description: "ready", content: json(ref("ModelReady")) }, "503": { description: "not ready", content: json(ref("ModelReady")) } }, { parameters: params }),
    };
    paths[`${base}/infer`] = {
      post: op(
        `Inference_ModelInfer${suffix}`,
        "Inference.ModelInfer",
        `One inference on ${which}. A model scaled to zero is started and the request held until a replica answers (at most 60 s); 429 with Retry-After when too many requests are held.`,
        { "200": { description: "OK", content: json(ref("InferenceResponse")) } },
        { parameters: params, requestBody: { required: true, content: json(ref("InferenceRequest")) } },
      ),
    };
  }
  return { tags: [{ name: TAG, description: "The Open Inference Protocol (KServe V2) over REST; the same methods answer gRPC as inference.GRPCInferenceService." }], paths, schemas: SCHEMAS };
}
