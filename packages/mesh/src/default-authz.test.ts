// The default AuthorizationPolicies' parsed form (default-authz.ts) must be what the parser makes of their text, for
// every trust domain; and nothing but their exact text takes the short way.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultAuthorizationPolicies, knownDefaultResources } from "./default-authz.js";
import { parseMeshPolicies } from "./policy-parse.js";

describe("default AuthorizationPolicies, known without the parser", () => {
  it("are exactly what the parser makes of their text, in any trust domain", () => {
    for (const td of ["switchyard.local", "cluster.local", "gpu-lab.example.org"]) {
      for (const d of defaultAuthorizationPolicies(td)) {
        const source = `${d.kind}/${d.name}`;
        assert.deepEqual(knownDefaultResources(d.content, source), parseMeshPolicies(d.content, { source }).resources, `${td} ${d.name}`);
      }
    }
  });

  it("leave any other text to the parser: an edit, an extra space, another principal", () => {
    const [jobs, users] = defaultAuthorizationPolicies("switchyard.local");
    assert.equal(knownDefaultResources(jobs!.content.replace("[system]", "[system, vision]"), "x"), undefined);
    assert.equal(knownDefaultResources(jobs!.content + " ", "x"), undefined);
    assert.equal(knownDefaultResources(users!.content.replace("sa/gateway", "sa/jobs"), "x"), undefined);
    assert.equal(knownDefaultResources(users!.content.replace("switchyard.local", "a b"), "x"), undefined);
  });
});
