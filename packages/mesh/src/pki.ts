/**
 * The certificate authority `control` runs (`<data>/secrets/ca.pem`), and the self-signed certificate of the gateway's
 * edge. Certificates are X.509 with ECDSA P-256 keys (fast handshakes), made with @peculiar/x509 over Node's
 * WebCrypto: node:crypto can read certificates but not make them. Only processes that make certificates load this
 * module (the package's `./ca` sub-path); workloads ask for theirs with node:crypto alone (workload-key.ts).
 *
 * A workload's certificate names it by one URI SAN, its SPIFFE id (spiffe.ts).
 */
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import * as x509 from "@peculiar/x509";
import { Code, createFileOnce, readPrivateText, SwitchyardError } from "@switchyard/core";
import { certificateFingerprint } from "./join-token.js";
import { DEFAULT_TRUST_DOMAIN, parseSpiffeId } from "./spiffe.js";
import { caPaths, createCsr, generateWorkloadKey, toPem, type IssuedCertificate } from "./workload-key.js";

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

const MAX_CSR_BYTES = 8192;
/** Certificates are valid from a minute ago: clocks of two hosts differ a little. */
const BACKDATE_MS = 60_000;

/** How long an intermediate lives; one with less than a month left is replaced at control's start. */
const INTERMEDIATE_TTL_MS = 365 * 86_400_000;
const INTERMEDIATE_RENEW_MS = 30 * 86_400_000;

/**
 * The platform's certificate authority: a self-signed ECDSA root — the trust bundle every workload holds — and the
 * intermediate of this `control`, signed by the root, which signs the workload certificates for the SPIFFE ids it is
 * asked (the caller of `issue` decides who may have which id: `control`'s Identity service checks join tokens and
 * renewing certificates). A workload's certificate travels with that intermediate (its chain), so TLS peers verify it
 * against the root; user tokens carry the workload's certificate alone and verifiers know the intermediate from their
 * own chain (user-token.ts). The root's key signs intermediates only: with one `control` it stays in the data dir
 * (`secrets/ca.pem`, 0600) and is used at the first start and when the intermediate (`secrets/ca-intermediate.pem`)
 * nears its end; with several (high availability) the root key is kept off the control hosts and each control is
 * given its own intermediate file (its verifiers then need every control's intermediate: that distribution is the
 * high-availability issue's).
 */
export class CertificateAuthority {
  readonly caPem: string;
  readonly fingerprint: string;
  /** This CA's intermediate (PEM), appended to every certificate it issues. */
  readonly intermediatePem: string;
  private readonly root: x509.X509Certificate;
  private readonly intermediate: x509.X509Certificate;

  private constructor(
    readonly trustDomain: string,
    rootPem: string,
    intermediatePem: string,
    private readonly signingKey: CryptoKey,
  ) {
    this.root = new x509.X509Certificate(rootPem);
    this.caPem = this.root.toString("pem") + "\n";
    this.fingerprint = certificateFingerprint(this.caPem);
    this.intermediate = new x509.X509Certificate(intermediatePem);
    this.intermediatePem = this.intermediate.toString("pem") + "\n";
  }

