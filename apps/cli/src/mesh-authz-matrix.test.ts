// The authorization matrix inside the mesh: every method of every service control, jobs, serving and experiments serve, called by every
// kind of caller a hostile or mistaken process could be, against the real services (in this process, on their real
// Unix sockets, mutual TLS, the default AuthorizationPolicies). Each cell says how far a call gets:
//   handshake — never reaches the server (no certificate of the platform CA);
//   unauthenticated — the server knows no platform service or user behind it;
//   rbac — an AuthorizationPolicy refuses it (PERMISSION_DENIED "RBAC: …") before the handler;
//   served — the handler ran and answered (whatever it answered: OK, NOT_FOUND, INVALID_ARGUMENT, its own refusal).
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DescService } from "@bufbuild/protobuf";
import { ConfigCenter, Experiments, Identity, Jobs, Queues, Registry, Secrets, Serving } from "@switchyard/api";
import { Code, noopLogger, SwitchyardError, type RunningService } from "@switchyard/core";
import { loadControlConfig, startControl } from "@switchyard/control";
import { loadJobsConfig, startJobs } from "@switchyard/jobs";
import { loadServingConfig, startServing } from "@switchyard/serving";
import { loadExperimentsConfig, startExperiments } from "@switchyard/experiments";
import { CertificateAuthority, loadOrCreateCa } from "@switchyard/mesh/ca";
import { createClient, createMeshRuntime, dataDirIdentity, DEFAULT_TRUST_DOMAIN, localIdentity, serviceId, spiffeId, WorkloadIdentity, type EndUser, type MeshCredentials } from "@switchyard/mesh";

type Outcome = "handshake" | "unauthenticated" | "rbac" | "served";
const TD = DEFAULT_TRUST_DOMAIN;
const alice: EndUser = { user: "alice", teams: ["default"], role: "member" };

interface Caller {
  readonly name: string;
  readonly credentials: MeshCredentials | undefined;
  readonly user?: EndUser;
}

