import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DeploymentSchema, ModelVersionSchema, type Deployment, type ModelVersion } from "@switchyard/api";
import type { Reconciler } from "./reconciler.js";
import type { DeploymentRow, ModelRow, ReplicaRow, RevisionRow } from "./serving-store.js";

/** A deployment as the API shows it: its revisions with their replicas, the traffic split and a state in plain words. */
export function deploymentToProto(d: DeploymentRow, revisions: readonly RevisionRow[], replicas: readonly ReplicaRow[], rc: Reconciler): Deployment {
  const live = revisions.filter((r) => r.state !== "Retired");
  const latest = live.at(-1) ?? revisions.at(-1);
  const ready = rc.readyCount(d.uid);
  const desired = live.filter((r) => r.state === "Active").reduce((a, r) => a + r.desired, 0);
  const state = d.deleting ? "Deleting" : desired === 0 && ready === 0 ? "ScaledToZero" : ready === 0 ? "Progressing" : ready < desired ? "Degraded" : "Ready";
  const message =
    state === "Deleting" ? "draining its replicas, then it is gone"
    : state === "ScaledToZero" ? "no replicas while idle: the next request starts one and waits for it"
    : state === "Progressing" ? `waiting for a first replica to start and load the model${waitingWhy(replicas, rc)} (switchyard deployments describe shows the replicas' jobs)`
    : state === "Degraded" ? `${ready} of ${desired} replicas ready${waitingWhy(replicas, rc)}`
    : `${ready} replica${ready === 1 ? "" : "s"} ready`;
  const traffic = live.filter((r) => r.traffic > 0).map((r) => ({ revision: r.number, percent: r.traffic, tag: r === latest ? "latest" : "previous" }));
  return create(DeploymentSchema, {
    name: d.name,
    team: d.team,
    owner: d.owner,
    uid: d.uid,
    createdAt: timestampFromMs(d.created_at),
    manifest: latest?.manifest ?? "",
    source: d.source,
    url: `/v2/models/${d.name}`,
    readyReplicas: ready,
    desiredReplicas: desired,
    state,
    message,
    traffic,
    revisions: revisions.map((r) => {
      const mine = replicas.filter((x) => x.revision === r.number);
      return {
        number: r.number,
        modelUri: r.model_uri,
        modelChecksum: r.model_checksum,
        state: r.state,
        desiredReplicas: r.state === "Active" ? r.desired : 0,
        readyReplicas: rc.readyCount(d.uid, r.number),
        createdAt: timestampFromMs(r.created_at),
        format: (JSON.parse(r.spec) as { model: { format: string } }).model.format,
        replicas: mine.map((x) => ({ job: x.job_name, phase: x.stop_requested_at !== null ? "Stopping" : x.state === "Ready" ? "Ready" : (rc.jobStatus(x.id)?.phase ?? "Submitting"), ready: x.state === "Ready", inFlight: rc.inFlight(x.id) })),
      };
    }),
  });
}

export function modelToProto(m: ModelRow): ModelVersion {
  return create(ModelVersionSchema, {
    name: m.name,
    version: m.version,
    team: m.team,
    source: m.source,
    sourceJobUid: m.source_job_uid,
    checksum: m.checksum,
    sizeBytes: BigInt(m.size_bytes),
    metrics: JSON.parse(m.metrics) as Record<string, number>,
    createdAt: timestampFromMs(m.created_at),
    registeredBy: m.registered_by,
    description: m.description,
    uri: `models://${m.name}@${m.version}`,
  });
}

/** ": its job is Queued — <why>" for the first replica still waiting, from its job's own message. */
function waitingWhy(replicas: readonly ReplicaRow[], rc: Reconciler): string {
  for (const r of replicas) {
    if (r.state === "Ready" || r.stop_requested_at !== null) continue;
    const s = rc.jobStatus(r.id);
    if (s) return `: replica job ${r.job_name} is ${s.phase}${s.message ? ` — ${s.message}` : ""}`;
  }
  return "";
}
