// Mutual TLS between mesh workloads (credentials.ts, pki.ts): real sockets, real certificates from a real CA. The
// attacker's calls come from 127.0.0.2 (another address on this machine) so per-address limits never hit the tests'
// own callers.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Code, SwitchyardError } from "@switchyard/core";
import { createClient } from "./client.js";
import { peerCertificateReads, WorkloadIdentity } from "./credentials.js";
import { startEcho, type EchoInstance } from "./echo-fixture.js";
import { Echo } from "./gen/switchyard/mesh/testing/v1/echo_pb.js";
import { certificateFingerprint, mintJoinToken, verifyJoinToken } from "./join-token.js";
import { CertificateAuthority, loadOrCreateCa } from "./pki.js";
import { serviceId, spiffeId } from "./spiffe.js";
import { caPaths, createCsr, generateWorkloadKey } from "./workload-key.js";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { localIdentity } from "./platform-identity.js";
import { createMeshRuntime } from "./runtime.js";
import { runConcurrent } from "./test-support.js";
import type { MeshClient } from "./types.js";

const TD = "switchyard.local";

describe("mutual TLS between workloads", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-mtls-"));
  let ca: CertificateAuthority;
  let echoIdentity: WorkloadIdentity;
  let echo: EchoInstance;
  const closers: (() => void)[] = [];
  const client = (credentials: WorkloadIdentity | undefined, o: { peer?: string } = {}): MeshClient<typeof Echo> => {
    const c = createClient(Echo, { target: echo.address, defaultTimeoutMs: 5000, ...(o.peer ? { peer: o.peer } : {}), runtime: createMeshRuntime({ serviceName: "tests", ...(credentials ? { credentials } : {}) }) });
    closers.push(() => c.close());
    return c;
  };

  /** The call never reaches the handler: the handshake fails, so the channel never gets READY (UNAVAILABLE or, waiting for it, DEADLINE_EXCEEDED). */
  const refused = async (call: Promise<unknown>, why: string) => {
    const before = echo.counters.calls;
    await assert.rejects(call, (e: unknown) => e instanceof SwitchyardError && (e.code === Code.Unavailable || e.code === Code.DeadlineExceeded), why);
    assert.equal(echo.counters.calls, before, `${why}: the handler never ran`);
  };

  before(async () => {
    ca = await loadOrCreateCa(dir, TD);
    echoIdentity = await localIdentity(ca, serviceId(TD, "echo"));
    echo = await startEcho({ id: "e1", runtime: createMeshRuntime({ serviceName: "echo", credentials: echoIdentity }) });
  });
  after(async () => {
    for (const c of closers) c();
    await echo.stop();
    echoIdentity.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the CA private and its certificate beside it", async () => {
    assert.equal(statSync(caPaths(dir).key).mode & 0o777, 0o600);
    const again = await loadOrCreateCa(dir, TD);
    assert.equal(again.fingerprint, ca.fingerprint, "a second start loads the same CA");
  });

  it("serves a caller with a certificate of the CA and tells the handler who it is", async () => {
    const jobs = await localIdentity(ca, serviceId(TD, "jobs"));
    closers.push(() => jobs.close());
    const r = await client(jobs).echo({ payload: new Uint8Array([7]) });
    assert.equal(r.instance, "e1");
    assert.equal(r.seen["caller-service"], "jobs");
    assert.equal(r.seen["caller-id"], serviceId(TD, "jobs"));
    const c = client(jobs);
    await c.echo({});
    const before = peerCertificateReads.count;
    for (let i = 0; i < 50; i++) assert.equal((await c.echo({})).seen["caller-service"], "jobs");
    assert.equal(peerCertificateReads.count, before, "the peer's identity is read once per connection, not per call");
  });

  it("knows a team's workload by its id and gives it no platform service name", async () => {
    const model = await localIdentity(ca, spiffeId(TD, "vision", "model-resnet"));
    closers.push(() => model.close());
    const r = await client(model).echo({});
    assert.equal(r.seen["caller-id"], spiffeId(TD, "vision", "model-resnet"));
    assert.equal(r.seen["caller-service"], undefined);
  });

  it("refuses a caller without a certificate, with a self-made one, or with one from another CA", async () => {
    await refused(client(undefined).echo({}, { timeoutMs: 1500 }), "plaintext");
    const other = (await CertificateAuthority.create(TD)).ca;
    const forged = new WorkloadIdentity({ id: serviceId(TD, "gateway"), trustDomain: TD, issued: { ...(await other.issueWorkload(serviceId(TD, "gateway"), 60_000)), caPem: ca.caPem } });
    await refused(client(forged).echo({}, { timeoutMs: 1500 }), "a certificate of another CA");
    const selfMade = (await CertificateAuthority.create(TD)).ca;
    const own = new WorkloadIdentity({ id: serviceId(TD, "gateway"), trustDomain: TD, issued: { ...(await selfMade.issueWorkload(serviceId(TD, "gateway"), 60_000)), caPem: selfMade.caPem } });
    await refused(client(own).echo({}, { timeoutMs: 1500 }), "a self-made CA and certificate");
    // A raw TLS client that trusts our CA and presents no certificate.
    const raw = new grpc.Client(echo.address, grpc.credentials.createSsl(Buffer.from(ca.caPem), null, null, { checkServerIdentity: () => undefined }));
    const code = await new Promise<number>((resolve) =>
      raw.makeUnaryRequest("/switchyard.mesh.testing.v1.Echo/Echo", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new grpc.Metadata({}), { deadline: Date.now() + 5000 }, (err) => resolve(err?.code ?? 0)),
    );
    raw.close();
    assert.equal(code, grpc.status.UNAVAILABLE, "no client certificate: the handshake fails");
  });

  it("refuses a server that is not the workload the client meant", async () => {
    const jobs = await localIdentity(ca, serviceId(TD, "jobs"));
    closers.push(() => jobs.close());
    await refused(client(jobs, { peer: serviceId(TD, "control") }).echo({}, { timeoutMs: 1500 }), "a server with another identity");
    assert.equal((await client(jobs, { peer: serviceId(TD, "echo") }).echo({})).instance, "e1");
  });

  it("refuses forged identity headers: who calls is the certificate, not the metadata", async () => {
    const jobs = await localIdentity(ca, serviceId(TD, "jobs"));
    closers.push(() => jobs.close());
    const r = await client(jobs).echo({}, { metadata: { "x-switchyard-caller": "gateway" } });
    assert.equal(r.seen["caller-service"], "jobs");
  });

  it("rotates both sides' certificates under load without losing a call", async () => {
    let n = 0;
    const caller = new WorkloadIdentity({ id: serviceId(TD, "jobs"), trustDomain: TD, issued: await ca.issueWorkload(serviceId(TD, "jobs"), 60_000), renew: (csr) => ca.issue(csr, serviceId(TD, "jobs"), 60_000) });
    closers.push(() => caller.close());
    const certs = new Set<string>([caller.certPem, echoIdentity.certPem]);
    // New connections during the load: each client is new, so some handshakes see the old and some the new pairs.
    const results = await runConcurrent(16, 600, async (i) => {
      if (i % 100 === 50) {
        await Promise.all([caller.rotate(), echoIdentity.rotate()]);
        certs.add(caller.certPem);
      }
      await client(caller).echo({});
      n++;
    });
    const failed = results.filter((r) => r.status === "rejected");
    assert.equal(failed.length, 0, `failed calls: ${failed.map((f) => String((f as PromiseRejectedResult).reason)).slice(0, 3).join("; ")}`);
    assert.equal(n, 600);
    assert.ok(caller.rotations >= 5, `rotated ${caller.rotations} times`);
    assert.ok(echoIdentity.rotations >= 5, `the server rotated ${echoIdentity.rotations} times`);
    assert.ok(certs.size >= 6, "each rotation made a new certificate");
  });
});

