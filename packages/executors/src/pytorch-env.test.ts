import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { Code } from "@switchyard/core";
import { findFreePort, pytorchEnv } from "./pytorch-env.js";

describe("pytorchEnv", () => {
  it("gives a Master and two Workers with two processes each Kubeflow's PyTorchJob environment", () => {
    const envs = [0, 1, 2].map((replicaIndex) =>
      pytorchEnv({ replicaIndex, replicas: 3, nprocPerNode: 2, masterAddr: "10.0.0.5", masterPort: 23456 }),
    );
    assert.deepEqual(envs[0], {
      PYTHONUNBUFFERED: "1",
      MASTER_ADDR: "10.0.0.5",
      MASTER_PORT: "23456",
      WORLD_SIZE: "6",
      RANK: "0",
      LOCAL_RANK: "0",
      PET_MASTER_ADDR: "10.0.0.5",
      PET_MASTER_PORT: "23456",
      PET_NNODES: "3",
      PET_NODE_RANK: "0",
      PET_NPROC_PER_NODE: "2",
    });
    assert.deepEqual(envs.map((e) => [e["RANK"], e["PET_NODE_RANK"], e["WORLD_SIZE"]]), [
      ["0", "0", "6"],
      ["1", "1", "6"],
      ["2", "2", "6"],
    ]);
  });

  it("rejects a replica index outside the gang and a port that is not a port", () => {
    assert.throws(() => pytorchEnv({ replicaIndex: 3, replicas: 3, nprocPerNode: 1, masterAddr: "h", masterPort: 1 }), { code: Code.InvalidArgument });
    assert.throws(() => pytorchEnv({ replicaIndex: 0, replicas: 1, nprocPerNode: 0, masterAddr: "h", masterPort: 70000 }), (err: Error) => {
      assert.match(err.message, /nprocPerNode/);
      assert.match(err.message, /masterPort/);
      return true;
    });
  });
});

describe("findFreePort", () => {
  it("returns a port that can then be listened on", async () => {
    const port = await findFreePort();
    assert.ok(port > 0 && port < 65536);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
