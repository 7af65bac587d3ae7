import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { checkQuantity, parseQuantityCpu, parseQuantityGpu, parseQuantityMemory } from "./quantity.js";

describe("quantities", () => {
  it("reads CPU as millicores from cores, millicores and decimal strings", () => {
    assert.equal(parseQuantityCpu("500m"), 500);
    assert.equal(parseQuantityCpu(2), 2000);
    assert.equal(parseQuantityCpu("2"), 2000);
    assert.equal(parseQuantityCpu("0.5"), 500);
    assert.equal(parseQuantityCpu("0.1"), 100);
    assert.equal(parseQuantityCpu("1.0005"), 1001);
    assert.equal(parseQuantityCpu("250000u"), 250);
    assert.equal(parseQuantityCpu("1e3"), 1_000_000);
    assert.equal(parseQuantityCpu("1u"), 1);
  });

  it("reads memory as mebibytes, rounding up", () => {
    assert.equal(parseQuantityMemory("4Gi"), 4096);
    assert.equal(parseQuantityMemory("512Mi"), 512);
    assert.equal(parseQuantityMemory("1G"), 954);
    assert.equal(parseQuantityMemory(1073741824), 1024);
    assert.equal(parseQuantityMemory("1"), 1);
    assert.equal(parseQuantityMemory("1Ti"), 1024 * 1024);
    assert.equal(parseQuantityMemory("2048Ki"), 2);
    assert.equal(parseQuantityMemory("1.5Gi"), 1536);
  });

  it("reads whole GPUs and fractions of one GPU", () => {
    assert.deepEqual(parseQuantityGpu(2), { gpus: 2, gpuMilli: 0 });
    assert.deepEqual(parseQuantityGpu(0), { gpus: 0, gpuMilli: 0 });
    assert.deepEqual(parseQuantityGpu(0.5), { gpus: 0, gpuMilli: 500 });
    assert.deepEqual(parseQuantityGpu("250m"), { gpus: 0, gpuMilli: 250 });
    assert.deepEqual(parseQuantityGpu("1"), { gpus: 1, gpuMilli: 0 });
  });

  it("refuses negative, malformed and non-finite quantities with InvalidArgument", () => {
    for (const bad of ["-1", "4GB", "2 cores", "", "1.2.3", "Gi", "1e"]) {
      assert.throws(() => parseQuantityMemory(bad), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument, bad);
    }
    assert.throws(() => parseQuantityCpu(-1), /negative/);
    assert.throws(() => parseQuantityCpu(Number.POSITIVE_INFINITY), /finite/);
    assert.throws(() => parseQuantityCpu("0"), /more than 0/);
    assert.throws(() => parseQuantityMemory(0), /more than 0/);
  });

  it("refuses fractional GPUs above one and fractions finer than a thousandth", () => {
    assert.throws(() => parseQuantityGpu(1.5), /above one GPU/);
    assert.throws(() => parseQuantityGpu(0.0005), /thousandth/);
    assert.throws(() => parseQuantityGpu(-1), /negative/);
  });

  it("tells the exponent form from the exa suffix", () => {
    assert.deepEqual(checkQuantity("1E3"), { ok: true, value: 1000 });
    assert.deepEqual(checkQuantity("1E"), { ok: true, value: 1e18 });
    assert.deepEqual(checkQuantity("2Ei"), { ok: true, value: 2 * 2 ** 60 });
  });
});
