import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { stringify } from "yaml";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseJobManifest } from "./job-manifest.js";
import type { JobSpec } from "./job-spec.js";
import { REDACTED } from "./job-to-manifest.js";
import { redactManifest } from "./redact-manifest.js";

const YAML_JOB = `# the training job (comments survive)
apiVersion: switchyard/v1
kind: Job
metadata:
  name: mnist   # named
  team: vision
spec:
  command: [python, train.py]
  env:
    LR: "0.1"
    WANDB_API_KEY: {secretKeyRef: {name: wandb, key: api-key}}
    HF_TOKEN: {value: hf_AAAA1111, secret: true}   # inline
    MULTI:
      secret: true
      value: |
        line-one-BBBB
        line-two
  roles:
    - name: Master
      replicas: 1
    - name: Worker
      replicas: 2
      env:
        - {name: W, value: 'w0rk3r CCCC', secret: true}
        - {name: P, value: plain}
`;

/** The spec with every inline secret value replaced by REDACTED: what parsing the redacted manifest must give. */
function redactedSpec(spec: JobSpec): JobSpec {
  const blank = (s: JobSpec["secretEnv"]) => (s === undefined ? undefined : Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.kind === "inline" ? { kind: "inline", value: REDACTED } : v])));
  const out: JobSpec = structuredClone(spec);
  if (out.secretEnv) out.secretEnv = blank(out.secretEnv) as JobSpec["secretEnv"];
  for (const r of out.roles ?? []) if (r.secretEnv) r.secretEnv = blank(r.secretEnv) as JobSpec["secretEnv"];
  return out;
}

describe("redactManifest", () => {
  it("replaces every inline secret value with (secret) and leaves every other byte as it was", () => {
    const out = redactManifest(YAML_JOB);
    for (const secret of ["hf_AAAA1111", "line-one-BBBB", "line-two", "w0rk3r CCCC"]) assert.ok(!out.includes(secret), secret);
    const expected = YAML_JOB.replace("hf_AAAA1111", '"(secret)"')
      .replace("|\n        line-one-BBBB\n        line-two\n", '"(secret)"\n')
      .replace("'w0rk3r CCCC'", '"(secret)"');
    assert.equal(out, expected);
    assert.deepEqual(parseJobManifest(out, { acceptRedacted: true }).spec, redactedSpec(parseJobManifest(YAML_JOB).spec));
  });

  it("keeps a JSON manifest JSON", () => {
    const text = JSON.stringify({ apiVersion: "switchyard/v1", kind: "Job", metadata: { name: "a" }, spec: { command: ["x"], env: [{ name: "K", value: "json-DDDD", secret: true }, { name: "R", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] } }, null, 2);
    const out = redactManifest(text);
    assert.equal(out, text.replace('"json-DDDD"', '"(secret)"'));
    assert.deepEqual((JSON.parse(out) as { spec: { env: unknown[] } }).spec.env[0], { name: "K", value: REDACTED, secret: true });
  });

  it("blanks the anchor an aliased secret value points at", () => {
    const text = "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a}\nspec:\n  command: [x]\n  args: [&tok anchored-EEEE]\n  env:\n    K: {value: *tok, secret: true}\n";
    const out = redactManifest(text);
    assert.ok(!out.includes("anchored-EEEE"));
    assert.deepEqual(parseJobManifest(out, { acceptRedacted: true }).spec.secretEnv, { K: { kind: "inline", value: REDACTED } });
  });

  it("returns a manifest without inline secrets unchanged", () => {
    const volumes = "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nspec:\n  volumes: [{name: ssh, secret: {secretName: ssh, defaultMode: 256}}]\n";
    for (const text of [YAML_JOB.replace(/secret: true/g, "secret: false"), volumes, "", "# only a comment\n"]) {
      assert.equal(redactManifest(text), text);
    }
  });

  it("refuses text that is not one YAML document", () => {
    for (const text of ["a: [1, 2", "a: 1\n---\nb: 2\n", "{a: 1, a: 2}"]) {
      assert.throws(() => redactManifest(text), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument);
    }
  });

  it("never leaves an inline value in any manifest, whatever the value, form or output style", () => {
    const value = fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).map((v) => `S3CR3T${v}`);
    const form = fc.constantFrom("map", "list", "role");
    const style = fc.constantFrom("block", "flow", "json", "quoted");
    fc.assert(
      fc.property(fc.array(fc.tuple(value, form), { minLength: 1, maxLength: 4 }), style, (secrets, how) => {
        const map: Record<string, unknown> = { PLAIN: "p" };
        const list: unknown[] = [{ name: "PLAIN", value: "p" }];
        secrets.forEach(([v, f], i) => {
          if (f === "map") map[`M${i}`] = { value: v, secret: true };
          else list.push({ name: `L${i}`, value: v, secret: true });
        });
        const roles = [{ name: "Master", replicas: 1, env: map }, { name: "Worker", replicas: 1, env: list }];
        const doc = { apiVersion: "switchyard/v1", kind: "Job", metadata: { name: "fuzz" }, spec: { command: ["x"], env: map, roles } };
        const text =
          how === "json" ? JSON.stringify(doc, null, 2) :
          stringify(doc, { collectionStyle: how === "flow" ? "flow" : "block", defaultStringType: how === "quoted" ? "QUOTE_SINGLE" : "PLAIN" });
        const out = redactManifest(text);
        for (const [v] of secrets) assert.ok(!out.includes(v), `${JSON.stringify(v)} left in\n${out}`);
        assert.deepEqual(parseJobManifest(out, { acceptRedacted: true }).spec, redactedSpec(parseJobManifest(text).spec));
      }),
      { numRuns: 300 },
    );
  });
});
