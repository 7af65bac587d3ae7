// The AuthorizationPolicies a new platform starts with: valid as the mesh parses them, and deciding what they say.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { compileMeshPolicies, DEFAULT_TRUST_DOMAIN, defaultAuthorizationPolicies, parseMeshPolicies, serviceId, spiffeId } from "@switchyard/mesh";
import { openSqlite } from "@switchyard/store";
import { ConfigStore, migrations, type ControlDatabase } from "./config-store.js";
import { seedDefaultPolicies } from "./default-policies.js";

const TD = DEFAULT_TRUST_DOMAIN;
const GATEWAY = serviceId(TD, "gateway");
const user = { user: "alice", role: "member" as const, teams: ["vision"], issuer: GATEWAY };

describe("default AuthorizationPolicies", () => {
  const compiled = compileMeshPolicies(defaultAuthorizationPolicies(TD).flatMap((d) => parseMeshPolicies(d.content, { source: d.name }).resources));
  const jobs = compiled.authorization("jobs")!;
  const control = compiled.authorization("control")!;
  const path = "/switchyard.v1.Jobs/SubmitJob";

  it("let platform services call jobs, and the gateway speak for users", () => {
    assert.equal(jobs.decide({ principal: GATEWAY, path, user }).allowed, true);
    assert.equal(jobs.decide({ principal: serviceId(TD, "tests"), path, user: undefined }).allowed, true);
  });

  it("refuse a team's workload at jobs, and a user named by any service but the gateway, everywhere", () => {
    const team = jobs.decide({ principal: spiffeId(TD, "vision", "model-resnet"), path, user: undefined });
    assert.deepEqual(team, { allowed: false, policy: "system/jobs-platform-callers", audit: undefined });
    for (const a of [jobs, control]) {
      const relayed = a.decide({ principal: serviceId(TD, "jobs"), path, user: { ...user, issuer: serviceId(TD, "jobs") } });
      assert.deepEqual(relayed, { allowed: false, policy: "system/users-via-gateway", audit: undefined });
    }
    assert.equal(control.decide({ principal: serviceId(TD, "jobs"), path: "/switchyard.v1.Registry/Register", user: undefined }).allowed, true, "services' own calls to control");
  });

  it("are written once, into a new config center only", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-defaults-"));
    try {
      const opened = await openSqlite<ControlDatabase>({ path: join(dir, "control.db"), migrations });
      const store = new ConfigStore(opened.db);
      assert.equal(await seedDefaultPolicies(store, TD), true);
      assert.deepEqual((await store.list("mesh")).map((d) => d.name), ["jobs-platform-callers", "users-via-gateway"]);
      await store.remove({ namespace: "mesh", kind: "AuthorizationPolicy", name: "users-via-gateway" });
      await store.bumpRevision();
      assert.equal(await seedDefaultPolicies(store, TD), false, "an operator's deletion stands");
      assert.deepEqual((await store.list("mesh")).map((d) => d.name), ["jobs-platform-callers"]);
      await opened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
