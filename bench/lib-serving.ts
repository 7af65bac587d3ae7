// Shared by bench/serving.ts: the platform's REST for jobs, models and deployments, and the replicas' processes.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "../apps/cli/src/test-platform.js";

export interface Api {
  rest(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; bytes: Buffer }>;
}

export function api(url: string, token: string): Api {
  return {
    async rest(method, path, body) {
      const res = await fetch(new URL(path, url), {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      let json: Record<string, unknown> = {};
      if ((res.headers.get("content-type") ?? "").includes("json") && bytes.length) json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
      return { status: res.status, json, bytes };
    },
  };
}

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 60_000, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const must = (what: string, r: { status: number; json: unknown }) => {
  if (r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json).slice(0, 500)}`);
  return r.json as Record<string, unknown>;
};

/**
 * Trains the demo model as a job of the platform (examples/demo-train, `epochs` epochs) and waits for it to succeed;
 * the job's name.
 */
export async function trainDemo(a: Api, epochs: number, seed: number): Promise<string> {
  const yaml = readFileSync(join(ROOT, "examples/demo-train/job.yaml"), "utf8")
    .replace('args: [--epochs, "30"]', `args: [--epochs, "${epochs}", --seed, "${seed}"]`)
    .replace("workingDir: .", `workingDir: ${join(ROOT, "examples/demo-train")}`)
    .replace("name: demo-train", `name: bench-train-${seed}`);
  must("submit the training job", await a.rest("POST", "/v1/jobs", { manifest: yaml, requestId: randomUUID() }));
  const name = `bench-train-${seed}`;
  await until(`training job ${name}`, async () => {
    const j = must("get the training job", await a.rest("GET", `/v1/jobs/${name}`)) as { status: { phase: string; message?: string } };
    if (j.status.phase === "Failed" || j.status.phase === "Cancelled") throw new Error(`training job ${name} ${j.status.phase}: ${j.status.message ?? ""}`);
    return j.status.phase === "Succeeded" ? true : undefined;
  }, 120_000, 200);
  return name;
}

export async function registerModel(a: Api, model: string, from: string): Promise<{ version: number; bytes: number; checksum: string }> {
  const r = must(`register ${from} as ${model}`, await a.rest("POST", "/v1/models", { name: model, from }));
  return { version: Number(r.version), bytes: Number(r.sizeBytes ?? r.size_bytes ?? 0), checksum: String(r.checksum) };
}

export interface DeploymentView {
  name: string;
  state: string;
  readyReplicas: number;
  manifest: string;
  revisions: { number: number; state: string; readyReplicas: number }[];
  traffic: { revision: number; percent: number }[];
}

export async function deployment(a: Api, name: string): Promise<DeploymentView | undefined> {
  const r = await a.rest("GET", `/v1/deployments/${name}`);
  return r.status === 200 ? (r.json as unknown as DeploymentView) : undefined;
}

export async function applyDeployment(a: Api, manifest: string, canaryTrafficPercent?: number): Promise<string> {
  const r = must("apply a deployment", await a.rest("POST", "/v1/deployments", { manifest, ...(canaryTrafficPercent !== undefined ? { canaryTrafficPercent } : {}) }));
  return String(r.outcome);
}

export async function waitReady(a: Api, name: string, replicas = 1, revision?: number, ms = 90_000): Promise<void> {
  await until(`${replicas} ready replica(s) of ${name}${revision ? ` r${revision}` : ""}`, async () => {
    const d = await deployment(a, name);
    const n = revision === undefined ? d?.readyReplicas : d?.revisions.find((r) => r.number === revision)?.readyReplicas;
    return (n ?? 0) >= replicas ? true : undefined;
  }, ms);
}

/** Deletes every deployment and waits until they are gone (their replica jobs outlive `up` otherwise). */
export async function deleteAllDeployments(a: Api, ms = 60_000): Promise<void> {
  const list = (await a.rest("GET", "/v1/deployments")).json as { deployments?: { name: string }[] };
  for (const d of list.deployments ?? []) await a.rest("DELETE", `/v1/deployments/${d.name}`);
  await until("every deployment gone", async () => (((await a.rest("GET", "/v1/deployments")).json as { deployments?: unknown[] }).deployments?.length ? undefined : true), ms, 200);
}

/** How a replica's command line reads (SWITCHYARD_MODEL_SERVER, when set for the platform, replaces the entry). */
const PATTERN = (name: string) => `${process.env.SWITCHYARD_MODEL_SERVER ?? "model-server/dist/bundle/main.js"} --name ${name} `;

/** Is any process of deployment `name`'s replicas running (the sandbox's wrappers included)? */
export function modelServerRunning(name: string): boolean {
  return spawnSync("pgrep", ["-f", PATTERN(name)]).status === 0;
}

/** The model servers of deployment `name` themselves: the node processes, not bubblewrap wrapping them. */
export function modelServerPids(name: string): number[] {
  const out = spawnSync("pgrep", ["-f", PATTERN(name)], { encoding: "utf8" }).stdout;
  return out.split("\n").filter(Boolean).map(Number).filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/exe`) === process.execPath;
    } catch {
      return false;
    }
  });
}

/** The services' pids from up.json. */
export function servicePids(dataDir: string): Record<string, number> {
  return (JSON.parse(readFileSync(join(dataDir, "up.json"), "utf8")) as { services: Record<string, number> }).services;
}

/** A model server's socket: `serve.sock` beside its job's output directory (from its environment; needs root). */
export function replicaSocket(pid: number): string {
  const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
  const out = env.find((e) => e.startsWith("SWITCHYARD_OUTPUT_DIR="))?.slice("SWITCHYARD_OUTPUT_DIR=".length);
  if (!out) throw new Error(`model server ${pid}: no SWITCHYARD_OUTPUT_DIR in its environment`);
  return join(dirname(out), "serve.sock");
}
