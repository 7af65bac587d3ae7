import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseOpenbTrace, parseSwitchyardTrace, parseTiresiasTrace, parseTrace } from "./trace-formats.js";
import { parseClusterYaml, parseOpenbNodes, uniformCluster } from "./cluster-spec.js";

function invalid(f: () => unknown): SwitchyardError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof SwitchyardError, String(e));
    assert.equal(e.code, Code.InvalidArgument);
    return e;
  }
  assert.fail("expected InvalidArgument");
}

const OPENB = `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0
openb-pod-0001,6000,12288,1,460,V100M16|V100M32,LS,Running,427061,12902960,427061
openb-pod-0002,88000,327680,8,1000,,BE,Succeeded,100,700,200
openb-pod-0003,4000,8192,0,0,,BE,Pending,50,900,
`;

describe("trace formats", () => {
  it("reads the Alibaba openb pod list: shares, types, run times, pods never scheduled", () => {
    const t = parseOpenbTrace(OPENB);
    assert.equal(t.all.length, 4);
    assert.equal(t.skipped, 1);
    assert.deepEqual(t.jobs.map((j) => [j.id, j.submitS, j.durationS]), [["openb-pod-0000", 0, 12537496], ["openb-pod-0002", 100, 500], ["openb-pod-0001", 427061, 12475899]]);
    assert.deepEqual(t.all[1]!.replicas[0], { gpus: 0, gpuMilli: 460, cpuMilli: 6000, memoryMb: 12288, gpuType: "V100M16|V100M32" });
    assert.deepEqual(t.all[2]!.replicas[0], { gpus: 8, cpuMilli: 88000, memoryMb: 327680 });
  });

  it("names an unknown column, where, and what was expected", () => {
    const e = invalid(() => parseOpenbTrace("name,cpu_milli,memory_mib,num_gpus,gpu_milli,creation_time,deletion_time,scheduled_time\nx,1,1,1,1,1,1,1\n", "pods.csv"));
    assert.match(e.message, /pods.csv:1:27: num_gpus: unknown column "num_gpus" for the alibaba-openb format/);
    assert.equal(e.details[0]?.hint, "did you mean num_gpu? or is this another format?");
    assert.match(e.message, /missing column "num_gpu"/);
  });

  it("rejects an empty file, a header without rows, and bad numbers with their line", () => {
    assert.match(invalid(() => parseTiresiasTrace("", "t.csv")).message, /the file is empty/);
    assert.match(invalid(() => parseTiresiasTrace("job_id,num_gpu,submit_time,duration\n", "t.csv")).message, /a header but no rows/);
    const e = invalid(() => parseTiresiasTrace("job_id,num_gpu,submit_time,duration\n1,2,0,100\n2,two,5,100\n", "t.csv"));
    assert.equal(e.details[0]?.line, 3);
    assert.match(e.message, /num_gpu is not a valid value \(expected an integer ≥ 0, got "two"\)/);
  });

  it("reads Tiresias' trace columns", () => {
    const t = parseTiresiasTrace("job_id,num_gpu,submit_time,iterations,model_name,duration,interval\n0,1,0,606,vgg19,164,30\n1,8,30,133,vgg11,147,23\n");
    assert.deepEqual(t.jobs.map((j) => [j.id, j.submitS, j.durationS, j.replicas[0]!.gpus]), [["0", 0, 164, 1], ["1", 30, 147, 8]]);
  });

  it("reads switchyard's own format with gangs, shares, teams and priorities", () => {
    const t = parseSwitchyardTrace("id,submit_s,duration_s,gpus,replicas,gpu_milli,team,user,priority\ntrain,0,3600,4,2,,vision,ann,1\nnotebook,10,600,0,,250,nlp,,\n");
    assert.equal(t.jobs[0]!.replicas.length, 2);
    assert.deepEqual([t.jobs[0]!.team, t.jobs[0]!.user, t.jobs[0]!.priority], ["vision", "ann", 1]);
    assert.deepEqual(t.jobs[1]!.replicas[0], { gpus: 0, gpuMilli: 250, cpuMilli: 4000, memoryMb: 16384 });
    assert.match(invalid(() => parseTrace("x", "csv" as never)).message, /unknown trace format "csv"/);
  });

  it("reads serving replicas from switchyard's format: no run time needed, a bad flag named with its line", () => {
    const t = parseSwitchyardTrace("id,submit_s,duration_s,gpus,serving\nserver,0,,1,true\ntrain,5,60,2,0\nserver-2,9,,1,1\n");
    assert.deepEqual(t.jobs.map((j) => [j.id, j.serving, j.durationS]), [["server", true, 0], ["train", undefined, 60], ["server-2", true, 0]]);
    const e = invalid(() => parseSwitchyardTrace("id,submit_s,duration_s,gpus,serving\ntrain,5,,2,0\nserver,0,,1,maybe\n", "mix.csv"));
    assert.deepEqual(e.details.map((d) => [d.field, d.line]).slice(0, 2), [["duration_s", 2], ["serving", 3]]);
    assert.match(e.message, /serving is not a valid value \(expected 1, true or yes; 0, false, no or empty, got "maybe"\)/);
  });
});

describe("cluster specs", () => {
  it("reads the openb node list and refuses one without GPUs", () => {
    const nodes = parseOpenbNodes("sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\nn1,32000,262144,0,\n");
    assert.deepEqual(nodes[0], { name: "n0", gpus: [{ index: 0, type: "P100" }, { index: 1, type: "P100" }], cpuMilli: 64000, memoryMb: 262144 });
    assert.match(invalid(() => parseOpenbNodes("sn,cpu_milli,memory_mib,gpu,model\nn1,32000,262144,0,\n", "all.csv")).message, /the cluster in all.csv has no GPUs/);
  });

  it("reads a YAML spec of node groups, with positions in its errors", () => {
    const nodes = parseClusterYaml("nodes:\n  - name: a100\n    count: 2\n    gpus: 8\n    gpuType: A100\n    cpuMilli: 128000\n    memoryMb: 1048576\n");
    assert.deepEqual(nodes.map((n) => [n.name, n.gpus.length, n.gpus[0]!.type]), [["a100-0", 8, "A100"], ["a100-1", 8, "A100"]]);
    const e = invalid(() => parseClusterYaml("nodes:\n  - name: x\n    gpu: 8\n    cpuMilli: 1\n    memoryMb: 1\n", "c.yaml"));
    assert.match(e.message, /c.yaml:3:5: nodes\[0\].gpu: unknown field "gpu"/);
    assert.equal(e.details[0]?.hint, "did you mean gpus?");
    assert.throws(() => uniformCluster(4, 0), /gpusPerNode must be a positive integer/);
  });
});
