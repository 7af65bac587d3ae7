import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// Every command of the README, in order, on a fresh machine's state: a new HOME (so a new data directory and CLI
// config), `switchyard` on the PATH through the README's own install step, a scratch directory to work in (with the
// repository's examples/ and clients/ beside it). Each ```sh block runs as one bash script with `set -euo pipefail`: a command that
// fails fails the test, with the block and its output.
//
// What the test does besides running the text, and why:
// - `npm install`, `npm start` and `npm test` are what CI itself runs on a fresh clone (`.ci/run`): not run again here.
// - `npm link` runs in the checkout (that is where the README says to run it), into a private npm prefix.
// - `switchyard up …` runs in the background (the README says: in its own terminal) and the block goes on once it
//   says it is up; every platform started is stopped at the end.
// - The gateway's port 8080 becomes a free port, so that the test never meets another platform.
// - The shared trace folder (`$SWITCHYARD_TRACES`, `../shared/data/traces` beside the repository) is looked up the
//   same way; lines that need it are left out, saying so, when it is absent (a clone without ../shared).
// - A block right after the line `<!-- readme-test: skip REASON -->` (invisible on the rendered page) is not run, and
//   the test says so with the reason: for a feature documented before it works end to end. The reason is required.

const ROOT = resolve(fileURLToPath(new URL("../../../", import.meta.url)));
const README = readFileSync(join(ROOT, "README.md"), "utf8");

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The marker that keeps the next block from running, with why. */
const SKIP = /^<!-- readme-test: skip(.*?)-->\n$/;

/**
 * The README's ```sh blocks, each as its lines (a line ending in `\` joined with the next), with the reason it is
 * skipped when the line before it is the skip marker.
 */
function shellBlocks(markdown: string): Array<{ lines: string[]; skip?: string }> {
  return [...markdown.matchAll(/(<!-- readme-test:[^\n]*-->\n)?```sh\n([\s\S]*?)```/g)].map((m) => {
    const lines = m[2]!.replace(/\\\n\s*/g, " ").split("\n").filter((l) => l.trim() !== "");
    if (m[1] === undefined) return { lines };
    const reason = SKIP.exec(m[1])?.[1]?.trim();
    assert.ok(reason, `a readme-test marker is \`<!-- readme-test: skip REASON -->\` (got ${m[1].trim()})`);
    return { lines, skip: reason };
  });
}

function tracesDir(): string | undefined {
  for (const d of [process.env.SWITCHYARD_TRACES, join(ROOT, "..", "shared", "data", "traces")]) if (d && existsSync(d)) return resolve(d);
  return undefined;
}

describe("README: every command works from a fresh clone, in order", () => {
  const tmp = mkdtempSync(join(tmpdir(), "switchyard-readme-"));
  chmodSync(tmp, 0o755); // jobs run as another account (nobody, as root): they must reach the examples through here
  const home = join(tmp, "home");
  const work = join(tmp, "work");
  const prefix = join(tmp, "npm-prefix");
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(work, { mode: 0o755 });
  symlinkSync(join(ROOT, "examples"), join(work, "examples"));
  symlinkSync(join(ROOT, "clients"), join(work, "clients"));
  const traces = tracesDir();
  const dataDir = join(home, ".local", "share", "switchyard");

  after(() => {
    // Every `up` the README started: its pid is in the data dir's lock (`PID STARTTIME`); SIGTERM stops it gracefully.
    try {
      const pid = Number(readFileSync(join(dataDir, "up.lock"), "utf8").trim().split(/\s+/)[0]);
      if (pid > 0) process.kill(pid, "SIGTERM");
    } catch {
      // Not running.
    }
    spawnSync("sleep", ["2"]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it("runs each ```sh block", { timeout: 15 * 60_000 }, async () => {
    const port = String(await freePort());
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(SWITCHYARD_|XDG_)/.test(k) && k !== "NODE_OPTIONS") env[k] = v;
    Object.assign(env, { HOME: home, PATH: `${join(prefix, "bin")}:${process.env.PATH}`, npm_config_prefix: prefix, REPO: ROOT, ...(traces ? { SWITCHYARD_TRACES: traces } : {}) });
    const prelude = [
      "set -euo pipefail",
      'wait_up() { for _ in $(seq 1 600); do grep -q "is up at" "$1" && return 0; sleep 0.1; done; cat "$1"; return 1; }',
    ];
    let ups = 0;
    const blocks = shellBlocks(README);
    assert.ok(blocks.length >= 8, `the README's shell blocks were found (${blocks.length})`);
    for (const [i, { lines, skip }] of blocks.entries()) {
      if (skip !== undefined) {
        process.stderr.write(`README test: block ${i + 1} not run (${skip}): ${lines[0]} …\n`);
        continue;
      }
      const script: string[] = [];
      for (const raw of lines) {
        const line = raw.replaceAll("8080", port);
        const cmd = line.replace(/\s+#.*$/, "").trim();
        if (/^npm (install|start|test|ci)\b/.test(cmd)) continue;
        if (/SWITCHYARD_TRACES/.test(cmd) && traces === undefined) {
          process.stderr.write(`README test: left out (no shared trace folder here): ${cmd}\n`);
          continue;
        }
        if (/^npm link\b/.test(cmd)) script.push(`(cd "$REPO" && ${cmd} >/dev/null)`);
        else if (/^switchyard up\b/.test(cmd)) {
          const log = join(tmp, `up-${ups++}.log`);
          script.push(`${cmd} > ${log} 2>&1 &`, `wait_up ${log}`);
        } else script.push(line);
      }
      if (script.length === 0) continue;
      const text = [...prelude, ...script].join("\n");
      const r = spawnSync("bash", ["-c", text], { cwd: work, env, encoding: "utf8", timeout: 10 * 60_000 });
      assert.equal(r.status, 0, `README block ${i + 1} failed (exit ${r.status}):\n${script.join("\n")}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`);
    }
    assert.ok(ups > 0, "the README starts the platform");
  });
});
