/**
 * Mesh credentials: mutual TLS with workload certificates from the platform CA (pki.ts). A runtime with credentials
 * serves TLS and asks every client for its certificate; its clients present theirs and check that the server is the
 * workload they meant to reach (its SPIFFE id, not a host name). The server chain takes the caller's identity from the
 * verified peer certificate (CallContext.callerId / callerService): nothing a caller writes in metadata says who it is.
 *
 * Certificates are short-lived and rotated at half their lifetime (± a tenth, so replicas do not renew together)
 * through `renew`: grpc-js's certificate-provider credentials take the new key pair for every new connection, and
 * connections already open keep theirs, so a rotation drops no call.
 */
import * as grpc from "@grpc/grpc-js";
import { Code, noopLogger, SwitchyardError, type Logger } from "@switchyard/core";
import { parseSpiffeId, SYSTEM_NAMESPACE, spiffeIdOfSan } from "./spiffe.js";
import { createCsr, generateWorkloadKey, type IssuedCertificate } from "./workload-key.js";

type CaCertificateUpdateListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityCertificateUpdateListener = grpc.experimental.IdentityCertificateUpdateListener;

export interface MeshCredentials {
  /** This workload's SPIFFE id; undefined for bootstrap credentials (a CA to trust, no certificate yet). */
  readonly id: string | undefined;
  readonly trustDomain: string;
  /** TLS for a server: clients must present a certificate of the CA unless `requireClientCertificate` is false. */
  serverCredentials(requireClientCertificate: boolean): grpc.ServerCredentials;
  /** TLS for a channel to `expectedPeer` (a SPIFFE id); without one, any platform service (`ns/system`) will do. */
  channelCredentials(expectedPeer: string | undefined): grpc.ChannelCredentials;
  close(): void;
}

type AuthContextCall = { getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } | undefined } | null };

/** How many times a peer certificate was read (tests check that a connection's calls read it once). */
export const peerCertificateReads = { count: 0 };

/** The peer's identity per HTTP/2 session (one TLS connection): it cannot change while the connection lives. */
const sessionPeers = new WeakMap<object, string | null>();

/**
 * The HTTP/2 session a grpc-js server call runs on, found through grpc-js's internals (handler call → its
 * interceptor chain → the base call's stream); undefined if they ever change shape, and then nothing is cached.
 */
function sessionOf(call: unknown): object | undefined {
  let c = (call as { call?: unknown }).call as { nextCall?: unknown; stream?: { session?: object } } | undefined;
  for (let i = 0; i < 8 && c?.nextCall !== undefined; i++) c = c.nextCall as typeof c;
  return c?.stream?.session;
}

/**
 * The verified SPIFFE id of a gRPC call's peer (its client certificate), or undefined without one. Node builds the
 * peer certificate object anew at each ask (~28 µs here), so the answer is kept per connection.
 */
export function peerIdOf(call: AuthContextCall): string | undefined {
  const session = sessionOf(call);
  if (session !== undefined) {
    const known = sessionPeers.get(session);
    if (known !== undefined) return known ?? undefined;
  }
  peerCertificateReads.count++;
  const id = spiffeIdOfSan(call.getAuthContext()?.sslPeerCertificate?.subjectaltname);
  if (session !== undefined) sessionPeers.set(session, id ?? null);
  return id;
}

function identityCheck(trustDomain: string, expected: string | undefined): (host: string, cert: import("node:tls").PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const id = spiffeIdOfSan(cert.subjectaltname);
    if (expected !== undefined) return id === expected ? undefined : new Error(`the server is ${id ?? "no workload"}, not ${expected}`);
    const p = id === undefined ? undefined : parseSpiffeId(id);
    return p?.trustDomain === trustDomain && p.namespace === SYSTEM_NAMESPACE ? undefined : new Error(`the server is ${id ?? "no workload"}, not a platform service of ${trustDomain}`);
  };
}

/** Renews a workload's certificate: sends a request for a new key, answers with the certificate for it. */
export type RenewCertificate = (csrPem: string) => Promise<IssuedCertificate>;

