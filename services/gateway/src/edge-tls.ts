/**
 * The edge's TLS certificate: the operator's (SWITCHYARD_TLS_CERT/KEY), or one the gateway makes once for its host
 * (SWITCHYARD_TLS=self-signed) and keeps in `<data>/gateway/tls.pem` (key and certificate, 0600), with the certificate
 * alone in `tls.crt` beside it for clients to trust (`up` points the CLI config at it; remote users compare its
 * SHA-256 fingerprint, which the gateway logs and `up` prints).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { Code, createFileOnce, readPrivateText, SwitchyardError } from "@switchyard/core";
import type { EdgeTls } from "./edge-server.js";

export interface LoadedEdgeTls extends EdgeTls {
  /** SHA-256 of the leaf certificate, `AB:CD:…` (as browsers and openssl show it). */
  readonly fingerprint: string;
  /** The self-signed certificate alone, for clients to trust; undefined for the operator's own. */
  readonly caFile: string | undefined;
}

export async function loadEdgeTls(tls: { certFile: string; keyFile: string } | "self-signed", host: string, dataDir: string): Promise<LoadedEdgeTls> {
  if (tls !== "self-signed") {
    const read = (file: string, what: string) => {
      try {
        return readFileSync(file, "utf8");
      } catch (err) {
        throw new SwitchyardError(Code.FailedPrecondition, `cannot read the edge's TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    };
    const certPem = read(tls.certFile, "certificate (SWITCHYARD_TLS_CERT)");
    const keyPem = readPrivateText(tls.keyFile, "edge's TLS key", `run \`chmod 600 ${tls.keyFile}\``);
    if (keyPem === undefined) throw new SwitchyardError(Code.FailedPrecondition, `cannot read the edge's TLS key ${tls.keyFile} (SWITCHYARD_TLS_KEY): no such file`);
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certPem);
    } catch (err) {
      throw new SwitchyardError(Code.FailedPrecondition, `${tls.certFile} is not a PEM certificate: ${(err as Error).message}`);
    }
    return { certPem, keyPem, fingerprint: cert.fingerprint256, caFile: undefined };
  }
  const dir = join(dataDir, "gateway");
  const pemFile = join(dir, "tls.pem");
  const crtFile = join(dir, "tls.crt");
  let pem = readPrivateText(pemFile, "edge's TLS key file", `delete it (a new certificate is made at the next start; clients must trust the new one) or run \`chmod 600 ${pemFile}\``);
  // A wildcard bind address is not a name a certificate can hold: the one made for it names this machine instead.
  const named = host === "0.0.0.0" || host === "::" ? hostname() : host;
  const covers = (certPem: string) => {
    const c = new X509Certificate(certPem);
    return (isIP(named) ? c.checkIP(named) : c.checkHost(named)) !== undefined && Date.parse(c.validTo) > Date.now() + 7 * 86_400_000;
  };
  const certOf = (text: string) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
  const keyOf = (text: string) => /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(text)?.[0];
  if (pem === undefined || !certOf(pem) || !keyOf(pem) || !covers(certOf(pem)!)) {
    // For the host it listens on, this machine's names and loopback: the CLI on this machine reaches it either way.
    const hosts = [...new Set([named, "localhost", "127.0.0.1", hostname()])];
    // The X.509 library loads only here, when a certificate has to be made.
    const { selfSignedServerCertificate } = await import("@switchyard/mesh/ca");
    const made = await selfSignedServerCertificate(hosts);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    rmSync(pemFile, { force: true });
    createFileOnce(pemFile, made.certPem + made.keyPem, 0o600);
    pem = readPrivateText(pemFile, "edge's TLS key file", `run \`chmod 600 ${pemFile}\``)!;
  }
  const certPem = certOf(pem)!;
  let written: string | undefined;
  try {
    written = readFileSync(crtFile, "utf8");
  } catch {
    written = undefined;
  }
  if (written !== certPem) writeFileSync(crtFile, certPem, { mode: 0o644 });
  return { certPem, keyPem: keyOf(pem)!, fingerprint: new X509Certificate(certPem).fingerprint256, caFile: crtFile };
}
