import { readFileSync } from "node:fs";
import { SwitchyardError, formatViolations } from "@switchyard/core";
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
    throw new CliExit(EXIT.usage, e.message.includes("\n") || e.details.length === 0 ? e.message : `${e.message}\n${formatViolations(e.details)}`);
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

  const del = mesh.command("delete").argument("<kind>").argument("<name>").description("remove a policy");
  del.action(
    withApi(del, async (api, _g, kind: string, name: string) => {
      const res = await api.config.deleteDocument({ namespace: NAMESPACE, kind, name });
      if (!res.found) throw new CliExit(EXIT.usage, `no ${kind}/${name} in the mesh policies (see \`switchyard mesh get\`)`);
      process.stdout.write(`${kind}/${name} deleted (revision ${res.revision})\n`);
    }),
  );

  const status = mesh.command("status").description("each service and its endpoints");
  status.action(
    withApi(status, async (api) => {
      const res = await api.platform.getStatus({});
      process.stdout.write(table(["SERVICE", "ENDPOINTS"], res.services.map((s) => [s.service, s.addresses.join(", ")])) + "\n");
    }),
  );
}
