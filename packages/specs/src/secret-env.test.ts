import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseJobManifest } from "./job-manifest.js";
import { secretKeyProblem, secretNameProblem } from "./secret-env.js";
import { assertWholeSpec, violationsOf, where } from "./test-helpers.js";

const job = (spec: string) => `apiVersion: switchyard/v1\nkind: Job\nmetadata:\n  name: mnist\n  team: vision\nspec:\n  command: [python, train.py]\n${spec}\n`;

const pytorchJob = (env: string) =>
  [
    "apiVersion: kubeflow.org/v1",
    "kind: PyTorchJob",
    "metadata: {name: pj, namespace: vision}",
    "spec:",
    "  pytorchReplicaSpecs:",
    "    Master:",
    "      replicas: 1",
    "      template:",
    "        spec:",
    "          containers:",
    "            - name: pytorch",
    "              command: [python, train.py]",
    "              env:",
    env,
    "    Worker:",
    "      replicas: 2",
    "      template:",
    "        spec:",
    "          containers:",
    "            - name: pytorch",
    "              command: [python, train.py]",
    "",
  ].join("\n");

describe("secret environment variables in the native format", () => {
  it("splits the map form into plain values, refs and inline secrets", () => {
    const { spec, warnings } = parseJobManifest(
      job(["  env:", "    LR: 0.1", "    WANDB_API_KEY: {secretKeyRef: {name: wandb, key: api-key}}", "    HF_TOKEN: {value: hf_s3cr3t, secret: true}", "    PLAIN: {value: 7}", "    S3: {secretKeyRef: {name: aws.creds, key: secret_access.key, optional: true}}"].join("\n")),
    );
    assert.deepEqual(warnings, []);
    assertWholeSpec(spec);
    assert.deepEqual(spec.env, { LR: "0.1", PLAIN: "7" });
    assert.deepEqual(spec.secretEnv, {
      WANDB_API_KEY: { kind: "ref", secret: "wandb", key: "api-key" },
      HF_TOKEN: { kind: "inline", value: "hf_s3cr3t" },
      S3: { kind: "ref", secret: "aws.creds", key: "secret_access.key", optional: true },
    });
  });

  it("splits the list form the same way", () => {
    const { spec } = parseJobManifest(
      job(["  env:", "    - {name: LR, value: 0.1}", "    - {name: WANDB_API_KEY, valueFrom: {secretKeyRef: {name: wandb, key: api-key}}}", "    - {name: HF_TOKEN, value: hf_s3cr3t, secret: true}", "    - {name: EMPTY}"].join("\n")),
    );
    assert.deepEqual(spec.env, { LR: "0.1", EMPTY: "" });
    assert.deepEqual(spec.secretEnv, { WANDB_API_KEY: { kind: "ref", secret: "wandb", key: "api-key" }, HF_TOKEN: { kind: "inline", value: "hf_s3cr3t" } });
  });

  it("leaves secretEnv out of a spec without secrets", () => {
    const { spec } = parseJobManifest(job("  env: {A: b, C: {value: d, secret: false}}"));
    assert.deepEqual(spec.env, { A: "b", C: "d" });
    assert.equal("secretEnv" in spec, false);
  });

  it("gives each role its own secret variables, and the job the Master's", () => {
    const { spec } = parseJobManifest(
      job(
        [
          "  env: {SHARED: {secretKeyRef: {name: wandb, key: api-key}}}",
          "  roles:",
          "    - {name: Master, replicas: 1}",
          "    - name: Worker",
          "      replicas: 2",
          "      env: [{name: ONLY_WORKERS, value: w0rk3r, secret: true}, {name: X, value: y}]",
        ].join("\n"),
      ),
    );
    assertWholeSpec(spec);
    const shared = { SHARED: { kind: "ref", secret: "wandb", key: "api-key" } };
    assert.deepEqual(spec.secretEnv, shared);
    assert.deepEqual(spec.roles?.[0]?.secretEnv, shared);
    assert.deepEqual(spec.roles?.[1]?.env, { X: "y" });
    assert.deepEqual(spec.roles?.[1]?.secretEnv, { ONLY_WORKERS: { kind: "inline", value: "w0rk3r" } });
  });

  it("refuses bad secret names and keys, and malformed secret entries, each at its line and column", () => {
    const text = job(
      [
        "  env:", //                                                    8
        "    A: {secretKeyRef: {name: Wandb_Keys, key: api-key}}", //    9  uppercase and _ in the name
        "    B: {secretKeyRef: {name: wandb, key: 'api key'}}", //       10 space in the key
        "    C: {secretKeyRef: {name: wandb}}", //                       11 no key
        "    D: {secret: true}", //                                      12 no value
        "    E: {value: x, secretKeyRef: {name: a, key: b}}", //         13 both
        "    F: {secretKeyref: {name: a, key: b}}", //                   14 misspelt
        "    G: {value: x, secret: yes}", //                             15 not a boolean
        "    H: {secretKeyRef: {name: a, key: ..b}}", //                 16 key starting with ..
      ].join("\n"),
    );
    const details = violationsOf(text);
    assert.deepEqual(where(details), [
      "9:30 spec.env.A.secretKeyRef.name",
      "10:42 spec.env.B.secretKeyRef.key",
      "11:9 spec.env.C.secretKeyRef.key",
      "12:8 spec.env.D",
      "13:33 spec.env.E.secretKeyRef",
      "14:8 spec.env.F",
      "14:9 spec.env.F.secretKeyref",
      "15:27 spec.env.G.secret",
      "16:38 spec.env.H.secretKeyRef.key",
    ]);
    const by = new Map(details.map((d) => [d.field, d]));
    assert.equal(by.get("spec.env.A.secretKeyRef.name")?.message, "is not a valid secret name");
    assert.equal(by.get("spec.env.A.secretKeyRef.name")?.hint, "e.g. `wandb-keys`");
    assert.match(by.get("spec.env.B.secretKeyRef.key")?.expected ?? "", /letters, digits, '-', '_' and '\.'/);
    assert.equal(by.get("spec.env.F.secretKeyref")?.hint, "did you mean `secretKeyRef`?");
    assert.match(by.get("spec.env.D")?.hint ?? "", /switchyard secrets create/);
    for (const d of details) assert.ok(d.hint && d.expected, `${d.field} has a hint and says what was expected`);
  });

  it("refuses a variable set both plainly and as a secret, at the second entry", () => {
    const details = violationsOf(job(["  env:", "    - {name: TOKEN, value: abc}", "    - {name: LR, value: 1}", "    - {name: TOKEN, valueFrom: {secretKeyRef: {name: s, key: k}}}"].join("\n")));
    assert.deepEqual(where(details), ["11:14 spec.env[2].name"]);
    assert.match(details[0]?.message ?? "", /sets TOKEN again, as a secret value: a variable is either plain or secret/);
    assert.match(details[0]?.hint ?? "", /remove one of the two entries for TOKEN/);
  });

  it("refuses secret and valueFrom where they make no sense in the list form", () => {
    const details = violationsOf(job(["  env:", "    - {name: A, value: x, valueFrom: {secretKeyRef: {name: s, key: k}}}", "    - {name: B, secret: true}", "    - {name: C, valueFrom: {configMapKeyRef: {name: s, key: k}}}"].join("\n")));
    assert.deepEqual(where(details), ["9:38 spec.env[0].valueFrom", "10:25 spec.env[1].secret", "11:17 spec.env[2].valueFrom.secretKeyRef", "11:29 spec.env[2].valueFrom.configMapKeyRef"]);
    assert.match(details.find((d) => d.field === "spec.env[2].valueFrom.configMapKeyRef")?.hint ?? "", /reads only team secrets/);
  });

  it("never puts an inline secret value in an error", () => {
    const value = "hunter2-UNIQUE-0xBEEF";
    const details = violationsOf(job(`  env:\n    - {name: A, value: ${value}, secret: true, valueFrom: {secretKeyRef: {name: s, key: k}}}\n    - {name: A, value: x}`));
    assert.ok(details.length > 0);
    assert.ok(!JSON.stringify(details).includes(value));
  });
});

