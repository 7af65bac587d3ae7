// Test helpers: the model server as a real process on a socket in a private temp directory, models made on the spot
// (the demo trainer's, and ONNX graphs written with examples/demo-train/onnx-writer.mjs), and clients through the
// mesh. Not part of the service.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { GRPCInferenceService, ModelServer } from "@switchyard/api";
import { parseReadyLine } from "@switchyard/core";
import type { Datatype } from "@switchyard/inference";
import { createClient, fetchMetrics, type MeshClient } from "@switchyard/mesh";

export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const ENTRY = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** A temp directory of this test's (mode 0700, as a job's directory is): models, sockets, logs. */
export function privateDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "sy-ms-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The demo trainer's model (one epoch): `input` FP32 [N, 2] → `probabilities` FP32 [N, 3]. */
export function demoModel(dir: string): string {
  const out = join(dir, "train");
  const r = spawnSync(process.execPath, [join(REPO, "examples/demo-train/train.mjs"), "--epochs", "1"], { env: { ...process.env, SWITCHYARD_OUTPUT_DIR: out }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`demo-train failed: ${r.stderr}`);
  return join(out, "model.onnx");
}

/** ONNX TensorProto.DataType of each protocol datatype. */
export const ONNX_ELEM: Record<Datatype, number> = { FP32: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BYTES: 8, BOOL: 9, FP16: 10, FP64: 11, UINT32: 12, UINT64: 13 };

interface OnnxWriter {
  encodeModel(model: unknown): Uint8Array;
}

async function onnxWriter(): Promise<OnnxWriter> {
  return (await import(pathToFileURL(join(REPO, "examples/demo-train/onnx-writer.mjs")).href)) as OnnxWriter;
}

/**
 * A model of every datatype: `<dt>_in` [N, 3] → Identity → `<dt>_out`, and `int32_in` Cast to FP32 as `int32_as_fp32`
 * (`datatypes` picks which).
 */
export async function datatypesModel(path: string, datatypes: readonly Datatype[]): Promise<void> {
  const { encodeModel } = await onnxWriter();
  const nodes: unknown[] = [];
  const inputs: unknown[] = [];
  const outputs: unknown[] = [];
  for (const d of datatypes) {
    const n = d.toLowerCase();
    nodes.push({ opType: "Identity", inputs: [`${n}_in`], outputs: [`${n}_out`] });
    inputs.push({ name: `${n}_in`, elemType: ONNX_ELEM[d], shape: ["N", 3] });
    outputs.push({ name: `${n}_out`, elemType: ONNX_ELEM[d], shape: ["N", 3] });
  }
  if (datatypes.includes("INT32")) {
    nodes.push({ opType: "Cast", inputs: ["int32_in"], outputs: ["int32_as_fp32"], attributes: [{ name: "to", type: "int", value: ONNX_ELEM.FP32 }] });
    outputs.push({ name: "int32_as_fp32", elemType: ONNX_ELEM.FP32, shape: ["N", 3] });
  }
  writeFileSync(path, encodeModel({ graph: { name: "datatypes", nodes, initializers: [], inputs, outputs } }));
}

/** A model whose input has a fixed first dimension (`x` FP32 [1, 2] → Identity): dynamic batching cannot serve it. */
export async function fixedBatchModel(path: string): Promise<void> {
  const { encodeModel } = await onnxWriter();
  writeFileSync(path, encodeModel({ graph: { name: "fixed", nodes: [{ opType: "Identity", inputs: ["x"], outputs: ["y"] }], initializers: [], inputs: [{ name: "x", shape: [1, 2] }], outputs: [{ name: "y", shape: [1, 2] }] } }));
}

export interface ServerProcess {
  child: ChildProcess;
  socket: string;
  /** `unix:<socket>`. */
  address: string;
  metrics: string;
  /** What it wrote on stderr so far (its log). */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  infer: MeshClient<typeof GRPCInferenceService>;
  control: MeshClient<typeof ModelServer>;
  /** SIGTERM, and the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The Prometheus text of its metrics socket. */
  scrape(): Promise<string>;
}

/** Runs the model server to its end (for flags it refuses): exit code and output. */
export function runToExit(args: readonly string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [ENTRY, ...args], { env: { ...process.env, SWITCHYARD_LOG_LEVEL: "warn", ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts the model server on `<dir>/serve.sock` and resolves once it printed its ready line (or, with
 * `waitReady: false`, once its socket answers GetLoad). Fails with its log if it exits first.
 */
export async function startServer(dir: string, args: readonly string[], o: { env?: NodeJS.ProcessEnv; waitReady?: boolean } = {}): Promise<ServerProcess> {
  const socket = join(dir, "serve.sock");
  const child = spawn(process.execPath, [ENTRY, "--socket", socket, ...args], { env: { ...process.env, SWITCHYARD_LOG_LEVEL: "info", ...o.env }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<void>((resolve, reject) => {
    lines.on("line", (l) => parseReadyLine(l) && resolve());
    void exited.then((e) => reject(new Error(`the model server exited (${e.code ?? e.signal}) before it was ready:\n${log}`)));
  });
  ready.catch(() => undefined);
  if (o.waitReady === false) {
    // Listening before the model is there: GetLoad answers (a client made before the socket existed would back off).
    await Promise.race([until(() => existsSync(socket)), exited.then(() => Promise.reject(new Error(`exited:\n${log}`)))]);
  } else await ready;
  const infer = createClient(GRPCInferenceService, { target: `unix:${socket}`, healthCheck: false, defaultTimeoutMs: 60_000 });
  const control = createClient(ModelServer, { target: `unix:${socket}`, healthCheck: false, defaultTimeoutMs: 60_000 });
  return {
    child,
    socket,
    address: `unix:${socket}`,
    metrics: `unix:${socket}.metrics`,
    stderr: () => log,
    exited,
    infer,
    control,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const e = await exited;
      infer.close();
      control.close();
      return e;
    },
    scrape: () => fetchMetrics(`unix:${socket}.metrics`),
  };
}

/** Polls `check` every 20 ms until it holds (no timing is asserted: the test's own limit bounds it). */
export async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

/** A metric's value from Prometheus text (the first sample whose name and labels start as given). */
export function sample(text: string, prefix: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}
