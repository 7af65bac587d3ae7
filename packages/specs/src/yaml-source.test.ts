import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SwitchyardError } from "@switchyard/core";
import { readYamlSource } from "./yaml-source.js";
import { violationsOf, where } from "./test-helpers.js";

// JSON is read by JSON.parse (fast) and YAML by the yaml package; a leading comment line makes the same JSON text go
// the YAML way (a comment is not JSON), so each JSON document can be read both ways and compared.
const viaYaml = (json: string) => readYamlSource(`# read as YAML\n${json}`);

/** The value read, or the messages of the refusal (their lines differ by the comment line, their words must not). */
function outcome(read: () => { value: unknown }): { value: unknown } | { refused: string[] } {
  try {
    return { value: read().value };
  } catch (err) {
    assert.ok(err instanceof SwitchyardError, String(err));
    return { refused: err.details.map((d) => d.message) };
  }
}

describe("reading JSON documents", () => {
  it("gives the same values as the YAML reader for any JSON object or array", () => {
    const doc = fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 })), fc.array(fc.jsonValue({ maxDepth: 4 })));
    fc.assert(
      fc.property(doc, fc.constantFrom(undefined, 2), (v, indent) => {
        const text = JSON.stringify(v, null, indent);
        // The YAML reader refuses some keys JSON allows (`__proto__`, at any depth): then so must the JSON reader.
        assert.deepEqual(outcome(() => readYamlSource(text)), outcome(() => viaYaml(text)));
      }),
      { numRuns: 1000 },
    );
  });

  it("leaves what JSON.parse would hide to the YAML reader: duplicate keys and __proto__ are refused with their line", () => {
    const dup = violationsOf('{\n  "apiVersion": "switchyard/v1",\n  "kind": "Job",\n  "kind": "Job"\n}', "job.json");
    assert.deepEqual(where(dup), ["4:3 (yaml)"]);
    assert.match(dup[0]!.message, /unique/);
    const proto = violationsOf('{"apiVersion": "switchyard/v1", "kind": "Job", "metadata": {"__proto__": {"name": "x"}}}', "job.json");
    assert.match(proto[0]!.message, /__proto__/);
  });

  it("refuses a JSON document of more values than the YAML reader allows as the YAML reader does, not with an internal error", () => {
    const big = `[${"0,".repeat(200_000)}0]`;
    const d = violationsOf(big, "job.json");
    assert.match(d[0]!.message, /too large once aliases are expanded/);
  });

  it("points a violation of a JSON manifest at its line and column", () => {
    const manifest = { apiVersion: "switchyard/v1", kind: "Job", metadata: { name: "j" }, spec: { command: ["true"], replicas: "two" } };
    const d = violationsOf(JSON.stringify(manifest, null, 2), "job.json");
    assert.deepEqual(where(d), ["11:17 spec.replicas"]);
    assert.equal(d[0]!.file, "job.json");
  });
});