describe("an expired certificate that cannot be renewed", () => {
  it("is reported once, so the service can stop and be enrolled again", async () => {
    const { ca } = await CertificateAuthority.create(TD);
    const issued = await ca.issueWorkload(serviceId(TD, "jobs"), 60_000);
    let expired = 0;
    let tries = 0;
    // notAfter 1.5 s from now: renewal is tried at 40–60% of it, fails, and after expiry the hook runs once.
    const id = new WorkloadIdentity({
      id: serviceId(TD, "jobs"),
      trustDomain: TD,
      issued: { ...issued, notAfterMs: Date.now() + 1500 },
      renew: async () => {
        tries++;
        throw new Error("control is away");
      },
      onExpired: () => expired++,
    });
    try {
      const until = Date.now() + 10_000;
      while (expired === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(expired, 1);
      assert.ok(tries >= 2 && tries <= 4, `renewal tried ${tries} times: not a tight loop`);
    } finally {
      id.close();
    }
  });
});

describe("certificate requests (written with node:crypto alone, workload-key.ts)", () => {
  it("are what the CA's X.509 library parses, verifies and signs; a tampered one is refused", async () => {
    const { ca } = await CertificateAuthority.create(TD);
    const key = generateWorkloadKey();
    const id = serviceId(TD, "jobs");
    const issued = await ca.issue(createCsr(key, id), id, 60_000);
    const cert = new X509Certificate(issued.certPem);
    assert.equal(cert.subjectAltName, `URI:${id}`);
    assert.ok(cert.checkPrivateKey(createPrivateKey(key.keyPem)), "the certificate is for the requesting key");
    const der = Buffer.from(createCsr(key, id).replace(/-----[^-]+-----|\s/g, ""), "base64");
    der[der.length - 5] = der[der.length - 5]! ^ 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(ca.issue(tampered, id, 60_000), (e: unknown) => e instanceof SwitchyardError && /signature does not verify|not a PKCS#10/.test(e.message));
  });
});

describe("join tokens", () => {
  const key = Buffer.alloc(32, 7);
  it("names one identity, pins the CA, expires, and cannot be forged", async () => {
    const { ca } = await CertificateAuthority.create(TD);
    const token = mintJoinToken(key, { namespace: "system", account: "jobs", caFingerprint: ca.fingerprint, ttlMs: 60_000 });
    const claims = verifyJoinToken(key, token);
    assert.equal(claims.account, "jobs");
    assert.equal(claims.caFingerprint, certificateFingerprint(ca.caPem));
    assert.throws(() => verifyJoinToken(Buffer.alloc(32, 8), token), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Unauthenticated && /signature/.test(e.message));
    assert.throws(() => verifyJoinToken(key, token, Date.now() + 61_000), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Unauthenticated && /expired/.test(e.message));
    const [prefix, body, mac] = token.split(".");
    const tampered = `${prefix}.${Buffer.from(JSON.stringify({ ...claims, account: "gateway" })).toString("base64url")}.${mac}`;
    assert.throws(() => verifyJoinToken(key, tampered), /signature/);
    assert.ok(body);
    assert.throws(() => verifyJoinToken(key, "nonsense"), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument);
  });
});
