import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { closestMatch, editDistance } from "./did-you-mean.js";

describe("did you mean", () => {
  it("counts an adjacent swap as one edit", () => {
    assert.equal(editDistance("nmae", "name"), 1);
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(editDistance("", "abc"), 3);
  });

  it("suggests the closest field for a plausible typo and nothing for an unrelated word", () => {
    const fields = ["nodeSelector", "nodeName", "tolerations", "volumes"];
    assert.equal(closestMatch("nodeSelecter", fields), "nodeSelector");
    assert.equal(closestMatch("NodeName", fields), "nodeName");
    assert.equal(closestMatch("volume", fields), "volumes");
    assert.equal(closestMatch("banana", fields), undefined);
  });

  it("suggests the one field a shortened name starts", () => {
    assert.equal(closestMatch("requiredDuringScheduling", ["requiredDuringSchedulingIgnoredDuringExecution", "preferredDuringSchedulingIgnoredDuringExecution"]), "requiredDuringSchedulingIgnoredDuringExecution");
    assert.equal(closestMatch("term", ["terminationMessagePath", "terminationMessagePolicy"]), undefined);
  });

  it("allows only one edit in short words", () => {
    assert.equal(closestMatch("cpuu", ["cpu"]), "cpu");
    assert.equal(closestMatch("gp", ["cpu", "gpus"]), undefined);
  });
});
