import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { JobSchema } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseJobManifest } from "@switchyard/specs";
import type { Caller } from "./authz.js";
import type { JobRow, NewJob } from "./job-rows.js";
import type { JobStore } from "./job-store.js";
import { gatherFor, watchJobs, type Watchers, type WatchRequest } from "./job-watch.js";
import { openTestStore, Sandbox, shellJob, waitFor, type JobsProcess } from "./test-harness.js";

const spec = parseJobManifest("apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a}\nspec:\n  command: [x]\n").spec;
const newJob = (uid: string, team: string, user = "ann", queue = "default"): NewJob => ({
  uid, name: uid, team, queue, priority: 0, reason: "Submitted", message: "", spec, manifest: "m", source: "switchyard/v1",
  requestId: null, user, at: 1000, event: { type: "Queued", message: "submitted", attempt: 0 },
});
const member = (teams: string[]): Caller => ({ kind: "user", user: "ann", teams, role: "member", via: "gateway" });
type Message = { snapshot: boolean; jobs: { name: string; phase: string }[]; removed: string[] };

/** A `gather` the test opens by hand: changes made before `open()` are sent together. */
function gate() {
  let release: () => void = () => undefined;
  let waiting = 0;
  return {
    gather: (signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        waiting++;
        release = resolve;
        signal.addEventListener("abort", () => resolve(), { once: true });
      }),
    waiting: () => waiting,
    open: () => release(),
  };
}

/** Reads a watch into a list of messages as they come; `next(n)` waits until n have arrived. */
function follow(store: JobStore, req: Partial<WatchRequest>, o: { gather?: (s: AbortSignal) => Promise<void>; watchers?: Watchers; maxWatchers?: number; lifetimeMs?: number } = {}) {
  const ac = new AbortController();
  const got: Message[] = [];
  const watchers = o.watchers ?? { open: 0, byCaller: new Map() };
  const toProtos = async (rows: readonly JobRow[]) => rows.map((r) => create(JobSchema, { metadata: { name: r.name, team: r.team, uid: r.uid }, status: { phase: r.phase } }));
  const deps = { store, toProtos, watchers, maxWatchers: o.maxWatchers ?? 10, maxPerCaller: 2, lifetimeMs: o.lifetimeMs ?? 600_000, gather: o.gather ?? gatherFor(0) };
  let ended = false;
  const done = (async () => {
    for await (const m of watchJobs(deps, { scope: "all", caller: { kind: "service", service: "gateway" }, limit: 0, ...req }, ac.signal)) {
      got.push({ snapshot: m.snapshot ?? false, jobs: (m.jobs ?? []).map((j) => ({ name: j.metadata?.name ?? "", phase: j.status?.phase ?? "" })), removed: [...(m.removed ?? [])] });
    }
    ended = true;
  })();
  return {
    got,
    watchers,
    ended: () => ended,
    next: (n: number) => waitFor(`${n} watch messages`, async () => (got.length >= n ? got : undefined), 5000),
    async stop() {
      ac.abort();
      await done;
    },
  };
}

