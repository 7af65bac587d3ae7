import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { toJsonString } from "@bufbuild/protobuf";
import { JobSchema } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseJobManifest, type JobSpec } from "@switchyard/specs";
import { openSqlite, type OpenedDatabase } from "@switchyard/store";
import type { JobRow } from "./job-rows.js";
import { checkSecretRefs, resolveSecretEnv, sealJobSecrets, secretEnvOf } from "./job-secrets.js";
import { migrations, type JobsDatabase } from "./schema.js";
import { createSecretBox } from "./secret-box.js";
import { SecretStore } from "./secret-store.js";
import { jobToProto } from "./to-proto.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-job-secrets-"));
let opened: OpenedDatabase<JobsDatabase>;
let store: SecretStore;
const box = createSecretBox(randomBytes(32));

const MANIFEST = `apiVersion: switchyard/v1
kind: Job
metadata: {name: train, team: vision}
spec:
  command: [python, train.py]
  env:
    LR: "0.1"
    WANDB_API_KEY: {secretKeyRef: {name: wandb, key: api-key}}
    HF_TOKEN: {value: hf-INLINE-SECRET, secret: true}
    EXTRA: {secretKeyRef: {name: extra, key: k, optional: true}}
  roles:
    - {name: Master, replicas: 1}
    - name: Worker
      replicas: 2
      env: [{name: W_TOKEN, value: worker-INLINE-SECRET, secret: true}, {name: W_KEY, valueFrom: {secretKeyRef: {name: wandb, key: worker-key}}}]
`;
const spec = (): JobSpec => parseJobManifest(MANIFEST).spec;

before(async () => {
  opened = await openSqlite<JobsDatabase>({ path: join(dir, "jobs.db"), migrations });
  store = new SecretStore(opened.db, box);
  await store.put("vision", "wandb", { "api-key": "wandb-STORE-SECRET", "worker-key": "worker-STORE-SECRET" }, "alice");
});
after(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("sealJobSecrets", () => {
  it("seals every inline value, the job's and its roles', and leaves refs and the input as they were", async () => {
    const input = spec();
    const before = structuredClone(input);
    const sealed = await sealJobSecrets(input, "uid-1", box);
    assert.deepEqual(input, before);
    assert.equal(sealed.secretEnv?.["HF_TOKEN"]?.kind, "sealed");
    assert.deepEqual(sealed.secretEnv?.["WANDB_API_KEY"], { kind: "ref", secret: "wandb", key: "api-key" });
    assert.equal(sealed.roles?.[1]?.secretEnv?.["W_TOKEN"]?.kind, "sealed");
    const text = JSON.stringify(sealed);
    assert.ok(!text.includes("INLINE-SECRET"), text);
  });

  it("binds a sealed value to its job: another job's uid cannot open it", async () => {
    const sealed = await sealJobSecrets(spec(), "uid-1", box);
    assert.equal((await resolveSecretEnv(sealed.secretEnv, "vision", "uid-1", store, box))["HF_TOKEN"], "hf-INLINE-SECRET");
    await assert.rejects(resolveSecretEnv(sealed.secretEnv, "vision", "uid-2", store, box), (e: unknown) => e instanceof SwitchyardError && e.code === Code.DataLoss);
  });
});

describe("resolveSecretEnv", () => {
  it("gives each replica its plaintext variables: refs from the job's team, sealed values opened, missing optional ones unset", async () => {
    const sealed = await sealJobSecrets(spec(), "uid-1", box);
    assert.deepEqual(await resolveSecretEnv(secretEnvOf(sealed, "Master"), "vision", "uid-1", store, box), { WANDB_API_KEY: "wandb-STORE-SECRET", HF_TOKEN: "hf-INLINE-SECRET" });
    assert.deepEqual(await resolveSecretEnv(secretEnvOf(sealed, "Worker"), "vision", "uid-1", store, box), { W_TOKEN: "worker-INLINE-SECRET", W_KEY: "worker-STORE-SECRET" });
  });

  it("gives a role without secrets none of the Master's", () => {
    const s = parseJobManifest(MANIFEST.replace(/      env: \[.*\]\n/, "      env: {}\n")).spec;
    assert.equal(secretEnvOf(s, "Worker"), undefined);
    assert.ok(secretEnvOf(s, "Master"));
  });

  it("reads only the job's team: another team's secret of the same name is not used", async () => {
    await store.put("nlp", "only-nlp", { k: "nlp-STORE-SECRET" }, "carol");
    const err = await resolveSecretEnv({ X: { kind: "ref", secret: "only-nlp", key: "k" } }, "vision", "uid-1", store, box).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SwitchyardError && err.code === Code.FailedPrecondition);
  });

  it("fails a missing required ref naming the variable, secret, key, team and the command that fixes it", async () => {
    const err = await resolveSecretEnv({ HF: { kind: "ref", secret: "hf", key: "token" } }, "vision", "uid-1", store, box).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SwitchyardError && err.code === Code.FailedPrecondition);
    for (const part of ["env HF", 'secret "hf"', '"token"', 'team "vision"', "switchyard secrets create hf --team vision --from-literal token=…"]) assert.ok(err.message.includes(part), `${part} in ${err.message}`);
    const noKey = await resolveSecretEnv({ K: { kind: "ref", secret: "wandb", key: "nope" } }, "vision", "uid-1", store, box).then(() => undefined, (e: unknown) => e);
    assert.ok(noKey instanceof SwitchyardError && /has no key "nope" \(its keys: api-key, worker-key\)/.test(noKey.message), String(noKey));
    assert.ok(!noKey.message.includes("STORE-SECRET"));
  });
});

