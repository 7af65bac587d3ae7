import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseJobManifest, redactManifest } from "@switchyard/specs";
import { openSqlite, type Kysely, type OpenedDatabase } from "@switchyard/store";
import { describeEachStoreBackend, type TestDatabase } from "@switchyard/store/testing";
import { migrations, type JobsDatabase } from "./schema.js";
import { sealJobSecrets } from "./job-secrets.js";
import { openSecretBox, type SecretBox } from "./secret-box.js";
import { SecretStore } from "./secret-store.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-secret-store-"));
const dbPath = join(dir, "jobs", "jobs.db");
let box: SecretBox;
let clock = 1_000;

before(() => {
  box = openSecretBox(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describeEachStoreBackend("SecretStore", (backend) => {
  let database: TestDatabase;
  let db: Kysely<JobsDatabase>;
  let store: SecretStore;
  before(async () => {
    clock = 1_000;
    database = await backend.fresh();
    db = (await database.open<JobsDatabase>(migrations)).db;
    store = new SecretStore(db, box, { now: () => clock });
  });
  after(() => database?.dispose());

  it("creates a secret, then replaces all of its keys at once, keeping when it was created", async () => {
    const first = await store.put("vision", "wandb", { "api-key": "k1", "entity": "e1" }, "alice");
    assert.deepEqual(first, { created: true, info: { team: "vision", name: "wandb", keys: ["api-key", "entity"], createdAt: 1_000, updatedAt: 1_000, updatedBy: "alice" } });
    clock = 2_000;
    const second = await store.put("vision", "wandb", { "api-key": "k2", "project": "p" }, "bob");
    assert.deepEqual(second, { created: false, info: { team: "vision", name: "wandb", keys: ["api-key", "project"], createdAt: 1_000, updatedAt: 2_000, updatedBy: "bob" } });
    assert.equal(await store.get("vision", "wandb", "api-key"), "k2");
    assert.equal(await store.get("vision", "wandb", "entity"), undefined, "a key left out is removed");
    assert.deepEqual(await store.keys("vision", "wandb"), ["api-key", "project"]);
  });

  it("keeps teams apart: the same name in two teams is two secrets", async () => {
    await store.put("nlp", "wandb", { "api-key": "nlp-key" }, "carol");
    assert.equal(await store.get("nlp", "wandb", "api-key"), "nlp-key");
    assert.equal(await store.get("vision", "wandb", "api-key"), "k2");
    assert.equal(await store.get("other", "wandb", "api-key"), undefined);
    assert.equal(await store.keys("other", "wandb"), undefined);
  });

  it("lists names, keys and times by team, one team, several, or none — never a value", async () => {
    const all = await store.list();
    assert.deepEqual(all.map((s) => `${s.team}/${s.name}:${s.keys.join(",")}`), ["nlp/wandb:api-key", "vision/wandb:api-key,project"]);
    assert.deepEqual((await store.list("nlp")).map((s) => s.team), ["nlp"]);
    assert.deepEqual((await store.list(["vision", "x"])).map((s) => s.team), ["vision"]);
    assert.deepEqual(await store.list([]), []);
    assert.ok(!JSON.stringify(all).includes("k2") && !JSON.stringify(all).includes("nlp-key"));
  });

  it("deletes a secret with all its keys, and says when there was none", async () => {
    await store.put("vision", "gone", { a: "1", b: "2" }, "alice");
    assert.equal(await store.delete("vision", "gone"), true);
    assert.equal(await store.delete("vision", "gone"), false);
    assert.equal(await store.get("vision", "gone", "a"), undefined);
  });

  it("refuses a stored value moved to another secret's row", async () => {
    await store.put("vision", "a", { k: "value-of-a" }, "alice");
    await store.put("vision", "b", { k: "value-of-b" }, "alice");
    const row = await db.selectFrom("secrets").select("ciphertext").where("name", "=", "a").executeTakeFirstOrThrow();
    await db.updateTable("secrets").set({ ciphertext: row.ciphertext }).where("name", "=", "b").execute();
    await assert.rejects(store.get("vision", "b", "k"), /cannot be decrypted/);
  });
});

describe("jobs.db at rest", () => {
  let opened: OpenedDatabase<JobsDatabase>;
  let store: SecretStore;
  before(async () => {
    opened = await openSqlite<JobsDatabase>({ path: dbPath, migrations });
    store = new SecretStore(opened.db, box, { now: () => clock });
  });
  after(() => opened.close());

  it("holds no secret value in plain text: not the store's, not a job's inline value, not in the manifest", async () => {
    const storeValue = "STORE-PLAINTEXT-7f3a9c";
    const inlineValue = "INLINE-PLAINTEXT-b41d2e";
    const canary = "visible-canary-job";
    await store.put("vision", "wandb", { "api-key": storeValue }, "alice");
    const manifest = `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: ${canary}, team: vision}\nspec:\n  command: [python]\n  env:\n    KEY: {secretKeyRef: {name: wandb, key: api-key}}\n    TOKEN: {value: ${inlineValue}, secret: true}\n`;
    const { spec } = parseJobManifest(manifest);
    const sealed = await sealJobSecrets(spec, "uid-1", box);
    // As the jobs service stores a submission: the sealed spec and the redacted manifest.
    await opened.db
      .insertInto("jobs")
      .values({
        uid: "uid-1", name: canary, team: "vision", queue: "default", priority: 0, phase: "Queued", reason: "", message: "",
        spec: JSON.stringify(sealed), manifest: redactManifest(manifest), source: "switchyard/v1", request_id: null, created_at: 0,
        start_time: null, completion_time: null, attempt: 0, cancel_requested: 0, deadline_exceeded: 0, master_port: null, attained_gpu_ms: 0,
        user: "alice", retries: 0, preemptions: 0, preemptible: 0, queued_at: 0, queued_ms: 0,
      })
      .execute();
    const files = [dbPath, `${dbPath}-wal`].filter((f) => existsSync(f));
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    assert.ok(bytes.includes(Buffer.from(canary)), "the files read are the ones written (the canary is there)");
    assert.ok(bytes.includes(Buffer.from("secretKeyRef")), "the manifest is there, refs and all");
    for (const secret of [storeValue, inlineValue]) {
      for (const form of [Buffer.from(secret), Buffer.from(secret, "utf16le"), Buffer.from(Buffer.from(secret).toString("base64"))]) {
        assert.ok(!bytes.includes(form), `${secret} is in ${files.join(" or ")}`);
      }
    }
  });
});
