import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Parser, parseDocument, stringify } from "yaml";
import { Code, SwitchyardError } from "./errors.js";
import { checkTextBounds, nestingDepth } from "./text-bounds.js";
import { parseYamlDocument, parseYamlDocuments, syntaxTreeDepth } from "./yaml-bounded.js";

/** The nesting depth of a parsed value (a scalar is 0, a list or mapping one more than its deepest child). */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === "object") return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, tie("leaf"), tie("list"), tie("map")),
  leaf: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null)),
  list: fc.array(tie("node"), { maxLength: 3 }),
  map: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tie("node"), { maxKeys: 3 }),
})).node;

const layouts = (v: unknown) => [JSON.stringify(v), JSON.stringify(v, null, 2), stringify(v), stringify(v, { collectionStyle: "flow" })];

describe("YAML and JSON nesting bounded before parsing", () => {
  it("measures the exact depth on the parser's tree, in every layout, without recursion", () => {
    fc.assert(
      fc.property(value, (v) => {
        for (const text of layouts(v)) {
          const d = depthOf(parseDocument(text).toJS());
          assert.equal(syntaxTreeDepth(Array.from(new Parser().parse(text))).depth, d, text);
        }
      }),
      { numRuns: 2000 },
    );
    // 200,000 levels: the tree is built and measured without exhausting the stack.
    assert.equal(syntaxTreeDepth(Array.from(new Parser().parse("[".repeat(200_000)))).depth, 200_000);
  });

  it("estimates lexically without refusing ordinary documents (at most a few times their depth)", () => {
    fc.assert(
      fc.property(value, (v) => {
        for (const text of layouts(v)) assert.ok(nestingDepth(text).depth <= 3 * depthOf(v) + 3, text);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses nesting bombs in every form, with the limit and the line, and never recurses into them", () => {
    const bombs = ["[".repeat(2000), '{"a":'.repeat(5000), "- ".repeat(3000) + "x", Array.from({ length: 100 }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n"), `k: a "\n  "\n${"[".repeat(3000)}`];
    for (const text of bombs) {
      for (const parse of [() => parseYamlDocument(text, { what: "job.yaml" }), () => parseYamlDocuments(text, { what: "job.yaml" })]) {
        assert.throws(parse, (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && /nests deeper than 64 levels \(line \d+\)/.test(e.message) && e.details[0]!.line! >= 1);
      }
    }
    assert.throws(() => checkTextBounds("ok\n".repeat(10), "x", { maxBytes: 10, maxDepth: 64 }), (e: unknown) => e instanceof SwitchyardError && /30 bytes, over the limit of 10/.test(e.message));
    assert.equal(parseYamlDocument("apiVersion: v1\nspec: {a: [1, {b: 2}]}\n", { what: "ok.yaml" }).toJS().spec.a[1].b, 2);
  });
});
