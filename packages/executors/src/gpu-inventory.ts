/**
 * The GPUs of this machine: read from `nvidia-smi`, or simulated (`--gpus N`) where there are none, so that the whole
 * platform, scheduler included, runs the same way on a laptop.
 */
import { execFile } from "node:child_process";
import { invalidArgument, noopLogger } from "@switchyard/core";
import type { Logger } from "@switchyard/core";
import type { GpuDevice } from "./executor.js";

/** The query whose output `parseNvidiaSmi` reads. */
export const NVIDIA_SMI_ARGS: readonly string[] = ["--query-gpu=index,uuid,name,memory.total", "--format=csv,noheader,nounits"];

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits`: one GPU a line,
 * `0, GPU-3f1c…, NVIDIA H100 80GB HBM3, 81559`. Spacing around commas varies; a name may itself hold commas
 * (the fields either side of it are fixed). A line that does not parse is an error naming the line.
 */
export function parseNvidiaSmi(csv: string): GpuDevice[] {
  const devices: GpuDevice[] = [];
  csv.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const fields = line.split(",").map((f) => f.trim());
    const index = Number(fields[0]);
    const uuid = fields[1] ?? "";
    const memoryMb = Number(fields[fields.length - 1]);
    const name = fields.slice(2, -1).join(", ");
    if (fields.length < 4 || !Number.isSafeInteger(index) || index < 0 || uuid === "" || name === "" || !Number.isFinite(memoryMb)) {
      throw invalidArgument(`nvidia-smi output line ${i + 1} is not "index, uuid, name, memory.total": ${JSON.stringify(raw)}`, [
        { field: "nvidia-smi", line: i + 1, message: "unexpected line", expected: "index, uuid, name, memory.total (MiB)", got: raw },
      ]);
    }
    devices.push({ index, uuid, name, memoryMb, simulated: false });
  });
  return devices.sort((a, b) => a.index - b.index);
}

export interface DetectGpusOptions {
  /** Return this many simulated GPUs instead of asking nvidia-smi. */
  simulate?: number;
  /** Memory of each simulated GPU; default 81920 MiB (an 80 GB card). */
  simulatedMemoryMb?: number;
  /** The nvidia-smi to run; default `nvidia-smi` on PATH. */
  nvidiaSmiPath?: string;
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Told when nvidia-smi is present but fails (driver not loaded, timeout). */
  logger?: Logger;
}

/** The GPUs of this machine; [] when nvidia-smi is absent, fails, or times out. */
export async function detectGpus(options: DetectGpusOptions = {}): Promise<GpuDevice[]> {
  if (options.simulate !== undefined) {
    const n = options.simulate;
    if (!Number.isSafeInteger(n) || n < 0) {
      throw invalidArgument(`simulate must be a whole number of GPUs >= 0, got ${n}`, [
        { field: "simulate", message: "must be an integer >= 0", got: String(n) },
      ]);
    }
    const memoryMb = options.simulatedMemoryMb ?? 81920;
    return Array.from({ length: n }, (_, index) => ({ index, uuid: `GPU-sim-${index}`, name: "Simulated GPU", memoryMb, simulated: true }));
  }
  const command = options.nvidiaSmiPath ?? "nvidia-smi";
  const out = await new Promise<string | null>((resolve) => {
    execFile(command, NVIDIA_SMI_ARGS, { timeout: options.timeoutMs ?? 5000, encoding: "utf8", maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        (options.logger ?? noopLogger).warn({ command, err: err.message, stderr: stderr.trim() }, "nvidia-smi failed; no GPUs detected");
      }
      resolve(null);
    });
  });
  return out === null ? [] : parseNvidiaSmi(out);
}
