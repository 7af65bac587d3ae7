import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { batchKey, batchRows, concatBatch, splitBatch } from "./batching.js";
import { DATATYPE_NAMES, type Tensor } from "./datatypes.js";
import { plain, sampleTensor } from "./test-samples.js";

const fp32 = (name: string, rows: number[][]): Tensor => ({ name, datatype: "FP32", shape: [rows.length, rows[0]?.length ?? 0], data: Float32Array.from(rows.flat()) });

describe("batching", () => {
  it("joins requests along dimension 0 by input name and cuts the outputs back by each request's rows", () => {
    const a = [fp32("x", [[1, 2]]), { name: "id", datatype: "INT64", shape: [1], data: BigInt64Array.of(10n) } as Tensor];
    const b = [{ name: "id", datatype: "INT64", shape: [2], data: BigInt64Array.of(20n, 21n) } as Tensor, fp32("x", [[3, 4], [5, 6]])];
    const c = [fp32("x", [[7, 8]]), { name: "id", datatype: "INT64", shape: [1], data: BigInt64Array.of(30n) } as Tensor];
    assert.equal(batchKey(a), batchKey(b));
    const joined = concatBatch([a, b, c]);
    assert.deepEqual(joined.map((t) => [t.name, t.shape, plain(t)]), [
      ["x", [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]],
      ["id", [4], [10n, 20n, 21n, 30n]],
    ]);
    const parts = splitBatch(joined, [batchRows(a), batchRows(b), batchRows(c)]);
    assert.deepEqual(parts.map((p) => p.map((t) => [t.name, t.shape, plain(t)])), [
      [["x", [1, 2], [1, 2]], ["id", [1], [10n]]],
      [["x", [2, 2], [3, 4, 5, 6]], ["id", [2], [20n, 21n]]],
      [["x", [1, 2], [7, 8]], ["id", [1], [30n]]],
    ]);
  });

  it("joins and cuts every datatype, BYTES included", () => {
    for (const d of DATATYPE_NAMES) {
      const t = sampleTensor(d, "t");
      const joined = concatBatch([[t], [t]]);
      assert.deepEqual(joined[0]!.shape, [4, 3], d);
      const [first, second] = splitBatch(joined, [2, 2]);
      assert.deepEqual(plain(first![0]!), plain(t), d);
      assert.deepEqual(plain(second![0]!), plain(t), d);
    }
  });

  it("keys requests apart when their other dimensions or datatypes differ, not when only their rows do", () => {
    assert.equal(batchKey([fp32("x", [[1, 2]])]), batchKey([fp32("x", [[1, 2], [3, 4]])]));
    assert.notEqual(batchKey([fp32("x", [[1, 2]])]), batchKey([fp32("x", [[1, 2, 3]])]));
    assert.notEqual(batchKey([fp32("x", [[1]])]), batchKey([{ name: "x", datatype: "FP64", shape: [1, 1], data: Float64Array.of(1) }]));
    assert.throws(() => concatBatch([[fp32("x", [[1, 2]])], [fp32("x", [[1, 2, 3]])]]), /same inputs, datatypes and dimensions/);
  });

  it("refuses a request whose inputs disagree on their rows, or a scalar input, naming it", () => {
    assert.throws(() => batchRows([fp32("a", [[1]]), fp32("b", [[1], [2]])]), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && /^input "b": has 2 rows but input "a" has 1/.test(e.message));
    assert.throws(() => batchRows([{ name: "s", datatype: "FP32", shape: [], data: Float32Array.of(1) }]), /^SwitchyardError: input "s": a scalar has no batch dimension/);
  });

  it("says which output is not batch-major when it cannot be cut", () => {
    const out: Tensor = { name: "total", datatype: "FP32", shape: [1], data: Float32Array.of(5) };
    assert.throws(() => splitBatch([out], [1, 2]), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Internal && /^output "total" has shape \[1\] for a batch of 3 rows/.test(e.message));
  });
});
