// Test support (also used by bench/): `switchyard up` as a real process tree and the real CLI binary against it.
// Not part of the CLI.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BIN = join(ROOT, "apps/cli/bin/switchyard.js");

/** This process's environment for the CLI, with its own CLI config file and no URL/token overrides. */
export function cliEnv(configFile: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { SWITCHYARD_URL: _u, SWITCHYARD_TOKEN: _t, ...inherited } = process.env;
  return { ...inherited, SWITCHYARD_CONFIG: configFile, ...extra };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI binary to completion (as another account with `as`, see asAccount). */
export function runCli(env: NodeJS.ProcessEnv, args: string[], input?: string, as: string[] = []): CliResult {
  const argv = [...as, process.execPath, BIN, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { env, encoding: "utf8", timeout: 120_000, cwd: ROOT, ...(input !== undefined ? { input } : {}) });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface UpProcess {
  url: string;
  proc: ChildProcess;
  /** What it printed on stdout so far. */
  readonly stdout: string;
  /** SIGTERM, then wait for the graceful stop. */
  stop(): Promise<void>;
}

/** `setpriv` words that run a command as another account (tests that play an unprivileged user; needs root). */
export function asAccount(uid: number, gid = uid): string[] {
  return ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--"];
}

/**
 * Starts `switchyard up ARGS` and resolves when it says where it is up (rejects if it exits first). `as`: run it as
 * that account (asAccount) instead of this process's user.
 */
export async function spawnUp(env: NodeJS.ProcessEnv, args: string[], as: string[] = []): Promise<UpProcess> {
  const argv = [...as, process.execPath, BIN, "up", ...args];
  const proc = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  let out = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on("line", (l) => {
      const m = /Switchyard is up at (\S+)/.exec(l);
      if (m) resolve(m[1]!);
    });
    proc.once("exit", (c) => reject(new Error(`up exited ${c}: ${err}`)));
  });
  return {
    url,
    proc,
    get stdout() {
      return out;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    },
  };
}
