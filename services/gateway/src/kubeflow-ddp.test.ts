import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TestPlatform } from "./test-harness.js";

// The spine's real PyTorch DDP example (examples/pytorch-ddp/train.py, gloo on CPU) submitted through the gateway's
// REST route as Kubeflow writes it: a PyTorchJob (Master + Worker) and a Trainer v2 TrainJob. Each replica prints the
// environment it got; it must be Kubeflow's.

const DIR = fileURLToPath(new URL("../../../examples/pytorch-ddp/", import.meta.url)).replace(/\/$/, "");
const NO_TORCH = !existsSync("/usr/lib/python3/dist-packages/torch") && "python3-torch is not installed";

/** Kubeflow's variables for replica `rank` of `nnodes` with `nproc` processes each (the port is the platform's). */
function kubeflowEnv(rank: number, nnodes: number, nproc: number, port: string): Record<string, string> {
  return {
    PYTHONUNBUFFERED: "1",
    MASTER_ADDR: "127.0.0.1",
    MASTER_PORT: port,
    WORLD_SIZE: String(nnodes * nproc),
    RANK: String(rank),
    PET_MASTER_ADDR: "127.0.0.1",
    PET_MASTER_PORT: port,
    PET_NNODES: String(nnodes),
    PET_NODE_RANK: String(rank),
    PET_NPROC_PER_NODE: String(nproc),
  };
}

describe("Kubeflow's YAML as is: the DDP example as a PyTorchJob and as a TrainJob", { skip: NO_TORCH }, () => {
  let p: TestPlatform;
  before(async () => {
    p = await TestPlatform.start();
  });
  after(async () => {
    await p.stop();
  });

  async function runToEnd(manifest: string, file: string): Promise<{ name: string; warnings: string[]; roles: string[]; logs: string[] }> {
    const t = p.adminToken;
    const s = await p.rest("POST", "/v1/jobs", { token: t, body: { manifest, fileName: file, baseDir: DIR } });
    assert.equal(s.status, 200, s.text);
    const { job, warnings } = s.json as { job: { metadata: { name: string } }; warnings: string[] };
    const name = job.metadata.name;
    let got: { status: { phase: string; message: string; replicas: { role: string }[] } };
    for (;;) {
      got = (await p.rest("GET", `/v1/jobs/${name}`, { token: t })).json as typeof got;
      if (["Succeeded", "Failed", "Cancelled"].includes(got.status.phase)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const logs = [];
    for (const i of [0, 1]) logs.push((await p.rest("GET", `/v1/jobs/${name}/logs?replica=${i}&alt=media`, { token: t })).text);
    assert.equal(got.status.phase, "Succeeded", `${got.status.message}\n${logs.join("\n---\n")}`);
    return { name, warnings, roles: got.status.replicas.map((r) => r.role), logs };
  }

  function envOf(log: string): Record<string, string | null> {
    return JSON.parse(/^ENV (\{.*\})$/m.exec(log)![1]!) as Record<string, string | null>;
  }

  function assertKubeflowEnv(logs: string[], nproc: number): void {
    const port = envOf(logs[0]!).MASTER_PORT!;
    assert.match(port, /^\d+$/);
    logs.forEach((log, rank) => {
      const env = envOf(log);
      const kubeflow = kubeflowEnv(rank, logs.length, nproc, port);
      assert.deepEqual(Object.fromEntries(Object.keys(kubeflow).map((k) => [k, env[k]])), kubeflow, `replica ${rank}`);
      assert.match(log, new RegExp(`allreduce ok: sum 3.0 over world size 2 \\(rank ${rank}\\)`));
    });
  }

  it("runs the PyTorchJob's Master and Worker with Kubeflow's environment", async () => {
    const manifest = readFileSync(`${DIR}/pytorchjob.yaml`, "utf8");
    const r = await runToEnd(manifest, "pytorchjob.yaml");
    assert.deepEqual(r.roles, ["Master", "Worker"]);
    assert.ok(r.warnings.some((w) => w.includes("imagePullPolicy")), r.warnings.join("\n"));
    assertKubeflowEnv(r.logs, 1);
    assert.match(r.logs[0]!, /step=20 loss=/);
  });

  it("runs the TrainJob's two nodes with Kubeflow's environment", async () => {
    const manifest = readFileSync(`${DIR}/trainjob.yaml`, "utf8"); // as shipped: it runs in its own directory
    const r = await runToEnd(manifest, "trainjob.yaml");
    assertKubeflowEnv(r.logs, 1);
  });
});
