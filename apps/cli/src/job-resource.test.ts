import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { JobSchema } from "@switchyard/api";
import { SwitchyardError } from "@switchyard/core";
import { parseJobManifest } from "@switchyard/specs";
import { stringify } from "yaml";
import { jobResource, jobSpecOf } from "./job-resource.js";

// `get -o yaml` prints what can be submitted again: the manifest with every default written out, plus the platform's
// metadata and status, which the parser accepts back and ignores.
const job = (secretInline: boolean) =>
  create(JobSchema, {
    apiVersion: "switchyard/v1",
    kind: "Job",
    metadata: { name: "ddp", uid: "0b9d", team: "vision", labels: { project: "x" }, creationTimestamp: { seconds: 1_700_000_000n, nanos: 0 } },
    spec: {
      queue: "vision",
      priority: 5,
      replicas: 3,
      // With roles the job-level fields are the first role's, as the jobs service stores them.
      resources: { gpus: 1, cpuMilli: 2000n, memoryMb: 4096n },
      command: ["python", "train.py"],
      args: ["--epochs", "3"],
      env: { A: "1" },
      workingDir: "/work",
      restartPolicy: "OnFailure",
      backoffLimit: 2,
      activeDeadlineSeconds: 3600n,
      distributed: { framework: "pytorch", nprocPerNode: 2 },
      secretEnv: { WANDB: secretInline ? { secret: "", key: "" } : { secret: "wandb", key: "api-key" } },
      roles: [
        { name: "Master", replicas: 1, command: ["python", "train.py"], args: ["--epochs", "3"], env: { A: "1" }, workingDir: "/work", resources: { gpus: 1, cpuMilli: 2000n, memoryMb: 4096n }, secretEnv: { WANDB: secretInline ? { secret: "", key: "" } : { secret: "wandb", key: "api-key" } } },
        { name: "Worker", replicas: 2, command: ["python", "train.py"], args: [], env: {}, workingDir: "/work", resources: { gpus: 1, cpuMilli: 0n, memoryMb: 0n } },
      ],
    },
    status: { phase: "Succeeded", reason: "Completed", message: "Master succeeded", attempt: 1 },
  });

describe("get -o yaml, submitted again", () => {
  it("reads back as the same job spec; status, uid and creationTimestamp are ignored", () => {
    const printed = stringify(jobResource(job(false)));
    assert.match(printed, /^status:\n {2}phase: Succeeded/m);
    assert.match(printed, /^ {2}uid: 0b9d$/m);
    const back = parseJobManifest(printed, { file: "ddp.yaml" });
    assert.deepEqual(back.warnings, []);
    assert.deepEqual(back.spec, jobSpecOf(job(false)));
    assert.equal(back.spec.roles![1]!.resources.cpuMilli, 0, "a BestEffort role stays BestEffort");
    assert.deepEqual(back.spec.roles![0]!.secretEnv, { WANDB: { kind: "ref", secret: "wandb", key: "api-key" } });
  });

  it("refuses an inline secret printed as (secret), naming the field", () => {
    const printed = stringify(jobResource(job(true)));
    assert.throws(
      () => parseJobManifest(printed, { file: "ddp.yaml" }),
      (e: unknown) => e instanceof SwitchyardError && e.details.some((d) => /env\.WANDB\.value/.test(d.field) && /hidden when the job was printed/.test(d.message)),
    );
  });
});
