import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defaultPartitionOf, expandHostlist, gpuGres, inventoryFrom, nodeState, parseScontrolLine, parseSqueue } from "./executor-slurm-cli.js";

// What Slurm 22.05 prints (captured from `scontrol -d -o show node|job` on a one-node cluster, plus a second node).
const NODES = [
  "NodeName=localhost Arch=x86_64 CoresPerSocket=1  CPUAlloc=2 CPUEfctv=2 CPUTot=2 CPULoad=0.37 AvailableFeatures=(null) ActiveFeatures=(null) Gres=gpu:fake:2 GresDrain=N/A GresUsed=gpu:fake:2(IDX:0-1) NodeAddr=127.0.0.1 NodeHostName=localhost Version=22.05.8 OS=Linux 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=22900 AllocMem=500 FreeMem=23357 Sockets=2 Boards=1 State=ALLOCATED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=debug  BootTime=2026-11-30T10:50:49 SlurmdStartTime=2026-12-01T03:44:33 LastBusyTime=2026-12-01T03:44:46 CfgTRES=cpu=2,mem=22900M,billing=2 AllocTRES=cpu=2,mem=500M CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s",
  "NodeName=gpu07 Arch=x86_64 CoresPerSocket=16 CPUAlloc=0 CPUEfctv=30 CPUTot=32 Gres=gpu:a100:4(S:0-1),gpu:v100:2 RealMemory=512000 MemSpecLimit=2000 State=IDLE+DRAIN Partitions=batch,debug",
].join("\n");
const JOBS = [
  "JobId=5 JobName=wrap UserId=nobody(65534) GroupId=nogroup(65534) JobState=RUNNING Reason=None NodeList=localhost NumNodes=1 NumCPUs=1 TRES=cpu=1,mem=300M,node=1,billing=1 JOB_GRES=gpu:fake:1   Nodes=localhost CPU_IDs=0 Mem=300 GRES=gpu:fake:1(IDX:0) MinCPUsNode=1 MinMemoryNode=300M",
  "JobId=6 JobName=switchyard-job1.a0 UserId=nobody(65534) JobState=RUNNING Reason=None   Nodes=localhost CPU_IDs=1 Mem=200 GRES=gpu:fake:1(IDX:1) MinCPUsNode=1",
  "JobId=7 JobName=big JobState=RUNNING Reason=None   Nodes=gpu[07-08] CPU_IDs=0-3,8 Mem=1000 GRES=gpu:a100:2(IDX:0-1)   Nodes=localhost CPU_IDs=0 Mem=0",
  "JobId=8 JobName=done JobState=COMPLETED Reason=None   Nodes=localhost CPU_IDs=0-1 Mem=100",
].join("\n");

describe("reading Slurm's command-line output", () => {
  it("splits an scontrol line into its fields, values with spaces and repeated per-node keys included", () => {
    const pairs = parseScontrolLine(NODES.split("\n")[0]!);
    const get = (k: string): string | undefined => pairs.find(([key]) => key === k)?.[1];
    assert.equal(get("OS"), "Linux 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0");
    assert.equal(get("Gres"), "gpu:fake:2");
    assert.equal(get("AllocTRES"), "cpu=2,mem=500M");
    const job = parseScontrolLine(JOBS.split("\n")[2]!);
    assert.deepEqual(job.filter(([k]) => k === "Nodes").map(([, v]) => v), ["gpu[07-08]", "localhost"]);
  });

  it("expands host lists, with ranges, zero padding, several groups and plain names", () => {
    assert.deepEqual(expandHostlist("gpu[07-09,12],login"), ["gpu07", "gpu08", "gpu09", "gpu12", "login"]);
    assert.deepEqual(expandHostlist("r[1-2]-n[1-2]"), ["r1-n1", "r1-n2", "r2-n1", "r2-n2"]);
    assert.deepEqual(expandHostlist("localhost"), ["localhost"]);
    // A job's owner writes part of `scontrol show job`'s text: a range of a billion names costs a bounded list.
    assert.equal(expandHostlist("n[0-999999999],m[0-999999999]").length, 65_536);
    assert.deepEqual(expandHostlist("a[1-9],b", 3), ["a1", "a2", "a3"]);
  });

  it("reads GPU counts and types from GRES, and node states as one word", () => {
    assert.deepEqual(gpuGres("gpu:a100:4(S:0-1),gpu:v100:2,shard:8"), [["a100", 4], ["v100", 2]]);
    assert.deepEqual(gpuGres("gpu:2(IDX:0-1)"), [["gpu", 2]]);
    assert.deepEqual(gpuGres("(null)"), []);
    assert.deepEqual(["IDLE", "MIXED", "ALLOCATED", "IDLE+DRAIN", "MIXED+DRAIN", "DOWN*", "IDLE*", "IDLE+POWERED_DOWN", "COMPLETING"].map(nodeState), [
      "idle", "mixed", "allocated", "drain", "drain", "down", "not_responding", "powered_down", "completing",
    ]);
  });

  it("builds the inventory: capacity per node, and as busy only what allocations outside the platform hold", () => {
    const nodes = inventoryFrom(NODES, JOBS, undefined, "switchyard-");
    assert.deepEqual(nodes, [
      {
        name: "gpu07",
        cpuMilli: 30_000,
        memoryMb: 510_000,
        gpus: [0, 1, 2, 3].map((index) => ({ index, type: "a100" })).concat([4, 5].map((index) => ({ index, type: "v100" }))),
        busy: { cpuMilli: 5000, memoryMb: 1000, gpus: 2 },
        state: "drain",
      },
      // Job 5 (outside) and job 7's part here count; job 6 is the platform's own, job 8 is over.
      { name: "localhost", cpuMilli: 2000, memoryMb: 22_900, gpus: [0, 1].map((index) => ({ index, type: "fake" })), busy: { cpuMilli: 2000, memoryMb: 300, gpus: 1 }, state: "allocated" },
    ]);
    assert.deepEqual(inventoryFrom(NODES, JOBS, "batch", "switchyard-").map((n) => n.name), ["gpu07"]);
  });

  it("reads squeue's lines, and nothing from anything else", () => {
    assert.deepEqual(parseSqueue("12|RUNNING|None|65534|switchyard-a.a0\n13|PENDING|Resources|1000|x|y\nslurm_load_jobs error\n"), [
      { id: "12", state: "RUNNING", reason: "None", uid: 65534, name: "switchyard-a.a0" },
      { id: "13", state: "PENDING", reason: "Resources", uid: 1000, name: "x|y" },
    ]);
  });

  it("finds the default partition, where sbatch without --partition goes (the inventory lists its nodes only)", () => {
    const text = "PartitionName=cpu AllowGroups=ALL Default=YES Nodes=c[01-04] State=UP\nPartitionName=gpu AllowGroups=ALL Default=NO Nodes=gpu[01-02] State=UP\n";
    assert.equal(defaultPartitionOf(text), "cpu");
    assert.equal(defaultPartitionOf(text.replace("Default=YES", "Default=NO")), null);
  });
});
