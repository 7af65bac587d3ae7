import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validatePolicyDocuments } from "@switchyard/mesh";
import { trafficPolicies } from "./traffic-policy.js";

describe("traffic policies", () => {
  it("are nothing when no deployment serves", () => {
    assert.equal(trafficPolicies([]), undefined);
    assert.equal(trafficPolicies([{ name: "m", revisions: [{ number: 1, traffic: 0, named: false }] }]), undefined);
  });

  it("compile in the mesh: a subset per revision, a named route per ready revision, the weighted split last", () => {
    const docs = trafficPolicies([
      { name: "iris", revisions: [{ number: 1, traffic: 90, named: true }, { number: 2, traffic: 10, named: true }] },
      { name: "demo", revisions: [{ number: 3, traffic: 100, named: true }] },
    ])!;
    // The config center validates exactly this way before storing a change.
    // Throws, naming the field, when the set does not compile.
    validatePolicyDocuments([{ name: "DestinationRule/serving-inference", yaml: docs.destinationRule }, { name: "VirtualService/serving-inference", yaml: docs.virtualService }]);
    // Deployments sorted by name: the text is stable whatever order the store gave.
    assert.ok(docs.virtualService.indexOf("demo") < docs.virtualService.indexOf("iris"));
    assert.match(docs.virtualService, /x-switchyard-revision: \{exact: "2"\}/);
    assert.match(docs.virtualService, /subset: iris-r1\}, weight: 90\}, \{destination: \{host: inference, subset: iris-r2\}, weight: 10\}/);
    assert.match(docs.destinationRule, /labels: \{model: iris, revision: "2"\}/);
  });

  it("keep a draining revision reachable by name only", () => {
    const docs = trafficPolicies([{ name: "m", revisions: [{ number: 1, traffic: 0, named: true }, { number: 2, traffic: 100, named: true }] }])!;
    validatePolicyDocuments([{ name: "DestinationRule/x", yaml: docs.destinationRule }, { name: "VirtualService/x", yaml: docs.virtualService }]);
    assert.match(docs.virtualService, /name: m-r1\n/);
    assert.doesNotMatch(docs.virtualService, /subset: m-r1\}, weight/);
  });
});
