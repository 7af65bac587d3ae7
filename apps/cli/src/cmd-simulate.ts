import { readFileSync } from "node:fs";
import { SwitchyardError, errorText } from "@switchyard/core";
import { formatSimTable, simulateFromOptions, type ClusterFormat, type PolicyName, type SimulateCommandOptions, type TraceFormat } from "@switchyard/scheduler";
import type { Command } from "commander";
import { CliExit, EXIT } from "./exit.js";

interface SimulateFlags {
  trace?: string;
  format?: string;
  synthetic?: string;
  jobs?: string;
  seed?: string;
  cluster?: string;
  clusterFormat?: string;
  nodes?: string;
  gpusPerNode?: string;
  queues?: string;
  policy?: string;
  load?: string;
  teams?: string;
  restartPenalty?: string;
  checkpointInterval?: string;
  fill?: boolean;
  maxWall?: string;
  output?: string;
}

function read(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new CliExit(EXIT.usage, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function num(flag: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new CliExit(EXIT.usage, `--${flag} must be a non-negative ${integer ? "whole " : ""}number (got "${v}")`);
  return n;
}

export function simulateOptions(f: SimulateFlags): SimulateCommandOptions {
  const o: SimulateCommandOptions = {};
  if (f.trace) o.trace = { text: read(f.trace), format: (f.format ?? "switchyard") as TraceFormat, file: f.trace };
  if (f.synthetic) o.synthetic = { kind: f.synthetic as "philly", jobs: num("jobs", f.jobs ?? "1000", true)!, seed: num("seed", f.seed ?? "1", true)! };
  if (f.cluster) {
    const format = (f.clusterFormat ?? (/\.csv$/i.test(f.cluster) ? "openb" : "yaml")) as ClusterFormat;
    o.cluster = { text: read(f.cluster), format, file: f.cluster };
  } else if (f.nodes || f.gpusPerNode) {
    o.cluster = { nodes: num("nodes", f.nodes ?? "64", true)!, gpusPerNode: num("gpus-per-node", f.gpusPerNode ?? "8", true)! };
  }
  if (f.queues) o.queues = { text: read(f.queues), file: f.queues };
  if (f.policy) o.policy = f.policy as PolicyName;
  const load = num("load", f.load);
  if (load !== undefined) o.load = load;
  const teams = num("teams", f.teams, true);
  if (teams !== undefined) o.teams = teams;
  const penalty = num("restart-penalty", f.restartPenalty);
  if (penalty !== undefined) o.restartPenaltyS = penalty;
  const ckpt = num("checkpoint-interval", f.checkpointInterval);
  if (ckpt !== undefined) o.checkpointIntervalS = ckpt;
  if (f.fill) o.fill = true;
  const wall = num("max-wall", f.maxWall);
  if (wall !== undefined) o.maxWallS = wall;
  return o;
}

/** `switchyard simulate`: replays a workload against a cluster in simulated time with the service's scheduler code. */
export function registerSimulate(program: Command): void {
  program
    .command("simulate")
    .description("replay a trace or a synthetic workload through a scheduling policy, in simulated time")
    .option("--trace <file>", "a trace file")
    .option("--format <format>", "trace format: alibaba-openb | tiresias | switchyard", "switchyard")
    .option("--synthetic <kind>", "a synthetic workload instead of a trace: philly")
    .option("--jobs <n>", "synthetic: number of jobs", "1000")
    .option("--seed <n>", "synthetic: random seed", "1")
    .option("--cluster <file>", "the openb node CSV or a YAML cluster spec")
    .option("--cluster-format <format>", "openb | yaml (default: from the file name)")
    .option("--nodes <n>", "a uniform cluster of N nodes…")
    .option("--gpus-per-node <g>", "…with G GPUs each")
    .option("--queues <file>", "team queues with quotas (queues.yaml)")
    .option("--policy <policy>", "switchyard | fifo | best-effort-fifo | first-fit | tiresias | srtf-oracle (the last two: references)", "switchyard")
    .option("--load <x>", "rescale arrivals so the offered GPU load is X of capacity")
    .option("--teams <n>", "spread jobs over N teams")
    .option("--restart-penalty <s>", "seconds a preempted job loses on restart", "30")
    .option("--checkpoint-interval <s>", "seconds between a job's checkpoints", "600")
    .option("--fill", "the FGD packing experiment: place jobs in trace order until the cluster's GPUs are asked for")
    .option("--max-wall <s>", "stop a replay after this many seconds of wall time, saying where it stood", "600")
    .option("-o, --output <format>", "table | json", "table")
    .action((f: SimulateFlags) => {
      try {
        const result = simulateFromOptions(simulateOptions(f));
        process.stdout.write(f.output === "json" ? JSON.stringify(result) + "\n" : formatSimTable(result) + "\n");
        if (f.output !== "json" && result.refused.length > 0) {
          const list = result.refused.slice(0, 5).map((r) => `  ${r.id}: ${r.reason}`);
          process.stderr.write(`refused ${result.refused.length} job${result.refused.length === 1 ? "" : "s"} that can never fit on this cluster:\n${list.join("\n")}${result.refused.length > 5 ? "\n  …" : ""}\n`);
        }
      } catch (err) {
        if (err instanceof CliExit) throw err;
        const e = SwitchyardError.from(err);
        const text = errorText(e.message, e.details);
        throw new CliExit(e.code === 3 ? EXIT.usage : EXIT.failed, text);
      }
    });
}