  /** A new intermediate under the root (its certificate and PKCS#8 key, PEM). */
  private static async newIntermediate(trustDomain: string, rootPem: string, rootKey: CryptoKey): Promise<string> {
    const root = new x509.X509Certificate(rootPem);
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16).toString("hex").replace(/^[89a-f]/, "1"),
      subject: `CN=Switchyard intermediate CA ${randomBytes(4).toString("hex")}, O=${trustDomain}`,
      issuer: root.subject,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(Math.min(now + INTERMEDIATE_TTL_MS, root.notAfter.getTime())),
      publicKey: keys.publicKey,
      signingKey: rootKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(root),
      ],
    });
    return cert.toString("pem") + "\n" + toPem(Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)), "PRIVATE KEY");
  }

  /** The CA of a root (certificate and key) and an intermediate's file text (certificate and key), or a new one. */
  private static async assemble(trustDomain: string, rootPem: string, rootKey: CryptoKey, intermediate: string | undefined): Promise<{ ca: CertificateAuthority; intermediate: string }> {
    const usable = (text: string | undefined) => {
      const cert = text === undefined ? undefined : /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
      if (cert === undefined) return false;
      const c = new x509.X509Certificate(cert);
      return c.issuer === new x509.X509Certificate(rootPem).subject && c.notAfter.getTime() - Date.now() > INTERMEDIATE_RENEW_MS;
    };
    const text = usable(intermediate) ? intermediate! : await CertificateAuthority.newIntermediate(trustDomain, rootPem, rootKey);
    const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)![0];
    const key = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(text)?.[1];
    if (!key) throw new SwitchyardError(Code.FailedPrecondition, "the intermediate CA file holds no private key (PEM)");
    const signingKey = await webcrypto.subtle.importKey("pkcs8", Buffer.from(key.replace(/\s+/g, ""), "base64"), ALG, false, ["sign"]);
    return { ca: new CertificateAuthority(trustDomain, rootPem, cert + "\n", signingKey), intermediate: text };
  }

  static async create(trustDomain: string, validForMs = 10 * 365 * 86_400_000): Promise<{ ca: CertificateAuthority; pem: string }> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomBytes(16).toString("hex").replace(/^[89a-f]/, "1"),
      name: `CN=Switchyard root CA, O=${trustDomain}`,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + validForMs),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const keyPem = toPem(Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)), "PRIVATE KEY");
    const certPem = cert.toString("pem") + "\n";
    const { ca } = await CertificateAuthority.assemble(trustDomain, certPem, keys.privateKey, undefined);
    return { ca, pem: certPem + keyPem };
  }

  /**
   * The CA from its file's text (the root's certificate and PKCS#8 key, PEM) and its intermediate's (certificate and
   * key), made anew when absent, issued by another root, or within a month of its end: `intermediate` in the answer
   * is the text to keep.
   */
  static async fromPem(trustDomain: string, pem: string, intermediate?: string): Promise<{ ca: CertificateAuthority; intermediate: string }> {
    const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
    const key = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem)?.[1];
    if (!cert || !key) throw new SwitchyardError(Code.FailedPrecondition, "the CA file holds no certificate and private key (PEM)");
    const rootKey = await webcrypto.subtle.importKey("pkcs8", Buffer.from(key.replace(/\s+/g, ""), "base64"), ALG, false, ["sign"]);
    return CertificateAuthority.assemble(trustDomain, cert + "\n", rootKey, intermediate);
  }

  /**
   * Signs the request's key for `id`, valid for `ttlMs`. The request must be well-formed, self-signed (its signer holds
   * the key) and ask for `id` and nothing else.
   */
  async issue(csrPem: string, id: string, ttlMs: number, hosts: readonly string[] = []): Promise<IssuedCertificate> {
    if (csrPem.length > MAX_CSR_BYTES) throw new SwitchyardError(Code.InvalidArgument, `the certificate request is ${csrPem.length} bytes; at most ${MAX_CSR_BYTES}`);
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (err) {
      throw new SwitchyardError(Code.InvalidArgument, `the certificate request is not a PKCS#10 request in PEM: ${(err as Error).message}`);
    }
    if (!(await csr.verify())) throw new SwitchyardError(Code.InvalidArgument, "the certificate request's signature does not verify: it must be signed by the key it asks a certificate for");
    const san = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
    const uris = san?.names.items.filter((n) => n.type === "url").map((n) => n.value) ?? [];
    if (uris.length !== 1 || uris[0] !== id) throw new SwitchyardError(Code.PermissionDenied, `the certificate request asks for ${uris.join(", ") || "no identity"}; this caller may have ${id} only`);
    const parsed = parseSpiffeId(id);
    if (!parsed || parsed.trustDomain !== this.trustDomain) throw new SwitchyardError(Code.PermissionDenied, `${id} is not an identity of the trust domain ${this.trustDomain}`);
    const now = Date.now();
    const notAfter = Math.min(now + ttlMs, this.intermediate.notAfter.getTime());
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16).toString("hex").replace(/^[89a-f]/, "1"),
      subject: `CN=${parsed.account}, OU=${parsed.namespace}, O=${this.trustDomain}`,
      issuer: this.intermediate.subject,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(notAfter),
      publicKey: csr.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: "url", value: id }, ...hostNames(hosts)], true),
        await x509.AuthorityKeyIdentifierExtension.create(this.intermediate),
      ],
    });
    // The chain: the workload's certificate, then the intermediate that signed it (the root is the trust bundle).
    return { certPem: cert.toString("pem") + "\n" + this.intermediatePem, caPem: this.caPem, notAfterMs: notAfter };
  }

  /**
   * A key and a certificate for `id`, made here (the CA's own process, or one that holds the CA file). `hosts`: DNS
   * names and IP addresses to name as well, for a server that clients check by host name (etcd), never asked of the
   * CA over the mesh.
   */
  async issueWorkload(id: string, ttlMs: number, hosts: readonly string[] = []): Promise<IssuedCertificate & { keyPem: string }> {
    const key = generateWorkloadKey();
    const issued = await this.issue(createCsr(key, id), id, ttlMs, hosts);
    return { ...issued, keyPem: key.keyPem };
  }
}

