import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { DeploymentSchema, type Deployment } from "@switchyard/api";
import { waitForDeployment } from "./deployment-wait.js";
import type { PollTime } from "./poll.js";

/** Time that moves only when the poll sleeps: no test waits for real. */
function fakeTime(): PollTime & { slept: number } {
  const t = { now: 0, slept: 0 };
  return {
    now: () => t.now,
    sleep: async (ms) => {
      t.now += ms;
      t.slept += ms;
    },
    get slept() {
      return t.slept;
    },
  };
}

const dep = (init: MessageInitShape<typeof DeploymentSchema>): Deployment => create(DeploymentSchema, { name: "demo", team: "default", ...init });

/** Answers each poll with the next deployment of the list, then the last one forever. */
function answers(list: Deployment[]): () => Promise<Deployment> {
  let i = 0;
  return async () => list[Math.min(i++, list.length - 1)]!;
}

const queued = dep({ state: "Progressing", message: "1 replica starting", revisions: [{ number: 1, state: "Active", desiredReplicas: 1, replicas: [{ job: "demo-r1-0", phase: "Queued" }] }] });
const running = dep({ state: "Progressing", message: "1 replica starting", revisions: [{ number: 1, state: "Active", desiredReplicas: 1, replicas: [{ job: "demo-r1-0", phase: "Running" }] }] });
const ready = dep({ state: "Ready", readyReplicas: 1, desiredReplicas: 1, revisions: [{ number: 1, state: "Active", desiredReplicas: 1, readyReplicas: 1, replicas: [{ job: "demo-r1-0", phase: "Running", ready: true }] }] });

describe("serve --wait", () => {
  it("waits until the newest revision has a ready replica, saying why it is not ready after a quiet while and when that changes", async () => {
    const time = fakeTime();
    const said: string[] = [];
    const polls = [...Array<Deployment>(20).fill(queued), ...Array<Deployment>(10).fill(running), ready];
    const r = await waitForDeployment(answers(polls), { timeoutMs: 60_000, timeoutText: "1m", report: (l) => said.push(l), time, intervalMs: 200 });
    assert.equal(r.ok, true);
    assert.equal(r.text, "deployment/demo ready: revision r1 has 1/1 replica ready");
    assert.deepEqual(said, ["deployment/demo is not ready yet: 1 replica starting (replicas: demo-r1-0 Queued)", "deployment/demo is not ready yet: 1 replica starting (replicas: demo-r1-0 Running)"]);
    assert.equal(time.slept, 30 * 200);
  });

  it("waits for the new revision of a change, not the one that already serves", async () => {
    const old = { number: 1, state: "Active", desiredReplicas: 1, readyReplicas: 1 };
    const rolling = dep({ state: "Progressing", readyReplicas: 1, revisions: [old, { number: 2, state: "Active", desiredReplicas: 1, readyReplicas: 0 }] });
    const rolled = dep({ state: "Ready", readyReplicas: 1, revisions: [{ ...old, state: "Draining" }, { number: 2, state: "Active", desiredReplicas: 1, readyReplicas: 1 }] });
    const time = fakeTime();
    const r = await waitForDeployment(answers([rolling, rolling, rolled]), { timeoutMs: 60_000, timeoutText: "1m", time });
    assert.equal(r.ok, true);
    assert.match(r.text, /revision r2 has 1\/1 replica ready/);
    assert.equal(time.slept, 2 * 200);
  });

  it("gives up at the timeout with the state and where to look", async () => {
    const r = await waitForDeployment(answers([running]), { timeoutMs: 2000, timeoutText: "2s", time: fakeTime() });
    assert.equal(r.ok, false);
    assert.equal(r.text, "deployment/demo has no ready replica after 2s: 1 replica starting (replicas: demo-r1-0 Running)\n  see `switchyard deployments describe demo`, and a replica's log: `switchyard logs demo-r1-0`");
  });

  it("stops at once on a revision retired before it was ready, or a deployment being deleted; a scaled-to-zero one is fine", async () => {
    const retired = dep({ state: "Ready", message: "revision r2 failed to start: model file is not ONNX", revisions: [{ number: 1, readyReplicas: 1 }, { number: 2, state: "Retired" }] });
    const r = await waitForDeployment(answers([retired]), { timeoutMs: 60_000, timeoutText: "1m", time: fakeTime() });
    assert.equal(r.ok, false);
    assert.match(r.text, /^deployment\/demo: revision r2 was retired before a replica was ready: revision r2 failed to start: model file is not ONNX\n  see `switchyard deployments describe demo`$/);
    const deleting = await waitForDeployment(answers([dep({ state: "Deleting" })]), { timeoutMs: 60_000, timeoutText: "1m", time: fakeTime() });
    assert.equal(deleting.ok, false);
    const zero = await waitForDeployment(answers([dep({ state: "ScaledToZero", revisions: [{ number: 1, state: "Active" }] })]), { timeoutMs: 60_000, timeoutText: "1m", time: fakeTime() });
    assert.deepEqual([zero.ok, zero.text], [true, "deployment/demo is scaled to zero: the first request starts a replica"]);
  });
});
