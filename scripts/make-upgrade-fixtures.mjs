#!/usr/bin/env node
// Writes each service's upgrade fixture for its current schema: services/<service>/fixtures/upgrade/<service>-<newest
// migration>.db, a small SQLite file holding a few rows written through the service's own stores. Fixtures of earlier
// schemas are never rewritten (they are what old installations hold); a service whose newest migration has its fixture
// already is skipped. Each service's upgrade test (`describeUpgradeFixtures` in its store contract test) opens every
// fixture with the current migrations and reads these rows back, so the rows here only ever grow: keep the ones already
// written, add new ones.
//
//   npm run build && node scripts/make-upgrade-fixtures.mjs      then commit the new .db files
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openStore } from "@switchyard/store";
import { parseJobManifest } from "@switchyard/specs";

const root = new URL("..", import.meta.url).pathname;
const dist = (service, file) => {
  const p = join(root, "services", service, "dist", file);
  if (!existsSync(p)) throw new Error(`${p} is missing: run npm run build first`);
  return import(p);
};

/** A time in ms past 2^31 (every time column is a 64-bit integer), and steps from it. */
const T = 1_733_000_000_000;

const services = {
  async jobs(path) {
    const { migrations } = await dist("jobs", "schema.js");
    const { JobStore } = await dist("jobs", "job-store.js");
    const { MetricsStore } = await dist("jobs", "metrics-store.js");
    const { SecretStore } = await dist("jobs", "secret-store.js");
    const { QueueConfigStore } = await dist("jobs", "queue-config-store.js");
    const { openSecretBox } = await dist("jobs", "secret-box.js");
    const opened = await openStore({ driver: "sqlite", location: path, schema: "jobs", migrations });
    const store = new JobStore(opened);
    const spec = parseJobManifest("apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: train}\nspec:\n  resources: {gpus: 2}\n  command: [python, train.py]\n").spec;
    const base = { team: "vision", queue: "default", priority: 5, reason: "Submitted", message: "", spec, manifest: "kind: Job", source: "switchyard/v1", user: "ann" };
    await store.insertJob({ ...base, uid: "fx-job-1", name: "train", requestId: "fx-req-1", at: T, event: { type: "Queued", message: "submitted", attempt: 0 } });
    await store.insertJob({ ...base, uid: "fx-job-2", name: "eval", requestId: null, at: T + 1, event: { type: "Queued", message: "submitted", attempt: 0 } });
    await store.commit("fx-job-1", {
      job: { phase: "Running", attempt: 1, start_time: T + 10, attained_gpu_ms: 2_000 },
      newReplicas: [{ run_id: "fx-job-1.a1.r0", job_uid: "fx-job-1", attempt: 1, idx: 0, role: "Worker", node: "n1", gpus: [0, 1], gpu_milli: 0, cpu_milli: 4000, memory_mb: 16384 }],
      events: [{ type: "Started", message: "placed on n1", attempt: 1 }],
    }, T + 10);
    await store.setWaiting("fx-job-2", { kind: "resources", position: 1, text: "waiting for 2 GPUs" });
    await store.setDiskUsage("fx-job-1", 5 * 2 ** 32, T + 20);
    await new MetricsStore(opened.db).appendAndAdvance({ runId: "fx-job-1.a1.r0", jobUid: "fx-job-1", points: [{ name: "loss", value: 0.5 }, { name: "loss", value: 0.25 }], time: T + 30, maxPoints: 100, offset: 123 });
    const dir = mkdtempSync(join(tmpdir(), "switchyard-fixture-box-"));
    try {
      await new SecretStore(opened.db, openSecretBox(dir), { now: () => T + 40 }).put("vision", "wandb", { "api-key": "not-a-real-key" }, "ann");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await new QueueConfigStore(opened.db).append("queues: []\n", "admin", T + 50);
    await opened.close();
  },

  async gateway(path) {
    const { migrations, TokenStore } = await dist("gateway", "token-store.js");
    const { auditMigrations, AuditStore } = await dist("gateway", "audit-store.js");
    const opened = await openStore({ driver: "sqlite", location: path, schema: "gateway", migrations: { ...migrations, ...auditMigrations } });
    const tokens = new TokenStore(opened.db);
    await tokens.addSigningKey("fx-kid", "fx-secret", T);
    await tokens.upsertUser("ann", "admin", ["vision", "nlp"], T + 1);
    await tokens.upsertUser("bob", undefined, ["vision"], T + 2);
    const token = { user: "ann", teams: JSON.stringify(["vision"]), role: "admin", description: "ci", issued_by: "ann" };
    await tokens.insertToken({ ...token, jti: "fx-jti-1", issued_at: T + 3, expires_at: T + 3 + 86_400_000, revoked_at: null });
    await tokens.insertToken({ ...token, jti: "fx-jti-2", issued_at: T + 4, expires_at: T + 4 + 86_400_000, revoked_at: null });
    await tokens.revoke(["fx-jti-2"], T + 5);
    const row = (i, outcome, code) => ({ at: T + 10 + i, user: "ann", role: "admin", method: "/switchyard.v1.Jobs/SubmitJob", target: `job-${i}`, outcome, code, message: "" });
    await new AuditStore(opened.db).append([row(0, "allowed", ""), row(1, "denied", "PERMISSION_DENIED"), row(2, "failed", "INTERNAL")]);
    await opened.close();
  },

  async control(path) {
    const { migrations, ConfigStore } = await dist("control", "config-store.js");
    const { JoinTokenStore } = await dist("control", "identity-store.js");
    const opened = await openStore({ driver: "sqlite", location: path, schema: "control", migrations });
    const config = new ConfigStore(opened.db);
    await config.transaction(async (tx) => {
      await tx.put({ namespace: "mesh", kind: "DestinationRule", name: "jobs", content: "kind: DestinationRule\n", version: 1, updatedAtMs: T, updatedBy: "admin" });
      await tx.put({ namespace: "app", kind: "Settings", name: "ui", content: "{}", version: 2, updatedAtMs: T + 1, updatedBy: "ann" });
      await tx.bumpRevision();
      await tx.bumpRevision();
    });
    await new JoinTokenStore(opened.db).claim("fx-nonce", T + 3_600_000, T);
    await opened.close();
  },

  async serving(path) {
    const { migrations } = await dist("serving", "schema.js");
    const { ServingStore } = await dist("serving", "serving-store.js");
    const opened = await openStore({ driver: "sqlite", location: path, schema: "serving", migrations });
    const store = new ServingStore(opened);
    await store.insertDeployment({ uid: "fx-dep-1", name: "resnet", team: "vision", owner: "ann", owner_teams: JSON.stringify(["vision"]), owner_role: "member", source: "switchyard/v1", created_at: T, deleting: 0, last_active_at: T + 5 });
    await store.insertRevision({ deployment_uid: "fx-dep-1", number: 1, spec: "{}", manifest: "kind: Deployment", model_uri: "models://vision/resnet/1", model_file: "models/resnet-1.onnx", model_checksum: "sha256:00", state: "Active", traffic: 100, desired: 2, created_at: T, draining_since: null });
    await store.insertReplica({ id: "fx-rep-1", deployment_uid: "fx-dep-1", revision: 1, team: "vision", job_name: "resnet-1-0", job_uid: "fx-job-9", state: "Ready", socket: "/tmp/s.sock", created_at: T + 1, stop_requested_at: null });
    await store.insertModel({ team: "vision", name: "resnet", version: 1, source: "job://train", source_job_uid: "fx-job-1", checksum: "sha256:00", size_bytes: 3 * 2 ** 31, metrics: JSON.stringify({ loss: 0.25 }), file: "models/resnet-1.onnx", created_at: T, registered_by: "ann", description: "first" });
    await opened.close();
  },

  async experiments(path) {
    const { migrations } = await dist("experiments", "schema.js");
    const { ExperimentStore } = await dist("experiments", "experiment-store.js");
    const opened = await openStore({ driver: "sqlite", location: path, schema: "experiments", migrations });
    const store = new ExperimentStore(opened);
    await store.insertExperiment({ uid: "fx-exp-1", name: "lr-search", team: "vision", owner: "ann", owner_teams: JSON.stringify(["vision"]), owner_role: "member", source: "switchyard/v1/Experiment", spec: "{}", manifest: "kind: Experiment", base_dir: "", seed: 1_234_567, condition: "Running", reason: "", message: "", created_at: T, completed_at: null, deleting: 0, settled: 0 });
    const trial = (idx, state, objective, budget) => ({ experiment_uid: "fx-exp-1", name: `lr-search-${idx}`, idx, assignment: JSON.stringify({ lr: 0.01 * idx }), budget, request_id: `fx-trial-${idx}`, job_uid: `fx-tjob-${idx}`, state, objective, metrics: "{}", curve: "[]", message: "", created_at: T + idx, completed_at: objective === null ? null : T + 100 + idx });
    await store.insertTrials([trial(1, "Succeeded", 0.875, 3.5), trial(2, "Running", null, null)]);
    await opened.close();
  },
};

for (const [service, write] of Object.entries(services)) {
  const { migrations } = service === "gateway"
    ? { migrations: { ...(await dist("gateway", "token-store.js")).migrations, ...(await dist("gateway", "audit-store.js")).auditMigrations } }
    : await dist(service, service === "control" ? "config-store.js" : "schema.js");
  const newest = Object.keys(migrations).sort().at(-1);
  const dir = join(root, "services", service, "fixtures", "upgrade");
  const file = join(dir, `${service}-${newest}.db`);
  if (existsSync(file)) {
    console.log(`${service}: ${file} exists (fixtures are never rewritten)`);
    continue;
  }
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  await write(tmp);
  // Small and self-contained: one file (no WAL), small pages, no free space.
  const db = new Database(tmp);
  db.pragma("journal_mode = DELETE");
  db.pragma("page_size = 1024");
  db.exec("vacuum");
  db.close();
  renameSync(tmp, file);
  console.log(`${service}: wrote ${file}`);
}
