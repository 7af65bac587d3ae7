import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SwitchyardError } from "@switchyard/core";
import fc from "fast-check";
import { stringify } from "yaml";
import { parseJobManifest } from "./job-manifest.js";
import type { JobResources, JobRole, JobSpec, SecretEnvSource } from "./job-spec.js";
import { REDACTED, jobSpecToManifest } from "./job-to-manifest.js";

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/);
const resources: fc.Arbitrary<JobResources> = fc
  .record({
    gpu: fc.oneof(fc.record({ gpus: fc.integer({ min: 0, max: 8 }), gpuMilli: fc.constant(0) }), fc.record({ gpus: fc.constant(0), gpuMilli: fc.integer({ min: 1, max: 999 }) })),
    cpuMilli: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 256_000 })),
    memoryMb: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4_000_000 })),
    gpuType: fc.option(fc.constantFrom("A100", "H100", "rtx-4090"), { nil: undefined }),
  })
  .map(({ gpu, cpuMilli, memoryMb, gpuType }) => (gpuType === undefined ? { ...gpu, cpuMilli, memoryMb } : { ...gpu, cpuMilli, memoryMb, gpuType }));
const text = fc.string({ unit: "grapheme", maxLength: 12 });
const env = fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,10}$/), text, { maxKeys: 4, noNullPrototype: true });
const absPath = fc.array(fc.stringMatching(/^[a-z0-9_.-]{1,8}$/).filter((s) => s !== "." && s !== ".."), { minLength: 1, maxLength: 3 }).map((p) => `/${p.join("/")}`);
const secretRef: fc.Arbitrary<SecretEnvSource> = fc
  .record({
    secret: fc.array(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?$/), { minLength: 1, maxLength: 3 }).map((p) => p.join(".")),
    key: fc.stringMatching(/^[-_a-zA-Z0-9][-._a-zA-Z0-9]{0,12}$/),
    optional: fc.boolean(),
  })
  .map(({ secret, key, optional }) => (optional ? { kind: "ref", secret, key, optional: true } : { kind: "ref", secret, key }));
const secretEnv = fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,10}$/), secretRef, { maxKeys: 3, noNullPrototype: true });
const perReplica = fc
  .record({
    command: fc.array(text, { minLength: 1, maxLength: 3 }),
    args: fc.array(text, { maxLength: 3 }),
    env,
    secretEnv,
    workingDir: fc.option(absPath, { nil: undefined }),
    resources,
  })
  .map((r) => {
    // A name is plain or secret, never both; an empty secretEnv is absent.
    for (const name of Object.keys(r.env)) delete r.secretEnv[name];
    return r;
  });

const jobSpec: fc.Arbitrary<JobSpec> = fc
  .record({
    id: fc.oneof(label.map((name) => ({ name })), fc.stringMatching(/^[a-z0-9][-a-z0-9]{0,20}$/).map((generateName) => ({ generateName }))),
    team: label,
    labels: fc.dictionary(fc.stringMatching(/^[a-z]([-a-z0-9_.]{0,8}[a-z0-9])?$/), fc.stringMatching(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?)?$/), { maxKeys: 3, noNullPrototype: true }),
    queue: fc.array(label, { minLength: 1, maxLength: 2 }).map((p) => p.join(".")),
    priority: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    replicas: fc.integer({ min: 1, max: 64 }),
    main: perReplica,
    restartPolicy: fc.constantFrom("Never" as const, "OnFailure" as const, "ExitCode" as const),
    backoffLimit: fc.nat(100),
    activeDeadlineSeconds: fc.option(fc.integer({ min: 1, max: 10 ** 9 }), { nil: undefined }),
    ttlSecondsAfterFinished: fc.option(fc.nat(10 ** 9), { nil: undefined }),
    suspend: fc.boolean(),
    nproc: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
    image: fc.option(fc.stringMatching(/^[a-z0-9./:-]{1,30}$/), { nil: undefined }),
    worker: fc.option(fc.record({ replicas: fc.integer({ min: 1, max: 16 }), r: perReplica }), { nil: undefined }),
  })
  .map((g) => {
    const spec: JobSpec = {
      ...g.id, team: g.team, labels: g.labels, queue: g.queue, priority: g.priority, replicas: g.replicas,
      resources: g.main.resources, command: g.main.command, args: g.main.args, env: g.main.env,
      restartPolicy: g.restartPolicy, backoffLimit: g.backoffLimit, suspend: g.suspend,
    };
    if (Object.keys(g.main.secretEnv).length > 0) spec.secretEnv = g.main.secretEnv;
    if (g.main.workingDir !== undefined) spec.workingDir = g.main.workingDir;
    if (g.activeDeadlineSeconds !== undefined) spec.activeDeadlineSeconds = g.activeDeadlineSeconds;
    if (g.ttlSecondsAfterFinished !== undefined) spec.ttlSecondsAfterFinished = g.ttlSecondsAfterFinished;
    if (g.nproc !== undefined) spec.distributed = { framework: "pytorch", nprocPerNode: g.nproc };
    if (g.image !== undefined) spec.image = g.image;
    if (g.worker !== undefined) {
      const role = (name: JobRole["name"], replicas: number, r: typeof g.main): JobRole => {
        const out: JobRole = { name, replicas, command: r.command, args: r.args, env: r.env, resources: r.resources };
        if (Object.keys(r.secretEnv).length > 0) out.secretEnv = r.secretEnv;
        if (r.workingDir !== undefined) out.workingDir = r.workingDir;
        return out;
      };
      spec.roles = [role("Master", 1, g.main), role("Worker", g.worker.replicas, g.worker.r)];
      spec.replicas = 1 + g.worker.replicas;
    }
    return spec;
  });

