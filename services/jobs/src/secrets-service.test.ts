import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toJsonString } from "@bufbuild/protobuf";
import { CreateSecretRequestSchema, CreateSecretResponseSchema, DeleteSecretRequestSchema, ListSecretsRequestSchema, ListSecretsResponseSchema, Secrets } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { createClient, createMeshRuntime, createServer, dataDirIdentity, DEFAULT_TRUST_DOMAIN, serviceId, type CallContext } from "@switchyard/mesh";
import { openSqlite, type OpenedDatabase } from "@switchyard/store";
import { migrations, type JobsDatabase } from "./schema.js";
import { openSecretBox } from "./secret-box.js";
import { SecretStore } from "./secret-store.js";
import { secretsService } from "./secrets-service.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-secrets-service-"));
let opened: OpenedDatabase<JobsDatabase>;
let svc: ReturnType<typeof secretsService>;

/** A call as the mesh server hands it to a handler: the proven calling service, and the user its verified token named. */
function ctx(callerService: string | undefined, user?: { user: string; teams: string[]; role: "admin" | "member" | "viewer" }): CallContext {
  const c: CallContext = { metadata: {}, signal: new AbortController().signal, deadlineMs: undefined, method: "/switchyard.v1.Secrets/Test", peer: "unix:test" };
  if (callerService !== undefined) c.callerService = callerService;
  if (user !== undefined) c.user = { ...user, issuer: "spiffe://switchyard.local/ns/system/sa/gateway", expiresAtMs: Date.now() + 60_000 };
  return c;
}
const admin = ctx("gateway", { user: "root", teams: ["default"], role: "admin" });
const alice = ctx("gateway", { user: "alice", teams: ["a"], role: "member" });
const bob = ctx("gateway", { user: "bob", teams: ["b"], role: "member" });
const carol = ctx("gateway", { user: "carol", teams: ["a", "b"], role: "member" });
const victor = ctx("gateway", { user: "victor", teams: ["a"], role: "viewer" });
const scheduler = ctx("scheduler");

const VALUE_A = "a-team-SECRET-value-1";
const VALUE_B = "b-team-SECRET-value-2";

const createReq = (name: string, team: string, values: Record<string, string>) => create(CreateSecretRequestSchema, { name, team, values });
const deleteReq = (name: string, team: string) => create(DeleteSecretRequestSchema, { name, team });
const listReq = (team = "") => create(ListSecretsRequestSchema, { team });

async function refusal(p: Promise<unknown>): Promise<SwitchyardError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof SwitchyardError, `expected a refusal, got ${String(e)}`);
  return e;
}

async function listed(c: CallContext, team = ""): Promise<string[]> {
  const res = create(ListSecretsResponseSchema, await svc.listSecrets(listReq(team), c));
  const json = toJsonString(ListSecretsResponseSchema, res);
  assert.ok(!json.includes("SECRET-value"), json);
  return res.secrets.map((s) => `${s.team}/${s.name}:${s.keys.join(",")}`);
}

before(async () => {
  opened = await openSqlite<JobsDatabase>({ path: join(dir, "jobs.db"), migrations });
  svc = secretsService({ store: new SecretStore(opened.db, openSecretBox(dir)) });
  await svc.createSecret(createReq("wandb", "a", { "api-key": VALUE_A }), alice);
  await svc.createSecret(createReq("wandb", "b", { "api-key": VALUE_B }), bob);
});
after(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Secrets service: who may do what", () => {
  it("lets a member create, replace and delete in their team; the same create twice leaves the same secret", async () => {
    const first = create(CreateSecretResponseSchema, await svc.createSecret(createReq("hf", "a", { token: "t1" }), alice));
    assert.deepEqual([first.created, first.secret?.team, first.secret?.keys, first.secret?.updatedBy], [true, "a", ["token"], "alice"]);
    const again = create(CreateSecretResponseSchema, await svc.createSecret(createReq("hf", "a", { token: "t1" }), alice));
    assert.deepEqual([again.created, again.secret?.keys], [false, ["token"]]);
    assert.ok(!toJsonString(CreateSecretResponseSchema, again).includes("t1"));
    assert.deepEqual(await svc.deleteSecret(deleteReq("hf", "a"), alice), { deleted: true });
    assert.deepEqual(await svc.deleteSecret(deleteReq("hf", "a"), alice), { deleted: false });
  });

  it("uses a member's only team when none is named, and asks a member of several teams to name one", async () => {
    await svc.createSecret(createReq("implicit", "", { k: "v" }), alice);
    assert.ok((await listed(alice, "a")).includes("a/implicit:k"));
    const e = await refusal(svc.createSecret(createReq("implicit", "", { k: "v" }), carol));
    assert.equal(e.code, Code.InvalidArgument);
    assert.equal(e.details[0]?.field, "team");
    await svc.deleteSecret(deleteReq("implicit", ""), alice);
  });

  it("answers a member about another team's secret exactly as about a missing one, and changes nothing there", async () => {
    const answers = [];
    for (const name of ["wandb", "no-such-secret"]) {
      for (const call of [
        () => svc.createSecret(createReq(name, "b", { "api-key": "overwritten" }), alice),
        () => svc.deleteSecret(deleteReq(name, "b"), alice),
        () => svc.listSecrets(listReq("b"), alice),
      ]) {
        const e = await refusal(call());
        answers.push(`${e.code} ${e.message}`);
      }
    }
    assert.equal(answers[0], answers[3]);
    assert.equal(answers[1], answers[4]);
    assert.equal(answers[2], answers[5]);
    assert.ok(answers.every((a) => a.startsWith(`${Code.PermissionDenied} `)));
    assert.deepEqual(await listed(bob), ["b/wandb:api-key"], "team b's secret is untouched");
    assert.deepEqual(await listed(alice), ["a/wandb:api-key"], "a list naming no team shows only the caller's teams");
  });

  it("lets a viewer list names and keys, and nothing else", async () => {
    assert.deepEqual(await listed(victor), ["a/wandb:api-key"]);
    for (const call of [() => svc.createSecret(createReq("x", "a", { k: "v" }), victor), () => svc.deleteSecret(deleteReq("wandb", "a"), victor)]) {
      const e = await refusal(call());
      assert.equal(e.code, Code.PermissionDenied);
      assert.match(e.message, /viewers cannot/);
    }
    assert.deepEqual(await listed(victor), ["a/wandb:api-key"]);
  });

  it("lets admins and platform services act in any team", async () => {
    assert.deepEqual(await listed(admin), ["a/wandb:api-key", "b/wandb:api-key"]);
    assert.deepEqual(await listed(admin, "b"), ["b/wandb:api-key"]);
    await svc.createSecret(createReq("svc", "b", { k: "v" }), scheduler);
    assert.ok((await listed(bob)).includes("b/svc:k"));
    assert.deepEqual(await svc.deleteSecret(deleteReq("svc", "b"), admin), { deleted: true });
  });

  it("believes user headers only from the gateway, and refuses calls that prove no service", async () => {
    const forged = ctx("scheduler", { user: "alice", teams: ["a"], role: "viewer" });
    await svc.createSecret(createReq("forged", "b", { k: "v" }), forged); // the scheduler's own rights, not a viewer's
    await svc.deleteSecret(deleteReq("forged", "b"), forged);
    for (const c of [ctx(undefined), ctx(undefined, { user: "root", teams: [], role: "admin" }), ctx("gateway")]) {
      assert.equal((await refusal(svc.listSecrets(listReq(), c))).code, Code.Unauthenticated);
    }
  });
});

