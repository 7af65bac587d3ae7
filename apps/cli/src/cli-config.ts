import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";

/** What the CLI needs to reach the platform; `switchyard up` writes it. */
export interface CliConfig {
  server?: string;
  token?: string;
  team?: string;
  /** A PEM file of the certificate(s) to trust for an https server (`up --tls` writes the gateway's self-signed one). */
  ca?: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.SWITCHYARD_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "switchyard", "config.yaml");
}

export function readCliConfig(path = configPath()): CliConfig {
  try {
    const v = parse(readFileSync(path, "utf8")) as unknown;
    return v && typeof v === "object" ? (v as CliConfig) : {};
  } catch {
    return {};
  }
}

export function writeCliConfig(config: CliConfig, path = configPath()): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, stringify(config), { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SWITCHYARD_DATA_DIR ?? join(env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "switchyard");
}
