import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@switchyard/core";
import { detectGpus, parseNvidiaSmi } from "./gpu-inventory.js";

// What `nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits` prints on an 8 × H100 node.
const H100_NODE = [
  "0, GPU-3f1c6a2e-9b1d-4f7e-8a42-0c1d2e3f4a50, NVIDIA H100 80GB HBM3, 81559",
  "1, GPU-4a2d7b3f-0c2e-4a8f-9b53-1d2e3f4a5b61, NVIDIA H100 80GB HBM3, 81559",
  "2, GPU-5b3e8c40-1d3f-4b90-ac64-2e3f4a5b6c72, NVIDIA H100 80GB HBM3, 81559",
  "3, GPU-6c4f9d51-2e40-4ca1-bd75-3f4a5b6c7d83, NVIDIA H100 80GB HBM3, 81559",
  "4, GPU-7d50ae62-3f51-4db2-ce86-4a5b6c7d8e94, NVIDIA H100 80GB HBM3, 81559",
  "5, GPU-8e61bf73-4062-4ec3-df97-5b6c7d8e9fa5, NVIDIA H100 80GB HBM3, 81559",
  "6, GPU-9f72c084-5173-4fd4-e0a8-6c7d8e9fa0b6, NVIDIA H100 80GB HBM3, 81559",
  "7, GPU-a083d195-6284-40e5-f1b9-7d8e9fa0b1c7, NVIDIA H100 80GB HBM3, 81559",
  "",
].join("\n");

describe("parseNvidiaSmi", () => {
  it("reads every GPU of an 8 × H100 node", () => {
    const gpus = parseNvidiaSmi(H100_NODE);
    assert.equal(gpus.length, 8);
    assert.deepEqual(gpus.map((g) => g.index), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(gpus[0], {
      index: 0,
      uuid: "GPU-3f1c6a2e-9b1d-4f7e-8a42-0c1d2e3f4a50",
      name: "NVIDIA H100 80GB HBM3",
      memoryMb: 81559,
      simulated: false,
    });
    assert.ok(gpus.every((g) => g.name === "NVIDIA H100 80GB HBM3" && g.memoryMb === 81559 && !g.simulated));
  });

  it("accepts odd spacing, CRLF line ends and a name with a comma", () => {
    const gpus = parseNvidiaSmi("  1 ,GPU-b,   Tesla  V100-SXM2-16GB ,16160  \r\n0,GPU-a,Weird, Card,  8192\r\n");
    assert.deepEqual(
      gpus.map((g) => [g.index, g.uuid, g.name, g.memoryMb]),
      [
        [0, "GPU-a", "Weird, Card", 8192],
        [1, "GPU-b", "Tesla  V100-SXM2-16GB", 16160],
      ],
    );
  });

  it("rejects a line it cannot read, naming the line", () => {
    assert.throws(() => parseNvidiaSmi("0, GPU-a, A100, 40960\nNo devices were found\n"), (err: Error & { code?: unknown }) => {
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.message, /line 2/);
      return true;
    });
  });
});

describe("detectGpus", () => {
  it("simulates the number of GPUs it is asked for", async () => {
    const gpus = await detectGpus({ simulate: 3 });
    assert.deepEqual(
      gpus.map((g) => [g.index, g.uuid, g.name, g.simulated]),
      [
        [0, "GPU-sim-0", "Simulated GPU", true],
        [1, "GPU-sim-1", "Simulated GPU", true],
        [2, "GPU-sim-2", "Simulated GPU", true],
      ],
    );
    assert.deepEqual(await detectGpus({ simulate: 0 }), []);
    await assert.rejects(detectGpus({ simulate: -1 }), { code: Code.InvalidArgument });
  });

  it("returns no GPUs when nvidia-smi is absent", async () => {
    assert.deepEqual(await detectGpus({ nvidiaSmiPath: "/nonexistent/nvidia-smi" }), []);
  });

  it("runs nvidia-smi with the inventory query and parses what it prints", async () => {
    const dir = await mkdtemp(join(tmpdir(), "switchyard-gpu-"));
    try {
      const fake = join(dir, "nvidia-smi");
      // A stand-in nvidia-smi (no GPU here): it checks the query it is given and prints two lines.
      await writeFile(
        fake,
        `#!/bin/sh\n[ "$1" = "--query-gpu=index,uuid,name,memory.total" ] && [ "$2" = "--format=csv,noheader,nounits" ] || exit 9\n` +
          `printf '0, GPU-x, NVIDIA A100-SXM4-40GB, 40960\\n1, GPU-y, NVIDIA A100-SXM4-40GB, 40960\\n'\n`,
      );
      await chmod(fake, 0o755);
      const gpus = await detectGpus({ nvidiaSmiPath: fake });
      assert.deepEqual(gpus.map((g) => g.uuid), ["GPU-x", "GPU-y"]);
      await writeFile(fake, "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.' >&2\nexit 9\n");
      assert.deepEqual(await detectGpus({ nvidiaSmiPath: fake }), [], "a failing nvidia-smi means no GPUs");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
