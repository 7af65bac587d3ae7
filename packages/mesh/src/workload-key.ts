/**
 * A workload's side of the PKI, with node:crypto alone: its key pair and the PKCS#10 request it sends the CA. The CA
 * (pki.ts) needs an X.509 library to make certificates; workloads only ask for them, so jobs and the gateway never
 * load one (it is several MB per process). The request is DER written here — a CertificationRequestInfo with the
 * subject CN, the key, and an extensionRequest for the one URI SAN, signed ECDSA-SHA256 — and the CA parses and
 * verifies it with its library (a test issues from it).
 */
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { join } from "node:path";
import { parseSpiffeId } from "./spiffe.js";

/** What the CA answers a request with: the leaf (PEM), the bundle to trust (root PEM), and when the leaf expires. */
export interface IssuedCertificate {
  readonly certPem: string;
  readonly caPem: string;
  readonly notAfterMs: number;
}

export interface WorkloadKey {
  readonly privateKey: KeyObject;
  /** SubjectPublicKeyInfo, DER. */
  readonly spkiDer: Buffer;
  /** The private key as PKCS#8 PEM, for TLS. */
  readonly keyPem: string;
}

/** `<data>/secrets/ca.pem`: the CA's certificate and key, 0600. `ca.crt` beside it holds the certificate alone. */
export function caPaths(dataDir: string): { key: string; cert: string; intermediate: string } {
  return { key: join(dataDir, "secrets", "ca.pem"), cert: join(dataDir, "secrets", "ca.crt"), intermediate: join(dataDir, "secrets", "ca-intermediate.pem") };
}

export function toPem(der: Buffer, label: string): string {
  return `-----BEGIN ${label}-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

/** An ECDSA P-256 key pair (fast handshakes). */
export function generateWorkloadKey(): WorkloadKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, spkiDer: publicKey.export({ type: "spki", format: "der" }), keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...body: Buffer[]) => {
  const b = Buffer.concat(body);
  return Buffer.concat([Buffer.from([tag]), length(b.length), b]);
};
const seq = (...body: Buffer[]) => tlv(0x30, ...body);
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

const OID_CN = "2.5.4.3";
const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
const OID_SUBJECT_ALT_NAME = "2.5.29.17";
const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";

/** A PKCS#10 request for `id` (its one URI SAN), signed by the key it asks a certificate for (proof of possession). */
export function createCsr(key: WorkloadKey, id: string): string {
  const cn = parseSpiffeId(id)?.account ?? "workload";
  const subject = seq(tlv(0x31, seq(oid(OID_CN), tlv(0x0c, Buffer.from(cn)))));
  const san = seq(oid(OID_SUBJECT_ALT_NAME), tlv(0x04, seq(tlv(0x86, Buffer.from(id)))));
  const attributes = tlv(0xa0, seq(oid(OID_EXTENSION_REQUEST), tlv(0x31, seq(san))));
  const info = seq(Buffer.from([0x02, 0x01, 0x00]), subject, key.spkiDer, attributes);
  const signature = sign("sha256", info, key.privateKey);
  return toPem(seq(info, seq(oid(OID_ECDSA_SHA256)), tlv(0x03, Buffer.from([0]), signature)), "CERTIFICATE REQUEST");
}
