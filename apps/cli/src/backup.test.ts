import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freshPostgresDatabase, TEST_POSTGRES_ENV } from "@switchyard/store/testing";
import { cliEnv, runCli, spawnUp, type UpProcess } from "./test-platform.js";

// `switchyard backup` while the platform runs, then `restore` into the stopped platform: what was there at the backup
// is back (jobs, users and their tokens, which need the restored keys), what came after is gone. On the default
// SQLite files, and on PostgreSQL (`up --db`, a database of its own) when SWITCHYARD_TEST_POSTGRES is set.
const PG = process.env[TEST_POSTGRES_ENV]?.trim();

function jobFile(dir: string, name: string): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: ${name}}\nspec:\n  command: [/bin/sh, -c, 'echo ${name}']\n  resources: {cpu: 10m}\n`);
  return f;
}

for (const backend of ["sqlite", "postgres"] as const) {
  const skip = backend === "postgres" && !PG ? `${TEST_POSTGRES_ENV} is not set: backup and restore on PostgreSQL were not run` : false;
  describe(`switchyard backup and restore (${backend})`, { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-backup-"));
    const dataDir = join(dir, "data");
    const env = cliEnv(join(dir, "config.yaml"));
    let db: { url: string; dispose(): Promise<void> } | undefined;
    let up: UpProcess | undefined;
    after(async () => {
      await up?.stop();
      await db?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it("snapshots a running platform and restores it into the stopped one: what came after the backup is gone", async () => {
      if (backend === "postgres") db = await freshPostgresDatabase(PG!);
      const dbArgs = db ? ["--db", db.url] : [];
      const start = async () => (up = await spawnUp(env, ["--data-dir", dataDir, "--port", "0", ...dbArgs]));
      await start();
      const cli = (args: string[]) => runCli(env, args);
      assert.equal(cli(["submit", jobFile(dir, "before-backup"), "--wait"]).code, 0);
      const dora = cli(["--team", "vision", "token", "create", "--user", "dora"]);
      assert.equal(dora.code, 0, dora.stderr);
      const doraToken = dora.stdout.trim().split("\n").at(-1)!.trim();

      const out = join(dir, "backup");
      const b = cli(["backup", "--out", out, "--data-dir", dataDir, ...dbArgs]);
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stdout, new RegExp(`backed up control, jobs, gateway.* \\(${backend}\\)`));
      assert.equal(statSync(out).mode & 0o777, 0o700);
      for (const f of readdirSync(join(out, "keys"))) assert.equal(statSync(join(out, "keys", f)).mode & 0o077, 0, `${f} is private`);
      const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { driver: string; stores: { service: string }[] };
      assert.equal(manifest.driver, backend);

      assert.equal(cli(["submit", jobFile(dir, "after-backup"), "--wait"]).code, 0);
      const erin = cli(["--team", "vision", "token", "create", "--user", "erin"]);
      assert.equal(erin.code, 0, erin.stderr);
      const erinToken = erin.stdout.trim().split("\n").at(-1)!.trim();
      const refused = cli(["restore", "--from", out, "--data-dir", dataDir, ...dbArgs]);
      assert.equal(refused.code, 1, "a restore under a running platform is refused");
      assert.match(refused.stderr, /the platform is running .*stop it first/);
      await up!.stop();
      up = undefined;

      const wrong = cli(["restore", "--from", out, "--data-dir", dataDir, ...(backend === "sqlite" ? ["--db", "postgres://nobody@/x?host=/nonexistent"] : [])]);
      if (backend === "sqlite") {
        assert.equal(wrong.code, 2, "SQLite snapshots never go into PostgreSQL");
        assert.match(wrong.stderr, /holds sqlite snapshots but the target is postgres/);
      } else {
        assert.equal(wrong.code, 2, "PostgreSQL snapshots never go into the SQLite files");
        assert.match(wrong.stderr, /holds postgres snapshots but the target is sqlite/);
      }
      const r = cli(["restore", "--from", out, "--data-dir", dataDir, ...dbArgs]);
      assert.equal(r.code, 0, r.stderr);

      await start();
      const list = JSON.parse(cli(["list", "-o", "json"]).stdout) as { items: { metadata: { name: string }; status: { phase: string } }[] };
      assert.deepEqual(list.items.map((j) => [j.metadata.name, j.status.phase]), [["before-backup", "Succeeded"]]);
      const users = cli(["users"]);
      assert.match(users.stdout, /dora/);
      assert.doesNotMatch(users.stdout, /erin/);
      const asDora = cli(["--token", doraToken, "whoami"]);
      assert.equal(asDora.code, 0, `a token issued before the backup still verifies: ${asDora.stderr}`);
      assert.match(asDora.stdout, /dora/);
      assert.equal(cli(["--token", erinToken, "whoami"]).code, 3, "a token issued after the backup is refused");
      await up!.stop();
      up = undefined;
    });
  });
}
