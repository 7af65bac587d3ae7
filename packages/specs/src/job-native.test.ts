import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError, formatViolations } from "@switchyard/core";
import { parseJobManifest } from "./job-manifest.js";
import { nativeJobManifestSchema } from "./job-native.js";
import { violationsOf, where } from "./test-helpers.js";

const job = (spec: string, metadata = "  name: mnist") => `apiVersion: switchyard/v1\nkind: Job\nmetadata:\n${metadata}\nspec:\n${spec}\n`;

describe("native switchyard/v1 Job", () => {
  it("fills every default for a minimal spec", () => {
    const { spec, warnings, source } = parseJobManifest(job("  command: [python, train.py]"));
    assert.equal(source, "switchyard/v1");
    assert.deepEqual(warnings, []);
    assert.deepEqual(spec, {
      name: "mnist",
      team: "default",
      labels: {},
      queue: "default",
      priority: 0,
      replicas: 1,
      // No resources declared: nothing requested (Kubernetes' BestEffort), not a made-up 1 CPU / 1 GiB.
      resources: { gpus: 0, gpuMilli: 0, cpuMilli: 0, memoryMb: 0 },
      command: ["python", "train.py"],
      args: [],
      env: {},
      restartPolicy: "Never",
      backoffLimit: 0,
      suspend: false,
    });
  });

  it("reads every field of a full spec", () => {
    const text = job(
      [
        "  queue: gpu.large",
        "  priority: -5",
        "  replicas: 2",
        "  resources: {gpus: 2, cpu: 8, memory: 32Gi, gpuType: A100}",
        "  command: [torchrun]",
        "  args: [train.py, --lr, '0.1']",
        "  workingDir: ./runs",
        "  env: {LR: 0.1, DEBUG: true, NAME: x}",
        "  restartPolicy: ExitCode",
        "  activeDeadlineSeconds: 3600",
        "  ttlSecondsAfterFinished: 0",
        "  suspend: true",
        "  distributed: {framework: pytorch, nprocPerNode: auto}",
        "  image: pytorch/pytorch:2.3",
      ].join("\n"),
      "  name: resnet\n  team: vision\n  labels: {project: imagenet, v: 2}",
    );
    const { spec } = parseJobManifest(text, { baseDir: "/home/alice/exp" });
    assert.deepEqual(spec, {
      name: "resnet",
      team: "vision",
      labels: { project: "imagenet", v: "2" },
      queue: "gpu.large",
      priority: -5,
      replicas: 2,
      resources: { gpus: 2, gpuMilli: 0, cpuMilli: 8000, memoryMb: 32768, gpuType: "A100" },
      command: ["torchrun"],
      args: ["train.py", "--lr", "0.1"],
      workingDir: "/home/alice/exp/runs",
      env: { LR: "0.1", DEBUG: "true", NAME: "x" },
      restartPolicy: "ExitCode",
      backoffLimit: 3,
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 0,
      suspend: true,
      distributed: { framework: "pytorch", nprocPerNode: 2 },
      image: "pytorch/pytorch:2.3",
    });
  });

  it("reports every violation of a broken manifest at its exact line and column", () => {
    const text = [
      "apiVersion: switchyard/v1", //  1
      "kind: Job", //                  2
      "metadata:", //                  3  no name, no generateName
      "  nmae: mnist", //              4  unknown field
      "spec:", //                      5
      "  replicas: 0", //              6  must be ≥ 1
      "  resources:", //               7
      "    gpus: -1", //               8  negative
      "    memory: 4GB", //            9  not a quantity
      "  command: python train.py", // 10  a string, not a list
      "  restartPolicy: Sometimes", // 11  not an accepted value
      "  env:", //                    12
      "    2FAST: yes", //            13  bad env name
      "  queeu: gpu", //              14  unknown field
    ].join("\n");
    const details = violationsOf(text);
    assert.deepEqual(where(details), [
      "3:1 metadata",
      "4:3 metadata.nmae",
      "6:13 spec.replicas",
      "8:11 spec.resources.gpus",
      "9:13 spec.resources.memory",
      "10:12 spec.command",
      "11:18 spec.restartPolicy",
      '13:5 spec.env["2FAST"]',
      "14:3 spec.queeu",
    ]);
    for (const d of details) {
      assert.equal(d.file, "job.yaml");
      assert.ok(d.hint !== undefined && d.hint.length > 0, `${d.field} has a hint`);
      assert.ok(d.expected !== undefined, `${d.field} says what was expected`);
    }
    const byField = new Map(details.map((d) => [d.field, d]));
    assert.equal(byField.get("metadata.nmae")?.hint, "did you mean `name`?");
    assert.equal(byField.get("spec.queeu")?.hint, "did you mean `queue`?");
    assert.equal(byField.get("spec.replicas")?.got, "0");
    assert.equal(byField.get("spec.command")?.got, '"python train.py"');
    assert.match(byField.get("spec.resources.memory")?.hint ?? "", /4Gi/);
  });

  it("puts a one-line summary and the formatted violations in the message", () => {
    try {
      parseJobManifest(job("  replicas: -1\n  command: [x]"), { file: "train.yaml" });
      assert.fail("accepted");
    } catch (err) {
      assert.ok(err instanceof SwitchyardError);
      const [summary, ...rest] = err.message.split("\n");
      assert.equal(summary, "train.yaml: 1 problem in the job manifest");
      assert.equal(rest.join("\n"), formatViolations(err.details));
      assert.match(err.message, /^train\.yaml:6:13: spec\.replicas: must be ≥ 1/m);
    }
  });

  it("reports missing required fields where they belong", () => {
    assert.deepEqual(where(violationsOf("apiVersion: switchyard/v1\nkind: Job\n")), ["1:1 metadata", "1:1 spec"]);
    const details = violationsOf(job("  queue: default"));
    assert.deepEqual(where(details), ["5:1 spec.command"]);
    assert.equal(details[0]?.message, "is required");
  });

  it("asks for a command when only an image is given", () => {
    const [d] = violationsOf(job("  image: pytorch/pytorch:2.3"));
    assert.equal(d?.field, "spec.command");
    assert.match(d?.hint ?? "", /this engine runs processes, not images: add `command` \(the image's entrypoint\)/);
  });

  it("reports wrong types with what was expected and what was found", () => {
    const details = violationsOf(job("  command: [python]\n  suspend: 'yes'\n  priority: 1.5\n  args: oops\n  resources: 4"));
    assert.deepEqual(
      details.map((d) => [d.field, d.expected, d.got]),
      [
        ["spec.suspend", "true or false", '"yes"'],
        ["spec.priority", "a whole number", "1.5"],
        ["spec.args", "a list", '"oops"'],
        ["spec.resources", "a mapping", "4"],
      ],
    );
  });

  it("suggests the right place for fields written at the wrong level", () => {
    const details = violationsOf(job("  command: [x]\n  gpus: 1", "  name: a\n  namespace: vision"));
    assert.deepEqual(details.map((d) => [d.field, d.hint]), [
      ["metadata.namespace", "the owning team is `metadata.team` in this format"],
      ["spec.gpus", "put it under `spec.resources`, e.g. `resources: {gpus: 1, cpu: 4, memory: 16Gi}`"],
    ]);
  });

  it("reads a fraction of a GPU as gpuMilli and refuses a fraction above one", () => {
    const { spec } = parseJobManifest(job("  command: [x]\n  resources: {gpus: 0.25, cpu: 500m, memory: 512Mi}"));
    assert.deepEqual(spec.resources, { gpus: 0, gpuMilli: 250, cpuMilli: 500, memoryMb: 512 });
    const [d] = violationsOf(job("  command: [x]\n  resources: {gpus: 1.5}"));
    assert.equal(d?.field, "spec.resources.gpus");
    assert.match(d?.message ?? "", /above one GPU/);
  });

  it("reads each native amount as a request, and an amount left out as none of it", () => {
    const resources = (block: string) => parseJobManifest(job(`  command: [x]\n${block}`)).spec.resources;
    assert.deepEqual(resources("  resources: {cpu: 2}"), { gpus: 0, gpuMilli: 0, cpuMilli: 2000, memoryMb: 0 });
    assert.deepEqual(resources("  resources: {memory: 512Mi}"), { gpus: 0, gpuMilli: 0, cpuMilli: 0, memoryMb: 512 });
    assert.deepEqual(resources("  resources: {gpus: 1}"), { gpus: 1, gpuMilli: 0, cpuMilli: 0, memoryMb: 0 });
  });

  it("refuses negative CPU and memory", () => {
    const details = violationsOf(job("  command: [x]\n  resources: {cpu: -2, memory: '-1Gi'}"));
    assert.deepEqual(details.map((d) => d.message), ["CPU is negative", "memory is negative"]);
  });

  it("reads env as a map or as a Kubernetes list, as strings", () => {
    const list = parseJobManifest(job("  command: [x]\n  env:\n    - {name: A, value: 1}\n    - {name: B}\n    - {name: A, value: two}"));
    assert.deepEqual(list.spec.env, { A: "two", B: "" });
    const details = violationsOf(job("  command: [x]\n  env:\n    - {name: 9x, value: a}\n    - {name: OK, value: {a: 1}}"));
    assert.deepEqual(where(details), ["8:14 spec.env[0].name", "9:25 spec.env[1].value"]);
  });

  it("takes generateName instead of name, and refuses a manifest with neither", () => {
    const { spec } = parseJobManifest(job("  command: [x]", "  generateName: sweep-"));
    assert.equal(spec.generateName, "sweep-");
    assert.equal(spec.name, undefined);
    const [bad] = violationsOf(job("  command: [x]", "  name: My_Job"));
    assert.equal(bad?.field, "metadata.name");
    assert.equal(bad?.hint, "e.g. `my-job`");
    const both = parseJobManifest(job("  command: [x]", "  name: a\n  generateName: b-"));
    assert.deepEqual([both.spec.name, both.spec.generateName], ["a", undefined]);
    assert.match(both.warnings[0] ?? "", /generateName: ignored because `name` is set/);
  });

  it("fills roles from the job-level fields and adds up their replicas", () => {
    const text = job(
      ["  command: [torchrun, train.py]", "  resources: {gpus: 1}", "  roles:", "    - {name: Master, replicas: 1, resources: {gpus: 0.5}}", "    - {name: Worker, replicas: 3, args: [--worker]}"].join("\n"),
    );
    const { spec } = parseJobManifest(text);
    assert.equal(spec.replicas, 4);
    assert.deepEqual(spec.resources, { gpus: 0, gpuMilli: 500, cpuMilli: 0, memoryMb: 0 });
    assert.deepEqual(spec.roles?.map((r) => [r.name, r.replicas, r.command, r.args, r.resources.gpus]), [
      ["Master", 1, ["torchrun", "train.py"], [], 0],
      ["Worker", 3, ["torchrun", "train.py"], ["--worker"], 1],
    ]);
    const details = violationsOf(job("  command: [x]\n  replicas: 2\n  roles:\n    - {name: Worker, replicas: 3}"));
    assert.deepEqual(details.map((d) => d.field), ["spec.replicas", "spec.roles"]);
  });

  it("reads JSON as well as YAML, with positions", () => {
    const text = '{\n  "apiVersion": "switchyard/v1", "kind": "Job",\n  "metadata": {"name": "j"},\n  "spec": {"command": ["x"], "replicas": "2"}\n}';
    assert.deepEqual(where(violationsOf(text)), ["4:42 spec.replicas"]);
    assert.equal(parseJobManifest(text.replace('"2"', "2")).spec.replicas, 2);
  });

  it("reports malformed YAML at the YAML error's own position", () => {
    assert.deepEqual(where(violationsOf("apiVersion: switchyard/v1\nkind: Job\nmetadata:\n\t- x\n")), ["4:1 (yaml)"]);
    const [d] = violationsOf('{"apiVersion": "switchyard/v1",\n "kind": "Job",, }');
    assert.deepEqual([d?.line, d?.column, d?.hint], [2, 16, "fix the YAML syntax near this position"]);
    assert.deepEqual(where(violationsOf("kind: Job\nkind: Job\n")), ["2:1 (yaml)"]);
    assert.deepEqual(where(violationsOf("a: 1\n---\nb: 2\n")), ["2:1 (yaml)"]);
  });

  it("refuses documents that are not a mapping, and unknown apiVersions with a suggestion", () => {
    assert.deepEqual(where(violationsOf("")), ["1:1 (document)"]);
    assert.deepEqual(where(violationsOf("- a\n- b\n")), ["1:1 (document)"]);
    const [d] = violationsOf("apiVersion: switchyard/v2\nkind: Job\n");
    assert.equal(d?.hint, "did you mean `switchyard/v1`?");
  });

  it("throws InvalidArgument, not a crash, for alias bombs", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    assert.throws(() => parseJobManifest(bomb), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && /too large/.test(e.message));
  });

  it("exports a schema that accepts the manifests parseJobManifest accepts", () => {
    const ok = nativeJobManifestSchema.safeParse({ apiVersion: "switchyard/v1", kind: "Job", metadata: { name: "a" }, spec: { command: ["x"] } });
    assert.equal(ok.success, true);
    assert.equal(nativeJobManifestSchema.safeParse({ apiVersion: "switchyard/v1", kind: "Job", metadata: {}, spec: { cmd: [] } }).success, false);
  });
});
