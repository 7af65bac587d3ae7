// Test support: a real etcd (Debian's etcd-server) on loopback ports in a temp dir (`@switchyard/mesh/testing`).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

/**
 * `tls`: serve clients over TLS with this certificate and key and require client certificates of this CA
 * (`--client-cert-auth`), as a platform with mTLS runs etcd.
 */
export async function startEtcd(o: { tls?: { caPem: string; certPem: string; keyPem: string } } = {}): Promise<EtcdServer> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-etcd-"));
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `127.0.0.1:${client}`;
  const scheme = o.tls ? "https" : "http";
  const tlsArgs: string[] = [];
  if (o.tls) {
    const files = { ca: join(dir, "ca.crt"), cert: join(dir, "server.crt"), key: join(dir, "server.key") };
    writeFileSync(files.ca, o.tls.caPem);
    writeFileSync(files.cert, o.tls.certPem);
    writeFileSync(files.key, o.tls.keyPem, { mode: 0o600 });
    tlsArgs.push("--client-cert-auth", "--trusted-ca-file", files.ca, "--cert-file", files.cert, "--key-file", files.key);
  }
  const child: ChildProcess = spawn(
    "etcd",
    ["--data-dir", join(dir, "data"), "--listen-client-urls", `${scheme}://${endpoint}`, "--advertise-client-urls", `${scheme}://${endpoint}`, "--listen-peer-urls", `http://127.0.0.1:${peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`, "--initial-cluster", `default=http://127.0.0.1:${peer}`, ...tlsArgs],
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
