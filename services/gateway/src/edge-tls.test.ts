// The edge's TLS certificate (edge-tls.ts): made once and kept, remade for another host, the operator's own checked.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Code, SwitchyardError } from "@switchyard/core";
import { selfSignedServerCertificate } from "@switchyard/mesh/ca";
import { loadConfig } from "./config.js";
import { loadEdgeTls } from "./edge-tls.js";

describe("the edge's TLS certificate", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-edgetls-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("makes a self-signed one for the host once, keeps it, and makes another for another host", async () => {
    const a = await loadEdgeTls("self-signed", "127.0.0.1", dir);
    const again = await loadEdgeTls("self-signed", "127.0.0.1", dir);
    assert.equal(again.fingerprint, a.fingerprint, "kept across restarts: clients keep trusting it");
    assert.ok(new X509Certificate(a.certPem).checkIP("127.0.0.1"));
    const other = await loadEdgeTls("self-signed", "gpu-box.example", dir);
    assert.notEqual(other.fingerprint, a.fingerprint);
    assert.equal(new X509Certificate(other.certPem).checkHost("gpu-box.example"), "gpu-box.example");
  });

  it("takes the operator's certificate, refusing a key others can read and a half-given pair", async () => {
    const made = await selfSignedServerCertificate(["edge.example"]);
    writeFileSync(join(dir, "edge.crt"), made.certPem);
    writeFileSync(join(dir, "edge.key"), made.keyPem, { mode: 0o644 });
    await assert.rejects(loadEdgeTls({ certFile: join(dir, "edge.crt"), keyFile: join(dir, "edge.key") }, "0.0.0.0", dir), (e: unknown) => e instanceof SwitchyardError && e.code === Code.FailedPrecondition && /readable by other users.*chmod 600/.test(e.message));
    writeFileSync(join(dir, "edge2.key"), made.keyPem, { mode: 0o600 });
    const own = await loadEdgeTls({ certFile: join(dir, "edge.crt"), keyFile: join(dir, "edge2.key") }, "0.0.0.0", dir);
    assert.equal(own.caFile, undefined, "the operator's certificate is trusted the operator's way");
    assert.throws(() => loadConfig({ SWITCHYARD_TLS_CERT: join(dir, "edge.crt") }), /needs both SWITCHYARD_TLS_CERT and SWITCHYARD_TLS_KEY/);
    assert.throws(() => loadConfig({ SWITCHYARD_TLS: "yes" }), /not a TLS mode/);
  });
});
