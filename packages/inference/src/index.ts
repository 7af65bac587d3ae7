// @switchyard/inference: the tensor model of the Open Inference Protocol (v2), shared by the model server and the
// gateway's REST transcoder. Pure: no I/O.
export { DATATYPES, DATATYPE_NAMES, datatypeOfOnnx, elementCount, formatShape, isDatatype, parseDatatype, unsupportedDatatype } from "./datatypes.js";
export type { ContentsField, Datatype, DatatypeArrays, DatatypeInfo, FixedSizeData, OnnxTensorType, Tensor, TensorData } from "./datatypes.js";
export { floatToHalfBits, halfBitsToFloat } from "./fp16.js";
export { decodeInputs, decodeOutputs, encodeInputs, encodeOutputs } from "./tensor-codec.js";
export type { EncodeOptions } from "./tensor-codec.js";
export { MAX_REST_RANK, parametersToRest, tensorToRest } from "./rest-tensor.js";
export type { RestElement, RestParameters, RestTensor } from "./rest-tensor.js";
export { protoInferRequestToRest, protoInferResponseToRest, restInferRequestToProto, restInferResponseToProto, restInferResponseToTensors, restMetadata, restMetadataToProto } from "./rest-messages.js";
export type { RestInferRequest, RestInferResponse, RestInferResponseParts, RestModelMetadata, RestTensorMetadata, RestToProtoOptions } from "./rest-messages.js";
export { batchKey, batchRows, concatBatch, splitBatch } from "./batching.js";
