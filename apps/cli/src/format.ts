import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Job, Resources } from "@switchyard/api";
import { stringify } from "yaml";
import { CliExit, EXIT } from "./exit.js";
import { jobResource } from "./job-resource.js";

export type OutputFormat = "table" | "json" | "yaml";

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("   ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function age(ts: Timestamp | undefined, now = Date.now()): string {
  if (!ts) return "-";
  const s = Math.max(0, Math.round((now - timestampDate(ts).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export function duration(start: Timestamp | undefined, end: Timestamp | undefined): string {
  if (!start) return "-";
  const ms = (end ? timestampDate(end).getTime() : Date.now()) - timestampDate(start).getTime();
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export function gpusOf(job: Job): string {
  const r = job.spec?.resources;
  if (!r) return "0";
  const per = r.gpus > 0 ? String(r.gpus) : r.gpuMilli > 0 ? `${r.gpuMilli}m` : "0";
  return job.spec!.replicas > 1 ? `${per}×${job.spec!.replicas}` : per;
}

/**
 * What one replica is scheduled by: `cpu 2, memory 4Gi, gpus 1`. A CPU or memory amount of 0 is none requested
 * (the manifest declared none: Kubernetes' BestEffort), shown as such rather than as a zero to be read as a limit.
 */
export function resourcesText(r: Resources | undefined): string {
  const cpu = Number(r?.cpuMilli ?? 0n);
  const mem = Number(r?.memoryMb ?? 0n);
  const gpus = r && r.gpus > 0 ? String(r.gpus) : r && r.gpuMilli > 0 ? `${r.gpuMilli}m` : "0";
  return [
    `cpu ${cpu === 0 ? "— (BestEffort)" : cpu % 1000 === 0 ? String(cpu / 1000) : `${cpu}m`}`,
    `memory ${mem === 0 ? "— (BestEffort)" : mem % 1024 === 0 ? `${mem / 1024}Gi` : `${mem}Mi`}`,
    `gpus ${gpus}${r?.gpuType ? ` (${r.gpuType})` : ""}`,
  ].join(", ");
}

/** `Resources:` lines of `describe`: per role when the roles differ, else per replica. */
export function resourcesLines(job: Job): string[] {
  const spec = job.spec;
  const roles = spec?.roles ?? [];
  if (roles.length === 0) return [`Resources:  ${resourcesText(spec?.resources)} per replica`];
  return roles.map((role, i) => `${i === 0 ? "Resources:" : "          "}  ${role.name} ×${role.replicas}: ${resourcesText(role.resources)}`);
}

export function printJobs(jobs: Job[], format: OutputFormat): string {
  // One job prints as a manifest that can be submitted again (job-resource.ts); several as a list of them.
  if (format === "json") return JSON.stringify(jobs.length === 1 ? jobResource(jobs[0]!) : { items: jobs.map(jobResource) }, null, 2);
  if (format === "yaml") return stringify(jobs.length === 1 ? jobResource(jobs[0]!) : { items: jobs.map(jobResource) });
  return table(
    ["NAME", "TEAM", "PHASE", "REASON", "GPUS", "ATTEMPT", "AGE", "DURATION", "UID"],
    jobs.map((j) => [
      j.metadata?.name ?? "",
      j.metadata?.team ?? "",
      j.status?.phase ?? "",
      j.status?.reason ?? "",
      gpusOf(j),
      String(j.status?.attempt ?? 0),
      age(j.metadata?.creationTimestamp),
      duration(j.status?.startTime, j.status?.completionTime),
      j.metadata?.uid ?? "",
    ]),
  );
}

export function parseFormat(v: string | undefined, allowed: OutputFormat[] = ["table", "json", "yaml"]): OutputFormat {
  const f = (v ?? "table") as OutputFormat;
  if (!allowed.includes(f)) throw new CliExit(EXIT.usage, `-o must be one of ${allowed.join(", ")} (got "${v}")`);
  return f;
}
