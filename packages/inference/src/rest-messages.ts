// The REST (JSON) messages of the Open Inference Protocol v2 ↔ their gRPC messages: infer requests and responses,
// model metadata. What the gateway's REST transcoder and the model server's custom-predictor bridge speak.
import { create } from "@bufbuild/protobuf";
import {
  ModelInferRequest_InferRequestedOutputTensorSchema,
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  ModelMetadataResponse_TensorMetadataSchema,
  ModelMetadataResponseSchema,
  type InferParameter,
  type ModelInferRequest,
  type ModelInferResponse,
  type ModelMetadataResponse,
} from "@switchyard/api";
import { Code } from "@switchyard/core";
import { unsupportedDatatype, type Tensor } from "./datatypes.js";
import { checkKeys, describe, isObject, parametersFromRest, parametersToRest, Problems, tensorFromRest, tensorToRest, type RestParameters, type RestTensor } from "./rest-tensor.js";
import { decodeInputs, decodeOutputs, encodeInputs, encodeOutputs } from "./tensor-codec.js";

export interface RestInferRequest {
  id?: string;
  parameters?: RestParameters;
  inputs: RestTensor[];
  outputs?: { name: string; parameters?: RestParameters }[];
}

export interface RestInferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: RestParameters;
  outputs: RestTensor[];
}

export interface RestTensorMetadata {
  name: string;
  datatype: string;
  /** -1 for a variable dimension. */
  shape: number[];
}

export interface RestModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: RestTensorMetadata[];
  outputs: RestTensorMetadata[];
}

export interface RestToProtoOptions {
  /**
   * Carry the tensors as raw contents (default true: a copy of the bytes, where typed contents cost a varint or
   * float per element to write and to read; the server then answers raw as well, which the reverse direction reads).
   */
  raw?: boolean;
}

function withParameters<T extends object>(obj: T, params: { [k: string]: InferParameter }): T & { parameters?: RestParameters } {
  return Object.keys(params).length > 0 ? { ...obj, parameters: parametersToRest(params) } : obj;
}

function tensorsFromRest(json: unknown, path: string, p: Problems, required: boolean): (Tensor & { parameters?: { [k: string]: InferParameter } })[] {
  if (!Array.isArray(json) || (required && json.length === 0)) {
    p.add(path, required ? "a non-empty array of tensors" : "an array of tensors", describe(json));
    return [];
  }
  const seen = new Set<string>();
  const out: (Tensor & { parameters?: { [k: string]: InferParameter } })[] = [];
  json.forEach((t, i) => {
    const tensor = tensorFromRest(t, `${path}[${i}]`, p);
    if (tensor === undefined) return;
    if (seen.has(tensor.name)) p.add(`${path}[${i}].name`, "a name no other tensor has", JSON.stringify(tensor.name));
    seen.add(tensor.name);
    out.push(tensor);
  });
  return out;
}

/**
 * A REST infer request body (already parsed JSON) as the gRPC request for `modelName`/`modelVersion`. Every problem
 * is reported with its JSON path and what was expected (`inputs[0].shape: expected …, got …`), all together in one
 * INVALID_ARGUMENT.
 */
export function restInferRequestToProto(body: unknown, modelName: string, modelVersion = "", options: RestToProtoOptions = {}): ModelInferRequest {
  const p = new Problems();
  if (!isObject(body)) {
    p.add("(body)", "a JSON object {inputs: [...], outputs?, id?, parameters?}", describe(body));
    p.throwIfAny(Code.InvalidArgument, "invalid inference request");
  }
  const b = body as Record<string, unknown>;
  checkKeys(b, ["id", "parameters", "inputs", "outputs"], "", p);
  if (b.id !== undefined && typeof b.id !== "string") p.add("id", "a string", describe(b.id));
  const parameters = parametersFromRest(b.parameters, "parameters", p);
  const inputs = tensorsFromRest(b.inputs, "inputs", p, true);
  const outputs: { name: string; parameters: { [k: string]: InferParameter } }[] = [];
  if (b.outputs !== undefined) {
    if (!Array.isArray(b.outputs)) p.add("outputs", "an array of {name, parameters?}", describe(b.outputs));
    else
      b.outputs.forEach((o: unknown, i) => {
        if (!isObject(o) || typeof o.name !== "string" || o.name === "") return p.add(`outputs[${i}]`, "an object {name, parameters?} with a non-empty name", describe(o));
        checkKeys(o, ["name", "parameters"], `outputs[${i}]`, p);
        outputs.push({ name: o.name, parameters: parametersFromRest(o.parameters, `outputs[${i}].parameters`, p) });
      });
  }
  p.throwIfAny(Code.InvalidArgument, "invalid inference request");
  const encoded = encodeInputs(inputs, { raw: options.raw ?? true });
  encoded.inputs.forEach((t, i) => {
    const params = inputs[i]!.parameters;
    if (params) t.parameters = params;
  });
  return create(ModelInferRequestSchema, {
    modelName,
    modelVersion,
    id: (b.id as string | undefined) ?? "",
    parameters,
    inputs: encoded.inputs,
    rawInputContents: encoded.rawInputContents,
    outputs: outputs.map((o) => create(ModelInferRequest_InferRequestedOutputTensorSchema, o)),
  });
}

