import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ApplyDeploymentResponseSchema, DeploymentSchema, ModelVersionSchema } from "@switchyard/api";
import { appliedText, deploymentsTable, describeDeployment, metricsText, modelsTable, registeredText, shortChecksum, trafficText } from "./deployment-format.js";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const ago = (s: number) => timestampFromMs(NOW - s * 1000);

/** A deployment in the middle of a canary: r2 takes 90%, r3 10%; r1 retired. */
const canary = create(DeploymentSchema, {
  name: "demo",
  team: "vision",
  owner: "alice",
  uid: "d-1",
  createdAt: ago(3 * 3600),
  state: "Ready",
  message: "",
  readyReplicas: 3,
  desiredReplicas: 3,
  url: "/v2/models/demo",
  source: "switchyard/v1/Deployment",
  traffic: [
    { revision: 3, percent: 10, tag: "latest" },
    { revision: 2, percent: 90, tag: "previous" },
  ],
  revisions: [
    { number: 1, modelUri: "models://demo@1", modelChecksum: "sha256:00112233445566778899aabbccddeeff", state: "Retired", format: "onnx", createdAt: ago(3 * 3600) },
    {
      number: 2, modelUri: "models://demo@2", modelChecksum: "sha256:aabbccddeeff00112233445566778899", state: "Active", format: "onnx", desiredReplicas: 2, readyReplicas: 2, createdAt: ago(3600),
      replicas: [{ job: "demo-r2-0", phase: "Running", ready: true, inFlight: 3 }, { job: "demo-r2-1", phase: "Running", ready: true, inFlight: 0 }],
    },
    { number: 3, modelUri: "models://demo@3", modelChecksum: "sha256:ffeeddccbbaa", state: "Active", format: "onnx", desiredReplicas: 1, readyReplicas: 1, createdAt: ago(60), replicas: [{ job: "demo-r3-0", phase: "Running", ready: true, inFlight: 1 }] },
  ],
});

