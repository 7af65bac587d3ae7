// Test helpers for inference at the edge: a gateway built in this process on port 0 with a real mesh runtime (mutual
// TLS from a data dir's CA, the serving service's routing policies for host `inference`), a stand-in for the serving
// service, and model servers on Unix sockets registered as `inference` instances. Not part of the service.
//
// The serving service has its own tests; here a small in-test Serving server stands in for it (GetDeployment and
// ActivateDeployment for the deployments a test declares, NOT_FOUND for any other), because the gateway's side of the
// contract is what is tested. Model servers are the real one (services/model-server's dist, ONNX Runtime on the demo
// model) and in-test GRPCInferenceService servers that double their FP32 input and record what reached them.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { createClient as createConnectClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Auth, DeploymentSchema, GRPCInferenceService, ModelServer, Platform, Serving, type Deployment, type ModelInferRequest } from "@switchyard/api";
import { loadOrCreateCa, type CertificateAuthority } from "@switchyard/mesh/ca";
import { Code, parseReadyLine, SwitchyardError } from "@switchyard/core";
import { decodeInputs, encodeOutputs } from "@switchyard/inference";
import {
  createClient,
  createMeshRuntime,
  createPolicyStore,
  createServer,
  dataDirIdentity,
  DEFAULT_TRUST_DOMAIN,
  localIdentity,
  MemoryPolicySource,
  spiffeId,
  WORKLOAD_LABEL,
  type WorkloadIdentity,
  MemoryRegistry,
  verifiedCaller,
  type CallContext,
  type MeshClient,
  type MeshServer,
  type ServiceImpl,
} from "@switchyard/mesh";
import type { EdgeLimits } from "./edge-limits.js";
import { createGateway, type Gateway, type GatewayOptions } from "./gateway.js";

const MODEL_SERVER_ENTRY = fileURLToPath(new URL("../../model-server/dist/main.js", import.meta.url));
const DEMO_TRAIN = fileURLToPath(new URL("../../../examples/demo-train/train.mjs", import.meta.url));

/** A deployment the stand-in knows: its team, and its revisions with their ready replicas and traffic. */
export interface TestDeployment {
  name: string;
  team: string;
  revisions: { number: number; ready: number; traffic: number; state?: string }[];
}

/** What the stand-in for the serving service saw: lookups and activations, with the user they were made for. */
export interface ServingCall {
  method: "GetDeployment" | "ActivateDeployment";
  name: string;
  user: string;
  waitMs?: number;
}

/**
 * Stands in for the serving service (which has its own tests): answers GetDeployment and ActivateDeployment for the
 * deployments a test declares, as the real one does for a caller (another team's is NOT_FOUND like a missing one),
 * and records each call. An activation waits until the test calls `markReady` (or the wait ends).
 */
export class ServingStandIn {
  readonly calls: ServingCall[] = [];
  readonly deployments = new Map<string, TestDeployment>();
  /** Deployments refused outright with PERMISSION_DENIED (as a service may refuse a caller). */
  readonly refused = new Set<string>();
  private readonly waiting = new Map<string, (() => void)[]>();

  declare(d: TestDeployment): void {
    this.deployments.set(d.name, d);
  }

  /** Gives revision `revision` of `name` a ready replica and answers the activations waiting for it. */
  markReady(name: string, revision = 1): void {
    const d = this.deployments.get(name)!;
    for (const r of d.revisions) if (r.number === revision) r.ready = Math.max(1, r.ready);
    for (const wake of this.waiting.get(name) ?? []) wake();
    this.waiting.delete(name);
  }

  /** Ends the waiting activations of `name` (they answer not ready). */
  release(name: string): void {
    for (const wake of this.waiting.get(name) ?? []) wake();
    this.waiting.delete(name);
  }

  toProto(d: TestDeployment): Deployment {
    const ready = d.revisions.reduce((n, r) => n + (r.traffic > 0 ? r.ready : 0), 0);
    return create(DeploymentSchema, {
      name: d.name,
      team: d.team,
      readyReplicas: ready,
      state: ready > 0 ? "Ready" : "ScaledToZero",
      message: ready > 0 ? "" : "scaled to zero: the next request starts a replica",
      revisions: d.revisions.map((r) => ({ number: r.number, readyReplicas: r.ready, state: r.state ?? "Active" })),
      traffic: d.revisions.map((r) => ({ revision: r.number, percent: r.traffic })),
    });
  }

