// Test support: a real etcd (Debian's etcd-server) on loopback ports in a temp dir (`@switchyard/mesh/testing`).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface EtcdServer {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startEtcd(): Promise<EtcdServer> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-etcd-"));
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `127.0.0.1:${client}`;
  const child: ChildProcess = spawn(
    "etcd",
    ["--data-dir", dir, "--listen-client-urls", `http://${endpoint}`, "--advertise-client-urls", `http://${endpoint}`, "--listen-peer-urls", `http://127.0.0.1:${peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`, "--initial-cluster", `default=http://127.0.0.1:${peer}`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stderr!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready to serve client requests")) resolve();
    });
    child.once("exit", (c) => reject(new Error(`etcd exited ${c}: ${out.slice(-500)}`)));
  });
  return {
    endpoint,
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
