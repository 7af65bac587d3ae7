/**
 * `switchyard backup` / `restore`: every service's store and the data dir's keys, in one directory.
 *
 * A backup is taken while the platform runs: each store's snapshot is consistent on its own (SQLite's online backup,
 * `pg_dump`'s snapshot), taken one service after another; what one service wrote between two snapshots that another
 * refers to (a trial's job submitted in between) is reconciled on start as after a crash — jobs and experiments
 * re-adopt or resubmit by their request ids. The keys (`<data>/secrets`: the CA, the intermediate, the key that seals
 * teams' secrets) go with it, since the stores' sealed values and tokens need them: a backup is as secret as the data
 * dir and is written so (0700 directory, 0600 files).
 *
 * A restore needs the platform stopped (its `up.json` names a live supervisor → refused) and replaces each store the
 * backup has and the keys; a store the backup lacks is left as it is.
 */
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { Code, SwitchyardError } from "@switchyard/core";
import { backupStore, restoreStore, storeOptionsFor } from "@switchyard/store";
import { defaultDataDir } from "./cli-config.js";
import { refusePasswordInArgv } from "./cmd-up.js";
import { CliExit, EXIT } from "./exit.js";

/** Each service's SQLite file under the data dir (its start.ts opens the same path); on PostgreSQL, its schema. */
export const SERVICE_STORES = [
  { service: "control", file: "control/control.db" },
  { service: "jobs", file: "jobs/jobs.db" },
  { service: "gateway", file: "gateway/gateway.db" },
  { service: "serving", file: "serving/serving.db" },
  { service: "experiments", file: "experiments/experiments.db" },
] as const;

const FORMAT = "switchyard-backup/1";

interface BackupManifest {
  format: typeof FORMAT;
  createdAt: string;
  driver: string;
  stores: { service: string; file: string }[];
  keys: string[];
}

interface BackupOptions {
  dataDir?: string;
  db?: string;
}

function platformRunning(dataDir: string): number | undefined {
  const state = join(dataDir, "up.json");
  if (!existsSync(state)) return undefined;
  const pid = (JSON.parse(readFileSync(state, "utf8")) as { pid?: number }).pid;
  if (typeof pid !== "number") return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: it lives, as another user.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

/** The regular files of `<data>/secrets` (never a link: a planted one would copy another file into the backup). */
function keyFiles(dataDir: string): string[] {
  const dir = join(dataDir, "secrets");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => lstatSync(join(dir, f)).isFile());
}

