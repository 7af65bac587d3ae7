/**
 * A job's secret variables through its life: checked against the team's secrets when it is submitted
 * (`checkSecretRefs`), its inline values sealed before the spec is stored (`sealJobSecrets`), and every secret
 * variable turned into plaintext only to start its processes (`resolveSecretEnv`). A job reads only its own team's
 * secrets: the team is the job's, never the caller's choice.
 */
import { Code, SwitchyardError, type FieldViolation } from "@switchyard/core";
import type { JobSpec, SecretEnvSource } from "@switchyard/specs";
import { jobEnvAad, type SecretBox } from "./secret-box.js";
import type { SecretStore } from "./secret-store.js";

type SecretEnv = Readonly<Record<string, SecretEnvSource>>;

async function sealAll(secretEnv: SecretEnv | undefined, uid: string, box: SecretBox): Promise<Record<string, SecretEnvSource> | undefined> {
  if (secretEnv === undefined) return undefined;
  const out: Record<string, SecretEnvSource> = {};
  for (const [name, s] of Object.entries(secretEnv)) out[name] = s.kind === "inline" ? { kind: "sealed", ciphertext: box.seal(s.value, jobEnvAad(uid, name)) } : s;
  return out;
}

/**
 * The spec to store for job `uid`: every inline secret value (the job's and its roles') sealed and bound to the job
 * and the variable's name; refs and everything else as they were. The input is not changed.
 */
export async function sealJobSecrets(spec: JobSpec, uid: string, box: SecretBox): Promise<JobSpec> {
  const out: JobSpec = { ...spec };
  const top = await sealAll(spec.secretEnv, uid, box);
  if (top !== undefined) out.secretEnv = top;
  if (spec.roles !== undefined) {
    out.roles = await Promise.all(
      spec.roles.map(async (r) => {
        const sealed = await sealAll(r.secretEnv, uid, box);
        return sealed === undefined ? { ...r } : { ...r, secretEnv: sealed };
      }),
    );
  }
  return out;
}

/**
 * The spec of job `uid` with its sealed values opened back to inline ones, for a new job made from it (RerunJob):
 * `sealJobSecrets` then binds them to the new job. The plaintext stays in this process, as at a launch.
 */
export function unsealJobSecrets(spec: JobSpec, uid: string, box: SecretBox): JobSpec {
  const open = (env: SecretEnv | undefined): Record<string, SecretEnvSource> | undefined =>
    env === undefined ? undefined : Object.fromEntries(Object.entries(env).map(([name, s]) => [name, s.kind === "sealed" ? { kind: "inline", value: box.open(s.ciphertext, jobEnvAad(uid, name)) } : s]));
  const out: JobSpec = { ...spec };
  const top = open(spec.secretEnv);
  if (top !== undefined) out.secretEnv = top;
  if (spec.roles !== undefined) out.roles = spec.roles.map((r) => (r.secretEnv === undefined ? { ...r } : { ...r, secretEnv: open(r.secretEnv)! }));
  return out;
}

function createHint(secret: string, key: string, team: string): string {
  return `create it with \`switchyard secrets create ${secret} --team ${team} --from-literal ${key}=…\``;
}

/** What is wrong with a ref in `team`, or undefined when its secret has its key. */
async function missing(ref: { secret: string; key: string }, team: string, store: SecretStore): Promise<string | undefined> {
  const keys = await store.keys(team, ref.secret);
  if (keys === undefined) return `secret "${ref.secret}" (for its key "${ref.key}") does not exist in team "${team}"`;
  if (!keys.includes(ref.key)) return `secret "${ref.secret}" in team "${team}" has no key "${ref.key}" (its keys: ${keys.join(", ")})`;
  return undefined;
}

/**
 * The secret sources of a replica of `role` (its `role` column): the role's own when the job has roles — a role
 * without secrets has none, it does not inherit the job's (the Master's) — else the job's.
 */
export function secretEnvOf(spec: JobSpec, role: string | undefined): SecretEnv | undefined {
  const r = spec.roles?.find((x) => x.name === role);
  return r !== undefined ? r.secretEnv : spec.secretEnv;
}

/**
 * The plaintext variables of one replica (`sources`: the role's `secretEnv`, or the job's), for starting its
 * processes and nothing else: refs read from `team`'s secrets, sealed values opened with the job's uid. A missing
 * optional ref leaves its variable unset; a missing required one throws FAILED_PRECONDITION naming the variable,
 * the secret, the key, the team and the command that fixes it.
 */
export async function resolveSecretEnv(sources: SecretEnv | undefined, team: string, uid: string, store: SecretStore, box: SecretBox): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, s] of Object.entries(sources ?? {})) {
    if (s.kind === "inline") out[name] = s.value;
    else if (s.kind === "sealed") out[name] = box.open(s.ciphertext, jobEnvAad(uid, name));
    else {
      const value = await store.get(team, s.secret, s.key);
      if (value !== undefined) out[name] = value;
      else if (s.optional !== true) {
        const why = (await missing(s, team, store)) ?? `secret "${s.secret}" in team "${team}" has no key "${s.key}"`;
        throw new SwitchyardError(Code.FailedPrecondition, `env ${name}: ${why}: ${createHint(s.secret, s.key, team)}, or mark the reference \`optional: true\``, {
          details: [{ field: `env.${name}`, message: why, expected: `a key "${s.key}" in secret "${s.secret}" of team "${team}"`, hint: createHint(s.secret, s.key, team) }],
        });
      }
    }
  }
  return out;
}

/**
 * At submission: every required ref of the spec (the job's and its roles') names a secret and key that exist in
 * `team`. Throws one INVALID_ARGUMENT listing each missing one by its env field (`spec.env.NAME`,
 * `spec.roles[1].env.NAME`: the native spec's paths, as `switchyard validate` prints it).
 */
export async function checkSecretRefs(spec: JobSpec, team: string, store: SecretStore): Promise<void> {
  const places: { field: string; env: SecretEnv | undefined }[] = spec.roles !== undefined
    ? spec.roles.map((r, i) => ({ field: `spec.roles[${i}].env`, env: r.secretEnv }))
    : [{ field: "spec.env", env: spec.secretEnv }];
  const details: FieldViolation[] = [];
  for (const { field, env } of places) {
    for (const [name, s] of Object.entries(env ?? {})) {
      if (s.kind !== "ref" || s.optional === true) continue;
      const why = await missing(s, team, store);
      if (why !== undefined) details.push({ field: `${field}.${name}`, message: why, expected: `a key "${s.key}" in secret "${s.secret}" of team "${team}"`, hint: `${createHint(s.secret, s.key, team)}, or mark it \`optional: true\`` });
    }
  }
  if (details.length === 0) return;
  const lines = details.map((d) => `  ${d.field}: ${d.message}: ${d.hint}`).join("\n");
  throw new SwitchyardError(Code.InvalidArgument, `the job reads ${details.length === 1 ? "a secret that is" : "secrets that are"} not there:\n${lines}`, { details });
}