  private visible(name: string, ctx: CallContext): { d: TestDeployment; user: string } {
    const c = verifiedCaller(ctx);
    if (c.kind !== "user") throw new SwitchyardError(Code.PermissionDenied, "a user is needed");
    if (this.refused.has(name)) throw new SwitchyardError(Code.PermissionDenied, `${c.user} may not use deployment "${name}"`);
    const d = this.deployments.get(name);
    // The real service's rule: another team's deployment answers exactly as a missing one.
    if (d === undefined || (c.role !== "admin" && !c.teams.includes(d.team))) throw new SwitchyardError(Code.NotFound, `deployment "${name}" not found`);
    return { d, user: c.user };
  }

  impl(): ServiceImpl<typeof Serving> {
    const unimplemented = async () => {
      throw new SwitchyardError(Code.Unimplemented, "not in the stand-in");
    };
    return {
      applyDeployment: unimplemented,
      listDeployments: unimplemented,
      deleteDeployment: unimplemented,
      promoteDeployment: unimplemented,
      rollbackDeployment: unimplemented,
      registerModel: unimplemented,
      listModels: unimplemented,
      deleteModel: unimplemented,
      getDeployment: async (req, ctx) => {
        const { d, user } = this.visible(req.name, ctx);
        this.calls.push({ method: "GetDeployment", name: req.name, user });
        return this.toProto(d);
      },
      activateDeployment: async (req, ctx) => {
        const { d, user } = this.visible(req.name, ctx);
        this.calls.push({ method: "ActivateDeployment", name: req.name, user, waitMs: Number(req.waitMs) });
        const isReady = () => d.revisions.some((r) => r.traffic > 0 && r.ready > 0);
        if (!isReady()) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, Number(req.waitMs));
            const wake = () => (clearTimeout(t), resolve());
            this.waiting.set(d.name, [...(this.waiting.get(d.name) ?? []), wake]);
            ctx.signal.addEventListener("abort", wake, { once: true });
          });
        }
        return { ready: isReady(), deployment: this.toProto(d) };
      },
    };
  }

  activations(name: string): ServingCall[] {
    return this.calls.filter((c) => c.method === "ActivateDeployment" && c.name === name);
  }
}

/** What a model-server stand-in received: the request and the metadata it came with. */
export interface Received {
  model: string;
  revision: string;
  metadata: Readonly<Record<string, string>>;
  request: ModelInferRequest;
}

/** The serving service's policies for host `inference` (as its traffic-policy.ts writes them): a subset per revision. */
export function inferencePolicies(deployments: readonly TestDeployment[]): Record<string, string> {
  const subsets: string[] = [];
  const routes: string[] = [];
  for (const d of deployments) {
    for (const r of d.revisions) {
      subsets.push(`  - name: ${d.name}-r${r.number}\n    labels: {model: ${d.name}, revision: "${r.number}"}`);
      routes.push(`  - match: [{headers: {x-switchyard-model: {exact: ${d.name}}, x-switchyard-revision: {exact: "${r.number}"}}}]\n    route: [{destination: {host: inference, subset: ${d.name}-r${r.number}}}]`);
    }
    const split = d.revisions.filter((r) => r.traffic > 0).map((r) => `{destination: {host: inference, subset: ${d.name}-r${r.number}}, weight: ${r.traffic}}`);
    routes.push(`  - match: [{headers: {x-switchyard-model: {exact: ${d.name}}}}]\n    route: [${split.join(", ")}]`);
  }
  return {
    "DestinationRule/serving-inference": `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: serving-inference}\nspec:\n  host: inference\n  subsets:\n${subsets.join("\n")}\n`,
    "VirtualService/serving-inference": `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: serving-inference}\nspec:\n  hosts: [inference]\n  http:\n${routes.join("\n")}\n`,
  };
}

export class InferencePlatform {
  readonly dir = mkdtempSync(join(tmpdir(), "switchyard-oip-"));
  readonly registry = new MemoryRegistry({ sweepMs: 20 });
  readonly serving = new ServingStandIn();
  readonly received: Received[] = [];
  gateway!: Gateway;
  url!: string;
  adminToken!: string;
  private servingServer!: MeshServer;
  private readonly replicas: { server: MeshServer; leaseId: number | undefined }[] = [];
  private readonly processes: { child: ChildProcess; leaseId: number }[] = [];
  private readonly clients: MeshClient<never>[] = [];
  private readonly identities: WorkloadIdentity[] = [];
  private ca!: CertificateAuthority;

