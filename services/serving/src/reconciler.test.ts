import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, describe, it } from "node:test";
import { FakeClock, noopLogger } from "@switchyard/core";
import type { CallContext, EndUser, GrantInit } from "@switchyard/mesh";
import { openStore } from "@switchyard/store";
import { Deployments } from "./deployments.js";
import { ModelFiles } from "./model-files.js";
import type { GrantsPort, IdentityPort, JobsPort, PolicyPort, RegistryPort, ReplicaJob, ReplicaPort } from "./ports.js";
import { Reconciler } from "./reconciler.js";
import { migrations, type ServingDatabase } from "./schema.js";
import { ServingStore } from "./serving-store.js";

// The reconciler against a real SQLite store, with the jobs service, replica sockets, the registry and the config
// center played in memory: these stand in for the real services, which apps/cli/src/serving.test.ts runs end to end
// (a real platform); here each step of a replica's life and each crash point is driven one pass at a time.

const admin = { kind: "user", user: "ann", teams: ["vision"], role: "member", via: "gateway" } as const;

class World {
  jobs = new Map<string, ReplicaJob & { requestId: string; owner: EndUser; manifest: string }>();
  submissions = 0;
  private nextUid = 1;
  failNextSubmit = false;
  ready = new Set<string>();
  registered = new Map<string, Record<string, string>>();
  policies: { destinationRule: string; virtualService: string } | undefined;
  cancelled: string[] = [];

  jobsPort: JobsPort = {
    submit: async (manifest, requestId, owner) => {
      this.submissions++;
      const seen = [...this.jobs.values()].find((j) => j.requestId === requestId);
      if (seen) return seen;
      const uid = `job-${this.nextUid++}`;
      const job = { uid, name: /name: (\S+)/.exec(manifest)![1]!, phase: "Queued", message: "", jobDir: `/jobs/${uid}`, requestId, owner, manifest };
      this.jobs.set(uid, job);
      if (this.failNextSubmit) {
        // The submission landed, but its answer was lost (a crash, a timeout): the next pass must replay it.
        this.failNextSubmit = false;
        throw new Error("connection reset");
      }
      return job;
    },
    get: async (uid) => this.jobs.get(uid),
    cancel: async (uid) => {
      this.cancelled.push(uid);
      const j = this.jobs.get(uid);
      if (j) j.phase = "Cancelled";
    },
    remove: async (uid) => {
      this.jobs.delete(uid);
    },
    readArtifact: async function* () {
      yield new Uint8Array([1, 2, 3]);
    },
    finalMetrics: async () => ({ uid: "src", metrics: { accuracy: 0.9 } }),
  };

  replicaPort: ReplicaPort = {
    load: async (socket) => {
      const uid = socket.split("/")[2]!;
      if (this.jobs.get(uid)?.phase !== "Running") throw new Error("no socket");
      return { ready: this.ready.has(uid), inFlight: 0, completed: 0, busyMsTotal: 0 };
    },
    sendModel: async () => undefined,
    certify: async (socket, spiffeId, issue) => {
      const issued = await issue(`csr for ${spiffeId}`);
      this.certified.push({ socket, spiffeId, notAfterMs: issued.notAfterMs });
      return { address: `unix:${socket}-mtls`, notAfterMs: issued.notAfterMs };
    },
    forget: () => undefined,
    close: () => undefined,
  };

  /** Certificates given to replicas, and the identities control was asked for. */
  certified: { socket: string; spiffeId: string; notAfterMs: number }[] = [];
  issued: string[] = [];
  certTtlMs = 3_600_000;
  clockNow: () => number = () => 0;
  identityPort: IdentityPort = {
    issue: async (spiffeId) => {
      this.issued.push(spiffeId);
      return { certPem: "cert", caPem: "ca", notAfterMs: this.clockNow() + this.certTtlMs };
    },
  };

  registryPort: RegistryPort = {
    register: async (id, address, labels) => {
      this.registered.set(id, { address, ...labels });
      return { remove: async () => void this.registered.delete(id) };
    },
  };

  policyPort: PolicyPort = {
    write: async (docs) => {
      this.policies = docs;
    },
  };

