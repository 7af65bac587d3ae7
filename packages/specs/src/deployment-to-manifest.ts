/**
 * A DeploymentSpec back to the native manifest (`switchyard/v1` Deployment) as YAML, with every default written out:
 * what `get -o yaml` prints, and what `parseDeploymentManifest` reads back to the same DeploymentSpec.
 */
import { stringify } from "yaml";
import type { NativeDeploymentManifest } from "./deployment-native.js";
import type { DeploymentModel, DeploymentResources, DeploymentSpec } from "./deployment-spec.js";

type NativeSpec = NativeDeploymentManifest["spec"];
type NativeModel = Exclude<NativeSpec["model"], string>;

function cpuText(cores: number): string | number {
  const milli = Math.round(cores * 1000);
  return milli % 1000 === 0 ? milli / 1000 : `${milli}m`;
}

/** Bytes in the largest binary unit that divides them, else as a number of bytes. */
function memoryText(bytes: number): string | number {
  for (const [unit, size] of [["Ti", 2 ** 40], ["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return bytes;
}

function resourcesToManifest(r: DeploymentResources): NonNullable<NativeSpec["resources"]> {
  return { gpus: r.gpus, cpu: cpuText(r.cpu), memory: memoryText(r.memoryBytes) };
}

function modelToManifest(m: DeploymentModel): NativeModel {
  const out: NativeModel = { format: m.format };
  if (m.storageUri !== undefined) out.storageUri = m.storageUri;
  if (m.command !== undefined) out.command = [...m.command];
  if (m.args !== undefined) out.args = [...m.args];
  // A list keeps the order and reads back as the same list.
  if (m.env !== undefined) out.env = m.env.map((e) => ({ name: e.name, value: e.value }));
  if (m.workingDir !== undefined) out.workingDir = m.workingDir;
  return out;
}

/** The native manifest of a deployment as an object, ready for `YAML.stringify` or JSON. */
export function deploymentSpecToManifestObject(spec: DeploymentSpec): NativeDeploymentManifest {
  const metadata: NativeDeploymentManifest["metadata"] = { name: spec.name, team: spec.team };
  if (spec.labels !== undefined) metadata.labels = { ...spec.labels };
  const out: NativeSpec = {
    model: modelToManifest(spec.model),
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    resources: resourcesToManifest(spec.resources),
    autoscaling: { metric: spec.scaleMetric, target: spec.scaleTarget },
    containerConcurrency: spec.containerConcurrency,
    timeoutSeconds: spec.timeoutSeconds,
  };
  if (spec.canaryTrafficPercent !== undefined) out.canaryTrafficPercent = spec.canaryTrafficPercent;
  if (spec.batching !== undefined) out.batching = { ...spec.batching, preferredBatchSizes: [...spec.batching.preferredBatchSizes] };
  if (spec.priorityClassName !== undefined) out.priorityClassName = spec.priorityClassName;
  if (spec.queue !== undefined) out.queue = spec.queue;
  return { apiVersion: "switchyard/v1", kind: "Deployment", metadata, spec: out };
}

/** The native manifest of a deployment as YAML text: printed, it can be submitted again as it is. */
export function deploymentSpecToManifest(spec: DeploymentSpec): string {
  return stringify(deploymentSpecToManifestObject(spec));
}