describe("jobSpecToManifest", () => {
  it("writes every default out so that a reader sees what will run", () => {
    const { spec } = parseJobManifest("apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a}\nspec: {command: [x], resources: {gpus: 0.5, cpu: 1.5, memory: 1536Mi}}\n");
    assert.deepEqual(jobSpecToManifest(spec), {
      apiVersion: "switchyard/v1",
      kind: "Job",
      metadata: { name: "a", team: "default", labels: {} },
      spec: {
        queue: "default", priority: 0, replicas: 1, resources: { gpus: 0.5, cpu: "1500m", memory: "1536Mi" },
        command: ["x"], args: [], env: {}, restartPolicy: "Never", backoffLimit: 0, suspend: false,
      },
    });
  });

  it("round-trips any valid JobSpec through YAML and through JSON", () => {
    fc.assert(
      fc.property(jobSpec, (spec) => {
        const manifest = jobSpecToManifest(spec);
        const viaYaml = parseJobManifest(stringify(manifest));
        assert.deepEqual(viaYaml.spec, spec);
        assert.deepEqual(viaYaml.warnings, []);
        assert.deepEqual(parseJobManifest(JSON.stringify(manifest)).spec, spec);
      }),
      { numRuns: 300 },
    );
  });

  it("shows refs as refs and inline secret values as (secret), never the value", () => {
    const value = fc.string({ minLength: 1, maxLength: 24 }).map((v) => `s3cr3t-${v}`);
    fc.assert(
      fc.property(jobSpec, fc.dictionary(fc.stringMatching(/^SECRET_[A-Z0-9_]{0,8}$/), value, { minKeys: 1, maxKeys: 3, noNullPrototype: true }), (spec, inline) => {
        const { roles: _roles, ...single } = spec;
        const env = Object.fromEntries(Object.entries(spec.env).filter(([k]) => !Object.hasOwn(inline, k)));
        const secretEnv = { ...spec.secretEnv, ...Object.fromEntries(Object.entries(inline).map(([k, v]) => [k, { kind: "inline" as const, value: v }])) };
        const withInline: JobSpec = { ...single, env, secretEnv };
        const yaml = stringify(jobSpecToManifest(withInline));
        for (const v of Object.values(inline)) assert.ok(!yaml.includes(v), "an inline value is printed");
        const back = parseJobManifest(yaml, { acceptRedacted: true }).spec;
        for (const k of Object.keys(inline)) assert.deepEqual(back.secretEnv?.[k], { kind: "inline", value: REDACTED });
        for (const [k, ref] of Object.entries(spec.secretEnv ?? {})) assert.deepEqual(back.secretEnv?.[k], ref);
        // Submitted back as printed, a hidden value is refused, naming each variable: it would become "(secret)".
        assert.throws(
          () => parseJobManifest(yaml),
          (e: unknown) => e instanceof SwitchyardError && Object.keys(inline).every((k) => e.details.some((d) => d.field === `spec.env.${k}.value` && /hidden when the job was printed/.test(d.message))),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("shows a stored (sealed) value as (secret) too", () => {
    const { spec } = parseJobManifest("apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a}\nspec: {command: [x]}\n");
    const manifest = jobSpecToManifest({ ...spec, secretEnv: { K: { kind: "sealed", ciphertext: "v1:AAAA" } } });
    assert.deepEqual(manifest.spec.env, { K: { value: REDACTED, secret: true } });
  });
});
