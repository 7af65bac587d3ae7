import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatSimTable, simulateFromOptions } from "./sim-cli.js";
import { createPolicy } from "./sim/policies.js";

describe("simulateFromOptions", () => {
  it("runs a synthetic workload on N × G nodes and formats a table", () => {
    const r = simulateFromOptions({ synthetic: { jobs: 60, seed: 3 }, cluster: { nodes: 2, gpusPerNode: 8 }, policy: "switchyard", load: 1.2, teams: 2 });
    assert.equal(r.jobs, 60);
    assert.equal(r.perTeam.length, 2);
    const fifo = simulateFromOptions({ synthetic: { jobs: 60, seed: 3 }, cluster: { nodes: 2, gpusPerNode: 8 }, policy: "fifo", load: 1.2 });
    const table = formatSimTable([r, fifo]);
    assert.match(table.split("\n")[0]!, /switchyard\s+fifo$/);
    assert.match(table, /^avg JCT\s+\S+/m);
    assert.doesNotMatch(table, /stranded|serving/);
  });

  it("replays a trace with serving replicas and reports them apart in the table", () => {
    const trace = "id,submit_s,duration_s,gpus,serving\nserver,0,,2,1\na,0,100,2,\nb,10,50,2,\n";
    const r = simulateFromOptions({ trace: { text: trace, format: "switchyard" }, cluster: { nodes: 1, gpusPerNode: 4 } });
    assert.deepEqual([r.jobs, r.avgJctS, r.serving?.replicas, r.serving?.stops], [2, 120, 1, 0]);
    const table = formatSimTable(r);
    assert.match(table, /^jobs\s+2$/m);
    assert.match(table, /^serving stops\s+0$/m);
    assert.match(table, /^serving avg wait\s+0s$/m);
  });

  it("runs the packing experiment from trace text", () => {
    const trace = "id,submit_s,duration_s,gpus,gpu_milli\na,0,10,0,600\nb,1,10,0,600\nc,2,10,1,\n";
    const r = simulateFromOptions({ trace: { text: trace, format: "switchyard" }, cluster: { text: "nodes:\n  - name: n\n    count: 2\n    gpus: 1\n    cpuMilli: 64000\n    memoryMb: 65536\n", format: "yaml" }, fill: true });
    assert.equal(r.allocatedGpus, 1.2);
    assert.equal(r.strandedGpus, 0.8);
    assert.match(formatSimTable(r), /stranded GPUs\s+0.8/);
  });

  it("packs an openb pod list without time columns (the multigpuNN variants), and refuses to replay it, saying why", () => {
    const pods = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\nopenb-pod-0,4000,8192,2,1000\nopenb-pod-1,2000,4096,1,500\nopenb-pod-2,2000,4096,1,500\n";
    const cluster = { nodes: 1, gpusPerNode: 4 };
    const r = simulateFromOptions({ trace: { text: pods, format: "alibaba-openb", file: "multigpu.csv" }, cluster, fill: true });
    // In trace order until 4 GPUs are asked for: 2 + 0.5 + 0.5, then the 2-GPU pod again, which no longer fits.
    assert.equal(r.refusedJobs, 1);
    assert.equal(r.allocatedGpus, 3);
    assert.throws(
      () => simulateFromOptions({ trace: { text: pods, format: "alibaba-openb", file: "multigpu.csv" }, cluster }),
      (e: unknown) => e instanceof Error && /multigpu.csv has no creation_time, scheduled_time, deletion_time columns: a replay needs arrival and run times/.test(e.message) && /--fill/.test(JSON.stringify(e)),
    );
  });

  it("replays with the reference policies, and refuses the oracle outside the simulator", () => {
    const base = { synthetic: { jobs: 40, seed: 2 }, cluster: { nodes: 1, gpusPerNode: 8 }, load: 1.2 } as const;
    const oracle = simulateFromOptions({ ...base, policy: "srtf-oracle" });
    const fifo = simulateFromOptions({ ...base, policy: "fifo" });
    const tiresias = simulateFromOptions({ ...base, policy: "tiresias" });
    assert.equal(oracle.jobs, 40);
    assert.ok(oracle.avgJctS <= fifo.avgJctS, `the oracle (${oracle.avgJctS} s) is not worse than FIFO (${fifo.avgJctS} s)`);
    assert.equal(tiresias.policy, "tiresias");
    assert.throws(() => createPolicy("srtf-oracle"), /only the simulator has/);
  });

  it("asks for a workload, and reads queues from YAML text", () => {
    assert.throws(() => simulateFromOptions({}), /give either a trace or a synthetic workload/);
    assert.throws(() => simulateFromOptions({ synthetic: { jobs: 5 }, queues: { text: "queues: 3" } }), /expected a list of queues/);
    assert.throws(() => simulateFromOptions({ synthetic: { jobs: 5 }, policy: "sjf" as never }), /unknown policy "sjf"/);
  });
});
