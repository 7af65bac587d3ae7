// control's CA over the mesh: enrolment with one-time join tokens, renewal over mutual TLS, and the attacker's tries.
// control runs in this process (startControl, real sockets, real SQLite); the callers are real mesh clients.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigCenter, Identity, Registry } from "@switchyard/api";
import { Code, keyPath, loadOrCreateKey, noopLogger, SwitchyardError, type RunningService } from "@switchyard/core";
import { CertificateAuthority } from "@switchyard/mesh/ca";
import { bootstrapCredentials, caPaths, certificateFingerprint, createClient, createCsr, createMeshRuntime, DEFAULT_TRUST_DOMAIN, enrollIdentity, generateWorkloadKey, mintJoinToken, serviceId, type WorkloadIdentity } from "@switchyard/mesh";
import { loadControlConfig } from "./config.js";
import { startControl } from "./start.js";

const TD = DEFAULT_TRUST_DOMAIN;

describe("control's CA", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-ca-"));
  let control: RunningService;
  let caPem: string;
  let joinKey: Buffer;
  const identities: WorkloadIdentity[] = [];
  const token = (account: string, o: { caFingerprint?: string; ttlMs?: number } = {}) => mintJoinToken(joinKey, { namespace: "system", account, caFingerprint: o.caFingerprint ?? certificateFingerprint(caPem), ...(o.ttlMs ? { ttlMs: o.ttlMs } : {}) });
  const enroll = async (t: string) => {
    const id = await enrollIdentity({ control: control.address, joinToken: t, caPem });
    identities.push(id);
    return id;
  };
  const refusedWith = (code: Code, pattern: RegExp) => (e: unknown) => e instanceof SwitchyardError && e.code === code && pattern.test(e.message);

  before(async () => {
    control = await startControl({ ...loadControlConfig({ SWITCHYARD_DATA_DIR: dir }), certTtlMs: 20_000 }, noopLogger);
    caPem = readFileSync(caPaths(dir).cert, "utf8");
    joinKey = loadOrCreateKey(keyPath(dir, "join"));
  });
  after(async () => {
    for (const i of identities) i.close();
    await control.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("enrols a workload with a join token; its certificate then opens every method", async () => {
    const jobs = await enroll(token("jobs"));
    assert.equal(jobs.id, serviceId(TD, "jobs"));
    assert.ok(jobs.notAfterMs > Date.now() + 15_000 && jobs.notAfterMs <= Date.now() + 20_000, "the CA's lifetime applies");
    const registry = createClient(Registry, { target: control.address, runtime: createMeshRuntime({ credentials: jobs }) });
    try {
      const r = await registry.listInstances({ service: "control" });
      assert.equal(r.instances.length, 1);
    } finally {
      registry.close();
    }
  });

  it("takes each token once, even across a restart of control", async () => {
    const t = token("gateway");
    await enroll(t);
    await assert.rejects(enroll(t), refusedWith(Code.Unauthenticated, /used already/));
    await control.stop();
    control = await startControl({ ...loadControlConfig({ SWITCHYARD_DATA_DIR: dir }), certTtlMs: 20_000 }, noopLogger);
    await assert.rejects(enroll(t), refusedWith(Code.Unauthenticated, /used already/));
    assert.equal(readFileSync(caPaths(dir).cert, "utf8"), caPem, "the restarted control keeps its CA");
  });

  it("refuses forged, expired and foreign tokens, and requests for another identity", async () => {
    const forged = mintJoinToken(Buffer.alloc(32, 1), { namespace: "system", account: "jobs", caFingerprint: certificateFingerprint(caPem) });
    await assert.rejects(enroll(forged), refusedWith(Code.Unauthenticated, /signature/));
    await assert.rejects(enroll(token("jobs", { ttlMs: -1 })), refusedWith(Code.Unauthenticated, /expired/));
    const other = (await CertificateAuthority.create(TD)).ca;
    await assert.rejects(enroll(token("jobs", { caFingerprint: other.fingerprint })), refusedWith(Code.FailedPrecondition, /not the one the join token was minted for/), "the joining host pins the CA");
    // A token for jobs with a request that asks for the gateway's identity.
    const key = generateWorkloadKey();
    const client = createClient(Identity, { target: control.address, peer: serviceId(TD, "control"), runtime: createMeshRuntime({ credentials: bootstrapCredentials(caPem, TD) }) });
    try {
      await assert.rejects(client.enroll({ joinToken: token("jobs"), csrPem: createCsr(key, serviceId(TD, "gateway")) }), refusedWith(Code.PermissionDenied, /may have spiffe:\/\/switchyard.local\/ns\/system\/sa\/jobs only/));
      await assert.rejects(client.enroll({ joinToken: token("jobs"), csrPem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n" }), refusedWith(Code.InvalidArgument, /PKCS#10/));
      // Without a certificate, every other method of control is refused.
      await assert.rejects(client.renew({ csrPem: createCsr(key, serviceId(TD, "jobs")) }), refusedWith(Code.Unauthenticated, /without a certificate/));
      const registry = createClient(Registry, { target: control.address, runtime: createMeshRuntime({ credentials: bootstrapCredentials(caPem, TD) }) });
      await assert.rejects(registry.register({ instance: { service: "jobs", address: "127.0.0.1:1" }, ttlMs: 5000n }), refusedWith(Code.Unauthenticated, /without a certificate/), "no rogue registration without a certificate");
      registry.close();
    } finally {
      client.close();
    }
  });

  it("applies AuthorizationPolicies to its registry, never to its CA or its config center (a bad policy stays repairable)", async () => {
    const jobs = await enroll(token("jobs"));
    const rt = createMeshRuntime({ credentials: jobs });
    const registry = createClient(Registry, { target: control.address, runtime: rt });
    const config = createClient(ConfigCenter, { target: control.address, runtime: rt });
    const deny = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: lockout, namespace: system}\nspec:\n  selector: {matchLabels: {app: control}}\n  action: DENY\n  rules:\n  - from: [{source: {principals: [\"switchyard.local/ns/system/sa/jobs\"]}}]\n";
    try {
      await config.putDocuments({ documents: [{ namespace: "mesh", kind: "AuthorizationPolicy", name: "lockout", content: deny }] });
      const refused = async () => registry.listInstances({ service: "control" }).then(() => false, (e: unknown) => e instanceof SwitchyardError && e.code === Code.PermissionDenied);
      for (let i = 0; i < 100 && !(await refused()); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await refused(), true, "the registry refuses jobs once control has reloaded");
      await jobs.rotate();
      assert.equal(jobs.rotations, 1, "renewal is never subject to a policy");
      await config.deleteDocument({ namespace: "mesh", kind: "AuthorizationPolicy", name: "lockout" });
      for (let i = 0; i < 100 && (await refused()); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await registry.listInstances({ service: "control" })).instances.length, 1, "repaired through the config center");
    } finally {
      registry.close();
      config.close();
    }
  });

  it("renews over mutual TLS for the caller's own identity only", async () => {
    const jobs = await enroll(token("jobs"));
    const before = jobs.certPem;
    await jobs.rotate();
    assert.notEqual(jobs.certPem, before);
    assert.equal(jobs.rotations, 1);
    // A renewal request naming another identity is refused, even from a valid workload.
    const client = createClient(Identity, { target: control.address, runtime: createMeshRuntime({ credentials: jobs }) });
    try {
      const key = generateWorkloadKey();
      await assert.rejects(client.renew({ csrPem: createCsr(key, serviceId(TD, "gateway")) }), refusedWith(Code.PermissionDenied, /may have spiffe:\/\/switchyard.local\/ns\/system\/sa\/jobs only/));
    } finally {
      client.close();
    }
  });

  it("certifies a team's model server for the serving service alone, and only as ns/<team>/sa/model-<name>", async () => {
    const serving = await enroll(token("serving"));
    const jobs = await enroll(token("jobs"));
    const as = (who: WorkloadIdentity) => createClient(Identity, { target: control.address, peer: serviceId(TD, "control"), runtime: createMeshRuntime({ credentials: who }) });
    const viaServing = as(serving);
    const viaJobs = as(jobs);
    try {
      const csr = (id: string) => createCsr(generateWorkloadKey(), id);
      const model = `spiffe://${TD}/ns/vision/sa/model-iris`;
      const ok = await viaServing.issueWorkload({ spiffeId: model, csrPem: csr(model) });
      assert.equal(ok.spiffeId, model);
      assert.match(new (await import("node:crypto")).X509Certificate(ok.certificatePem).subjectAltName ?? "", /ns\/vision\/sa\/model-iris/);
      // Another platform service certifies nothing; serving nothing but its model servers, in no namespace but a team's.
      await assert.rejects(viaJobs.issueWorkload({ spiffeId: model, csrPem: csr(model) }), refusedWith(Code.PermissionDenied, /certifies no team workloads/));
      // A team workload's certificate does not renew itself (a key taken out of a replica must not outlive it).
      const { WorkloadIdentity: WI } = await import("@switchyard/mesh");
      const key = generateWorkloadKey();
      const replica = new WI({ id: model, trustDomain: TD, issued: { certPem: (await viaServing.issueWorkload({ spiffeId: model, csrPem: createCsr(key, model) })).certificatePem, caPem, notAfterMs: Date.now() + 60_000, keyPem: key.keyPem } });
      const self = as(replica);
      try {
        await assert.rejects(self.renew({ csrPem: csr(model) }), refusedWith(Code.PermissionDenied, /does not renew itself/));
      } finally {
        self.close();
        replica.close();
      }
      for (const id of [serviceId(TD, "gateway"), `spiffe://${TD}/ns/vision/sa/jobs`, `spiffe://other.domain/ns/vision/sa/model-iris`, `spiffe://${TD}/ns/Bad_Team/sa/model-x`]) {
        await assert.rejects(viaServing.issueWorkload({ spiffeId: id, csrPem: csr(id) }), refusedWith(Code.PermissionDenied, /certifies/), id);
      }
    } finally {
      viaServing.close();
      viaJobs.close();
    }
  });
});
