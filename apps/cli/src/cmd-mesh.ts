import { readFileSync } from "node:fs";
import { SwitchyardError, errorText } from "@switchyard/core";
import { parseMeshPolicies } from "@switchyard/mesh";
import type { Command } from "commander";
import { parseAllDocuments } from "yaml";
import { withApi } from "./cmd-jobs.js";
import { CliExit, EXIT } from "./exit.js";
import { table } from "./format.js";

const NAMESPACE = "mesh";

/** Splits a policy file into config-center documents, one per resource, after validating it as the mesh would. */
export function policyDocuments(text: string, file: string): { kind: string; name: string; content: string }[] {
  try {
    parseMeshPolicies(text, { source: file });
  } catch (err) {
    const e = SwitchyardError.from(err);
    throw new CliExit(EXIT.usage, errorText(e.message, e.details));
  }
  return parseAllDocuments(text)
    .filter((d) => d.contents !== null)
    .map((d) => {
      const v = d.toJS() as { kind: string; metadata: { name: string } };
      return { kind: v.kind, name: v.metadata.name, content: d.toString() };
    });
}

/** `switchyard mesh apply -f FILE`, `mesh get`, `mesh delete KIND NAME`, `mesh status`. */
export function registerMeshCommands(program: Command): void {
  const mesh = program.command("mesh").description("service-governance policies (Istio's DestinationRule/VirtualService, our RateLimitPolicy/BulkheadPolicy)");

  const apply = mesh.command("apply").description("validate and store policies; every service reloads them without a restart").requiredOption("-f, --file <file>", "policy YAML (one or more documents)");
  apply.action(
    withApi(apply, async (api, _g, o: { file: string }) => {
      let text: string;
      try {
        text = readFileSync(o.file, "utf8");
      } catch (err) {
        throw new CliExit(EXIT.usage, `cannot read ${o.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      const docs = policyDocuments(text, o.file);
      const res = await api.config.putDocuments({ documents: docs.map((d) => ({ namespace: NAMESPACE, ...d })) });
      for (const d of res.documents) process.stdout.write(`${d.kind}/${d.name} v${d.version}\n`);
      process.stdout.write(`applied (revision ${res.revision})\n`);
    }),
  );

  const get = mesh.command("get").description("the policies in force").option("-o, --output <format>", "table | yaml", "table");
  get.action(
    withApi(get, async (api, _g, o: { output?: string }) => {
      const res = await api.config.listDocuments({ namespace: NAMESPACE });
      if (o.output === "yaml") {
        process.stdout.write(res.documents.map((d) => d.content.trimEnd()).join("\n---\n") + "\n");
        return;
      }
      process.stdout.write(
        (res.documents.length
          ? table(["KIND", "NAME", "VERSION", "UPDATED", "BY"], res.documents.map((d) => [d.kind, d.name, String(d.version), new Date(Number(d.updatedAtMs)).toISOString(), d.updatedBy || "-"]))
          : "no mesh policies (Istio's defaults apply)") + `\nrevision ${res.revision}\n`,
      );
    }),
  );

  const exp = mesh
    .command("export")
    .description("the policies in force as Istio resources, validated against Istio's published schemas (@kubernetes-models/istio), and what has no Istio form")
    .option("--istio", "Istio resources (the one format there is)", true)
    .option("-o, --output-dir <dir>", "write one YAML file per resource and NOT-EXPORTED.md there (default: the YAML on stdout, the report on stderr)")
    .option("-f, --file <file>", "export this policy file instead of the platform's policies (no platform needed)")
    .option("--namespace <ns>", "the Kubernetes namespace of the resources", "switchyard")
    .option("--trust-domain <domain>", "the cluster's trust domain, for principals", "cluster.local")
    .option("--request-authn <file>", "also export the gateway's RequestAuthentication file (SWITCHYARD_REQUEST_AUTHN_FILE; default: that variable when set)");
  type ExportOptions = { outputDir?: string; file?: string; namespace: string; trustDomain: string; requestAuthn?: string };
  const runExport = async (documents: { kind: string; name: string; content: string }[], o: ExportOptions) => {
    const { exportIstio } = await import("./istio-export.js");
    const authnFile = o.requestAuthn ?? (process.env.SWITCHYARD_REQUEST_AUTHN_FILE || undefined);
    let requestAuthentication: { text: string; file: string } | undefined;
    if (authnFile !== undefined) {
      try {
        requestAuthentication = { text: readFileSync(authnFile, "utf8"), file: authnFile };
      } catch (err) {
        throw new CliExit(EXIT.usage, `cannot read ${authnFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
    await exportIstio(documents, { ...o, requestAuthentication });
  };
  exp.action(async (o: ExportOptions) => {
    if (o.file === undefined) return withApi(exp, async (api) => runExport((await api.config.listDocuments({ namespace: NAMESPACE })).documents, o))();
    try {
      let text: string;
      try {
        text = readFileSync(o.file, "utf8");
      } catch (err) {
        throw new CliExit(EXIT.usage, `cannot read ${o.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      await runExport(policyDocuments(text, o.file), o);
    } catch (err) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exitCode = err instanceof CliExit ? err.code : EXIT.usage;
    }
  });

  const del = mesh.command("delete").argument("<kind>").argument("<name>").description("remove a policy");
  del.action(
    withApi(del, async (api, _g, kind: string, name: string) => {
      const res = await api.config.deleteDocument({ namespace: NAMESPACE, kind, name });
      if (!res.found) throw new CliExit(EXIT.usage, `no ${kind}/${name} in the mesh policies (see \`switchyard mesh get\`)`);
      process.stdout.write(`${kind}/${name} deleted (revision ${res.revision})\n`);
    }),
  );

  const status = mesh.command("status").description("every platform process — the gateway (the edge) and each registered service: endpoints and their health as callers see them, calls, errors, breakers, ejections");
  status.action(
    withApi(status, async (api) => {
      const res = await api.platform.getStatus({});
      const text = await api.fetch("/metrics").then((r) => (r.ok ? r.text() : ""), () => "");
      const m = summarizeMetrics(text);
      // The gateway is not in the registry (nothing inside calls it): it is the edge this command reached.
      const edge = m.get("gateway");
      const gatewayRow = ["gateway (edge)", `${api.server} (serving)`, String(edge?.calls ?? 0), String(edge?.errors ?? 0), "-", "0", edge?.policyRevision ?? "-"];
      process.stdout.write(
        table(
          ["SERVICE", "ENDPOINTS", "CALLS", "ERRORS", "BREAKER", "EJECTIONS", "POLICY-REV"],
          [gatewayRow, ...res.services.filter((svc) => svc.service !== "gateway").map((svc) => {
            const s = m.get(svc.service);
            return [
              svc.service,
              svc.addresses.map((a) => `${a}${s?.endpoints.get(a) ? ` (${s.endpoints.get(a)})` : ""}`).join(", "),
              String(s?.calls ?? 0),
              String(s?.errors ?? 0),
              s?.breaker ?? "-",
              String(s?.ejections ?? 0),
              s?.policyRevision ?? "-",
            ];
          })],
        ) + "\n",
      );
    }),
  );
}

interface ServiceSummary {
  calls: number;
  errors: number;
  endpoints: Map<string, string>;
  breaker?: string;
  ejections: number;
  policyRevision?: string;
}

/** Reads the gateway's aggregated Prometheus text into per-service figures for `mesh status`. */
export function summarizeMetrics(text: string): Map<string, ServiceSummary> {
  const out = new Map<string, ServiceSummary>();
  const get = (svc: string) => {
    let s = out.get(svc);
    if (!s) out.set(svc, (s = { calls: 0, errors: 0, endpoints: new Map(), ejections: 0 }));
    return s;
  };
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    const value = Number(m[3]);
    switch (m[1]) {
      case "grpc_server_handled_total":
        if (labels.service && !labels.grpc_service?.startsWith("grpc.health")) {
          get(labels.service).calls += value;
          if (labels.grpc_code !== "OK") get(labels.service).errors += value;
        }
        break;
      case "grpc_client_handled_total":
        // The edge's calls are the ones it forwards inward (nothing inside calls the gateway).
        if (labels.service === "gateway" && !labels.grpc_service?.startsWith("grpc.health")) {
          get("gateway").calls += value;
          if (labels.grpc_code !== "OK") get("gateway").errors += value;
        }
        break;
      case "switchyard_mesh_endpoint_state":
        if (value === 1 && labels.destination && labels.endpoint) get(labels.destination).endpoints.set(labels.endpoint, labels.state ?? "?");
        break;
      case "switchyard_mesh_breaker_state":
        if (value === 1 && labels.destination) get(labels.destination).breaker = labels.state ?? "?";
        break;
      case "switchyard_mesh_ejections_total":
        if (labels.destination) get(labels.destination).ejections += value;
        break;
      case "switchyard_mesh_policy_revision":
        if (labels.service) get(labels.service).policyRevision = String(value);
        break;
    }
  }
  return out;
}