export async function backup(out: string, o: BackupOptions): Promise<BackupManifest> {
  const dataDir = resolve(o.dataDir ?? defaultDataDir());
  const db = o.db ?? process.env.SWITCHYARD_DB;
  // A new directory, made here 0700: never one that exists (another user may have made it, and could read or swap
  // what goes in).
  try {
    mkdirSync(out, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliExit(EXIT.usage, code === "EEXIST" ? `${out} exists: give a new directory for the backup (it is made private, 0700)` : `cannot make ${out}: ${(err as Error).message}`);
  }
  chmodSync(out, 0o700);
  mkdirSync(join(out, "stores"), { mode: 0o700 });
  mkdirSync(join(out, "keys"), { mode: 0o700 });
  const manifest: BackupManifest = { format: FORMAT, createdAt: new Date().toISOString(), driver: "sqlite", stores: [], keys: [] };
  for (const s of SERVICE_STORES) {
    const options = storeOptionsFor(db, s.service, join(dataDir, s.file));
    manifest.driver = options.driver;
    if (options.driver === "sqlite" && !existsSync(options.location)) continue;
    const file = `stores/${s.service}.${options.driver}`;
    try {
      await backupStore(options, join(out, file));
    } catch (err) {
      // A service that never started on this database has no schema there yet: nothing of it to keep.
      if (options.driver === "postgres" && err instanceof SwitchyardError && err.code === Code.NotFound) continue;
      throw err;
    }
    manifest.stores.push({ service: s.service, file });
  }
  for (const k of keyFiles(dataDir)) {
    copyFileSync(join(dataDir, "secrets", k), join(out, "keys", k));
    manifest.keys.push(k);
  }
  writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n", { mode: 0o600 });
  return manifest;
}

export async function restore(from: string, o: BackupOptions): Promise<BackupManifest> {
  const dataDir = resolve(o.dataDir ?? defaultDataDir());
  const db = o.db ?? process.env.SWITCHYARD_DB;
  const running = platformRunning(dataDir);
  if (running !== undefined) throw new CliExit(EXIT.failed, `the platform is running on ${dataDir} (switchyard up, pid ${running}): stop it first, then restore`);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(join(from, "manifest.json"), "utf8")) as BackupManifest;
  } catch (err) {
    throw new CliExit(EXIT.usage, `${from} is not a Switchyard backup (${join(from, "manifest.json")}: ${(err as Error).message})`);
  }
  if (manifest.format !== FORMAT) throw new CliExit(EXIT.usage, `${from}: backup format "${String(manifest.format)}" is not one this version restores (${FORMAT})`);
  for (const s of manifest.stores) {
    const known = SERVICE_STORES.find((x) => x.service === s.service);
    if (!known || s.file.includes("..")) throw new CliExit(EXIT.usage, `${from}: the manifest names an unknown store "${s.service}" (${s.file})`);
    const options = storeOptionsFor(db, s.service, join(dataDir, known.file));
    if (options.driver !== manifest.driver) {
      throw new CliExit(EXIT.usage, `${from} holds ${manifest.driver} snapshots but the target is ${options.driver} (${db ? "--db / SWITCHYARD_DB" : "the data dir's SQLite files"}): restore into the same kind of database`);
    }
    await restoreStore(options, join(from, s.file));
  }
  if (manifest.keys.length > 0) {
    mkdirSync(join(dataDir, "secrets"), { recursive: true, mode: 0o700 });
    for (const k of manifest.keys) {
      if (k.includes("/") || k.startsWith(".")) throw new CliExit(EXIT.usage, `${from}: the manifest names a key file "${k}"`);
      const dest = join(dataDir, "secrets", k);
      rmSync(dest, { force: true });
      copyFileSync(join(from, "keys", k), dest);
    }
  }
  return manifest;
}

/** The platform a backup or restore is of: its data dir and database (a password in --db is refused: argv is public). */
function onPlatform(cmd: Command): Command {
  return cmd
    .option("--data-dir <dir>", "the platform's data dir (default: SWITCHYARD_DATA_DIR or ~/.local/share/switchyard)")
    .option("--db <url>", "the platform's database when it is not SQLite in the data dir (postgres://…; also SWITCHYARD_DB)")
    .hook("preAction", (c) => {
      const db = (c.opts() as BackupOptions).db;
      if (db !== undefined) refusePasswordInArgv(db);
    });
}

export function registerBackupCommands(program: Command): void {
  onPlatform(
    program
      .command("backup")
      .description("snapshot every service's store and the data dir's keys into a new directory, while the platform runs")
      .requiredOption("--out <dir>", "a new directory for the backup (it must not exist); it is as secret as the data dir"),
  ).action(async (o: BackupOptions & { out: string }) => {
    const m = await backup(resolve(o.out), o);
    process.stdout.write(`backed up ${m.stores.map((s) => s.service).join(", ") || "no store"} (${m.driver}) and ${m.keys.length} key file(s) to ${resolve(o.out)}\n`);
  });
  onPlatform(
    program
      .command("restore")
      .description("put a backup's stores and keys back (the platform must be stopped); a store the backup lacks is left as it is")
      .requiredOption("--from <dir>", "a directory written by `switchyard backup`"),
  ).action(async (o: BackupOptions & { from: string }) => {
    const m = await restore(resolve(o.from), o);
    process.stdout.write(`restored ${m.stores.map((s) => s.service).join(", ") || "no store"} (${m.driver}) and ${m.keys.length} key file(s) from ${resolve(o.from)}; start the platform with switchyard up\n`);
  });
}