const isIpAddress = (h: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(":");
function hostNames(hosts: readonly string[]): { type: "ip" | "dns"; value: string }[] {
  return hosts.map((h) => (isIpAddress(h) ? { type: "ip" as const, value: h } : { type: "dns" as const, value: h }));
}

/**
 * A self-signed certificate for a TLS server reachable as `hosts` (names and IP addresses), for the gateway's edge
 * when the operator brings none (`up --tls`): clients trust this one certificate (its PEM, or its fingerprint checked
 * by a person), as they would a CA.
 */
export async function selfSignedServerCertificate(hosts: readonly string[], validForMs = 365 * 86_400_000): Promise<{ certPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString("hex").replace(/^[89a-f]/, "1"),
    name: `CN=${hosts[0] ?? "switchyard"}, O=Switchyard gateway`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + validForMs),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hostNames(hosts)),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: toPem(Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)), "PRIVATE KEY") };
}

/**
 * The platform CA of a data dir, made at the first start. Creation is atomic (a temporary file linked into place), so
 * two processes starting together end up with the same CA. A CA file others can read is refused.
 */
export async function loadOrCreateCa(dataDir: string, trustDomain = DEFAULT_TRUST_DOMAIN): Promise<CertificateAuthority> {
  const paths = caPaths(dataDir);
  mkdirSync(dirname(paths.key), { recursive: true, mode: 0o700 });
  const read = () => readPrivateText(paths.key, "CA file", `anyone who read it can mint platform identities. Delete ${paths.key} (a new CA is made at the next start and every service enrols again) or run \`chmod 600 ${paths.key}\` if nobody else could have read it`);
  let text = read();
  if (text === undefined) {
    const made = await CertificateAuthority.create(trustDomain);
    createFileOnce(paths.key, made.pem, 0o600);
    text = read()!;
  }
  // The intermediate: kept beside the root (0600), made at the first start, replaced when a month from its end.
  let intermediate: string | undefined;
  try {
    intermediate = readFileSync(paths.intermediate, "utf8");
  } catch {
    intermediate = undefined;
  }
  const made = await CertificateAuthority.fromPem(trustDomain, text, intermediate);
  if (made.intermediate !== intermediate) {
    // Two processes starting together may both make one: the first linked into place wins, and both use it.
    rmSync(`${paths.intermediate}.old`, { force: true });
    if (intermediate !== undefined) renameSync(paths.intermediate, `${paths.intermediate}.old`);
    try {
      createFileOnce(paths.intermediate, made.intermediate, 0o600);
    } catch {
      // Lost the race: the winner's is read below.
    }
    rmSync(`${paths.intermediate}.old`, { force: true });
  }
  const kept = readPrivateText(paths.intermediate, "intermediate CA file", `anyone who read it can mint platform identities. Delete ${paths.intermediate} (a new one is made at the next start) or run \`chmod 600 ${paths.intermediate}\` if nobody else could have read it`);
  const ca = kept === made.intermediate ? made.ca : (await CertificateAuthority.fromPem(trustDomain, text, kept)).ca;
  let cert: string | undefined;
  try {
    cert = readFileSync(paths.cert, "utf8");
  } catch {
    cert = undefined;
  }
  if (cert !== ca.caPem) {
    rmSync(paths.cert, { force: true });
    createFileOnce(paths.cert, ca.caPem, 0o644);
  }
  return ca;
}
