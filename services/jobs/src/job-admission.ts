/**
 * What a submission must pass before it is stored, so that no job is accepted only to wait or fail in silence:
 * - its queue (`admitQueue`): with queues configured, a job belongs to a queue of its own team — Kueue's LocalQueue →
 *   ClusterQueue mapping, with the team as the namespace. The queue it names, if its team may use it; `default` (what
 *   a manifest that names no queue gets) is its team's first queue unless its team has one called `default`. A queue
 *   that does not exist, another team's queue, and a team without queues are refused, listing what the team may use.
 *   Without queues every job is admitted under the name it gives (one shared pool);
 * - its size (`checkFits`): a job that can never fit on this node's inventory, even idle, counting only what its
 *   replicas declare, is refused with what it asks against what exists — unless the caller says the cluster will grow;
 * - its working directories (`checkWorkingDirs`): relative ones need a base directory (the CLI sends the manifest's),
 *   or they would be resolved against nothing at launch.
 */
import { isAbsolute } from "node:path";
import { Code, SwitchyardError, invalidArgument, type FieldViolation } from "@switchyard/core";
import { neverFitsOn, type NodeInfo, type QueuesConfig } from "@switchyard/scheduler";
import { JOB_DEFAULTS, type JobManifestSource, type JobSpec } from "@switchyard/specs";
import { replicaRequests, type EngineUnits } from "./scheduling-loop.js";

/** Where a manifest of `source` names its queue. */
function queueField(source: string): string {
  return source === "switchyard/v1" ? "spec.queue" : source.endsWith("PyTorchJob") ? "spec.runPolicy.schedulingPolicy.queue" : "metadata.labels[kueue.x-k8s.io/queue-name]";
}

/**
 * The queue a job of `team` asking for `queue` is admitted to, or a refusal (INVALID_ARGUMENT) naming the queues its
 * team may use. No queues configured: `queue` as it is.
 */
