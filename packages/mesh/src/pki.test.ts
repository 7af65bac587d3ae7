// The CA's two levels: a root (the trust bundle) and an intermediate per control, kept beside it in the data dir.
// Workload certificates chain to the root through the intermediate; tokens carry the workload's certificate alone and
// verify with the intermediates of the verifier's own chain; another root's intermediate is refused.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CertificateAuthority, loadOrCreateCa } from "./pki.js";
import { serviceId } from "./spiffe.js";
import { UserTokenMinter, verifierFor } from "./user-token.js";
import { caPaths } from "./workload-key.js";

const TD = "switchyard.local";
const chain = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));

describe("the platform CA", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-pki-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("issues through an intermediate that the root signed, kept private beside the root and the same across restarts", async () => {
    const ca = await loadOrCreateCa(dir, TD);
    const again = await loadOrCreateCa(dir, TD);
    assert.equal(again.intermediatePem, ca.intermediatePem, "the intermediate is kept, not made at each start");
    assert.equal(statSync(caPaths(dir).intermediate).mode & 0o777, 0o600);
    const issued = await ca.issueWorkload(serviceId(TD, "jobs"), 60_000);
    const [leaf, intermediate] = chain(issued.certPem);
    const root = new X509Certificate(readFileSync(caPaths(dir).cert));
    assert.ok(leaf && intermediate, "the certificate travels with its intermediate");
    assert.equal(leaf.ca, false);
    assert.ok(intermediate.ca && intermediate.verify(root.publicKey), "the intermediate is a CA the root signed");
    assert.ok(leaf.verify(intermediate.publicKey) && !leaf.verify(root.publicKey), "the root signs intermediates only");
  });

  it("verifies a token minted by a workload of the CA at another workload of it, and refuses one of another root", async () => {
    const ca = await loadOrCreateCa(dir, TD);
    const gateway = { ...(await ca.issueWorkload(serviceId(TD, "gateway"), 60_000)), id: serviceId(TD, "gateway"), trustDomain: TD };
    const jobs = { ...(await ca.issueWorkload(serviceId(TD, "jobs"), 60_000)), trustDomain: TD };
    const token = new UserTokenMinter(gateway).token({ user: "alice", teams: ["vision"], role: "member" }, serviceId(TD, "jobs"));
    assert.equal(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).x5c.length, 1, "one certificate: a token passed on inside another stays small");
    assert.equal(verifierFor(jobs).verify(token, serviceId(TD, "jobs")).user, "alice");
    // A workload of another root (its own intermediate, its own root): the root of this platform does not vouch for it.
    const other = (await CertificateAuthority.create(TD)).ca;
    const stranger = { ...(await other.issueWorkload(serviceId(TD, "gateway"), 60_000)), id: serviceId(TD, "gateway"), trustDomain: TD };
    const forged = new UserTokenMinter(stranger).token({ user: "alice", teams: ["vision"], role: "admin" }, serviceId(TD, "jobs"));
    assert.throws(() => verifierFor(jobs).verify(forged, serviceId(TD, "jobs")), /not issued by the platform CA/);
  });
});