export interface WorkloadIdentityOptions {
  id: string;
  trustDomain: string;
  /** The first certificate, or its promise: until it resolves, connections wait for it (certificate providers are asynchronous). */
  issued: (IssuedCertificate & { keyPem: string }) | Promise<IssuedCertificate & { keyPem: string }>;
  /** How to get the next certificate; without it the certificate is never rotated (tests, short-lived tools). */
  renew?: RenewCertificate;
  logger?: Logger;
  random?: () => number;
  /**
   * Called once when the certificate has expired and renewal still fails (renewal goes over mutual TLS with the
   * certificate itself, so it cannot succeed any more): a service stops, and its supervisor starts it again with a
   * fresh join token. Without it, renewal keeps being tried every 5 s.
   */
  onExpired?: () => void;
  /** Called by close() (the renewal client's own close). */
  onClose?: () => void;
}

/**
 * A workload's certificate, key and trust bundle, as grpc-js certificate providers read them (one object serves as
 * both the CA and the identity provider), rotated before expiry.
 */
export class WorkloadIdentity implements MeshCredentials, grpc.experimental.CertificateProvider {
  readonly id: string;
  readonly trustDomain: string;
  /** Rotations done so far (tests and metrics read it). */
  rotations = 0;
  private current!: IssuedCertificate & { keyPem: string };
  /** Resolves when the first certificate is here (rejects if it cannot be had). */
  readonly ready: Promise<void>;
  private readonly caListeners = new Set<CaCertificateUpdateListener>();
  private readonly identityListeners = new Set<IdentityCertificateUpdateListener>();
  private readonly channels = new Map<string, grpc.ChannelCredentials>();
  private readonly servers = new Map<boolean, grpc.ServerCredentials>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private expiredReported = false;
  private readonly logger: Logger;
  private readonly random: () => number;

  constructor(private readonly o: WorkloadIdentityOptions) {
    this.id = o.id;
    this.trustDomain = o.trustDomain;
    this.logger = o.logger ?? noopLogger;
    this.random = o.random ?? Math.random;
    if (o.issued instanceof Promise) {
      this.ready = o.issued.then((issued) => {
        this.current = issued;
        for (const l of this.caListeners) l({ caCertificate: Buffer.from(issued.caPem) });
        for (const l of this.identityListeners) l({ certificate: Buffer.from(issued.certPem), privateKey: Buffer.from(issued.keyPem) });
        this.schedule();
      });
      this.ready.catch((err: unknown) => this.logger.error({ err: String(err), id: this.id }, "no certificate: every mesh connection of this workload will fail"));
    } else {
      this.current = o.issued;
      this.ready = Promise.resolve();
      this.schedule();
    }
  }

  /** When the current certificate expires (ms since the epoch). */
  get notAfterMs(): number {
    return this.issued().notAfterMs;
  }

  get caPem(): string {
    return this.issued().caPem;
  }

  /** The current certificate (PEM). */
  get certPem(): string {
    return this.issued().certPem;
  }

  /** The current private key (PEM); for the process's own TLS only. */
  get keyPem(): string {
    return this.issued().keyPem;
  }

  private issued(): IssuedCertificate & { keyPem: string } {
    if (this.current === undefined) throw new SwitchyardError(Code.Unavailable, `${this.id} has no certificate yet (await its \`ready\`)`);
    return this.current;
  }

  serverCredentials(requireClientCertificate: boolean): grpc.ServerCredentials {
    let c = this.servers.get(requireClientCertificate);
    if (c === undefined) this.servers.set(requireClientCertificate, (c = grpc.experimental.createCertificateProviderServerCredentials(this, this, requireClientCertificate)));
    return c;
  }

  channelCredentials(expectedPeer: string | undefined): grpc.ChannelCredentials {
    const key = expectedPeer ?? "";
    let c = this.channels.get(key);
    if (c === undefined) this.channels.set(key, (c = grpc.experimental.createCertificateProviderChannelCredentials(this, this, { checkServerIdentity: identityCheck(this.trustDomain, expectedPeer) })));
    return c;
  }