describe("the authorization matrix of the mesh: every method of every service, every kind of caller", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-authz-matrix-"));
  const dataDir = join(dir, "data");
  let control: RunningService & { registry: { close(): Promise<void> } };
  let jobs: RunningService;
  let serving: RunningService;
  let experiments: RunningService;
  const callers: Caller[] = [];
  const identities: WorkloadIdentity[] = [];

  before(async () => {
    chmodSync(dir, 0o755);
    const env = { SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_JOBS_DIR: join(dir, "jobs"), SWITCHYARD_LOG_LEVEL: "error", SWITCHYARD_SIMULATE_GPUS: "1" };
    control = await startControl(loadControlConfig(env), noopLogger);
    jobs = await startJobs(loadJobsConfig(env), noopLogger, (control as unknown as { registry: never }).registry);
    serving = await startServing(loadServingConfig(env), noopLogger, (control as unknown as { registry: never }).registry);
    experiments = await startExperiments(loadExperimentsConfig(env), noopLogger, (control as unknown as { registry: never }).registry);
    const id = async (service: string) => {
      const i = dataDirIdentity(dataDir, service);
      identities.push(i);
      await i.ready;
      return i;
    };
    const team = await localIdentity(await loadOrCreateCa(dataDir, TD), spiffeId(TD, "vision", "model-resnet"));
    const foreignCa = (await CertificateAuthority.create(TD)).ca;
    const foreign = new WorkloadIdentity({ id: serviceId(TD, "gateway"), trustDomain: TD, issued: { ...(await foreignCa.issueWorkload(serviceId(TD, "gateway"), 600_000)), caPem: (await loadOrCreateCa(dataDir, TD)).caPem } });
    identities.push(team, foreign);
    const gateway = await id("gateway");
    callers.push(
      { name: "plaintext", credentials: undefined },
      { name: "another CA's gateway", credentials: foreign },
      { name: "a team's workload", credentials: team },
      { name: "jobs, naming a user", credentials: await id("jobs"), user: alice },
      { name: "the gateway, no user", credentials: gateway },
      { name: "the gateway, for alice", credentials: gateway, user: alice },
    );
  });
  after(async () => {
    for (const i of identities) i.close();
    await experiments?.stop();
    await serving?.stop();
    await jobs?.stop();
    await control?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function outcome(service: DescService, address: string, server: string, caller: Caller): Promise<Record<string, Outcome>> {
    const client = createClient(service, { target: address, peer: serviceId(TD, server), defaultTimeoutMs: 2000, runtime: createMeshRuntime({ serviceName: caller.name.replace(/\W+/g, "-"), ...(caller.credentials ? { credentials: caller.credentials } : {}) }) });
    const call = client as unknown as Record<string, (req: unknown, o: object) => unknown>;
    const o = caller.user ? { user: caller.user } : {};
    const classify = (err: unknown): Outcome => {
      const e = SwitchyardError.from(err);
      if (e.code === Code.Unavailable || e.code === Code.DeadlineExceeded) return "handshake";
      if (e.code === Code.Unauthenticated) return "unauthenticated";
      if (e.code === Code.PermissionDenied && e.message.startsWith("RBAC:")) return "rbac";
      return "served";
    };
    try {
      const entries = await Promise.all(
        service.methods.map(async (m): Promise<[string, Outcome]> => {
          if (m.methodKind === "unary") return [m.name, await (call[m.localName]!({}, o) as Promise<unknown>).then(() => "served" as const, classify)];
          // A stream: its first message or its error (every stream here answers at once when it is served: the
          // registry and the config center send their current state, the others NOT_FOUND for an empty request).
          try {
            for await (const _ of call[m.localName]!({}, { ...o, timeoutMs: 2000 }) as AsyncIterable<unknown>) break;
            return [m.name, "served"];
          } catch (err) {
            return [m.name, classify(err)];
          }
        }),
      );
      return Object.fromEntries(entries);
    } finally {
      client.close();
    }
  }

  /** What each caller must get from each method. */
  function expected(caller: string, server: "control" | "jobs" | "serving" | "experiments", service: string, method: string): Outcome {
    if (caller === "plaintext") return "handshake";
    if (caller === "another CA's gateway") {
      // jobs requires a certificate of the CA in the handshake; control asks for one without requiring it (a new
      // workload enrols without one), so the call gets in and only Enroll takes it (and refuses its empty token).
      if (server !== "control") return "handshake";
      return method === "Enroll" ? "served" : "unauthenticated";
    }
    if (server === "jobs") {
      if (caller === "a team's workload") return "rbac"; // jobs-platform-callers: ns/system only
      if (caller === "jobs, naming a user") return "rbac"; // users-via-gateway
      if (caller === "the gateway, no user") return "unauthenticated"; // the gateway always names the user
      return "served";
    }
    if (server === "serving" || server === "experiments") {
      if (caller === "a team's workload") return "unauthenticated"; // no platform service
      if (caller === "jobs, naming a user") return "rbac"; // users-via-gateway: only the gateway and the grant delegates name users
      if (caller === "the gateway, no user") return "unauthenticated"; // the gateway always names the user
      return "served";
    }
    // control: its CA and config center are never subject to policies (a bad one must stay repairable).
    if (service === "Identity") return "served"; // Enroll checks the token, Renew the caller's own certificate
    if (caller === "a team's workload") return "unauthenticated"; // no platform service
    if (service === "Registry") return caller === "jobs, naming a user" ? "rbac" : "served";
    // ConfigCenter: reads for every platform service; changes need an admin user or a service.
    const write = method === "PutDocuments" || method === "DeleteDocument";
    if (caller === "the gateway, no user") return write ? "unauthenticated" : "served";
    return "served";
  }

  it("refuses or serves every method exactly as the identity, the policies and the handlers say", async () => {
    const servers = [
      { server: "control" as const, address: control.address, services: [Registry, ConfigCenter, Identity] },
      { server: "jobs" as const, address: jobs.address, services: [Jobs, Queues, Secrets] },
      { server: "serving" as const, address: serving.address, services: [Serving] },
      { server: "experiments" as const, address: experiments.address, services: [Experiments] },
    ];
    const mismatches: string[] = [];
    let cells = 0;
    for (const caller of callers) {
      for (const s of servers) {
        for (const service of s.services) {
          const got = await outcome(service, s.address, s.server, caller);
          for (const m of service.methods) {
            cells++;
            const want = expected(caller.name, s.server, service.name, m.name);
            if (got[m.name] !== want) mismatches.push(`${caller.name} → ${s.server} ${service.name}.${m.name}: ${got[m.name]}, expected ${want}`);
          }
        }
      }
    }
    assert.deepEqual(mismatches, [], `${mismatches.length} of ${cells} cells differ`);
    assert.ok(cells > 150, `${cells} cells`);
  });
});
