import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A process's start time, as up.lock records it (/proc/PID/stat field 22). */
function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
}

const BIN = fileURLToPath(new URL("../bin/switchyard.js", import.meta.url));

function up(dataDir: string, port: number) {
  const r = spawnSync(process.execPath, [BIN, "up", "--data-dir", dataDir, "--port", String(port)], { encoding: "utf8", timeout: 60_000, env: { ...process.env, SWITCHYARD_CONFIG: join(dataDir, "..", "cli-config.yaml") } });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

// `switchyard up` where a platform already runs: one line saying so and where, exit 2 — never a stack trace.
describe("switchyard up, when the place is taken", () => {
  const root = mkdtempSync(join(tmpdir(), "switchyard-up-"));
  const dataDir = join(root, "data");
  let server: Server | undefined;
  after(() => {
    server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("refuses a port in use, in one line, exit 2", async () => {
    server = createServer();
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const r = up(dataDir, port);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `up: port ${port} on 127.0.0.1 is in use (another platform? \`switchyard up --port N\` picks another)\n`);
    assert.ok(!existsSync(join(dataDir, "up.lock")), "the data dir's lock is released");
  });

  it("refuses a data dir another live `up` holds, naming its pid; takes over a lock whose process is gone", async () => {
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
    try {
      writeFileSync(join(dataDir, "up.lock"), `${holder.pid} ${startTime(holder.pid!)}\n`);
      writeFileSync(join(dataDir, "up.json"), JSON.stringify({ url: "http://127.0.0.1:9999", pid: holder.pid }));
      const port = (server!.address() as AddressInfo).port;
      const r = up(dataDir, port);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^up: a platform already runs on ${dataDir} \\(pid ${holder.pid}, http://127.0.0.1:9999\\): stop it first`));
      assert.equal(r.stderr.split("\n").length, 2, "one line");
      // The same pid with another start time is another process (a reused pid): the lock is stale.
      writeFileSync(join(dataDir, "up.lock"), `${holder.pid} 1\n`);
      const reused = up(dataDir, port);
      assert.match(reused.stderr, /^up: port \d+ on 127.0.0.1 is in use/, "taken over, stopped by the port");
    } finally {
      holder.kill("SIGKILL");
      await new Promise((r) => holder.once("exit", r));
    }
    // The holder is gone: its lock is stale, taken over, and what stops this `up` now is the port (still in use).
    const r = up(dataDir, (server!.address() as AddressInfo).port);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^up: port \d+ on 127.0.0.1 is in use/);
    assert.ok(!existsSync(join(dataDir, "up.lock")));
    assert.deepEqual(readdirSync(dataDir).filter((f) => f.startsWith("up.lock")), [], "nothing left beside it");
  });

  it("prints its version", () => {
    const r = spawnSync(process.execPath, [BIN, "--version"], { encoding: "utf8" });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^switchyard \d+\.\d+\.\d+ \(node v\d+/);
  });
});