describe("Secrets service: what is refused and what is never said", () => {
  it("refuses bad names and keys with the field, what was expected and a hint", async () => {
    const name = await refusal(svc.createSecret(createReq("Bad_Name", "a", { k: "v" }), alice));
    assert.deepEqual([name.code, name.details[0]?.field, name.details[0]?.hint], [Code.InvalidArgument, "name", "e.g. `bad-name`"]);
    const keys = await refusal(svc.createSecret(createReq("ok", "a", { "bad key": VALUE_A, "..": "x" }), alice));
    assert.deepEqual(keys.details.map((d) => d.field), ['values["bad key"]', 'values[".."]']);
    assert.ok(keys.details.every((d) => d.expected && d.hint));
    const empty = await refusal(svc.createSecret(createReq("ok", "a", {}), alice));
    assert.equal(empty.details[0]?.field, "values");
    assert.equal((await refusal(svc.deleteSecret(deleteReq("Bad_Name", "a"), alice))).code, Code.InvalidArgument);
  });

  it("never puts a value in an error: not a NUL-carrying one, not an oversized one", async () => {
    const nul = `${VALUE_A}\u0000tail`;
    const e1 = await refusal(svc.createSecret(createReq("nul", "a", { k: nul, "bad key": VALUE_A }), alice));
    const big = `${VALUE_B}${"x".repeat(1024 * 1024)}`;
    const e2 = await refusal(svc.createSecret(createReq("big", "a", { k: big }), alice));
    for (const e of [e1, e2]) {
      assert.equal(e.code, Code.InvalidArgument);
      const said = `${e.message} ${JSON.stringify(e.details)}`;
      assert.ok(!said.includes("SECRET-value"), said);
    }
  });
});

describe("Secrets service over the mesh", () => {
  it("takes the user from the gateway's proven calls, and refuses calls that prove nothing", async () => {
    const server = createServer({ name: "jobs", socketPath: join(dir, "jobs.sock"), runtime: createMeshRuntime({ serviceName: "jobs", credentials: dataDirIdentity(dir, "jobs") }) });
    server.add(Secrets, svc);
    const address = await server.start();
    const gateway = dataDirIdentity(dir, "gateway");
    await gateway.ready;
    const asGateway = createClient(Secrets, { target: address, peer: serviceId(DEFAULT_TRUST_DOMAIN, "jobs"), runtime: createMeshRuntime({ serviceName: "gateway", credentials: gateway }) });
    const anonymous = createClient(Secrets, { target: address, defaultTimeoutMs: 1500, runtime: createMeshRuntime({ serviceName: "gateway" }) });
    try {
      const bobSays = { user: { user: "bob", teams: ["b"], role: "member" as const } };
      const res = await asGateway.listSecrets({}, bobSays);
      assert.deepEqual(res.secrets.map((x) => `${x.team}/${x.name}`), ["b/wandb"]);
      assert.ok(!toJsonString(ListSecretsResponseSchema, res).includes("SECRET-value"));
      const refused = await asGateway.deleteSecret({ name: "wandb", team: "a" }, bobSays).then(() => undefined, (e: unknown) => SwitchyardError.from(e));
      assert.equal(refused?.code, Code.PermissionDenied);
      const nobody = await anonymous.listSecrets({}, bobSays).then(() => undefined, (e: unknown) => SwitchyardError.from(e));
      assert.ok(nobody?.code === Code.Unavailable || nobody?.code === Code.DeadlineExceeded, `plaintext never reaches the server: ${nobody?.code}`);
      assert.deepEqual(await listed(alice), ["a/wandb:api-key"], "nothing changed");
    } finally {
      asGateway.close();
      anonymous.close();
      await server.stop(100);
    }
  });
});