  static async start(deployments: readonly TestDeployment[], o: { limits?: Partial<EdgeLimits>; inference?: NonNullable<GatewayOptions["inference"]>["options"] } = {}): Promise<InferencePlatform> {
    const p = new InferencePlatform();
    for (const d of deployments) p.serving.declare(d);
    const dataDir = join(p.dir, "data");
    mkdirSync(dataDir, { mode: 0o700 });
    const servingIdentity = dataDirIdentity(dataDir, "serving");
    const gatewayIdentity = dataDirIdentity(dataDir, "gateway");
    await Promise.all([servingIdentity.ready, gatewayIdentity.ready]);
    p.ca = await loadOrCreateCa(dataDir, DEFAULT_TRUST_DOMAIN);
    p.servingServer = createServer({ name: "serving", host: "127.0.0.1", registry: p.registry, runtime: createMeshRuntime({ serviceName: "serving", credentials: servingIdentity }) }).add(Serving, p.serving.impl());
    await p.servingServer.start();
    // The gateway's runtime as start.ts builds it: its certificate, the policies in force, mutual TLS to each replica as
    // the team workload its registration names.
    const source = new MemoryPolicySource();
    source.apply(inferencePolicies(deployments));
    const policies = createPolicyStore({ source });
    await policies.ready();
    const runtime = createMeshRuntime({ serviceName: "gateway", credentials: gatewayIdentity, policies, workloadHosts: ["inference"] });
    const serving = createClient(Serving, { target: "mesh:///serving", registry: p.registry, runtime });
    const inference = createClient(GRPCInferenceService, { target: "mesh:///inference", registry: p.registry, runtime });
    p.clients.push(serving as never, inference as never);
    p.gateway = await createGateway({
      dbPath: join(p.dir, "gateway.db"),
      forwards: [],
      inference: { serving, inference, ...(o.inference ? { options: o.inference } : {}) },
      adminTokenFile: join(p.dir, "admin-token"),
      limits: { authFailuresPerSecond: 1_000_000, ...(o.limits ?? {}) },
    });
    p.url = `http://127.0.0.1:${await p.gateway.listen(0, "127.0.0.1")}`;
    p.adminToken = p.gateway.adminToken!;
    return p;
  }

  /**
   * Starts a model-server stand-in for revision `revision` of `model` on a Unix socket with its team's workload
   * certificate (mutual TLS, as replicas serve) and registers it as an `inference` instance with the serving service's
   * labels. It doubles FP32 inputs.
   */
  async startReplica(model: string, revision: number, team: string): Promise<void> {
    const socketPath = join(this.dir, `${model}-${revision}-${this.replicas.length}.sock`);
    const id = spiffeId(DEFAULT_TRUST_DOMAIN, team, `model-${model}`);
    const credentials = await localIdentity(this.ca, id);
    this.identities.push(credentials);
    const server = createServer({ name: "inference", socketPath, runtime: createMeshRuntime({ serviceName: "model-server", credentials }) }).add(GRPCInferenceService, {
      serverLive: async () => ({ live: true }),
      serverReady: async () => ({ ready: true }),
      serverMetadata: async () => ({ name: "model-server", version: "test", extensions: [] }),
      modelReady: async () => ({ ready: true }),
      modelMetadata: async () => ({
        name: model,
        versions: [String(revision)],
        platform: "onnxruntime_onnx",
        inputs: [{ name: "x", datatype: "FP32", shape: [-1n, 2n] }],
        outputs: [{ name: "y", datatype: "FP32", shape: [-1n, 2n] }],
      }),
      modelInfer: async (req: ModelInferRequest, ctx: CallContext) => {
        this.received.push({ model, revision: String(revision), metadata: { ...ctx.metadata }, request: req });
        const [x] = decodeInputs(req);
        if (x === undefined || x.datatype !== "FP32") throw new SwitchyardError(Code.InvalidArgument, "expected one FP32 input");
        // Raw contents back when the request came raw, as the model server (and Triton) answer.
        const out = encodeOutputs([{ name: "y", datatype: "FP32", shape: x.shape, data: (x.data as Float32Array).map((v) => v * 2) }], { raw: req.rawInputContents.length > 0 });
        return { modelName: model, modelVersion: String(revision), id: req.id, ...out };
      },
    });
    const address = await server.start();
    const lease = await this.registry.register({ service: "inference", address, labels: { model, revision: String(revision), team, [WORKLOAD_LABEL]: id }, instanceId: `${model}-${revision}-${this.replicas.length}` }, 600_000);
    this.replicas.push({ server, leaseId: lease.leaseId });
  }

