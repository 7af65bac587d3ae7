import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { JobSchema, ResourcesSchema } from "@switchyard/api";
import { resourcesLines, resourcesText } from "./format.js";

describe("describe's resources", () => {
  it("shows a CPU or memory amount of 0 as BestEffort (none requested), each on its own", () => {
    const none = create(JobSchema, { spec: { replicas: 1, resources: { gpus: 0, cpuMilli: 0n, memoryMb: 0n } } });
    assert.deepEqual(resourcesLines(none), ["Resources:  cpu — (BestEffort), memory — (BestEffort), gpus 0 per replica"]);
    assert.equal(resourcesText(create(ResourcesSchema, { gpuMilli: 250, cpuMilli: 2000n })), "cpu 2, memory — (BestEffort), gpus 250m");
    assert.equal(resourcesText(create(ResourcesSchema, { gpus: 1, cpuMilli: 500n, memoryMb: 1536n, gpuType: "A100" })), "cpu 500m, memory 1536Mi, gpus 1 (A100)");
  });

  it("shows each role of a Master/Worker job on its own line", () => {
    const job = create(JobSchema, {
      spec: {
        replicas: 4,
        roles: [
          { name: "Master", replicas: 1, resources: { cpuMilli: 1000n, memoryMb: 4096n } },
          { name: "Worker", replicas: 3, resources: {} },
        ],
      },
    });
    assert.deepEqual(resourcesLines(job), [
      "Resources:  Master ×1: cpu 1, memory 4Gi, gpus 0",
      "            Worker ×3: cpu — (BestEffort), memory — (BestEffort), gpus 0",
    ]);
  });
});
