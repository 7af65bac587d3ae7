// `switchyard mesh export --istio`: the mesh's export (mesh istio-export.ts) checked against Istio's own published
// schemas (@kubernetes-models/istio, loaded only here) and written out with the list of what has no Istio form.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportToIstio, parseMeshPolicies, type IstioResource } from "@switchyard/mesh";
import { parseRequestAuthentication } from "@switchyard/gateway";
import { parseAllDocuments, stringify } from "yaml";

interface Validatable {
  validate(): void;
}
type Model = new (data: IstioResource) => Validatable;

async function models(): Promise<Record<string, Model>> {
  const [dr, vs, ap, pa, ra] = await Promise.all([
    import("@kubernetes-models/istio/networking.istio.io/v1/DestinationRule"),
    import("@kubernetes-models/istio/networking.istio.io/v1/VirtualService"),
    import("@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy"),
    import("@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication"),
    import("@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication"),
  ]);
  return {
    DestinationRule: dr.DestinationRule as unknown as Model,
    VirtualService: vs.VirtualService as unknown as Model,
    AuthorizationPolicy: ap.AuthorizationPolicy as unknown as Model,
    PeerAuthentication: pa.PeerAuthentication as unknown as Model,
    RequestAuthentication: ra.RequestAuthentication as unknown as Model,
  };
}

export interface ExportIstioOptions {
  outputDir?: string | undefined;
  namespace: string;
  trustDomain: string;
  /** The gateway's RequestAuthentication file (SWITCHYARD_REQUEST_AUTHN_FILE): exported beside the policies. */
  requestAuthentication?: { text: string; file: string } | undefined;
}

/**
 * The gateway's RequestAuthentication resources in Istio's form: checked by the gateway's own parser first (what the
 * edge enforces), then each targets the ingress (`app: gateway`, where the platform verifies these tokens) in the
 * export's namespace. The claim mapping (the `switchyard.io/*` annotations) has no Istio form and is reported.
 */
function requestAuthentications(text: string, file: string, namespace: string): { resources: IstioResource[]; unmapped: { resource: string; what: string; why: string }[] } {
  parseRequestAuthentication(text, file);
  const resources: IstioResource[] = [];
  const unmapped: { resource: string; what: string; why: string }[] = [];
  for (const doc of parseAllDocuments(text)) {
    const r = doc.toJS() as { metadata?: { name?: string; annotations?: Record<string, string> }; spec?: { jwtRules?: Record<string, unknown>[] } } | null;
    if (r === null) continue;
    const name = r.metadata?.name ?? "request-authentication";
    resources.push({
      apiVersion: "security.istio.io/v1",
      kind: "RequestAuthentication",
      metadata: { name, namespace },
      spec: { selector: { matchLabels: { app: "gateway" } }, jwtRules: (r.spec?.jwtRules ?? []).map((j) => ({ ...j, forwardOriginalToken: true })) },
    } as IstioResource);
    const mapping = Object.keys(r.metadata?.annotations ?? {}).filter((k) => k.startsWith("switchyard.io/"));
    if (mapping.length) unmapped.push({ resource: `RequestAuthentication/${name}`, what: `the claim mapping (${mapping.join(", ")})`, why: "Istio verifies the token and passes its claims on; mapping them to users, teams and roles is the platform's (its gateway still does it), or an AuthorizationPolicy `when: request.auth.claims[...]` in the mesh" });
    if ((r.spec?.jwtRules ?? []).some((j) => typeof j.jwksUri === "string" && /^https?:\/\/(127\.0\.0\.1|\[::1\]|localhost)/.test(j.jwksUri))) {
      unmapped.push({ resource: `RequestAuthentication/${name}`, what: "a loopback jwksUri", why: "istiod fetches the keys from inside the cluster: give it the issuer's real JWKS address, or paste the keys as `jwks`" });
    }
  }
  return { resources, unmapped };
}

/** Exports, validates and writes; returns the resources and the report (tests read them). */
export async function exportIstio(documents: readonly { kind: string; name: string; content: string }[], o: ExportIstioOptions): Promise<{ yaml: string; report: string }> {
  const resources = documents.flatMap((d) => parseMeshPolicies(d.content, { source: `${d.kind}/${d.name}` }).resources);
  const exported = exportToIstio(resources, { namespace: o.namespace, trustDomain: o.trustDomain });
  const authn = o.requestAuthentication ? requestAuthentications(o.requestAuthentication.text, o.requestAuthentication.file, o.namespace) : { resources: [], unmapped: [] };
  const out = { resources: [...exported.resources, ...authn.resources], unmapped: [...exported.unmapped, ...authn.unmapped] };
  const byKind = await models();
  for (const r of out.resources) {
    const M = byKind[r.kind];
    if (M === undefined) throw new Error(`no Istio schema for ${r.kind}`);
    try {
      new M(r).validate();
    } catch (err) {
      throw new Error(`the export of ${r.kind}/${r.metadata.name} does not validate against Istio's schema (${(err as Error).message}); this is a bug in the export, please report it`);
    }
  }
  const report = [
    `${out.resources.length} Istio resources (namespace ${o.namespace}, trust domain ${o.trustDomain}), validated against @kubernetes-models/istio.`,
    `Not exported — no Istio form (${out.unmapped.length}):`,
    ...out.unmapped.map((u) => `- ${u.resource}: ${u.what}. ${u.why}.`),
  ].join("\n") + "\n";
  const yaml = out.resources.map((r) => stringify(r).trimEnd()).join("\n---\n") + "\n";
  if (o.outputDir !== undefined) {
    mkdirSync(o.outputDir, { recursive: true });
    for (const r of out.resources) {
      // A policy's name is any string: only its safe characters make the file name (never a path out of the folder).
      const file = join(o.outputDir, `${r.kind.toLowerCase()}-${r.metadata.name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_")}.yaml`);
      writeFileSync(file, stringify(r));
      process.stdout.write(`${file}\n`);
    }
    writeFileSync(join(o.outputDir, "NOT-EXPORTED.md"), `# Not exported to Istio\n\n${report}`);
    process.stdout.write(`${join(o.outputDir, "NOT-EXPORTED.md")}\n`);
  } else {
    process.stdout.write(yaml);
    process.stderr.write(report);
  }
  return { yaml, report };
}