  /** Trains the demo model for one epoch (an MLP, input `input` FP32 [-1, 2], output `probabilities` [-1, 3]). */
  demoModel(): string {
    const out = join(this.dir, "demo-model");
    const r = spawnSync(process.execPath, [DEMO_TRAIN, "--epochs", "1"], { env: { ...process.env, SWITCHYARD_OUTPUT_DIR: out }, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`demo-train failed: ${r.stderr}`);
    return join(out, "model.onnx");
  }

  /** Starts the real model server (its dist) on `modelPath`, certifies and registers it as the serving service would. */
  async startModelServer(model: string, revision: number, team: string, modelPath: string): Promise<void> {
    const socket = join(this.dir, `ms-${model}-${revision}.sock`);
    const child = spawn(process.execPath, [MODEL_SERVER_ENTRY, "--name", model, "--revision", String(revision), "--model", modelPath, "--socket", socket, "--grace-ms", "1000"], {
      env: { ...process.env, SWITCHYARD_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const address = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (l) => {
        const ready = parseReadyLine(l);
        if (ready) resolve(ready.address);
      });
      child.once("exit", (code, sig) => reject(new Error(`model-server exited before ready: ${code} ${sig}`)));
    });
    // Its team's identity: a certificate request from it, the CA's certificate back (as serving does with control).
    const id = spiffeId(DEFAULT_TRUST_DOMAIN, team, `model-${model}`);
    const control = createClient(ModelServer, { target: address, runtime: createMeshRuntime({ serviceName: "serving" }), healthCheck: false });
    let mtls: string;
    try {
      const { csrPem } = await control.requestCertificate({ spiffeId: id });
      const issued = await this.ca.issue(csrPem, id, 600_000);
      mtls = (await control.installCertificate({ certificatePem: issued.certPem, caPem: issued.caPem, notAfterMs: BigInt(issued.notAfterMs) })).address;
    } finally {
      control.close();
    }
    const lease = await this.registry.register({ service: "inference", address: mtls, labels: { model, revision: String(revision), team, [WORKLOAD_LABEL]: id }, instanceId: `ms-${model}-${revision}` }, 600_000);
    this.processes.push({ child, leaseId: lease.leaseId });
  }

  /** Connect (JSON over HTTP/1.1) or gRPC clients of the gateway's inference, auth and platform services. */
  clientsFor(token: string | undefined, protocol: "connect" | "grpc" = "grpc", headers: Record<string, string> = {}): { inference: Client<typeof GRPCInferenceService>; auth: Client<typeof Auth>; platform: Client<typeof Platform> } {
    const auth: Interceptor = (next) => (req) => {
      if (token) req.header.set("authorization", `Bearer ${token}`);
      for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
      return next(req);
    };
    const transport = protocol === "grpc" ? createGrpcTransport({ baseUrl: this.url, interceptors: [auth] }) : createConnectTransport({ baseUrl: this.url, httpVersion: "1.1", interceptors: [auth] });
    return { inference: createConnectClient(GRPCInferenceService, transport), auth: createConnectClient(Auth, transport), platform: createConnectClient(Platform, transport) };
  }

  async token(user: string, teams: string[], role: "admin" | "member" | "viewer"): Promise<string> {
    return (await this.clientsFor(this.adminToken, "connect").auth.createToken({ user, teams, role })).token;
  }

  async rest(method: string, path: string, o: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<{ status: number; headers: Headers; text: string; json: unknown }> {
    const headers: Record<string, string> = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers };
    let body = o.rawBody;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(this.url + path, { method, headers, ...(body !== undefined ? { body } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  async stop(): Promise<void> {
    await this.gateway.close();
    for (const c of this.clients) c.close();
    for (const r of this.replicas) {
      if (r.leaseId !== undefined) await this.registry.deregister(r.leaseId);
      await r.server.stop(100);
    }
    for (const { child, leaseId } of this.processes) {
      await this.registry.deregister(leaseId);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
    }
    await this.servingServer.stop(100);
    for (const i of this.identities) i.close();
    await this.registry.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
