// Test helpers: a real `jobs` service process (real SQLite, real executor, real sockets) behind a gateway built in
// this process on port 0 (so tests can give it a fake clock), and clients for every protocol it speaks. Not part of
// the service.
import type { OidcRule } from "./oidc.js";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { DescService } from "@bufbuild/protobuf";
import { createClient as createConnectClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Auth, Jobs, Platform, Queues } from "@switchyard/api";
import { parseReadyLine, type Clock, type Logger } from "@switchyard/core";
import { createClient, createMeshRuntime, dataDirIdentity, DEFAULT_TRUST_DOMAIN, serviceId, type MeshClient } from "@switchyard/mesh";
import type { EdgeLimits } from "./edge-limits.js";
import { createGateway, type Gateway } from "./gateway.js";

const JOBS_ENTRY = fileURLToPath(new URL("../../jobs/dist/main.js", import.meta.url));

export interface Clients {
  jobs: Client<typeof Jobs>;
  auth: Client<typeof Auth>;
  platform: Client<typeof Platform>;
}

export interface RestResult {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export class TestPlatform {
  readonly dir = mkdtempSync(join(tmpdir(), "switchyard-gw-"));
  jobsProc!: ChildProcess;
  gateway!: Gateway;
  url!: string;
  adminToken!: string;
  private readonly meshClients: MeshClient<DescService>[] = [];

  static async start(o: { clock?: Clock; gpus?: number; limits?: Partial<EdgeLimits>; logger?: Logger; requestAuthentication?: readonly OidcRule[]; webDir?: string } = {}): Promise<TestPlatform> {
    const p = new TestPlatform();
    const child = spawn(process.execPath, [JOBS_ENTRY], {
      env: { ...process.env, SWITCHYARD_DATA_DIR: join(p.dir, "data"), SWITCHYARD_GRACE_MS: "1000", SWITCHYARD_LOG_LEVEL: "warn", SWITCHYARD_SIMULATE_GPUS: String(o.gpus ?? 2), SWITCHYARD_PORT: "0" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    p.jobsProc = child;
    const address = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (l) => {
        const ready = parseReadyLine(l);
        if (ready) resolve(ready.address);
      });
      child.once("exit", (code, sig) => reject(new Error(`jobs exited before ready: ${code} ${sig}`)));
    });
    // The gateway's calls prove they are the gateway's (a certificate from the CA of the jobs service's data dir), and
    // carry user tokens minted for jobs.
    const identity = dataDirIdentity(join(p.dir, "data"), "gateway");
    await identity.ready;
    const runtime = createMeshRuntime({ serviceName: "gateway", credentials: identity });
    const forwards = [Jobs, Queues].map((service) => {
      const client = createClient(service, { target: address, peer: serviceId(DEFAULT_TRUST_DOMAIN, "jobs"), runtime }) as MeshClient<DescService>;
      p.meshClients.push(client);
      return { service: service as DescService, client };
    });
    p.gateway = await createGateway({
      dbPath: join(p.dir, "gateway.db"),
      forwards,
      adminTokenFile: join(p.dir, "admin-token"),
      status: async () => [{ service: "jobs", addresses: [address] }],
      ...(o.clock ? { clock: o.clock } : {}),
      // Tests that send floods of bad credentials from 127.0.0.1 on purpose (fuzzing, the authz matrix) are not the
      // attack the per-address budget is for: it gets its own test (edge-connections.test.ts).
      limits: { authFailuresPerSecond: 1_000_000, ...(o.limits ?? {}) },
      ...(o.logger ? { logger: o.logger } : {}),
      ...(o.requestAuthentication ? { requestAuthentication: o.requestAuthentication } : {}),
      ...(o.webDir ? { webDir: o.webDir } : {}),
    });
    const port = await p.gateway.listen(0, "127.0.0.1");
    p.url = `http://127.0.0.1:${port}`;
    p.adminToken = p.gateway.adminToken!;
    return p;
  }

  /** Connect (JSON over HTTP/1.1) or gRPC (HTTP/2, cleartext) clients on the gateway's one port. */
  clients(token: string | undefined, protocol: "connect" | "grpc" = "connect", headers: Record<string, string> = {}): Clients {
    const auth: Interceptor = (next) => (req) => {
      if (token) req.header.set("authorization", `Bearer ${token}`);
      for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
      return next(req);
    };
    const transport = protocol === "grpc" ? createGrpcTransport({ baseUrl: this.url, interceptors: [auth] }) : createConnectTransport({ baseUrl: this.url, httpVersion: "1.1", interceptors: [auth] });
    return { jobs: createConnectClient(Jobs, transport), auth: createConnectClient(Auth, transport), platform: createConnectClient(Platform, transport) };
  }

  async rest(method: string, path: string, o: { token?: string | undefined; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {}): Promise<RestResult> {
    const headers: Record<string, string> = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers };
    let body: string | undefined = o.rawBody;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(this.url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /** A token for `user` in `teams` with `role`, issued by the bootstrap admin. */
  async token(user: string, teams: string[], role: "admin" | "member" | "viewer", ttlSeconds = 0): Promise<string> {
    const r = await this.clients(this.adminToken).auth.createToken({ user, teams, role, ttlSeconds: BigInt(ttlSeconds) });
    return r.token;
  }

  async stop(): Promise<void> {
    await this.gateway.close();
    for (const c of this.meshClients) c.close();
    if (this.jobsProc.exitCode === null && this.jobsProc.signalCode === null) {
      const exited = new Promise((r) => this.jobsProc.once("exit", r));
      this.jobsProc.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A manifest for a job that waits suspended (it never starts a process), in `team`. */
export function suspendedJob(name: string, team: string): string {
  return `apiVersion: switchyard/v1
kind: Job
metadata:
  name: ${name}
  team: ${team}
spec:
  suspend: true
  resources: {cpu: 10m, memory: 16Mi}
  command: [/bin/true]
`;
}
