/**
 * Snapshots of a `postgres` store: `pg_dump --format=custom --schema=<service>` (the service's tables, its migrations'
 * bookkeeping and its identity sequences, no owners or grants, so it restores under another user too). pg_dump reads
 * in one repeatable-read transaction, so the snapshot is consistent while the service runs. A restore checks the
 * archive is of the same schema and holds no migration the service lacks, then — in ONE transaction (psql
 * --single-transaction), so a failure leaves the store as it was — drops the schema with everything in it (tables
 * a later migration added included, which `pg_restore --clean` would leave behind) and replays the archive.
 *
 * The tools are PostgreSQL's own (pg_dump, pg_restore, psql): the newest under /usr/lib/postgresql/N/bin (Debian's
 * layout; pg_dump must be at least the server's version), else from PATH. The password goes to them as PGPASSWORD,
 * never on a command line.
 */
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import { postgresSchema } from "./postgres.js";
import { parsePostgresLocation, type PostgresLocation } from "./postgres-url.js";
import { checkSnapshotFits, expectSnapshotDriver } from "./store-snapshot.js";
import type { StoreSnapshot, StoreSnapshotOptions } from "./store-types.js";

export async function backupPostgres(options: StoreSnapshotOptions, destPath: string): Promise<StoreSnapshot> {
  const where = parsePostgresLocation(options.location);
  const schema = postgresSchema(options, where.redacted);
  mkdirSync(dirname(destPath), { recursive: true, mode: 0o700 });
  const tmp = `${destPath}.tmp-${randomBytes(8).toString("hex")}`;
  // "wx": a new file, never one planted under the name beforehand (the destination's directory may be shared).
  closeSync(openSync(tmp, "wx", 0o600));
  try {
    await run(where, "pg_dump", ["--format=custom", `--schema=${schema}`, "--no-owner", "--no-privileges", `--file=${tmp}`, `--dbname=${where.libpqUrl}`]);
    const snapshot = await readArchive(where, tmp);
    if (snapshot.service !== schema) throw new SwitchyardError(Code.NotFound, `PostgreSQL ${where.redacted}: schema ${schema} does not exist: nothing to back up`);
    renameSync(tmp, destPath);
    chmodSync(destPath, 0o600);
    return { ...snapshot, path: destPath, bytes: statSync(destPath).size };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export async function restorePostgres(options: StoreSnapshotOptions, srcPath: string): Promise<StoreSnapshot> {
  expectSnapshotDriver(srcPath, "postgres");
  const where = parsePostgresLocation(options.location);
  const schema = postgresSchema(options, where.redacted);
  const snapshot = await readArchive(where, srcPath);
  checkSnapshotFits(snapshot, options);
  const dir = mkdtempSync(join(tmpdir(), "switchyard-restore-"));
  try {
    const script = join(dir, "restore.sql");
    await run(where, "pg_restore", ["--no-owner", "--no-privileges", `--file=${script}`, srcPath]);
    await run(where, "psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-c", `drop schema if exists "${schema}" cascade`, "-f", script, `--dbname=${where.libpqUrl}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return snapshot;
}

/** The schema an archive holds (its TOC's SCHEMA entry) and the migrations applied in it (its kysely_migration rows). */
async function readArchive(where: PostgresLocation, path: string): Promise<StoreSnapshot> {
  const toc = await run(where, "pg_restore", ["--list", path]);
  const schemas = [...toc.matchAll(/^\d+; \d+ \d+ SCHEMA - (\S+) /gm)].map((m) => m[1]!);
  const service = schemas.length === 1 ? schemas[0]! : "";
  const data = toc.includes(" TABLE DATA ") ? await run(where, "pg_restore", ["--data-only", "--table=kysely_migration", "--file=-", path]) : "";
  const copy = /^COPY \S+\.kysely_migration \(name, "?timestamp"?\) FROM stdin;\n([\s\S]*?)^\\\.$/m.exec(data);
  const migrations = copy === null ? [] : copy[1]!.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]!).sort();
  return { driver: "postgres", service, migrations, path, bytes: statSync(path).size };
}

/** Runs one of PostgreSQL's tools; its stdout, or a SwitchyardError with what it said. */
function run(where: PostgresLocation, tool: "pg_dump" | "pg_restore" | "psql", args: string[]): Promise<string> {
  const bin = toolPath(tool);
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...(where.password !== undefined ? { PGPASSWORD: where.password } : {}) };
    const child = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e: NodeJS.ErrnoException) => {
      const hint = e.code === "ENOENT" ? `: install PostgreSQL's client tools (Debian: postgresql-client-15), or put ${tool} on PATH` : "";
      reject(new SwitchyardError(Code.FailedPrecondition, `cannot run ${bin}: ${e.message}${hint}`, { cause: e }));
    });
    child.on("close", (code) => {
      if (code === 0) return resolve(Buffer.concat(out).toString("utf8"));
      const said = Buffer.concat(err).toString("utf8").trim().split("\n").slice(-5).join("; ");
      reject(new SwitchyardError(Code.FailedPrecondition, `${tool} for PostgreSQL ${where.redacted} failed (exit ${code}): ${said}`));
    });
  });
}

function toolPath(tool: string): string {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return tool;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const p = join(root, v, "bin", tool);
    if (existsSync(p)) return p;
  }
  return tool;
}