/** A gRPC infer request as the REST body (what a custom predictor is sent): data flat. */
export function protoInferRequestToRest(req: ModelInferRequest): RestInferRequest {
  const tensors = decodeInputs(req);
  const out: RestInferRequest = withParameters({ inputs: tensors.map((t, i) => withParameters(tensorToRest(t), req.inputs[i]!.parameters)) }, req.parameters);
  if (req.id !== "") out.id = req.id;
  if (req.outputs.length > 0) out.outputs = req.outputs.map((o) => withParameters({ name: o.name }, o.parameters));
  return out;
}

/** A gRPC infer response as the REST body: `{model_name, model_version, id, parameters, outputs}`, data flat. */
export function protoInferResponseToRest(resp: ModelInferResponse): RestInferResponse {
  const tensors = decodeOutputs(resp);
  const out: RestInferResponse = withParameters({ model_name: resp.modelName, outputs: tensors.map((t, i) => withParameters(tensorToRest(t), resp.outputs[i]!.parameters)) }, resp.parameters);
  if (resp.modelVersion !== "") out.model_version = resp.modelVersion;
  if (resp.id !== "") out.id = resp.id;
  return out;
}

/** A REST infer response read into tensors (`restInferResponseToTensors`). */
export interface RestInferResponseParts {
  modelName: string;
  modelVersion: string;
  id: string;
  parameters: { [k: string]: InferParameter };
  outputs: (Tensor & { parameters?: { [k: string]: InferParameter } })[];
}

/** A REST infer response body (a predictor's answer) read into tensors; a malformed one is INTERNAL (the predictor's fault), with JSON paths. */
export function restInferResponseToTensors(body: unknown): RestInferResponseParts {
  const p = new Problems();
  if (!isObject(body)) {
    p.add("(body)", "a JSON object {model_name, outputs: [...]}", describe(body));
    p.throwIfAny(Code.Internal, "invalid inference response");
  }
  const b = body as Record<string, unknown>;
  for (const k of ["model_name", "model_version", "id"] as const) if (b[k] !== undefined && typeof b[k] !== "string") p.add(k, "a string", describe(b[k]));
  const parameters = parametersFromRest(b.parameters, "parameters", p);
  const outputs = tensorsFromRest(b.outputs, "outputs", p, false);
  p.throwIfAny(Code.Internal, "invalid inference response");
  return { modelName: (b.model_name as string | undefined) ?? "", modelVersion: (b.model_version as string | undefined) ?? "", id: (b.id as string | undefined) ?? "", parameters, outputs };
}

/** A REST infer response body as the gRPC response (`raw`: raw contents, default false); malformed: INTERNAL. */
export function restInferResponseToProto(body: unknown, options: { raw?: boolean } = {}): ModelInferResponse {
  const r = restInferResponseToTensors(body);
  const encoded = encodeOutputs(r.outputs, { raw: options.raw ?? false });
  encoded.outputs.forEach((t, i) => {
    const params = r.outputs[i]!.parameters;
    if (params) t.parameters = params;
  });
  return create(ModelInferResponseSchema, { modelName: r.modelName, modelVersion: r.modelVersion, id: r.id, parameters: r.parameters, outputs: encoded.outputs, rawOutputContents: encoded.rawOutputContents });
}

/** Model metadata in the protocol's JSON shape: `{name, versions, platform, inputs: [{name, datatype, shape}], outputs}`. */
export function restMetadata(resp: ModelMetadataResponse): RestModelMetadata {
  const tensor = (t: { name: string; datatype: string; shape: bigint[] }): RestTensorMetadata => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) });
  return { name: resp.name, versions: resp.versions.slice(), platform: resp.platform, inputs: resp.inputs.map(tensor), outputs: resp.outputs.map(tensor) };
}

/** A REST metadata body (a predictor's `GET /v2/models/{name}`) as the gRPC message; malformed: INTERNAL with paths. */
export function restMetadataToProto(body: unknown): ModelMetadataResponse {
  const p = new Problems();
  const b = isObject(body) ? body : {};
  if (!isObject(body)) p.add("(body)", "a JSON object {name, versions?, platform, inputs, outputs}", describe(body));
  if (typeof b.name !== "string") p.add("name", "a string", describe(b.name));
  if (b.platform !== undefined && typeof b.platform !== "string") p.add("platform", "a string", describe(b.platform));
  if (b.versions !== undefined && !(Array.isArray(b.versions) && b.versions.every((v) => typeof v === "string"))) p.add("versions", "an array of strings", describe(b.versions));
  const tensors = (key: "inputs" | "outputs") => {
    const list = b[key] ?? [];
    if (!Array.isArray(list)) {
      p.add(key, "an array of {name, datatype, shape}", describe(list));
      return [];
    }
    return list.map((t: unknown, i) => {
      const ok = isObject(t) && typeof t.name === "string" && typeof t.datatype === "string" && unsupportedDatatype(t.datatype) === undefined && Array.isArray(t.shape) && t.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= -1);
      if (!ok) p.add(`${key}[${i}]`, "{name, datatype (a supported one), shape (sizes, -1 for variable)}", describe(t));
      const m = t as { name: string; datatype: string; shape: number[] };
      return create(ModelMetadataResponse_TensorMetadataSchema, ok ? { name: m.name, datatype: m.datatype, shape: m.shape.map(BigInt) } : {});
    });
  };
  const inputs = tensors("inputs");
  const outputs = tensors("outputs");
  p.throwIfAny(Code.Internal, "invalid model metadata");
  return create(ModelMetadataResponseSchema, { name: b.name as string, versions: (b.versions as string[] | undefined) ?? [], platform: (b.platform as string | undefined) ?? "", inputs, outputs });
}