  /** Live grants by `team/key=value/user`, and the calls they were recorded in. */
  grants = new Map<string, { grant: GrantInit; call: CallContext }>();
  grantsPort: GrantsPort = {
    record: async (grant, call) => {
      this.grants.set(`${grant.team}/${grant.label.key}=${grant.label.value}/${grant.user}`, { grant, call });
    },
    revoke: async (team, key, value, user) => {
      const gone = [...this.grants.keys()].filter((k) => k.startsWith(`${team}/${key}=${value}/`) && (user === undefined || k.endsWith(`/${user}`)));
      for (const k of gone) this.grants.delete(k);
      return gone.length;
    },
  };

  /** Every job of `revision` runs and answers ready. */
  start(revision?: number): void {
    for (const j of this.jobs.values()) {
      if (revision !== undefined && !j.manifest.includes(`serving.switchyard.io/revision: "${revision}"`)) continue;
      if (j.phase === "Queued") j.phase = "Running";
      this.ready.add(j.uid);
    }
  }
}

describe("serving reconciler", () => {
  const dir = mkdtempSync(join(tmpdir(), "serving-reconciler-"));
  let n = 0;
  let world: World;
  let store: ServingStore;
  let clock: FakeClock;
  let rc: Reconciler;
  let deployments: Deployments;

  beforeEach(async () => {
    world = new World();
    clock = new FakeClock(1_000_000);
    world.clockNow = () => clock.now();
    const opened = await openStore<ServingDatabase>({ driver: "sqlite", location: join(dir, `s${n++}.db`), migrations });
    store = new ServingStore(opened);
    const files = new ModelFiles(join(dir, `files${n}`));
    const make = () => new Reconciler({ store, jobs: world.jobsPort, replicas: world.replicaPort, registry: world.registryPort, policies: world.policyPort, grants: world.grantsPort, identity: world.identityPort, trustDomain: "switchyard.local", files, clock, logger: noopLogger, modelServer: ["node", "ms.js"], policySettleMs: 1000, drainMs: 2000 });
    rc = make();
    deployments = new Deployments({ store, files, jobs: world.jobsPort, grants: world.grantsPort, clock, kick: () => undefined });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The user's call being handled (a stand-in: the ports here do not call anything). */
  const call = { method: "/switchyard.v1.Serving/ApplyDeployment" } as CallContext;
  const apply = (manifest: string, canary?: number) => deployments.apply({ manifest, dryRun: false, canaryTrafficPercent: canary }, admin, call);
  const native = (model: string, extra = "") => `apiVersion: switchyard/v1\nkind: Deployment\nmetadata: {name: m, team: vision}\nspec:\n  model: ${model}\n${extra}`;

  it("submits a replica as the owner with the serving class, registers it once it answers ready, and routes to it", async () => {
    await apply(native("file:///models/a.onnx"));
    await rc.reconcileOnce();
    assert.equal(world.jobs.size, 1);
    const job = [...world.jobs.values()][0]!;
    assert.deepEqual(job.owner, { user: "ann", teams: ["vision"], role: "member" });
    assert.match(job.manifest, /--model\n\s+- \/models\/a.onnx/);
    assert.equal(world.registered.size, 0, "not registered before it answers");
    assert.equal(world.policies?.virtualService.includes("m-r1"), true, "the intended route exists (the gateway holds requests meanwhile)");
    world.start();
    await rc.reconcileOnce();
    const reg = [...world.registered.values()][0]!;
    // Registered where it serves mutual TLS, as its team's workload (the gateway accepts that identity alone).
    assert.deepEqual(reg, { address: `unix:/jobs/${job.uid}/serve.sock-mtls`, model: "m", revision: "1", team: "vision", metrics: `unix:/jobs/${job.uid}/serve.sock.metrics`, spiffe: "spiffe://switchyard.local/ns/vision/sa/model-m" });
    assert.deepEqual(world.issued, ["spiffe://switchyard.local/ns/vision/sa/model-m"]);
    assert.equal(rc.readyCount((await store.deployment("m"))!.uid), 1);
    // Renewed at half-life, without leaving the registry.
    clock.advance(world.certTtlMs / 2 + 1000);
    await rc.reconcileOnce();
    assert.equal(world.certified.length, 2, "a second certificate at half-life");
    assert.equal(world.registered.size, 1);
  });

  it("replays a submission whose answer was lost, by its request id: one job, not two", async () => {
    await apply(native("file:///models/a.onnx"));
    world.failNextSubmit = true;
    await rc.reconcileOnce();
    assert.equal(world.jobs.size, 1);
    const [row] = await store.replicas();
    assert.equal(row!.job_uid, "", "the row was stored before the submission");
    await rc.reconcileOnce();
    assert.equal(world.submissions, 2);
    assert.equal(world.jobs.size, 1, "the retry was a replay");
    assert.equal((await store.replicas())[0]!.job_uid, [...world.jobs.keys()][0]);
  });

  it("a restarted reconciler (a new process) registers ready replicas again and submits nothing new", async () => {
    await apply(native("file:///models/a.onnx"));
    await rc.reconcileOnce();
    world.start();
    await rc.reconcileOnce();
    world.registered.clear();
    const again = new Reconciler({ store, jobs: world.jobsPort, replicas: world.replicaPort, registry: world.registryPort, policies: world.policyPort, grants: world.grantsPort, identity: world.identityPort, trustDomain: "switchyard.local", files: new ModelFiles(join(dir, "files-again")), clock, logger: noopLogger, modelServer: ["node", "ms.js"] });
    await again.reconcileOnce();
    assert.equal(world.jobs.size, 1);
    assert.equal(world.registered.size, 1);
  });

  it("rolls out: the old revision keeps all traffic until the new one is ready, then drains in order (routes, registry, job)", async () => {
    await apply(native("file:///models/a.onnx"));
    await rc.reconcileOnce();
    world.start();
    await rc.reconcileOnce();
    const r = await apply(native("file:///models/b.onnx"));
    assert.equal(r.outcome, "new-revision");
    await rc.reconcileOnce();
    assert.match(world.policies!.virtualService, /subset: m-r1\}, weight: 100\}/, "r2 is not ready: r1 serves everything");
    assert.doesNotMatch(world.policies!.virtualService, /subset: m-r2\}, weight/);
    world.start(2);
    await rc.reconcileOnce();
    await rc.reconcileOnce();
    assert.match(world.policies!.virtualService, /subset: m-r2\}, weight: 100\}/);
    const revs = await store.revisions((await store.deployment("m"))!.uid);
    assert.equal(revs[0]!.state, "Draining");
    const old = (await store.replicas()).find((x) => x.revision === 1)!;
    assert.ok(world.registered.has(old.id), "still registered right after the routes moved");
    clock.advance(1000);
    await rc.reconcileOnce();
    assert.ok(!world.registered.has(old.id), "out of the registry once the policy had time to settle");
    assert.deepEqual(world.cancelled, [], "in-flight requests get the drain time");
    clock.advance(2000);
    await rc.reconcileOnce();
    assert.deepEqual(world.cancelled, [old.job_uid]);
    await rc.reconcileOnce();
    assert.equal((await store.revisions(revs[0]!.deployment_uid))[0]!.state, "Retired");
  });

  it("a canary gets its share only once it is ready; rollback drains it and gives the previous revision everything", async () => {
    await apply(native("file:///models/a.onnx"));
    await rc.reconcileOnce();
    world.start();
    await rc.reconcileOnce();
    await apply(native("file:///models/b.onnx"), 10);
    await rc.reconcileOnce();
    assert.match(world.policies!.virtualService, /subset: m-r1\}, weight: 100\}/);
    world.start(2);
    await rc.reconcileOnce();
    assert.match(world.policies!.virtualService, /subset: m-r1\}, weight: 90\}, \{destination: \{host: inference, subset: m-r2\}, weight: 10\}/);
    await deployments.rollback("m", admin);
    await rc.reconcileOnce();
    assert.match(world.policies!.virtualService, /subset: m-r1\}, weight: 100\}/);
    const revs = await store.revisions((await store.deployment("m"))!.uid);
    assert.deepEqual(revs.map((x) => [x.state, x.traffic]), [["Active", 100], ["Draining", 0]]);
  });

  it("a change of scale only keeps the revision; promote without a canary is refused", async () => {
    await apply(native("file:///models/a.onnx"));
    const r = await apply(native("file:///models/a.onnx", "  replicas: 2\n"));
    assert.equal(r.outcome, "scaled");
    assert.equal((await store.revisions(r.deployment.uid)).length, 1);
    assert.equal((await apply(native("file:///models/a.onnx", "  replicas: 2\n"))).outcome, "unchanged");
    await assert.rejects(deployments.promote("m", admin), /no canary to promote/);
  });

  it("replaces a replica whose job ended, and deletes the ended job", async () => {
    await apply(native("file:///models/a.onnx"));
    await rc.reconcileOnce();
    world.start();
    await rc.reconcileOnce();
    const first = [...world.jobs.values()][0]!;
    first.phase = "Failed";
    await rc.reconcileOnce();
    assert.ok(!world.jobs.has(first.uid), "the ended job is deleted");
    assert.equal(world.registered.size, 0);
    assert.equal(world.jobs.size, 1, "a replacement was submitted");
  });

  it("a change by another member makes them the owner: their grant replaces the creator's, and new replicas run as them", async () => {
    await apply(native("file:///models/a.onnx"));
    const bob = { kind: "user", user: "bob", teams: ["vision"], role: "member", via: "gateway" } as const;
    await deployments.apply({ manifest: native("file:///models/b.onnx"), dryRun: false, canaryTrafficPercent: undefined }, bob, call);
    assert.equal((await store.deployment("m"))!.owner, "bob");
    assert.deepEqual([...world.grants.keys()], ["vision/serving.switchyard.io/deployment=m/bob"], "ann's grant is gone, bob's is there");
    await rc.reconcileOnce();
    const owners = [...world.jobs.values()].filter((j) => j.manifest.includes("b.onnx")).map((j) => j.owner.user);
    assert.deepEqual(owners, ["bob"], "bob's model runs as bob, never as ann");
  });

  it("delete drains every replica, then forgets the deployment", async () => {
    await apply(native("file:///models/a.onnx"));
    await rc.reconcileOnce();
    world.start();
    await rc.reconcileOnce();
    const grant = world.grants.get("vision/serving.switchyard.io/deployment=m/ann");
    assert.ok(grant, "creating the deployment recorded its owner's grant to serving for its replicas");
    assert.equal(grant.grant.delegate, "serving");
    assert.equal(grant.call, call, "recorded within the owner's call");
    await deployments.delete("m", admin);
    await rc.reconcileOnce();
    clock.advance(3000);
    await rc.reconcileOnce();
    await rc.reconcileOnce();
    assert.equal(await store.deployment("m"), undefined);
    assert.equal(world.grants.size, 0, "the grant went with the deployment");
    assert.equal(world.policies, undefined, "no deployment left: the policies are removed");
  });

  it("registers a model version from a job's artifact, refuses to delete it while a revision serves it, then deletes it and its file", async () => {
    const m = await deployments.registerModel({ name: "mm", from: "job://train-1/model.onnx", team: "", description: "first" }, admin, call);
    assert.equal(m.version, 1);
    assert.equal(m.team, "vision");
    assert.match(m.checksum, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(JSON.parse(m.metrics), { accuracy: 0.9 });
    assert.ok(existsSync(m.file));
    await apply(native("models://mm@1"));
    await assert.rejects(deployments.deleteModel({ name: "mm", version: 1, team: "" }, admin), /models:\/\/mm@1 is served by m r1/);
    const eve = { kind: "user", user: "eve", teams: ["other"], role: "member", via: "gateway" } as const;
    await assert.rejects(deployments.deleteModel({ name: "mm", version: 1, team: "" }, eve), /not registered in team "other"/);
    await deployments.delete("m", admin);
    await rc.reconcileOnce();
    clock.advance(3000);
    await rc.reconcileOnce();
    await rc.reconcileOnce();
    await deployments.deleteModel({ name: "mm", version: 1, team: "" }, admin);
    assert.ok(!existsSync(m.file), "the file is gone");
    assert.deepEqual(await store.models("all", "mm"), []);
  });

  it("another team's deployment is not found, exactly as a missing one", async () => {
    await apply(native("file:///models/a.onnx"));
    const eve = { kind: "user", user: "eve", teams: ["other"], role: "member", via: "gateway" } as const;
    const a = await deployments.visible("m", eve).catch((e: Error) => e.message);
    const b = await deployments.visible("nope", eve).catch((e: Error) => e.message);
    assert.equal(String(a).replace('"m"', "X"), String(b).replace('"nope"', "X"));
  });
});
