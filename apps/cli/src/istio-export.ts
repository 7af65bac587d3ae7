// `switchyard mesh export --istio`: the mesh's export (mesh istio-export.ts) checked against Istio's own published
// schemas (@kubernetes-models/istio, loaded only here) and written out with the list of what has no Istio form.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportToIstio, parseMeshPolicies, type IstioResource } from "@switchyard/mesh";
import { stringify } from "yaml";

interface Validatable {
  validate(): void;
}
type Model = new (data: IstioResource) => Validatable;

async function models(): Promise<Record<string, Model>> {
  const [dr, vs, ap, pa] = await Promise.all([
    import("@kubernetes-models/istio/networking.istio.io/v1/DestinationRule"),
    import("@kubernetes-models/istio/networking.istio.io/v1/VirtualService"),
    import("@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy"),
    import("@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication"),
  ]);
  return { DestinationRule: dr.DestinationRule as unknown as Model, VirtualService: vs.VirtualService as unknown as Model, AuthorizationPolicy: ap.AuthorizationPolicy as unknown as Model, PeerAuthentication: pa.PeerAuthentication as unknown as Model };
}

export interface ExportIstioOptions {
  outputDir?: string | undefined;
  namespace: string;
  trustDomain: string;
}

/** Exports, validates and writes; returns the resources and the report (tests read them). */
export async function exportIstio(documents: readonly { kind: string; name: string; content: string }[], o: ExportIstioOptions): Promise<{ yaml: string; report: string }> {
  const resources = documents.flatMap((d) => parseMeshPolicies(d.content, { source: `${d.kind}/${d.name}` }).resources);
  const out = exportToIstio(resources, { namespace: o.namespace, trustDomain: o.trustDomain });
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