describe("WatchJobs: the job list, then its changes as they are stored", () => {
  let store: JobStore;
  let close: () => Promise<void>;
  before(async () => ({ store, close } = await openTestStore("watch")));
  after(() => close());

  it("sends the matching jobs first, then new and changed ones, and the uids of those that left the filter", async () => {
    await store.insertJob(newJob("a1", "vision"));
    const w = follow(store, { phase: "Queued" });
    const [first] = await w.next(1);
    assert.deepEqual(first, { snapshot: true, jobs: [{ name: "a1", phase: "Queued" }], removed: [] });
    await store.insertJob(newJob("a2", "vision"));
    assert.deepEqual((await w.next(2))[1], { snapshot: false, jobs: [{ name: "a2", phase: "Queued" }], removed: [] });
    await store.commit("a1", { job: { phase: "Running" } }, 2000);
    assert.deepEqual((await w.next(3))[2], { snapshot: false, jobs: [], removed: ["a1"] }, "a job that moved to another phase leaves a phase filter");
    await store.deleteJob("a2", 3000, () => undefined);
    assert.deepEqual((await w.next(4))[3], { snapshot: false, jobs: [], removed: ["a2"] }, "a deleted job is removed");
    await store.commit("a1", { job: { phase: "Succeeded" } }, 4000);
    await store.insertJob(newJob("a3", "vision"));
    assert.deepEqual((await w.next(5))[4]!.jobs, [{ name: "a3", phase: "Queued" }], "a change to a job that matched neither before nor now is not sent");
    await w.stop();
    assert.equal(w.watchers.open, 0, "the stream's listener and slot are given back when it ends");
  });

  it("shows a member only their teams' jobs, and filters by queue and user", async () => {
    const w = follow(store, { scope: ["nlp"], caller: member(["nlp"]), queue: "gpu", user: "bob" });
    assert.deepEqual((await w.next(1))[0]!.jobs, []);
    await store.insertJob(newJob("other-team", "vision", "bob", "gpu"));
    await store.insertJob(newJob("other-user", "nlp", "ann", "gpu"));
    await store.insertJob(newJob("other-queue", "nlp", "bob", "cpu"));
    await store.insertJob(newJob("mine", "nlp", "bob", "gpu"));
    const got = await w.next(2);
    assert.deepEqual(got.flatMap((m) => m.jobs.map((j) => j.name)), ["mine"]);
    await w.stop();
  });

  it("gathers a burst of changes into one message with each job's latest state, never a backlog", async () => {
    const g = gate();
    const w = follow(store, { team: "burst" }, { gather: g.gather });
    await w.next(1);
    await store.insertJob(newJob("b1", "burst"));
    await waitFor("the watch to gather", async () => (g.waiting() === 1 ? true : undefined));
    for (const phase of ["Starting", "Running", "Succeeded"] as const) await store.commit("b1", { job: { phase } }, 5000);
    g.open();
    const got = await w.next(2);
    assert.deepEqual(got[1]!.jobs, [{ name: "b1", phase: "Succeeded" }], "four changes, one message, the latest state");
    assert.equal(got.length, 2);
    await w.stop();
  });

  it("refuses a watch over the cap, and over one caller's share, as RESOURCE_EXHAUSTED, retryable", async () => {
    const watchers: Watchers = { open: 0, byCaller: new Map() };
    const a = follow(store, {}, { watchers, maxWatchers: 3 });
    const b = follow(store, {}, { watchers, maxWatchers: 3 });
    await Promise.all([a.next(1), b.next(1)]);
    assert.equal(watchers.byCaller.get("service:gateway"), 2);
    const exhausted = (e: unknown) => e instanceof SwitchyardError && e.code === Code.ResourceExhausted && e.retryable;
    const over = (caller: Caller) => watchJobs({ store, toProtos: async () => [], watchers, maxWatchers: 3, maxPerCaller: 2, lifetimeMs: 60_000, gather: gatherFor(0) }, { scope: "all", caller, limit: 0 }, new AbortController().signal);
    await assert.rejects(over({ kind: "service", service: "gateway" })[Symbol.asyncIterator]().next(), (e: unknown) => exhausted(e) && /you have 2 job watches open/.test((e as Error).message), "a third from the same caller");
    const c = follow(store, { scope: ["vision"], caller: member(["vision"]) }, { watchers, maxWatchers: 3 });
    await c.next(1);
    await assert.rejects(over(member(["nlp"]))[Symbol.asyncIterator]().next(), (e: unknown) => exhausted(e) && /3 job watches are open/.test((e as Error).message), "any caller once all are taken");
    await Promise.all([a.stop(), b.stop(), c.stop()]);
    assert.deepEqual([watchers.open, watchers.byCaller.size], [0, 0]);
  });

  it("gives its slot back when aborted while nobody reads it, and ends cleanly when its lifetime is up", async () => {
    const watchers: Watchers = { open: 0, byCaller: new Map() };
    const ac = new AbortController();
    const it = watchJobs({ store, toProtos: async () => [], watchers, maxWatchers: 5, maxPerCaller: 5, lifetimeMs: 600_000, gather: gatherFor(0) }, { scope: "all", caller: member(["vision"]), limit: 0 }, ac.signal)[Symbol.asyncIterator]();
    await it.next();
    assert.equal(watchers.open, 1);
    ac.abort();
    assert.deepEqual([watchers.open, watchers.byCaller.size], [0, 0], "released on abort, before any read");
    const short = follow(store, {}, { watchers, lifetimeMs: 50 });
    await waitFor("the stream to end", async () => (short.ended() ? true : undefined));
    assert.equal(short.got[0]?.snapshot, true);
    assert.equal(watchers.open, 0);
  });

  it("follows one job by its name", async () => {
    await store.insertJob(newJob("n1", "named"));
    await store.insertJob(newJob("n2", "named"));
    const w = follow(store, { name: "n1" });
    assert.deepEqual((await w.next(1))[0]!.jobs.map((j) => j.name), ["n1"]);
    await store.commit("n2", { job: { phase: "Running" } }, 6000);
    await store.commit("n1", { job: { phase: "Running" } }, 6000);
    assert.deepEqual((await w.next(2))[1]!.jobs, [{ name: "n1", phase: "Running" }], "n2's change is not sent");
    await w.stop();
  });
});

describe("WatchJobs through the service", () => {
  const sb = new Sandbox();
  let jobs: JobsProcess;
  before(async () => (jobs = await sb.startJobs()));
  after(() => sb.cleanup());

  it("streams a job's phases in order as they change, until Succeeded, with its submitter", async () => {
    const ac = new AbortController();
    const phases: string[] = [];
    let user: string | undefined;
    const stream = jobs.client.watchJobs({}, { signal: ac.signal });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value?.snapshot, true);
    await jobs.client.submitJob({ manifest: shellJob("watched", "sleep 0.3"), requestId: "w-1" });
    while (!phases.includes("Succeeded")) {
      const m = await it.next();
      if (m.done) break;
      for (const j of m.value.jobs) if (j.metadata?.name === "watched") (phases.push(j.status!.phase), (user = j.metadata.user));
    }
    ac.abort();
    // Changes less than 50 ms apart are sent together (its latest state): some phases may be skipped, never reordered.
    const order = ["Queued", "Starting", "Running", "Succeeded"];
    assert.deepEqual([...phases].sort((a, b) => order.indexOf(a) - order.indexOf(b)), phases, `phases seen: ${phases.join(" → ")}`);
    assert.ok(phases.length >= 2, `the job was seen before it ended: ${phases.join(" → ")}`);
    assert.equal(phases.at(-1), "Succeeded");
    assert.equal(user, "", "submitted by a platform service: no user");
  });

  it("filters ListJobs by queue and by submitter as WatchJobs does", async () => {
    const names = async (req: { queue?: string; user?: string; name?: string }) => (await jobs.client.listJobs(req)).jobs.map((j) => j.metadata?.name);
    assert.deepEqual(await names({ queue: "default" }), ["watched"]);
    assert.deepEqual(await names({ queue: "elsewhere" }), []);
    assert.deepEqual(await names({ user: "alice" }), [], "the job has no user (a service submitted it)");
    const [watched] = (await jobs.client.listJobs({ name: "watched" })).jobs;
    assert.deepEqual(await names({ name: watched!.metadata!.uid }), ["watched"], "one job, by uid");
    assert.deepEqual(await names({ name: "nope" }), []);
  });
});
