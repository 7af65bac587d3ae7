import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseJobManifest } from "@switchyard/specs";
import { authorizeRerunSecrets, type Caller } from "./authz.js";

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
