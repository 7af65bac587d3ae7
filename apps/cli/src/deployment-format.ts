/** How deployments and registered models print: `deployments`, `deployments describe`, `serve`, `models`. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ApplyDeploymentResponse, Deployment, ModelVersion, Revision } from "@switchyard/api";
import { age, table } from "./format.js";

/** `r2 90% r3 10%`: each revision that takes traffic, oldest first; `-` when none does (scaled away, deleting). */
export function trafficText(d: Deployment, tags = false): string {
  const t = [...d.traffic].sort((a, b) => a.revision - b.revision);
  return t.length === 0 ? "-" : t.map((x) => `r${x.revision} ${x.percent}%${tags && x.tag ? ` (${x.tag})` : ""}`).join(" ");
}

/** The newest revision (the one the last change made). */
export function latestRevision(d: Deployment): Revision | undefined {
  return d.revisions.reduce<Revision | undefined>((a, r) => (a === undefined || r.number > a.number ? r : a), undefined);
}

/** `sha256:` and the first 12 hex digits: enough to tell versions apart in a table. */
export function shortChecksum(c: string): string {
  if (c === "") return "-";
  const [algo, hex] = c.includes(":") ? [c.slice(0, c.indexOf(":") + 1), c.slice(c.indexOf(":") + 1)] : ["", c];
  return algo + hex.slice(0, 12);
}

export function humanBytes(n: bigint | number): string {
  const b = Number(n);
  if (b < 1024) return `${b} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = b / 1024;
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** Where inference requests go: the gateway's URL and the deployment's `/v2/models/NAME`, then `/infer`. */
export function inferUrl(d: Deployment, server: string): string {
  return `${server.replace(/\/+$/, "")}${d.url || `/v2/models/${d.name}`}/infer`;
}

export function deploymentsTable(ds: readonly Deployment[], now = Date.now()): string {
  return table(
    ["NAME", "TEAM", "STATE", "READY", "REVISIONS", "AGE"],
    ds.map((d) => [d.name, d.team, d.state || "-", `${d.readyReplicas}/${d.desiredReplicas}`, trafficText(d), age(d.createdAt, now)]),
  );
}

const when = (ts: Revision["createdAt"]) => (ts ? timestampDate(ts).toISOString() : "-");

/** `deployments describe`: the deployment, its revisions with their traffic, its replicas with their jobs. */
export function describeDeployment(d: Deployment, server: string, now = Date.now()): string {
  const percent = new Map(d.traffic.map((t) => [t.revision, t]));
  const revisions = [...d.revisions].sort((a, b) => a.number - b.number);
  const lines = [
    `Name:       ${d.name}`,
    `Team:       ${d.team}    Owner: ${d.owner || "-"}    UID: ${d.uid || "-"}`,
    `Source:     ${d.source || "-"}`,
    `State:      ${d.state || "-"} (${d.readyReplicas}/${d.desiredReplicas} ready)`,
    ...(d.message ? [`Message:    ${d.message}`] : []),
    `Traffic:    ${trafficText(d, true)}`,
    `Inference:  POST ${inferUrl(d, server)}`,
    `Created:    ${d.createdAt ? `${when(d.createdAt)} (${age(d.createdAt, now)} ago)` : "-"}`,
    "",
    "Revisions:",
    table(
      ["REVISION", "MODEL", "FORMAT", "CHECKSUM", "STATE", "READY", "TRAFFIC", "AGE"],
      revisions.map((r) => {
        const t = percent.get(r.number);
        return [`r${r.number}`, r.modelUri || "-", r.format || "-", shortChecksum(r.modelChecksum), r.state || "-", `${r.readyReplicas}/${r.desiredReplicas}`, t ? `${t.percent}%` : "-", age(r.createdAt, now)];
      }),
    ),
  ];
  const replicas = revisions.flatMap((r) => r.replicas.map((x) => [`r${r.number}`, x.job, x.phase || "-", x.ready ? "yes" : "no", String(x.inFlight)]));
  lines.push("", "Replicas:");
  if (replicas.length === 0) lines.push(d.state === "ScaledToZero" ? "  none: scaled to zero (the next request starts one)" : "  none");
  else lines.push(table(["REVISION", "JOB", "PHASE", "READY", "IN-FLIGHT"], replicas), `  a replica is a job: \`switchyard logs JOB\` shows its output, \`switchyard describe JOB\` its events`);
  return lines.join("\n");
}

/** What `serve` / `deployments apply` did, for people: the outcome, the revision, the traffic and where to send requests. */
export function appliedText(res: ApplyDeploymentResponse, server: string, dryRun: boolean): string {
  const d = res.deployment!;
  const r = latestRevision(d);
  // A dry run may answer before any revision exists.
  const rev = r ? `revision r${r.number}` : "";
  const scale = `${d.desiredReplicas} replica${d.desiredReplicas === 1 ? "" : "s"} wanted`;
  const what: Record<string, string> = {
    created: `created (${rev ? `${rev}, ` : ""}team ${d.team})`,
    "new-revision": rev ? `changed: new ${rev}` : "changed: a new revision",
    scaled: `scaled (${rev ? `${rev}: ` : ""}${scale})`,
    unchanged: rev ? `unchanged (${rev})` : "unchanged",
  };
  const outcome = what[res.outcome] ?? (rev ? `${res.outcome} (${rev})` : res.outcome);
  if (dryRun) return `deployment/${d.name} is valid (dry run, nothing stored): it would be ${outcome}`;
  return [`deployment/${d.name} ${outcome}`, `  traffic:   ${trafficText(d, true)}`, `  inference: POST ${inferUrl(d, server)}`].join("\n");
}

/** `a=0.97 b=0.081 …`: the first few metrics by name, 4 significant digits. */
export function metricsText(metrics: Record<string, number>, most = 3): string {
  const names = Object.keys(metrics).sort();
  if (names.length === 0) return "-";
  const shown = names.slice(0, most).map((n) => `${n}=${Number(metrics[n]!.toPrecision(4))}`);
  return shown.join(" ") + (names.length > most ? " …" : "");
}

export function modelsTable(vs: readonly ModelVersion[], now = Date.now()): string {
  const sorted = [...vs].sort((a, b) => (a.team === b.team ? (a.name === b.name ? a.version - b.version : a.name < b.name ? -1 : 1) : a.team < b.team ? -1 : 1));
  return table(
    ["NAME", "VERSION", "TEAM", "SOURCE", "METRICS", "SIZE", "CREATED"],
    sorted.map((v) => [v.name, String(v.version), v.team, v.source || "-", metricsText(v.metrics), humanBytes(v.sizeBytes), age(v.createdAt, now)]),
  );
}

/** What `models register` prints: the new version's URI first (what `serve --model` takes), then what it holds. */
export function registeredText(v: ModelVersion): string {
  const uri = v.uri || `models://${v.name}@${v.version}`;
  return [
    `${uri} registered (team ${v.team}, from ${v.source || "-"})`,
    `  checksum: ${v.checksum || "-"}`,
    `  size:     ${humanBytes(v.sizeBytes)}`,
    `  metrics:  ${metricsText(v.metrics, Number.MAX_SAFE_INTEGER)}`,
    `  serve it: switchyard serve ${v.name} --model ${uri}`,
  ].join("\n");
}
