/**
 * Upgrade fixtures (`@switchyard/store/testing`): SQLite files a service's store wrote at an earlier schema
 * (`services/<service>/fixtures/upgrade/<service>-<newest migration then>.db`, made by scripts/make-upgrade-fixtures.mjs
 * and never changed after). A service's upgrade test opens a copy of each with the current migrations and reads its
 * rows back through the store: a migration that loses or breaks old data fails it.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Database from "better-sqlite3";
import type { Migration } from "kysely";
import { openStore } from "./store-registry.js";
import type { OpenedStore } from "./store-types.js";

/** The fixture files in `dir` (`*.db`), by name (the migration names sort in order). */
export function upgradeFixtures(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".db"))
    .sort()
    .map((f) => join(dir, f));
}

/** The fixture's name a service's newest migration calls for: `<service>-<migration>.db`. */
export function upgradeFixtureName(service: string, migrations: Record<string, Migration>): string {
  return `${service}-${Object.keys(migrations).sort().at(-1) ?? "none"}.db`;
}

export interface OpenedFixture<DB> {
  readonly store: OpenedStore<DB>;
  /** The migrated copy's tables and columns, and a fresh database's under the same migrations: equal when nothing is lost. */
  readonly columns: { readonly migrated: Record<string, string[]>; readonly fresh: Record<string, string[]> };
  dispose(): Promise<void>;
}

/** Opens a temp copy of `fixture` with `migrations` (the fixture itself is never written). */
export async function openUpgradeFixture<DB>(fixture: string, migrations: Record<string, Migration>): Promise<OpenedFixture<DB>> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-upgrade-"));
  try {
    const copy = join(dir, basename(fixture));
    copyFileSync(fixture, copy);
    const store = await openStore<DB>({ driver: "sqlite", location: copy, migrations });
    const freshPath = join(dir, "fresh.db");
    await (await openStore({ driver: "sqlite", location: freshPath, migrations })).close();
    const columns = { migrated: sqliteColumns(copy), fresh: sqliteColumns(freshPath) };
    return {
      store,
      columns,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A service's upgrade test: its newest migration has a fixture in `fixturesDir` (`<service>-<migration>.db`), and each
 * fixture there, migrated, has a fresh database's tables and columns and passes `readBack` (the rows it holds, read
 * through the service's store; new writes after the upgrade).
 */
export function describeUpgradeFixtures<DB>(service: string, migrations: Record<string, Migration>, fixturesDir: URL, readBack: (store: OpenedStore<DB>) => Promise<void>): void {
  const dir = fileURLToPath(fixturesDir);
  describe(`${service}.db files of earlier versions`, () => {
    const wanted = upgradeFixtureName(service, migrations);
    it("has a fixture made with the newest migration (scripts/make-upgrade-fixtures.mjs writes it)", () => {
      assert.ok(upgradeFixtures(dir).map((f) => basename(f)).includes(wanted), `add ${wanted}: npm run build && node scripts/make-upgrade-fixtures.mjs`);
    });
    for (const fixture of upgradeFixtures(dir)) {
      it(`migrates ${basename(fixture)} to the current schema and reads its rows back`, async (t) => {
        const up = await openUpgradeFixture<DB>(fixture, migrations);
        t.after(() => up.dispose());
        assert.deepEqual(up.columns.migrated, up.columns.fresh, "the same tables and columns as a new database");
        await readBack(up.store);
      });
    }
  });
}

/** Each table's columns as `name type [not null] [default …] [pk]`, in order. */
function sqliteColumns(path: string): Record<string, string[]> {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").all() as { name: string }[];
    const out: Record<string, string[]> = {};
    for (const { name } of tables) {
      const cols = db.prepare("select name, type, \"notnull\" as nn, dflt_value as dflt, pk from pragma_table_info(?)").all(name) as { name: string; type: string; nn: number; dflt: string | null; pk: number }[];
      out[name] = cols.map((c) => `${c.name} ${c.type}${c.nn ? " not null" : ""}${c.dflt !== null ? ` default ${c.dflt}` : ""}${c.pk ? " pk" : ""}`);
    }
    return out;
  } finally {
    db.close();
  }
}
