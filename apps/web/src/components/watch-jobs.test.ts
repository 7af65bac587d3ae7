// The reconnect policy of the live jobs list, against a scripted WatchJobs (no platform, no sleeping: the pauses are
// recorded instead of waited). The browser tests (apps/web/e2e) cover the stream against the real platform.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { WatchJobsResponseSchema, type WatchJobsResponse } from "@switchyard/api";
import type { Api } from "../api.js";
import { watchJobs, type WatchFilter } from "./watch-jobs.js";

/** One stream: the messages it sends, then the error it fails with (none: it ends cleanly). */
type Script = { send: WatchJobsResponse[]; fail?: Code };

const FILTER: WatchFilter = { state: "Running", team: "a", queue: "", user: "" };
const snapshot = (...removed: string[]) => create(WatchJobsResponseSchema, { snapshot: true, removed });

function run(scripts: Script[], random = 0, abortAfterPauses = Infinity) {
  const requests: unknown[] = [];
  const messages: WatchJobsResponse[] = [];
  const errors: [string, number | undefined][] = [];
  const pauses: number[] = [];
  const ac = new AbortController();
  const api = {
    jobs: {
      watchJobs(req: unknown) {
        requests.push(req);
        const s = scripts.shift() ?? { send: [], fail: Code.PermissionDenied };
        return (async function* () {
          yield* s.send;
          if (s.fail !== undefined) throw new ConnectError("stream failed", s.fail);
        })();
      },
    },
  } as unknown as Pick<Api, "jobs">;
  const done = watchJobs(
    api,
    FILTER,
    { onMessage: (m) => messages.push(m), onError: (m, retry) => errors.push([m, retry]) },
    ac.signal,
    {
      random: () => random,
      async pause(ms) {
        pauses.push(ms);
        if (pauses.length >= abortAfterPauses) ac.abort();
      },
    },
  );
  return done.then(() => ({ requests, messages, errors, pauses }));
}

describe("watchJobs", () => {
  it("reopens a dropped stream after a pause that doubles with each failure in a row", async () => {
    const r = await run([{ send: [snapshot("x")], fail: Code.Unavailable }, { send: [], fail: Code.Unavailable }, { send: [], fail: Code.Internal }, { send: [snapshot("y")], fail: Code.PermissionDenied }]);
    assert.deepEqual(r.pauses, [250, 500, 1000]);
    assert.deepEqual(r.messages.map((m) => m.removed), [["x"], ["y"]]);
    assert.equal(r.requests.length, 4);
    assert.deepEqual(r.requests[0], { ...FILTER, limit: 0 });
  });

  it("starts the pauses over once a reopened stream delivers a message", async () => {
    const r = await run([{ send: [], fail: Code.Unavailable }, { send: [], fail: Code.Unavailable }, { send: [snapshot()], fail: Code.Unavailable }, { send: [], fail: Code.PermissionDenied }]);
    assert.deepEqual(r.pauses, [250, 500, 250]);
  });

  it("spreads the pauses with jitter and never waits more than 30 s", async () => {
    const failing = Array.from({ length: 12 }, (): Script => ({ send: [], fail: Code.Unavailable }));
    const r = await run(failing, 0.999);
    assert.ok(r.pauses[0]! > 499 && r.pauses[0]! < 500, `first pause ${r.pauses[0]}`);
    assert.ok(Math.max(...r.pauses) <= 30_000);
    assert.ok(r.pauses.at(-1)! > 29_000);
  });

  it("reopens a stream the server ended cleanly", async () => {
    const r = await run([{ send: [snapshot()] }, { send: [snapshot()], fail: Code.PermissionDenied }]);
    assert.deepEqual(r.pauses, [500]);
    assert.equal(r.messages.length, 2);
  });

  it("gives up at once on an error no reconnect can cure, and says so", async () => {
    const r = await run([{ send: [], fail: Code.InvalidArgument }]);
    assert.deepEqual(r.pauses, []);
    assert.deepEqual(r.errors, [["stream failed", undefined]]);
  });

  it("stops reconnecting when the page aborts", async () => {
    const r = await run(Array.from({ length: 5 }, (): Script => ({ send: [], fail: Code.Unavailable })), 0, 2);
    assert.equal(r.requests.length, 2);
  });
});
