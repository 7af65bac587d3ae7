import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { accountUsage, jobUsage } from "./accounting.js";

const H = 3_600_000;

describe("accounting", () => {
  it("counts GPU-hours per run and queueing before the first start and after each preemption", () => {
    const u = jobUsage({ uid: "j", team: "t", submittedAtMs: 0, runs: [{ startedAtMs: 1 * H, endedAtMs: 3 * H, gpus: 4 }, { startedAtMs: 4 * H, endedAtMs: 5 * H, gpus: 4 }], finishedAtMs: 5 * H }, 10 * H);
    assert.deepEqual(u, { gpuMs: 12 * H, waitMs: 2 * H });
  });

  it("counts a running job up to now, and a job still waiting until now", () => {
    assert.deepEqual(jobUsage({ uid: "r", team: "t", submittedAtMs: 0, runs: [{ startedAtMs: H, gpus: 2 }] }, 3 * H), { gpuMs: 4 * H, waitMs: H });
    assert.deepEqual(jobUsage({ uid: "w", team: "t", submittedAtMs: H, runs: [] }, 3 * H), { gpuMs: 0, waitMs: 2 * H });
    assert.deepEqual(jobUsage({ uid: "q", team: "t", submittedAtMs: 0, runs: [{ startedAtMs: H, endedAtMs: 2 * H, gpus: 1 }] }, 5 * H), { gpuMs: H, waitMs: 4 * H }, "requeued after a preemption");
  });

  it("sums per team and per user, clipped to a window", () => {
    const records = [
      { uid: "a", team: "vision", user: "ann", submittedAtMs: 0, runs: [{ startedAtMs: 0, endedAtMs: 2 * H, gpus: 8 }], finishedAtMs: 2 * H },
      { uid: "b", team: "vision", user: "bob", submittedAtMs: 0, runs: [{ startedAtMs: H, endedAtMs: 2 * H, gpus: 1 }], finishedAtMs: 2 * H },
      { uid: "c", team: "nlp", submittedAtMs: 0, runs: [{ startedAtMs: 0, endedAtMs: 4 * H, gpus: 0.5 }], finishedAtMs: 4 * H },
    ];
    const r = accountUsage(records, 10 * H);
    assert.deepEqual(r.byTeam.map((x) => [x.key, x.jobs, x.gpuHours, x.queueingHours]), [["vision", 2, 17, 1], ["nlp", 1, 2, 0]]);
    assert.deepEqual(r.byUser.map((x) => x.key), ["ann", "(unknown)", "bob"]);
    assert.equal(r.total.gpuHours, 19);
    assert.equal(r.byTeam[0]!.avgQueueingS, 1800);
    const w = accountUsage(records, 10 * H, { fromMs: H, toMs: 2 * H });
    assert.equal(w.total.gpuHours, 8 + 1 + 0.5);
  });
});
