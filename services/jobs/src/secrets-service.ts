/**
 * The Secrets gRPC service: each team's named key/value secrets, which jobs read into environment variables.
 * - Admins (and platform services) act in any team; members create, replace, delete and list in their teams;
 *   viewers list only. Viewers see what members see — names, keys, times, who wrote them — because the jobs they
 *   may read already show which secret and key each variable comes from; values are shown to nobody.
 * - A request naming another team is PERMISSION_DENIED before anything is looked up, whether or not the secret
 *   exists (authz.ts): another team's secret answers exactly like a missing one. A list that names no team shows
 *   only the caller's teams.
 * - Values arrive only in CreateSecret and are sealed before they are stored; no answer, error or log line holds one.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Secrets, SecretSchema } from "@switchyard/api";
import { Code, SwitchyardError, type FieldViolation } from "@switchyard/core";
import type { ServiceImpl } from "@switchyard/mesh";
import { MAX_EXEC_STRING_BYTES, secretKeyProblem, secretNameProblem } from "@switchyard/specs";
import { callerOf, oneTeam, readScope, requireWriter, type Caller } from "./authz.js";
import type { SecretInfo, SecretStore } from "./secret-store.js";

/** The most a secret's values may hold in all (Kubernetes' limit for a Secret is 1 MiB too). */
export const MAX_SECRET_BYTES = 1024 * 1024;
/** The most keys one secret holds: a secret is a few credentials, not a table. */
export const MAX_SECRET_KEYS = 256;

export interface SecretsServiceDeps {
  store: SecretStore;
}

function toProto(s: SecretInfo): MessageInitShape<typeof SecretSchema> {
  return { name: s.name, team: s.team, keys: s.keys, createdAt: timestampFromMs(s.createdAt), updatedAt: timestampFromMs(s.updatedAt), updatedBy: s.updatedBy };
}

function who(c: Caller): string {
  return c.kind === "user" ? c.user : c.service;
}

function invalid(what: string, details: FieldViolation[]): SwitchyardError {
  const lines = details.map((d) => `  ${d.field}: ${d.message}${d.hint ? ` (${d.hint})` : ""}`).join("\n");
  return new SwitchyardError(Code.InvalidArgument, `${what}:\n${lines}`, { details });
}

function checkName(name: string): void {
  const p = secretNameProblem(name);
  if (p !== undefined) throw invalid("the secret's name is not valid", [{ field: "name", ...p, got: JSON.stringify(name.slice(0, 80)) }]);
}

/** Keys follow Kubernetes' rule; values are text an environment variable can hold. Never echoes a value. */
function checkValues(values: Readonly<Record<string, string>>): void {
  const details: FieldViolation[] = [];
  const keys = Object.keys(values);
  if (keys.length === 0) {
    details.push({ field: "values", message: "has no keys", expected: "at least one key and its value", hint: "e.g. `switchyard secrets create wandb --from-literal api-key=…`" });
  }
  let bytes = 0;
  for (const key of keys) {
    const field = `values[${JSON.stringify(key.slice(0, 80))}]`;
    const p = secretKeyProblem(key);
    if (p !== undefined) details.push({ field, ...p, got: JSON.stringify(key.slice(0, 80)) });
    const value = values[key] ?? "";
    if (value.includes("\u0000")) details.push({ field, message: "holds a NUL character, which no environment variable can", expected: "text without NUL characters", hint: "store binary data base64-encoded and decode it in the job" });
    // It becomes an environment variable, and the kernel starts no program with one over 128 KiB (MAX_ARG_STRLEN).
    if (Buffer.byteLength(value) > MAX_EXEC_STRING_BYTES - 256) {
      details.push({ field, message: `is ${Buffer.byteLength(value)} bytes: a job cannot be started with an environment variable that long`, expected: `at most ${MAX_EXEC_STRING_BYTES - 256} bytes`, hint: "store large data in a file the job reads, and keep only its credential here" });
    }
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (keys.length > MAX_SECRET_KEYS) details.push({ field: "values", message: `has ${keys.length} keys, more than ${MAX_SECRET_KEYS}`, expected: `at most ${MAX_SECRET_KEYS} keys`, hint: "split it into several secrets" });
  if (bytes > MAX_SECRET_BYTES) details.push({ field: "values", message: `hold ${bytes} bytes, more than ${MAX_SECRET_BYTES}`, expected: `at most ${MAX_SECRET_BYTES} bytes in all`, hint: "keep large files out of secrets: store a path or a URL and a credential for it" });
  if (details.length > 0) throw invalid("the secret's values are not valid", details);
}

export function secretsService(deps: SecretsServiceDeps): ServiceImpl<typeof Secrets> {
  const { store } = deps;
  return {
    async createSecret(req, ctx) {
      const caller = callerOf(ctx);
      requireWriter(caller, "create secrets");
      const team = oneTeam(caller, req.team);
      checkName(req.name);
      checkValues(req.values);
      const { created, info } = await store.put(team, req.name, req.values, who(caller));
      return { secret: toProto(info), created };
    },

    async listSecrets(req, ctx) {
      const scope = readScope(callerOf(ctx), req.team);
      const teams = scope === "all" ? (req.team || undefined) : scope;
      return { secrets: (await store.list(teams)).map(toProto) };
    },

    async deleteSecret(req, ctx) {
      const caller = callerOf(ctx);
      requireWriter(caller, "delete secrets");
      const team = oneTeam(caller, req.team);
      checkName(req.name);
      return { deleted: await store.delete(team, req.name) };
    },
  };
}
