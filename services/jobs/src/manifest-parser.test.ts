import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { createManifestParser } from "./manifest-parser.js";

function bigManifest(vars: number): string {
  let env = "";
  for (let i = 0; i < vars; i++) env += `    VAR_${i}: "value-${i}-${"x".repeat(20)}"\n`;
  return `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: big}\nspec:\n  command: [sh]\n  env:\n${env}`;
}

const refused = (code: Code, re: RegExp) => (e: unknown) => e instanceof SwitchyardError && e.code === code && re.test(e.message);

describe("reading manifests with bounded cost", () => {
  const parser = createManifestParser({ inlineMaxBytes: 4096 });
  after(() => parser.close());

  it("refuses a nesting bomb before any parser recurses into it, naming the limit", async () => {
    for (const text of ["[".repeat(2000), '{"a":'.repeat(5000), "- ".repeat(3000) + "x", `spec:\n${"  ".repeat(1).padEnd(0)}${Array.from({ length: 100 }, (_, i) => `${" ".repeat(i * 2)}k${i}:`).join("\n")}`]) {
      await assert.rejects(parser.read(text, {}), refused(Code.InvalidArgument, /nests deeper than 64 levels/));
    }
    await assert.rejects(parser.read("x".repeat(2 * 1024 * 1024), {}), refused(Code.InvalidArgument, /over the limit of 1048576/));
  });

  it("reads a large manifest in a worker while the event loop keeps turning", async () => {
    const text = bigManifest(12_000);
    assert.ok(text.length > 400_000);
    let ticks = 0;
    let reading = true;
    const spin = () => {
      ticks++;
      if (reading) setImmediate(spin);
    };
    setImmediate(spin);
    const { parsed } = await parser.read(text, {});
    reading = false;
    assert.equal(Object.keys(parsed.spec.env).length, 12_000);
    assert.ok(ticks > 20, `the event loop turned ${ticks} times while the manifest was read`);
  });

  it("refuses a manifest that takes longer than the time limit, and keeps serving the next ones", async () => {
    const slow = createManifestParser({ inlineMaxBytes: 0, timeoutMs: 1 });
    try {
      await assert.rejects(slow.read(bigManifest(12_000), {}), refused(Code.InvalidArgument, /took longer than 1 ms/));
    } finally {
      await slow.close();
    }
    const { parsed } = await parser.read(bigManifest(300), {});
    assert.equal(parsed.spec.command[0], "sh");
  });

  it("refuses more large manifests than it lets wait, rather than queueing them without bound", async () => {
    const small = createManifestParser({ inlineMaxBytes: 0, maxQueued: 2 });
    try {
      const text = bigManifest(3000);
      const all = await Promise.allSettled(Array.from({ length: 6 }, () => small.read(text, {})));
      const codes = all.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as SwitchyardError).code));
      assert.ok(codes.includes("ok") && codes.includes(Code.ResourceExhausted), codes.join(","));
    } finally {
      await small.close();
    }
  });

  it("passes the parser's own errors through with their positions", async () => {
    await assert.rejects(parser.read(bigManifest(400).replace("command: [sh]", "command: sh\n  bogus: 1"), { file: "job.yaml" }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError && e.code === Code.InvalidArgument, String(e));
      assert.ok(e.details.some((d) => d.field === "spec.bogus" && d.line === 6), JSON.stringify(e.details.slice(0, 3)));
      return true;
    });
  });
});