describe("checkSecretRefs", () => {
  it("accepts a job whose required refs all exist (optional ones may be missing)", async () => {
    await checkSecretRefs(spec(), "vision", store);
  });

  it("refuses a job whose refs are missing with INVALID_ARGUMENT naming each env field", async () => {
    const err = await checkSecretRefs(spec(), "nlp", store).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SwitchyardError && err.code === Code.InvalidArgument);
    assert.deepEqual(err.details.map((d) => d.field), ["spec.roles[0].env.WANDB_API_KEY", "spec.roles[1].env.W_KEY"]);
    assert.match(err.message, /switchyard secrets create wandb --team nlp --from-literal api-key=…/);
    const single = parseJobManifest("apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a}\nspec:\n  command: [x]\n  env: {A: {secretKeyRef: {name: s, key: k}}}\n").spec;
    const one = await checkSecretRefs(single, "default", store).then(() => undefined, (e: unknown) => e);
    assert.ok(one instanceof SwitchyardError && one.details[0]?.field === "spec.env.A");
  });
});

describe("jobs as readers see them", () => {
  it("show secret variables as refs or as inline, never a value, stored sealed or not", async () => {
    for (const s of [spec(), await sealJobSecrets(spec(), "uid-1", box)]) {
      const row = { uid: "uid-1", name: "train", team: "vision", created_at: 0, spec: s, phase: "Queued", reason: "", message: "", waiting: null, start_time: null, completion_time: null, attempt: 0 } as unknown as JobRow;
      const job = jobToProto(row, []);
      const json = toJsonString(JobSchema, job);
      assert.ok(!/INLINE-SECRET|STORE-SECRET|v1:/.test(json), json);
      assert.deepEqual(job.spec?.env, { LR: "0.1" });
      assert.deepEqual(
        Object.fromEntries(Object.entries(job.spec?.secretEnv ?? {}).map(([k, v]) => [k, [v.secret, v.key, v.optional]])),
        { WANDB_API_KEY: ["wandb", "api-key", false], HF_TOKEN: ["", "", false], EXTRA: ["extra", "k", true] },
      );
      assert.deepEqual(Object.keys(job.spec?.roles[1]?.secretEnv ?? {}).sort(), ["W_KEY", "W_TOKEN"]);
    }
  });
});