export function admitQueue(config: QueuesConfig | undefined, team: string, queue: string, source: string): string {
  const all = config?.queues ?? [];
  if (all.length === 0) return queue;
  const mine = all.filter((q) => q.team === team);
  const listing = all.map((q) => `${q.name} (team ${q.team})`).join(", ");
  if (mine.length === 0) {
    throw invalidArgument(
      `team "${team}" has no queue, so its jobs cannot be admitted: the queues are ${listing}. An admin adds a queue with \`team: ${team}\` to queues.yaml (switchyard apply -f queues.yaml), or submit the job to a team that has one (metadata.team)`,
      [{ field: "metadata.team", message: "has no queue", expected: `a team with a queue: ${[...new Set(all.map((q) => q.team))].join(" | ")}`, got: team, hint: `an admin adds a queue with team: ${team} to queues.yaml` }],
    );
  }
  const named = all.find((q) => q.name === queue);
  if (named !== undefined && named.team === team) return named.name;
  // A manifest that names no queue says `default`: the team's first queue, unless a queue of that name is its own.
  if (queue === JOB_DEFAULTS.queue) return mine[0]!.name;
  const field = queueField(source);
  const may = mine.map((q) => q.name);
  const why = named === undefined ? `there is no queue "${queue}"` : `queue "${queue}" belongs to team ${named.team}, not to team ${team}`;
  throw invalidArgument(`${field}: ${why}: team ${team} may use ${may.join(", ")}`, [
    {
      field,
      message: named === undefined ? "is not a queue" : `is team ${named.team}'s queue`,
      expected: may.join(" | "),
      got: queue,
      hint: `set ${field} to a queue of team ${team}, or leave it out for its first (${may[0]})`,
    },
  ]);
}

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? "" : "s"}`;

/** `4 GPUs, 16000 cpuMilli (16 CPUs) and 64000 MB of memory` */
function inventory(node: NodeInfo): string {
  return `${plural(node.gpus.length, "GPU")}, ${node.cpuMilli} cpuMilli (${+(node.cpuMilli / 1000).toFixed(1)} CPUs) and ${node.memoryMb} MB of memory`;
}

/** What each kind of replica declares: `4 replicas × (1000 cpuMilli)`; `1 replica × (no requests)`. */
function asks(spec: JobSpec): string {
  const groups = spec.roles && spec.roles.length > 0 ? spec.roles.map((r) => ({ n: r.replicas, res: r.resources })) : [{ n: spec.replicas, res: spec.resources }];
  return groups
    .map(({ n, res }) => {
      const parts = [
        ...(res.gpus > 0 ? [plural(res.gpus, "GPU") + (res.gpuType ? ` of type ${res.gpuType}` : "")] : res.gpuMilli > 0 ? [`${res.gpuMilli} milli-GPU`] : []),
        ...(res.cpuMilli > 0 ? [`${res.cpuMilli} cpuMilli`] : []),
        ...(res.memoryMb > 0 ? [`${res.memoryMb} MB of memory`] : []),
      ];
      return `${plural(n, "replica")} × (${parts.length > 0 ? parts.join(", ") : "no requests"})`;
    })
    .join(" + ");
}

/** `node a has …` for one node; `the nodes have: a (…); b (…)` for several (at most 8 named). */
function inventories(nodes: readonly NodeInfo[]): string {
  if (nodes.length === 0) return "no node is available (the executor's inventory is empty or could not be read)";
  if (nodes.length === 1) return `node ${nodes[0]!.name} has ${inventory(nodes[0]!)} in all`;
  const named = nodes.slice(0, 8).map((n) => `${n.name} (${inventory(n)})`);
  return `the ${nodes.length} nodes have: ${named.join("; ")}${nodes.length > 8 ? "; …" : ""}`;
}

/**
 * Refuses (INVALID_ARGUMENT) a job that can never fit on `nodes` even when nothing else runs there, counting only what
 * its replicas declare; `allowUnschedulable` accepts it (it waits, saying why, until the inventory grows). Pass the
 * same array while the nodes stay the same: the scheduler caches a compiled topology by the array's identity.
 */
export function checkFits(nodes: readonly NodeInfo[], spec: JobSpec, allowUnschedulable: boolean, units?: EngineUnits): void {
  if (allowUnschedulable) return;
  const why = nodes.length === 0 ? "can never fit: there is no node" : neverFitsOn(nodes, replicaRequests(spec, units));
  if (why === undefined) return;
  const reason = why.replace(/^can never fit: /, "");
  const has = inventories(nodes);
  throw invalidArgument(
    `the job can never fit on this platform: ${reason.startsWith("the ") ? reason : `it ${reason}`}; ${has}. Ask for less (spec.resources, spec.replicas), or, if the cluster will grow, submit with --allow-unschedulable (allow_unschedulable) and it waits until then`,
    [{ field: "spec.resources", message: "can never fit on the current inventory", expected: `at most what ${has.replace(/ in all$/, "")}`, got: asks(spec), hint: "ask for less, or submit with --allow-unschedulable if the cluster will grow" }],
  );
}

/** Where a relative working directory of role `i` is written in a manifest of `source`. */
function workingDirField(source: JobManifestSource | string, spec: JobSpec, i: number | undefined): string {
  if (i === undefined) return source === "switchyard/v1" ? "spec.workingDir" : "workingDir";
  const role = spec.roles![i]!;
  if (source.endsWith("PyTorchJob")) return `spec.pytorchReplicaSpecs.${role.name}.template.spec.containers[pytorch].workingDir`;
  return `spec.roles[${i}].workingDir`;
}

/**
 * A manifest read without a base directory must give absolute working directories: refused (INVALID_ARGUMENT naming
 * each field) rather than resolved against the service's own directory or failed at launch. A base directory must
 * itself be absolute.
 */
export function checkBaseDir(baseDir: string): void {
  if (baseDir !== "" && !isAbsolute(baseDir)) {
    throw invalidArgument(`base_dir: "${baseDir}" is not an absolute path: it is the directory relative working directories resolve against (the CLI sends the manifest file's)`, [
      { field: "base_dir", message: "is not absolute", expected: "an absolute directory, or empty", got: baseDir, hint: "send the absolute directory, or leave it empty and write absolute workingDir paths" },
    ]);
  }
}

export function checkWorkingDirs(spec: JobSpec, source: string, baseDir: string): void {
  if (baseDir !== "") return;
  const problems: FieldViolation[] = [];
  const add = (field: string, dir: string) => {
    if (problems.some((p) => p.field === field)) return;
    problems.push({
      field,
      message: "is a relative path, and the manifest came without a base directory to resolve it against",
      expected: "an absolute path",
      got: dir,
      hint: "write the absolute directory (e.g. /home/you/project), or submit the file with the CLI (`switchyard submit FILE` resolves it against the file's directory)",
    });
  };
  const roles = spec.roles ?? [];
  const relative = (d: string | undefined): d is string => d !== undefined && !isAbsolute(d);
  if (roles.length === 0) {
    if (relative(spec.workingDir)) add(workingDirField(source, spec, undefined), spec.workingDir);
  } else if (source === "switchyard/v1" && roles.every((r) => r.workingDir === spec.workingDir) && relative(spec.workingDir)) {
    // Every role has the same one: written once at spec.workingDir (or repeated in each role).
    add("spec.workingDir", spec.workingDir);
  } else {
    roles.forEach((r, i) => relative(r.workingDir) && add(workingDirField(source, spec, i), r.workingDir));
  }
  if (problems.length === 0) return;
  const list = problems.map((p) => `${p.field}: "${p.got}"`).join("; ");
  throw new SwitchyardError(Code.InvalidArgument, `${list}: a relative working directory needs the directory it is relative to, and none came with the manifest (base_dir: only the CLI sends one, the manifest file's); write an absolute path, or submit the file with \`switchyard submit FILE\``, { details: problems });
}