describe("secretKeyRef in Kubeflow manifests", () => {
  it("reads PyTorchJob secretKeyRef from the team's secret store, Master and Worker alike", () => {
    const { spec, warnings } = parseJobManifest(
      pytorchJob(["                - {name: WANDB_API_KEY, valueFrom: {secretKeyRef: {name: wandb, key: api-key}}}", "                - {name: OPT, valueFrom: {secretKeyRef: {name: extra, key: k, optional: true}}}", "                - {name: A, value: b}"].join("\n")),
    );
    assert.deepEqual(warnings, []);
    assertWholeSpec(spec);
    const secretEnv = { WANDB_API_KEY: { kind: "ref", secret: "wandb", key: "api-key" }, OPT: { kind: "ref", secret: "extra", key: "k", optional: true } };
    assert.deepEqual(spec.env, { A: "b" });
    assert.deepEqual(spec.secretEnv, secretEnv);
    assert.deepEqual(spec.roles?.[0]?.secretEnv, secretEnv);
    assert.equal(spec.roles?.[1]?.secretEnv, undefined);
  });

  it("refuses a PyTorchJob secretKeyRef with a bad name, with value, or with a second source", () => {
    const details = violationsOf(
      pytorchJob(
        [
          "                - {name: A, valueFrom: {secretKeyRef: {name: My_Secret, key: k}}}", //               14
          "                - {name: B, value: x, valueFrom: {secretKeyRef: {name: s, key: k}}}", //             15
          "                - {name: C, valueFrom: {secretKeyRef: {name: s, key: k}, fieldRef: {fieldPath: x}}}", // 16
        ].join("\n"),
      ),
    );
    assert.deepEqual(where(details), [
      "14:62 spec.pytorchReplicaSpecs.Master.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name",
    ]);
    const rest = violationsOf(pytorchJob(["                - {name: B, value: x, valueFrom: {secretKeyRef: {name: s, key: k}}}", "                - {name: C, valueFrom: {secretKeyRef: {name: s, key: k}, fieldRef: {fieldPath: x}}}"].join("\n")));
    assert.deepEqual(where(rest), [
      "14:36 spec.pytorchReplicaSpecs.Master.template.spec.containers[0].env[0].value",
      "15:84 spec.pytorchReplicaSpecs.Master.template.spec.containers[0].env[1].valueFrom.fieldRef",
    ]);
  });

  it("reads TrainJob trainer env secretKeyRef", () => {
    const text = "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: t, namespace: nlp}\nspec:\n  trainer:\n    command: [x]\n    env:\n      - {name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf, key: token}}}\n";
    const { spec, warnings } = parseJobManifest(text);
    assert.deepEqual(warnings, []);
    assert.deepEqual(spec.secretEnv, { HF_TOKEN: { kind: "ref", secret: "hf", key: "token" } });
  });
});

describe("secret name and key rules", () => {
  it("accepts Kubernetes names and keys and refuses everything else", () => {
    for (const ok of ["wandb", "aws.creds", "a", "a-b.c-d", "x".repeat(253)]) assert.equal(secretNameProblem(ok), undefined, ok);
    for (const bad of ["", "Wandb", "a_b", "-a", "a-", "a..b", ".a", "x".repeat(254), "a/b"]) assert.ok(secretNameProblem(bad), bad);
    for (const ok of ["api-key", "API_KEY", ".dotfile", "a.b", "x".repeat(253)]) assert.equal(secretKeyProblem(ok), undefined, ok);
    for (const bad of ["", ".", "..", "..a", "a b", "a/b", "x".repeat(254), "ключ"]) assert.ok(secretKeyProblem(bad), bad);
  });

  it("suggests a valid name for any refused one", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (name) => {
        const p = secretNameProblem(name);
        if (p === undefined) return;
        const suggestion = /^e\.g\. `(.*)`$/.exec(p.hint ?? "")?.[1] ?? "";
        assert.equal(secretNameProblem(suggestion), undefined, `suggestion ${JSON.stringify(suggestion)} for ${JSON.stringify(name)}`);
      }),
      { numRuns: 500 },
    );
  });
});
