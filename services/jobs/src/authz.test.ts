import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseJobManifest } from "@switchyard/specs";
import { authorizeRerunSecrets, serviceReaches, type Caller } from "./authz.js";

// Rerunning a job runs its stored spec as the caller's account: inline secret values (the submitter's) must not reach
// another member of the team that way.
const user = (name: string, role: "admin" | "member" | "viewer" = "member"): Caller => ({ kind: "user", user: name, teams: ["vision"], role, via: "gateway" });
const spec = (env: string) => parseJobManifest(`apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: ft, team: vision}\nspec:\n  command: [x]\n  env: ${env}\n`).spec;

describe("who may rerun a job", () => {
  const withInline = { name: "ft", user: "alice", spec: spec("{HF_TOKEN: {value: hf_abc, secret: true}, LR: '0.1'}") };
  const withRefs = { name: "ft", user: "alice", spec: spec("{WANDB: {secretKeyRef: {name: wandb, key: api-key}}}") };

  it("lets the submitter, an admin and a platform service rerun a job holding inline secret values", () => {
    for (const c of [user("alice"), user("root", "admin"), { kind: "service", service: "experiments" } as Caller]) assert.doesNotThrow(() => authorizeRerunSecrets(c, withInline));
  });

  it("refuses another member, naming the variables, and lets them rerun a job whose secrets are team refs", () => {
    assert.throws(
      () => authorizeRerunSecrets(user("bob"), withInline),
      (e: unknown) => e instanceof SwitchyardError && e.code === Code.FailedPrecondition && /inline secret values of alice \(HF_TOKEN\): only they or an admin/.test(e.message),
    );
    assert.doesNotThrow(() => authorizeRerunSecrets(user("bob"), withRefs), "a team secret is the team's: any writer may use it");
  });
});

describe("what a grant delegate reaches acting as itself", () => {
  it("serving and experiments touch only the jobs carrying their own label; other platform services and users are not limited here", () => {
    const serving: Caller = { kind: "service", service: "serving" };
    const experiments: Caller = { kind: "service", service: "experiments" };
    const gateway: Caller = { kind: "service", service: "control" };
    const replica = { "serving.switchyard.io/deployment": "iris" };
    const trial = { "experiments.switchyard.io/experiment": "lr-search" };
    assert.equal(serviceReaches(serving, replica), true);
    assert.equal(serviceReaches(serving, trial), false, "serving cannot cancel or read an experiment's trial");
    assert.equal(serviceReaches(serving, {}), false, "nor a team's own job");
    assert.equal(serviceReaches(experiments, trial), true);
    assert.equal(serviceReaches(experiments, replica), false);
    assert.equal(serviceReaches(experiments, undefined), false);
    assert.equal(serviceReaches(gateway, {}), true);
    assert.equal(serviceReaches({ kind: "user", user: "ann", teams: ["vision"], role: "member", via: "gateway" }, {}), true, "users are judged by their teams, elsewhere");
  });
});

