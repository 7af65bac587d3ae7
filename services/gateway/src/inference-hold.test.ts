import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import { ActivateDeploymentResponseSchema as ActivateResponse, DeploymentSchema, ModelInferRequestSchema, type ActivateDeploymentResponse, type Deployment } from "@switchyard/api";
import { Code, FakeClock, SwitchyardError } from "@switchyard/core";
import { fromGrpcError, type CallOptions } from "@switchyard/mesh";
import type { UnaryHandler } from "./edge-service.js";
import { pushbackMsOf } from "./http-errors.js";
import { inferenceService, type InferenceEdgeOptions } from "./inference-edge.js";

// The inference edge's decisions on their own, with fake serving and model-server clients and a fake clock: when a
// request is held, for how long, and what ends the wait. The whole path over real sockets is inference-edge.test.ts.

/** What the mesh throws when no endpoint could take a call (it did not run). */
function noEndpoint(): SwitchyardError {
  const metadata = new Metadata();
  metadata.set("x-switchyard-not-executed", "1");
  return fromGrpcError(Object.assign(new Error("unavailable"), { code: 14, details: "no instance of inference is available", metadata }) as never);
}

const deployment = (ready: number, revisions = [{ number: 1, readyReplicas: ready, state: "Active" }]): Deployment => create(DeploymentSchema, { name: "m", team: "t", readyReplicas: ready, revisions, state: ready > 0 ? "Ready" : "ScaledToZero" });
const caller = { user: "u", teams: ["t"], role: "member" as const, tokenId: "x", expiresAtMs: 0 };

function edge(o: { ready: number; revisions?: Parameters<typeof deployment>[1]; activate: () => Promise<ActivateDeploymentResponse>; infer: (opts: CallOptions) => Promise<unknown>; clock?: FakeClock; maxHoldMs?: number }) {
  const activations: number[] = [];
  const options: InferenceEdgeOptions = {
    version: "test",
    serving: {
      getDeployment: async () => deployment(o.ready, o.revisions),
      activateDeployment: async (req: { waitMs?: bigint }) => (activations.push(Number(req.waitMs)), o.activate()),
    } as never,
    inference: { modelInfer: async (_req: unknown, opts?: CallOptions) => o.infer(opts!), modelMetadata: async () => ({}) } as never,
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.maxHoldMs ? { maxHoldMs: o.maxHoldMs } : {}),
  };
  const infer = inferenceService(options).handlers.get("modelInfer") as UnaryHandler;
  return { activations, infer: (version = "", signal = new AbortController().signal, timeoutMs?: number) => infer(create(ModelInferRequestSchema, { modelName: "m", modelVersion: version }), { identity: caller, signal, timeoutMs }) };
}

const errorOf = (p: Promise<unknown>) => p.then(() => assert.fail("expected an error"), (x: unknown) => SwitchyardError.from(x));

/** Settles `p` while advancing the fake clock in steps (the held request's pauses are the clock's timers). */
async function drive<T>(clock: FakeClock, p: Promise<T>, stepMs = 20): Promise<T | SwitchyardError> {
  let done = false;
  const out = p.then((v) => v, (e: unknown) => SwitchyardError.from(e)).finally(() => (done = true));
  while (!done) {
    await new Promise((r) => setImmediate(r));
    clock.advance(stepMs);
  }
  return out;
}

describe("inference edge: holding requests for a starting model", () => {
  it("activates a model whose replicas went since the lookup said ready, and sends again", async () => {
    let tries = 0;
    const e = edge({
      ready: 1,
      activate: async () => create(ActivateResponse, { ready: true, deployment: deployment(1) }),
      infer: async (opts) => {
        if (tries++ === 0) throw noEndpoint();
        return { modelName: "m", headers: opts.metadata };
      },
    });
    assert.deepEqual(await e.infer(), { modelName: "m", headers: { "x-switchyard-model": "m" } });
    assert.equal(e.activations.length, 1);
  });

  it("answers UNAVAILABLE with a retry hint when no replica is ready within maxHoldMs", async () => {
    const clock = new FakeClock(0);
    const e = edge({ ready: 0, clock, maxHoldMs: 1000, activate: async () => create(ActivateResponse, { ready: false, deployment: deployment(0) }), infer: async () => assert.fail("nothing to send to") });
    const err = (await drive(clock, e.infer())) as SwitchyardError;
    assert.equal(err.code, Code.Unavailable, err.message);
    assert.match(err.message, /no ready replica after 1 s/);
    assert.equal(pushbackMsOf(err), 1000);
    assert.ok(e.activations.length >= 2, "asked again while time was left");
    assert.ok(e.activations.every((w) => w <= 1000), `waits ${e.activations.join(", ")}`);
  });

  it("ends the wait at the caller's deadline (DEADLINE_EXCEEDED) or cancel (CANCELLED)", async () => {
    const clock = new FakeClock(0);
    const never = () => new Promise<ActivateDeploymentResponse>(() => {});
    const e = edge({ ready: 0, clock, activate: never, infer: async () => assert.fail("nothing to send to") });
    const deadline = new AbortController();
    const late = e.infer("", deadline.signal, 500);
    clock.advance(500);
    deadline.abort();
    assert.equal((await errorOf(late)).code, Code.DeadlineExceeded);
    const cancel = new AbortController();
    const cancelled = e.infer("", cancel.signal);
    cancel.abort();
    assert.equal((await errorOf(cancelled)).code, Code.Canceled);
  });

  it("refuses a version the deployment does not serve: NOT_FOUND for an unknown one, FAILED_PRECONDITION for a retired one", async () => {
    const e = edge({ ready: 1, revisions: [{ number: 1, readyReplicas: 0, state: "Retired" }, { number: 2, readyReplicas: 1, state: "Active" }], activate: async () => assert.fail(), infer: async (opts) => opts.metadata });
    assert.deepEqual(await e.infer("2"), { "x-switchyard-model": "m", "x-switchyard-revision": "2" });
    for (const [version, code] of [["1", Code.FailedPrecondition], ["3", Code.NotFound], ["02", Code.NotFound], ["latest", Code.NotFound]] as const) {
      assert.equal((await errorOf(e.infer(version))).code, code, version);
    }
  });
});
