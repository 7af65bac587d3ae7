// Dynamic batching's tensor work: requests joined along dimension 0, outputs cut back by each request's rows.
import { Code, SwitchyardError, invalidArgument } from "@switchyard/core";
import { DATATYPES, formatShape, type FixedSizeData, type Tensor, type TensorData } from "./datatypes.js";

/**
 * The rows (dimension 0) of a request's tensors, which must agree; INVALID_ARGUMENT naming the input otherwise (or
 * when one is a scalar, which has no batch dimension).
 */
export function batchRows(tensors: readonly Tensor[]): number {
  let rows: number | undefined;
  let first = "";
  for (const t of tensors) {
    if (t.shape.length === 0) throw invalidArgument(`input ${JSON.stringify(t.name)}: a scalar has no batch dimension: expected shape [rows, ...]`, [{ field: t.name, message: "no batch dimension", expected: "rank ≥ 1", got: "[]" }]);
    const r = t.shape[0]!;
    if (rows === undefined) [rows, first] = [r, t.name];
    else if (r !== rows) {
      throw invalidArgument(`input ${JSON.stringify(t.name)}: has ${r} rows but input ${JSON.stringify(first)} has ${rows}: every input of a request must have the same first dimension`, [
        { field: t.name, message: "batch dimension differs between inputs", expected: String(rows), got: String(r) },
      ]);
    }
  }
  return rows ?? 0;
}

/**
 * What must be equal for requests to share a batch: each tensor's name, datatype and dimensions after the first
 * (requests whose other dimensions or datatypes differ go into different batches).
 */
export function batchKey(tensors: readonly Tensor[]): string {
  return tensors
    .map((t) => `${t.name}\u0000${t.datatype}\u0000${t.shape.slice(1).join(",")}`)
    .sort()
    .join("\u0001");
}

function concatData(parts: readonly TensorData[], total: number, datatype: Tensor["datatype"]): TensorData {
  if (datatype === "BYTES") return (parts as Uint8Array[][]).flat();
  const out = DATATYPES[datatype].allocate(total) as FixedSizeData;
  let at = 0;
  for (const p of parts as FixedSizeData[]) {
    (out as Float64Array).set(p as Float64Array, at);
    at += p.length;
  }
  return out;
}

/**
 * Joins several requests' tensors along dimension 0, by name (in the first request's order). The requests must have
 * the same `batchKey`; INVALID_ARGUMENT otherwise.
 */
export function concatBatch(requests: readonly (readonly Tensor[])[]): Tensor[] {
  const first = requests[0];
  if (first === undefined) return [];
  if (requests.length === 1) return first.slice();
  const key = batchKey(first);
  for (const r of requests) if (batchKey(r) !== key) throw invalidArgument("requests in one batch must have the same inputs, datatypes and dimensions after the first");
  return first.map((t) => {
    const parts = requests.map((r) => r.find((x) => x.name === t.name)!);
    const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
    const total = parts.reduce((n, p) => n + p.data.length, 0);
    return { name: t.name, datatype: t.datatype, shape: [rows, ...t.shape.slice(1)], data: concatData(parts.map((p) => p.data), total, t.datatype) } as Tensor;
  });
}

/**
 * Cuts a batch's outputs back into one list per request, `rows[i]` rows for request i. An output whose first
 * dimension is not the batch's rows cannot be cut (the model is not batch-major there): INTERNAL, naming it.
 */
export function splitBatch(outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
  const total = rows.reduce((a, b) => a + b, 0);
  const per: Tensor[][] = rows.map(() => []);
  for (const t of outputs) {
    if (t.shape.length === 0 || t.shape[0] !== total) {
      throw new SwitchyardError(Code.Internal, `output ${JSON.stringify(t.name)} has shape ${formatShape(t.shape)} for a batch of ${total} rows: it is not batch-major, so batched requests cannot be answered; run the model without dynamic batching`);
    }
    const rowElems = total === 0 ? 0 : t.data.length / total;
    let at = 0;
    rows.forEach((r, i) => {
      const data = t.datatype === "BYTES" ? t.data.slice(at, at + r * rowElems) : (t.data as FixedSizeData).subarray(at, at + r * rowElems);
      per[i]!.push({ name: t.name, datatype: t.datatype, shape: [r, ...t.shape.slice(1)], data } as Tensor);
      at += r * rowElems;
    });
  }
  return per;
}