describe("deployments as they print", () => {
  it("lists name, team, state, ready/desired, each revision's traffic and age", () => {
    const idle = create(DeploymentSchema, { name: "tiny", team: "default", state: "ScaledToZero", createdAt: ago(90), revisions: [{ number: 1 }], traffic: [{ revision: 1, percent: 100 }] });
    assert.equal(
      deploymentsTable([canary, idle], NOW),
      [
        "NAME   TEAM      STATE          READY   REVISIONS       AGE",
        "demo   vision    Ready          3/3     r2 90% r3 10%   3h",
        "tiny   default   ScaledToZero   0/0     r1 100%         90s",
      ].join("\n"),
    );
    assert.equal(trafficText(create(DeploymentSchema, {})), "-");
  });

  it("describes the revisions with model, short checksum, state, ready/desired and traffic, and the replicas' jobs", () => {
    const text = describeDeployment(canary, "http://127.0.0.1:8080/", NOW);
    assert.equal(
      text,
      [
        "Name:       demo",
        "Team:       vision    Owner: alice    UID: d-1",
        "Source:     switchyard/v1/Deployment",
        "State:      Ready (3/3 ready)",
        "Traffic:    r2 90% (previous) r3 10% (latest)",
        "Inference:  POST http://127.0.0.1:8080/v2/models/demo/infer",
        "Created:    2025-06-01T09:00:00.000Z (3h ago)",
        "",
        "Revisions:",
        "REVISION   MODEL             FORMAT   CHECKSUM              STATE     READY   TRAFFIC   AGE",
        "r1         models://demo@1   onnx     sha256:001122334455   Retired   0/0     -         3h",
        "r2         models://demo@2   onnx     sha256:aabbccddeeff   Active    2/2     90%       60m",
        "r3         models://demo@3   onnx     sha256:ffeeddccbbaa   Active    1/1     10%       60s",
        "",
        "Replicas:",
        "REVISION   JOB         PHASE     READY   IN-FLIGHT",
        "r2         demo-r2-0   Running   yes     3",
        "r2         demo-r2-1   Running   yes     0",
        "r3         demo-r3-0   Running   yes     1",
        "  a replica is a job: `switchyard logs JOB` shows its output, `switchyard describe JOB` its events",
      ].join("\n"),
    );
  });

  it("says why a deployment is not ready, and that a scaled-to-zero one has no replica until a request comes", () => {
    const degraded = create(DeploymentSchema, { name: "x", team: "default", state: "Degraded", message: "replica x-r1-1 failed: exit code 1", readyReplicas: 1, desiredReplicas: 2, revisions: [{ number: 1, state: "Active" }] });
    assert.match(describeDeployment(degraded, "http://gw", NOW), /^Message:    replica x-r1-1 failed: exit code 1$/m);
    assert.match(describeDeployment(degraded, "http://gw", NOW), /^Created:    -$/m);
    const zero = create(DeploymentSchema, { name: "z", team: "default", state: "ScaledToZero", revisions: [{ number: 1, state: "Active" }] });
    assert.match(describeDeployment(zero, "http://gw", NOW), /Replicas:\n  none: scaled to zero \(the next request starts one\)$/);
  });

  it("says what serve did: the outcome, the revision, the traffic and where to send requests", () => {
    const res = create(ApplyDeploymentResponseSchema, { deployment: canary, outcome: "new-revision", warnings: [] });
    assert.equal(appliedText(res, "http://127.0.0.1:8080", false), ["deployment/demo changed: new revision r3", "  traffic:   r2 90% (previous) r3 10% (latest)", "  inference: POST http://127.0.0.1:8080/v2/models/demo/infer"].join("\n"));
    const created = create(ApplyDeploymentResponseSchema, { deployment: { name: "new", team: "default", revisions: [{ number: 1 }] }, outcome: "created" });
    assert.equal(appliedText(created, "http://gw", true), "deployment/new is valid (dry run, nothing stored): it would be created (revision r1, team default)");
    const early = create(ApplyDeploymentResponseSchema, { deployment: { name: "new", team: "default" }, outcome: "created" });
    assert.equal(appliedText(early, "http://gw", true), "deployment/new is valid (dry run, nothing stored): it would be created (team default)");
    assert.match(appliedText(created, "http://gw", false), /^deployment\/new created \(revision r1, team default\)\n.*\n  inference: POST http:\/\/gw\/v2\/models\/new\/infer$/);
  });
});

describe("registered models as they print", () => {
  const v1 = create(ModelVersionSchema, {
    name: "demo", version: 1, team: "default", source: "job://demo-train/model.onnx", checksum: "sha256:abcdef", sizeBytes: 12_345n,
    metrics: { loss: 0.081234, accuracy: 0.97, epoch: 30, lr: 0.01 }, createdAt: ago(7200), uri: "models://demo@1",
  });
  const v2 = create(ModelVersionSchema, { name: "demo", version: 2, team: "default", source: "job://demo-train-2/model.onnx", sizeBytes: 3n * 1024n * 1024n, createdAt: ago(30) });

  it("lists name, version, source, a few metrics, size and age, oldest version first", () => {
    assert.equal(
      modelsTable([v2, v1], NOW),
      [
        "NAME   VERSION   TEAM      SOURCE                          METRICS                                 SIZE       CREATED",
        "demo   1         default   job://demo-train/model.onnx     accuracy=0.97 epoch=30 loss=0.08123 …   12.1 KiB   2h",
        "demo   2         default   job://demo-train-2/model.onnx   -                                       3.0 MiB    30s",
      ].join("\n"),
    );
    assert.equal(metricsText({}), "-");
  });

  it("prints a new version's URI first, then its checksum, size, every metric and how to serve it", () => {
    assert.equal(
      registeredText(v1),
      [
        "models://demo@1 registered (team default, from job://demo-train/model.onnx)",
        "  checksum: sha256:abcdef",
        "  size:     12.1 KiB",
        "  metrics:  accuracy=0.97 epoch=30 loss=0.08123 lr=0.01",
        "  serve it: switchyard serve demo --model models://demo@1",
      ].join("\n"),
    );
    assert.equal(shortChecksum(""), "-");
  });
});
