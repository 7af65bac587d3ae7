/**
 * `parseDeploymentManifest`: YAML or JSON text to a validated, normalized DeploymentSpec. Dispatches on
 * apiVersion/kind like `parseJobManifest`, collects every violation with its position, and either returns a whole
 * spec or throws one InvalidArgument SwitchyardError.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import type { DeploymentNormalizeContext } from "./deployment-common.js";
import { nativeDeploymentFormat } from "./deployment-native.js";
import type { DeploymentManifestSource, DeploymentSpec, ParseDeploymentManifestOptions, ParsedDeploymentManifest } from "./deployment-spec.js";
import { DEPLOYMENT_DEFAULTS } from "./deployment-spec.js";
import { inferenceServiceFormat } from "./kserve-inferenceservice.js";
import { pickFormat, readManifestRoot, runner, withInternalErrors } from "./manifest-dispatch.js";
import type { FormatRunner } from "./manifest-dispatch.js";
import type { Violations } from "./violations.js";

const FORMATS: readonly FormatRunner<DeploymentSpec, DeploymentManifestSource, DeploymentNormalizeContext>[] = [runner(nativeDeploymentFormat), runner(inferenceServiceFormat)];

const SUPPORTED = "`apiVersion: switchyard/v1` with `kind: Deployment`, or `serving.kserve.io/v1beta1` with `kind: InferenceService`";

/**
 * Parses a model deployment manifest (YAML or JSON): native `switchyard/v1` Deployment or KServe
 * `serving.kserve.io/v1beta1` InferenceService. Throws SwitchyardError(InvalidArgument) listing every violation with
 * file:line:column, field, expected, got and a hint; never returns a partial spec.
 */
export function parseDeploymentManifest(text: string, options: ParseDeploymentManifestOptions = {}): ParsedDeploymentManifest {
  return withInternalErrors(options.file, () => parse(text, options));
}

function parse(text: string, options: ParseDeploymentManifestOptions): ParsedDeploymentManifest {
  const { file } = options;
  const { source, root, out: violations } = readManifestRoot(text, file, "a deployment manifest", SUPPORTED);
  const out: Violations = violations;
  const format = pickFormat(root, out, FORMATS, SUPPORTED);
  if (format === undefined) out.throwAll("the manifest");
  const what = format.source === "switchyard/v1/Deployment" ? "the deployment manifest" : `the ${format.kind}`;
  const warnings = [...source.warnings];
  const ctx = (): DeploymentNormalizeContext => ({
    violations: out, locator: source, warnings, raw: root, defaultTeam: options.defaultTeam ?? DEPLOYMENT_DEFAULTS.team, ...(file !== undefined ? { file } : {}),
  });
  const spec = format.run(root, out, ctx);
  out.throwIfAny(what);
  if (spec === undefined) throw new SwitchyardError(Code.Internal, `${what} could not be normalized`);
  return { spec, warnings, source: format.source };
}
