import { jobSpecToManifest, type JobSpec, type ParsedJobManifest } from "@switchyard/specs";
import { stringify } from "yaml";

/** Whether a manifest wrote secret values inline (they are sealed, and the stored manifest redacted). */
export const hasInlineSecrets = (p: ParsedJobManifest): boolean =>
  [p.spec.secretEnv, ...(p.spec.roles ?? []).map((r) => r.secretEnv)].some((s) => s !== undefined && Object.values(s).some((v) => v.kind === "inline"));

/** The native switchyard/v1 manifest a spec reads as (ValidateJob's answer): as costly as the parse for a large spec. */
export const nativeManifestText = (spec: JobSpec): string => stringify(jobSpecToManifest(spec));
