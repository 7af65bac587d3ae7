// A request checked against the model it asks for: its name and version, then each input against the model's
// signature (name, datatype, rank, fixed dimensions) and the outputs it asks for. Errors say what the model expects.
import { Code, SwitchyardError, invalidArgument } from "@switchyard/core";
import { formatShape, type Tensor } from "@switchyard/inference";
import type { ModelSignature, TensorSpec } from "./model-backend.js";

const describeSpec = (s: TensorSpec) => `${s.name} (${s.datatype} ${s.shape === undefined ? "[any shape]" : formatShape(s.shape)})`;

/** NOT_FOUND unless `name`/`version` are what this server serves (an empty version means the served revision). */
export function checkModel(name: string, version: string, served: { name: string; revision: string }): void {
  if (name !== served.name) {
    throw new SwitchyardError(Code.NotFound, `model ${JSON.stringify(name)} is not served here: this server serves ${JSON.stringify(served.name)} (revision ${served.revision})`);
  }
  if (version !== "" && version !== served.revision) {
    throw new SwitchyardError(Code.NotFound, `model ${JSON.stringify(name)} has no version ${JSON.stringify(version)} here: this server serves revision ${served.revision} (leave the version empty for it)`);
  }
}

/**
 * INVALID_ARGUMENT naming the input: unknown, missing, of another datatype, or of another rank or fixed dimension
 * than the model's (its expected datatype and shape in the message, -1 where any size goes).
 */
export function checkInputs(inputs: readonly Tensor[], signature: ModelSignature): void {
  const specs = new Map(signature.inputs.map((s) => [s.name, s]));
  inputs.forEach((t, i) => {
    const spec = specs.get(t.name);
    const field = `inputs[${i}]`;
    if (spec === undefined) {
      throw invalidArgument(`input ${JSON.stringify(t.name)}: the model has no such input; its inputs are ${signature.inputs.map(describeSpec).join(", ")}`, [
        { field: `${field}.name`, message: "no such input", expected: signature.inputs.map((s) => s.name).join(" | "), got: t.name },
      ]);
    }
    if (t.datatype !== spec.datatype) {
      throw invalidArgument(`input ${JSON.stringify(t.name)}: expected datatype ${spec.datatype}, got ${t.datatype}`, [{ field: `${field}.datatype`, message: "wrong datatype", expected: spec.datatype, got: t.datatype }]);
    }
    const want = spec.shape;
    if (want === undefined) return;
    if (t.shape.length !== want.length || t.shape.some((d, k) => want[k]! >= 0 && want[k] !== d)) {
      const what = t.shape.length !== want.length ? `expected rank ${want.length} (shape ${formatShape(want)}, -1 is any size)` : `expected shape ${formatShape(want)} (-1 is any size)`;
      throw invalidArgument(`input ${JSON.stringify(t.name)}: ${what}, got ${formatShape(t.shape)}`, [{ field: `${field}.shape`, message: "wrong shape", expected: formatShape(want), got: formatShape(t.shape) }]);
    }
  });
  const given = new Set(inputs.map((t) => t.name));
  const missing = signature.inputs.filter((s) => !given.has(s.name));
  if (missing.length > 0) {
    throw invalidArgument(`input ${JSON.stringify(missing[0]!.name)} is missing: the model expects ${missing.map(describeSpec).join(", ")}`, missing.map((s) => ({ field: "inputs", message: `missing input ${s.name}`, expected: describeSpec(s) })));
  }
}

/** INVALID_ARGUMENT for a requested output the model does not have (named, with the model's outputs). */
export function checkOutputs(requested: readonly string[], signature: ModelSignature): void {
  const names = new Set(signature.outputs.map((s) => s.name));
  requested.forEach((name, i) => {
    if (!names.has(name)) {
      throw invalidArgument(`output ${JSON.stringify(name)}: the model has no such output; its outputs are ${signature.outputs.map(describeSpec).join(", ")}`, [
        { field: `outputs[${i}].name`, message: "no such output", expected: [...names].join(" | "), got: name },
      ]);
    }
  });
}

/**
 * Why dynamic batching cannot serve this model (an input or output whose first dimension is fixed, or that has none),
 * or undefined when it can.
 */
export function unbatchable(signature: ModelSignature): string | undefined {
  for (const [kind, list] of [["input", signature.inputs], ["output", signature.outputs]] as const) {
    for (const s of list) {
      if (s.shape === undefined) return `${kind} ${JSON.stringify(s.name)} has no known shape`;
      if (s.shape.length === 0) return `${kind} ${JSON.stringify(s.name)} is a scalar (no batch dimension)`;
      if (s.shape[0]! >= 0) return `${kind} ${JSON.stringify(s.name)} has shape ${formatShape(s.shape)}: its first dimension is fixed`;
    }
  }
  return undefined;
}
