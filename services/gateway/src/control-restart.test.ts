import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { DescService } from "@bufbuild/protobuf";
import { ConnectError, createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Jobs } from "@switchyard/api";
import { parseReadyLine } from "@switchyard/core";
import { createClient, createMeshRuntime, createRemoteRegistry, createServer, dataDirIdentity, type MeshClient, type MeshServer, type Registry } from "@switchyard/mesh";
import { createGateway, type Gateway } from "./gateway.js";

// A real `control` process is killed and started again while a client calls through the gateway without pause. The
// restarted registry is empty until the service's lease renewal registers it again; the gateway's mesh keeps the
// endpoint it knows (still connected and serving) meanwhile, so no call fails. The service behind the gateway is a
// mesh server in this process registered as `jobs` (a stub: what it answers does not matter here).

const CONTROL_ENTRY = fileURLToPath(new URL("../../control/dist/main.js", import.meta.url));

async function startControl(dataDir: string): Promise<{ proc: ChildProcess; address: string }> {
  const proc = spawn(process.execPath, [CONTROL_ENTRY], { env: { ...process.env, SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "inherit"] });
  const address = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on("line", (l) => {
      const ready = parseReadyLine(l);
      if (ready) resolve(ready.address);
    });
    proc.once("exit", (code, sig) => reject(new Error(`control exited before ready: ${code} ${sig}`)));
  });
  return { proc, address };
}

describe("the gateway across a restart of control", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-gw-control-"));
  const dataDir = join(dir, "data");
  let control: { proc: ChildProcess; address: string };
  let jobsRegistry: Registry;
  let gatewayRegistry: Registry;
  let jobs: MeshServer;
  let forward: MeshClient<typeof Jobs>;
  let gateway: Gateway;
  let url: string;
  before(async () => {
    control = await startControl(dataDir);
    const jobsId = dataDirIdentity(dataDir, "jobs");
    const gatewayId = dataDirIdentity(dataDir, "gateway");
    jobsRegistry = createRemoteRegistry({ address: control.address, runtime: createMeshRuntime({ serviceName: "jobs", credentials: jobsId }) });
    const jobsRuntime = createMeshRuntime({ serviceName: "jobs", credentials: jobsId });
    // Every method answers empty (unary) or ends at once (streams).
    const stub = Object.fromEntries(Jobs.methods.map((m) => [m.localName, m.methodKind === "unary" ? async () => ({}) : async function* () {}]));
    jobs = createServer({ name: "jobs", host: "127.0.0.1", port: 0, registry: jobsRegistry, runtime: jobsRuntime }).add(Jobs, stub as never);
    await jobs.start();
    const gatewayRuntime = createMeshRuntime({ serviceName: "gateway", credentials: gatewayId });
    gatewayRegistry = createRemoteRegistry({ address: control.address, runtime: createMeshRuntime({ serviceName: "gateway", credentials: gatewayId }) });
    forward = createClient(Jobs, { target: "mesh:///jobs", registry: gatewayRegistry, runtime: gatewayRuntime });
    gateway = await createGateway({ dbPath: join(dir, "gateway.db"), forwards: [{ service: Jobs as DescService, client: forward as unknown as MeshClient<DescService> }], adminTokenFile: join(dir, "admin-token") });
    url = `http://127.0.0.1:${await gateway.listen(0, "127.0.0.1")}`;
  });
  after(async () => {
    await gateway.close();
    forward.close();
    await jobs.stop(100).catch(() => undefined);
    await jobsRegistry.close();
    await gatewayRegistry.close();
    if (control.proc.exitCode === null && control.proc.signalCode === null) control.proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers every call while control restarts and the registry fills again", async () => {
    const client = createConnectClient(Jobs, createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${gateway.adminToken}`), next(req))] }));
    await client.listJobs({});
    const failures: string[] = [];
    let calls = 0;
    let running = true;
    const callers = Array.from({ length: 4 }, async () => {
      while (running) {
        calls++;
        await client.listJobs({}).catch((e: unknown) => failures.push(`${ConnectError.from(e).code}: ${ConnectError.from(e).rawMessage}`));
      }
    });
    const exited = new Promise((r) => control.proc.once("exit", r));
    control.proc.kill("SIGKILL");
    await exited;
    control = await startControl(dataDir);
    // The restarted registry lists jobs again once jobs' lease renewal (every 2 s) finds its lease gone.
    while (!(await gatewayRegistry.list("jobs").then((l) => l.length > 0, () => false))) await new Promise((r) => setTimeout(r, 50));
    const after = calls;
    while (calls < after + 50) await new Promise((r) => setTimeout(r, 10));
    running = false;
    await Promise.all(callers);
    assert.deepEqual(failures, [], `${failures.length} of ${calls} calls failed`);
  });
});
