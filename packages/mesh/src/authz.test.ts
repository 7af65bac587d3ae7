// Istio AuthorizationPolicy enforced by mesh servers (policy-authz.ts, server-chain.ts): real mTLS, real certificates,
// callers known by their certificates and users by verified user tokens; policies hot-reloaded.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, SwitchyardError } from "@switchyard/core";
import { createClient } from "./client.js";
import type { WorkloadIdentity } from "./credentials.js";
import { startEcho, type EchoInstance } from "./echo-fixture.js";
import { Echo } from "./gen/switchyard/mesh/testing/v1/echo_pb.js";
import { parseMeshPolicies } from "./policy-parse.js";
import { loadOrCreateCa } from "./pki.js";
import { serviceId, spiffeId } from "./spiffe.js";
import { dataDirIdentity, localIdentity } from "./platform-identity.js";
import { createMeshRuntime } from "./runtime.js";
import { testRuntime, type TestRuntime } from "./test-support.js";
import type { MeshClient } from "./types.js";
import type { EndUser } from "./user-token.js";

const TD = "switchyard.local";
const AP = (name: string, body: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: system}\nspec:\n${body}`;
const ECHO = "/switchyard.mesh.testing.v1.Echo/Echo";
const WRITE = "/switchyard.mesh.testing.v1.Echo/Write";

describe("AuthorizationPolicy", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-authz-"));
  const ids: WorkloadIdentity[] = [];
  const clients: MeshClient<typeof Echo>[] = [];
  let server: TestRuntime;
  let echo: EchoInstance;
  const as = async (who: string, ns = "system"): Promise<MeshClient<typeof Echo>> => {
    const resolved = ns === "system" ? dataDirIdentity(dir, who) : await localIdentity(await loadOrCreateCa(dir, TD), spiffeId(TD, ns, who));
    await resolved.ready;
    ids.push(resolved);
    const c = createClient(Echo, { target: echo.address, peer: serviceId(TD, "echo"), defaultTimeoutMs: 5000, runtime: createMeshRuntime({ serviceName: who, credentials: resolved }) });
    clients.push(c);
    return c;
  };
  const denied = (pattern: RegExp) => (e: unknown) => e instanceof SwitchyardError && e.code === Code.PermissionDenied && pattern.test(e.message);
  const alice: EndUser = { user: "alice", teams: ["vision"], role: "member" };
  const vera: EndUser = { user: "vera", teams: ["vision"], role: "viewer" };

  before(async () => {
    const identity = dataDirIdentity(dir, "echo");
    ids.push(identity);
    await identity.ready;
    server = await testRuntime({ serviceName: "echo", credentials: identity });
    echo = await startEcho({ id: "e1", runtime: server.rt });
  });
  after(async () => {
    for (const c of clients) c.close();
    await echo.stop();
    for (const i of ids) i.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("allows every call while no policy selects the server", async () => {
    assert.equal((await (await as("jobs")).echo({})).instance, "e1");
  });

  it("ALLOW: only the principals and paths a rule names; everything else is PERMISSION_DENIED, before the handler runs", async () => {
    await server.apply({ allow: AP("echo-from-gateway", `  selector: {matchLabels: {app: echo}}\n  action: ALLOW\n  rules:\n  - from: [{source: {principals: ["${TD}/ns/system/sa/gateway"]}}]\n    to: [{operation: {paths: ["${ECHO}"]}}]\n`) });
    const events = server.record("authorization");
    const gateway = await as("gateway");
    const jobs = await as("jobs");
    assert.equal((await gateway.echo({})).instance, "e1");
    const calls = echo.counters.calls;
    await assert.rejects(jobs.echo({}), denied(/RBAC: access denied: echo refused .*Echo\/Echo to spiffe:\/\/switchyard.local\/ns\/system\/sa\/jobs \(AuthorizationPolicy system\/echo-from-gateway\)/));
    await assert.rejects(gateway.write({}), denied(/Echo\/Write/), "a path the rule does not name");
    assert.equal(echo.counters.calls, calls, "refused calls never reached the handler");
    assert.deepEqual(events.map((e) => [e.principal, e.method, e.allowed]), [[serviceId(TD, "jobs"), ECHO, false], [serviceId(TD, "gateway"), WRITE, false]]);
  });

  it("DENY wins over ALLOW, and `when` reads the verified user's claims", async () => {
    await server.apply({
      allow: AP("echo-from-gateway", `  selector: {matchLabels: {app: echo}}\n  rules:\n  - from: [{source: {namespaces: [system]}}]\n`),
      deny: AP("no-viewer-writes", `  action: DENY\n  rules:\n  - to: [{operation: {paths: ["*/Write"]}}]\n    when: [{key: "request.auth.claims[role]", values: [viewer]}]\n`),
    });
    const gateway = await as("gateway");
    assert.equal((await gateway.write({}, { user: alice })).instance, "e1");
    await assert.rejects(gateway.write({}, { user: vera }), denied(/for vera \(AuthorizationPolicy system\/no-viewer-writes\)/));
    assert.equal((await gateway.echo({}, { user: vera })).instance, "e1", "the viewer still reads");
    const team = await as("model-resnet", "vision");
    await assert.rejects(team.echo({}), denied(/ns\/vision\/sa\/model-resnet/), "a team's workload is not a platform service");
  });

  it("AUDIT marks matching calls without deciding, and a reload takes effect on the next call", async () => {
    await server.apply({ allow: AP("echo-from-gateway", "  action: AUDIT\n  rules:\n  - to: [{operation: {paths: [\"*/Write\"]}}]\n"), deny: AP("no-viewer-writes", "  action: DENY\n") });
    const events = server.record("authorization");
    const jobs = await as("jobs");
    await jobs.write({});
    await jobs.echo({});
    assert.deepEqual(events.map((e) => [e.method, e.allowed, e.audit]), [[WRITE, true, "system/echo-from-gateway"]], "only the audited call is recorded; a DENY without rules matches nothing");
    await server.apply({ allow: AP("echo-from-gateway", "  rules: []\n") });
    await assert.rejects(jobs.echo({}), denied(/echo-from-gateway/), "an ALLOW policy with no rules allows nothing (Istio)");
    server.source.delete("allow", "deny");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await jobs.echo({})).instance, "e1");
  });

  it("refuses fields it does not enforce by name, with where they are", () => {
    const bad = (body: string) => {
      try {
        parseMeshPolicies(AP("x", body), { source: "authz.yaml" });
        return "accepted";
      } catch (e) {
        return (e as SwitchyardError).message;
      }
    };
    assert.match(bad("  rules:\n  - from: [{source: {ipBlocks: [10.0.0.0/8]}}]\n"), /authz\.yaml:6:22: .*ipBlocks.*not enforced.*certificates, not their addresses/);
    assert.match(bad("  action: CUSTOM\n  provider: {name: ext}\n"), /action is ALLOW, DENY or AUDIT/);
    assert.match(bad("  selector: {matchLabels: {app: jobs, version: v1}}\n"), /matchLabels takes app or service only/, "a label that would select nothing is refused, not ignored");
    assert.match(bad("  rules:\n  - when: [{key: \"request.headers[x-user]\", values: [a]}]\n"), /the mesh evaluates source.principal/);
    assert.equal(bad("  selector: {matchLabels: {app: jobs}}\n  rules:\n  - from: [{source: {requestPrincipals: [\"*/alice\"]}}]\n    when: [{key: \"request.auth.claims[teams]\", values: [vision]}]\n"), "accepted");
  });
});