  /** Rotates now (tests; an operator's forced rotation). */
  async rotate(): Promise<void> {
    if (!this.o.renew) throw new SwitchyardError(Code.FailedPrecondition, `${this.id} has no way to renew its certificate`);
    const key = generateWorkloadKey();
    const issued = await this.o.renew(createCsr(key, this.id));
    if (this.closed) return;
    this.install({ ...issued, keyPem: key.keyPem });
  }

  /**
   * Puts a newly issued certificate (and the key it was issued for) in force: connections made from now on use it,
   * open ones keep theirs. For a workload certified from outside (a model server, which its serving service certifies);
   * `rotate` does it for one that renews itself.
   */
  install(issued: IssuedCertificate & { keyPem: string }): void {
    if (this.closed) return;
    const caChanged = issued.caPem !== this.current?.caPem;
    this.current = issued;
    this.rotations++;
    if (caChanged) for (const l of this.caListeners) l({ caCertificate: Buffer.from(issued.caPem) });
    for (const l of this.identityListeners) l({ certificate: Buffer.from(issued.certPem), privateKey: Buffer.from(issued.keyPem) });
    this.logger.info({ id: this.id, notAfter: new Date(issued.notAfterMs).toISOString() }, "certificate rotated");
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.o.onClose?.();
  }

  private schedule(delayMs?: number): void {
    if (!this.o.renew || this.closed) return;
    const left = this.current.notAfterMs - Date.now();
    const wait = delayMs ?? Math.max(0, left * (0.4 + 0.2 * this.random()));
    this.timer = setTimeout(() => {
      this.rotate().then(
        () => this.schedule(),
        (err: unknown) => {
          const remaining = this.current.notAfterMs - Date.now();
          if (remaining <= 0) {
            this.logger.error({ err: String(err), id: this.id, expiredAt: new Date(this.current.notAfterMs).toISOString() }, "certificate expired and could not be renewed");
            if (this.o.onExpired && !this.expiredReported) {
              this.expiredReported = true;
              this.o.onExpired();
            }
            this.schedule(5000);
            return;
          }
          const retry = Math.max(1000, Math.min(30_000, remaining / 10));
          this.logger.warn({ err: String(err), id: this.id, expiresInMs: remaining, retryInMs: Math.round(retry) }, "certificate renewal failed; retrying");
          this.schedule(retry);
        },
      );
    }, wait);
    this.timer.unref();
  }

  // The first update goes out after the current turn: grpc-js's server adds its context watcher only after it has
  // added these listeners (server.js createHttp2Server), so a synchronous first update would reach no watcher and the
  // server would drop every connection as "credentials not loaded".
  addCaCertificateListener(listener: CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    queueMicrotask(() => {
      if (this.current !== undefined && this.caListeners.has(listener)) listener({ caCertificate: Buffer.from(this.current.caPem) });
    });
  }
  removeCaCertificateListener(listener: CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.current !== undefined && this.identityListeners.has(listener)) listener({ certificate: Buffer.from(this.current.certPem), privateKey: Buffer.from(this.current.keyPem) });
    });
  }
  removeIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
  }
}

/**
 * What a workload holds before its first certificate: the CA to check `control` against. Its channels present no
 * certificate; the one call `control` answers on them is Identity.Enroll.
 */
export function bootstrapCredentials(caPem: string, trustDomain: string): MeshCredentials {
  const channels = new Map<string, grpc.ChannelCredentials>();
  return {
    id: undefined,
    trustDomain,
    serverCredentials() {
      throw new SwitchyardError(Code.FailedPrecondition, "a workload without a certificate cannot serve: enrol first");
    },
    channelCredentials(expectedPeer) {
      const key = expectedPeer ?? "";
      let c = channels.get(key);
      if (c === undefined) channels.set(key, (c = grpc.credentials.createSsl(Buffer.from(caPem), null, null, { checkServerIdentity: identityCheck(trustDomain, expectedPeer) })));
      return c;
    },
    close() {},
  };
}
