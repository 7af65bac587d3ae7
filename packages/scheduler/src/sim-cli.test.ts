import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatSimTable, simulateFromOptions } from "./sim-cli.js";

describe("simulateFromOptions", () => {
  it("runs a synthetic workload on N × G nodes and formats a table", () => {
    const r = simulateFromOptions({ synthetic: { jobs: 60, seed: 3 }, cluster: { nodes: 2, gpusPerNode: 8 }, policy: "switchyard", load: 1.2, teams: 2 });
    assert.equal(r.jobs, 60);
    assert.equal(r.perTeam.length, 2);
    const fifo = simulateFromOptions({ synthetic: { jobs: 60, seed: 3 }, cluster: { nodes: 2, gpusPerNode: 8 }, policy: "fifo", load: 1.2 });
    const table = formatSimTable([r, fifo]);
    assert.match(table.split("\n")[0]!, /switchyard\s+fifo$/);
    assert.match(table, /^avg JCT\s+\S+/m);
    assert.doesNotMatch(table, /stranded/);
  });

  it("runs the packing experiment from trace text", () => {
    const trace = "id,submit_s,duration_s,gpus,gpu_milli\na,0,10,0,600\nb,1,10,0,600\nc,2,10,1,\n";
    const r = simulateFromOptions({ trace: { text: trace, format: "switchyard" }, cluster: { text: "nodes:\n  - name: n\n    count: 2\n    gpus: 1\n    cpuMilli: 64000\n    memoryMb: 65536\n", format: "yaml" }, fill: true });
    assert.equal(r.allocatedGpus, 1.2);
    assert.equal(r.strandedGpus, 0.8);
    assert.match(formatSimTable(r), /stranded GPUs\s+0.8/);
  });

  it("asks for a workload, and reads queues from YAML text", () => {
    assert.throws(() => simulateFromOptions({}), /give either a trace or a synthetic workload/);
    assert.throws(() => simulateFromOptions({ synthetic: { jobs: 5 }, queues: { text: "queues: 3" } }), /expected a list of queues/);
    assert.throws(() => simulateFromOptions({ synthetic: { jobs: 5 }, policy: "sjf" as never }), /unknown policy "sjf"/);
  });
});
