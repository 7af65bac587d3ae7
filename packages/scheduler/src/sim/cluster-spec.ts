import { invalidArgument } from "@switchyard/core";
import type { NodeInfo } from "../types.js";
import { Violations, closest, isRecord, parseYamlSource } from "../yaml-source.js";
import { CellReader, parseCsv } from "./csv.js";

export type ClusterFormat = "openb" | "yaml";

/** `nodes` machines with `gpusPerNode` GPUs each (8 CPUs and 64 GiB per GPU, so that GPUs bind). */
export function uniformCluster(nodes: number, gpusPerNode: number, gpuType = "GPU"): NodeInfo[] {
  if (!Number.isInteger(nodes) || nodes < 1) throw invalidArgument(`nodes must be a positive integer (got ${nodes})`, [{ field: "cluster.nodes", message: "must be ≥ 1", expected: "an integer ≥ 1", got: String(nodes) }]);
  if (!Number.isInteger(gpusPerNode) || gpusPerNode < 1) {
    throw invalidArgument(`gpusPerNode must be a positive integer (got ${gpusPerNode}): the simulator needs GPUs`, [{ field: "cluster.gpusPerNode", message: "must be ≥ 1", expected: "an integer ≥ 1", got: String(gpusPerNode) }]);
  }
  const width = String(nodes - 1).length;
  return Array.from({ length: nodes }, (_, i) => ({
    name: `node-${String(i).padStart(width, "0")}`,
    gpus: Array.from({ length: gpusPerNode }, (_, index) => ({ index, type: gpuType })),
    cpuMilli: 8000 * gpusPerNode,
    memoryMb: 65536 * gpusPerNode,
  }));
}

/** Alibaba's node list (`openb_node_list_*.csv`): `sn,cpu_milli,memory_mib,gpu,model`. */
export function parseOpenbNodes(text: string, file = "openb_node_list.csv"): NodeInfo[] {
  const t = parseCsv(text, file, ["sn", "cpu_milli", "memory_mib", "gpu"], ["model"], "openb node list");
  const r = new CellReader(file);
  const nodes = t.rows.map((row) => {
    const gpus = r.number(row, "gpu", { min: 0, integer: true });
    const type = row.get("model") || "GPU";
    return {
      name: row.get("sn") || `line-${row.line}`,
      gpus: Array.from({ length: gpus }, (_, index) => ({ index, type })),
      cpuMilli: r.number(row, "cpu_milli", { min: 0 }),
      memoryMb: r.number(row, "memory_mib", { min: 0 }),
    };
  });
  r.done(`cannot read ${file} as an openb node list`);
  return requireGpus(nodes, file);
}

const GROUP_FIELDS = ["name", "count", "gpus", "gpuType", "cpuMilli", "memoryMb"];

/**
 * A cluster spec in YAML:
 * ```yaml
 * nodes:
 *   - name: a100        # node names a100-0, a100-1, … when count > 1
 *     count: 16
 *     gpus: 8
 *     gpuType: A100
 *     cpuMilli: 128000
 *     memoryMb: 1048576
 * ```
 */
export function parseClusterYaml(text: string, file = "cluster.yaml"): NodeInfo[] {
  const doc = parseYamlSource(text, file);
  const v = new Violations(doc, file);
  const root = doc.value;
  const list = isRecord(root) ? root["nodes"] : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    v.add("nodes", root === null || root === undefined ? "the document is empty" : "expected a non-empty list of node groups", { expected: "nodes: [{name, count, gpus, gpuType, cpuMilli, memoryMb}]", hint: "start the file with `nodes:`" });
    throw v.error(`invalid cluster spec ${file}`);
  }
  if (isRecord(root)) for (const k of Object.keys(root)) if (k !== "nodes") v.add(k, `unknown field "${k}"`, { expected: "nodes", atKey: true });
  const nodes: NodeInfo[] = [];
  list.forEach((g, i) => {
    const at = `nodes[${i}]`;
    if (!isRecord(g)) return v.add(at, "expected a node group", { expected: "{name, count, gpus, gpuType, cpuMilli, memoryMb}", got: g });
    for (const k of Object.keys(g)) {
      if (!GROUP_FIELDS.includes(k)) {
        const near = closest(k, GROUP_FIELDS);
        v.add(`${at}.${k}`, `unknown field "${k}"`, { expected: GROUP_FIELDS.join(", "), atKey: true, ...(near ? { hint: `did you mean ${near}?` } : {}) });
      }
    }
    const num = (f: string, def: number | undefined, min: number): number => {
      const x = g[f] ?? def;
      if (typeof x !== "number" || !Number.isInteger(x) || x < min) {
        v.add(`${at}.${f}`, x === undefined ? `${f} is required` : `${f} must be an integer ≥ ${min}`, { expected: `an integer ≥ ${min}`, got: x });
        return min;
      }
      return x;
    };
    const name = typeof g["name"] === "string" && g["name"] !== "" ? g["name"] : `group${i}`;
    const count = num("count", 1, 1);
    const gpus = num("gpus", undefined, 0);
    const cpuMilli = num("cpuMilli", undefined, 1);
    const memoryMb = num("memoryMb", undefined, 1);
    const type = typeof g["gpuType"] === "string" && g["gpuType"] !== "" ? g["gpuType"] : "GPU";
    for (let k = 0; k < count; k++) {
      nodes.push({ name: count === 1 ? name : `${name}-${k}`, gpus: Array.from({ length: gpus }, (_, index) => ({ index, type })), cpuMilli, memoryMb });
    }
  });
  v.throwIfAny(`invalid cluster spec ${file}`);
  const names = new Set<string>();
  for (const n of nodes) {
    if (names.has(n.name)) throw invalidArgument(`invalid cluster spec ${file}: node name ${n.name} appears twice`, [{ field: "nodes", message: `duplicate node name ${n.name}`, file, hint: "give each group a distinct name" }]);
    names.add(n.name);
  }
  return requireGpus(nodes, file);
}

function requireGpus(nodes: NodeInfo[], file: string): NodeInfo[] {
  if (!nodes.some((n) => n.gpus.length > 0)) {
    throw invalidArgument(`the cluster in ${file} has no GPUs: nothing to schedule GPU jobs on`, [
      { field: "gpu", message: "no node has a GPU", file, hint: "use a GPU node list (openb_node_list_gpu_node.csv) or give nodes gpus" },
    ]);
  }
  return nodes;
}
