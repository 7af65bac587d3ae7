/**
 * Traffic among a deployment's revisions, as mesh policies: one DestinationRule for the host `inference` with a subset
 * per revision (the labels the reconciler registers each replica with) and one VirtualService whose routes match the
 * gateway's `x-switchyard-model` header — a named revision first (`x-switchyard-revision`), then the weighted split.
 * The serving service owns these two documents (`serving-inference`) in the config center's `mesh` namespace and
 * rewrites them whole when revisions or traffic change; every runtime that calls `inference` (the gateway) reloads
 * them like any policy. Pure: revisions in, documents out.
 */
export const POLICY_NAME = "serving-inference";
export const INFERENCE_HOST = "inference";
export const MODEL_HEADER = "x-switchyard-model";
export const REVISION_HEADER = "x-switchyard-revision";

export interface RoutedRevision {
  number: number;
  /** Share of the deployment's traffic (0–100; the deployment's shares add up to 100). */
  traffic: number;
  /** Still routable by its revision header (Active, or Draining until its replicas are gone). */
  named: boolean;
}

export interface RoutedDeployment {
  name: string;
  revisions: readonly RoutedRevision[];
}

export const subsetName = (deployment: string, revision: number) => `${deployment}-r${revision}`;

/** The two documents for `deployments` (sorted by name, so the text is stable), or undefined when none serves. */
export function trafficPolicies(deployments: readonly RoutedDeployment[]): { destinationRule: string; virtualService: string } | undefined {
  const live = [...deployments].filter((d) => d.revisions.some((r) => r.traffic > 0 || r.named)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (live.length === 0) return undefined;
  const subsets: string[] = [];
  const routes: string[] = [];
  for (const d of live) {
    for (const r of d.revisions) {
      subsets.push(`  - name: ${subsetName(d.name, r.number)}\n    labels: {model: ${d.name}, revision: "${r.number}"}`);
      if (r.named) {
        routes.push(`  - name: ${subsetName(d.name, r.number)}\n    match: [{headers: {${MODEL_HEADER}: {exact: ${d.name}}, ${REVISION_HEADER}: {exact: "${r.number}"}}}]\n    route: [{destination: {host: ${INFERENCE_HOST}, subset: ${subsetName(d.name, r.number)}}}]`);
      }
    }
    const weighted = d.revisions.filter((r) => r.traffic > 0);
    if (weighted.length === 0) continue;
    const split = weighted.map((r) => `{destination: {host: ${INFERENCE_HOST}, subset: ${subsetName(d.name, r.number)}}, weight: ${r.traffic}}`).join(", ");
    routes.push(`  - name: ${d.name}\n    match: [{headers: {${MODEL_HEADER}: {exact: ${d.name}}}}]\n    route: [${split}]`);
  }
  const destinationRule = `# Written by the serving service: a subset per revision of each deployment. Changes here are overwritten.
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${POLICY_NAME}}
spec:
  host: ${INFERENCE_HOST}
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
    outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 10s, maxEjectionPercent: 50}
  subsets:
${subsets.join("\n")}
`;
  const virtualService = routes.length === 0 ? undefined : `# Written by the serving service: each deployment's traffic split, and its revisions by name. Changes here are overwritten.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${POLICY_NAME}}
spec:
  hosts: [${INFERENCE_HOST}]
  http:
${routes.join("\n")}
`;
  return virtualService === undefined ? undefined : { destinationRule, virtualService };
}
