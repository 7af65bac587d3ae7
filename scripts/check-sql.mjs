#!/usr/bin/env node
// Fails when a file under services/*/src or packages/*/src outside the store modules builds a query or holds raw SQL
// (Kysely's selectFrom/insertInto/updateTable/deleteFrom, sql`…`, a prepared statement). Each service's SQL lives
// behind its store modules, typed rows in and out; that is also the seam another database's driver plugs into
// (packages/store: openStore, registerStoreDriver). The allowed files are listed here by name, each with why.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;

/** Files that may hold SQL, and why. A new store module is added here on purpose, in review. */
const ALLOWED = new Map([
  ["packages/store/src/sqlite.ts", "the sqlite driver: pragmas, migrations, the statement cache"],
  ["packages/store/src/store-registry.test.ts", "tests the drivers against a real database"],
  ["packages/store/src/postgres.ts", "the postgres driver: the service's schema, search_path, migrations"],
  ["packages/store/src/postgres-backup.ts", "the postgres driver's snapshots: pg_dump, and the restore's drop schema"],
  ["packages/store/src/sqlite-backup.ts", "the sqlite driver's snapshots: VACUUM INTO and the snapshot's label table"],
  ["packages/store/src/test-backends.ts", "the contract tests' databases: drops each test's schema"],
  ["packages/store/src/test-fixtures.ts", "upgrade fixtures: compares a migrated file's columns with a fresh one's"],
  ["packages/store/src/postgres-ddl.test.ts", "compiles migrations' DDL for PostgreSQL"],
  ["packages/store/src/store-contract.test.ts", "the store contract on every back end, against real databases"],
  ["packages/store/src/store-backup.test.ts", "writes, backs up, changes and restores rows on every back end"],
  ["services/jobs/src/schema.ts", "the jobs service's tables and migrations"],
  ["services/jobs/src/job-store.ts", "jobs, replicas, events"],
  ["services/jobs/src/job-store.test.ts", "tests the store against a real database"],
  ["services/jobs/src/secret-store.ts", "teams' secrets (sealed values)"],
  ["services/jobs/src/secret-store.test.ts", "inspects the stored ciphertexts"],
  ["services/jobs/src/metrics-store.ts", "jobs' metric series and the log offsets read"],
  ["services/jobs/src/metrics-store.test.ts", "counts the stored rows"],
  ["services/jobs/src/queue-config-store.ts", "applied queue configurations"],
  ["services/gateway/src/token-store.ts", "users, teams and tokens"],
  ["services/gateway/src/audit-store.ts", "the audit log"],
  ["services/gateway/src/token-store.contract.test.ts", "breaks the memberships foreign key, which no store method can"],
  ["services/control/src/config-store.ts", "the config center's documents"],
  ["services/control/src/identity-store.ts", "the join tokens the CA has accepted"],
  ["services/serving/src/schema.ts", "the serving service's tables and migrations"],
  ["services/serving/src/serving-store.ts", "deployments, revisions, replicas, registered models"],
  ["services/experiments/src/schema.ts", "the experiments service's tables and migrations"],
  ["services/experiments/src/experiment-store.ts", "experiments and their trials"],
]);

const SQL = [
  [/\b(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\(/, "a Kysely query"],
  [/\bsql(<[^`>]*>)?`/, "raw SQL (sql`…`)"],
  [/\bsql\.(raw|lit|ref|id|table|join)\(/, "raw SQL (sql.raw & co.)"],
  [/\.prepare\(/, "a prepared statement"],
];

const files = [];
for (const top of ["services", "packages"]) {
  for (const pkg of readdirSync(join(root, top))) {
    const src = join(root, top, pkg, "src");
    try {
      if (!statSync(src).isDirectory()) continue;
    } catch {
      continue;
    }
    (function walk(d) {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) {
          if (f !== "gen" && f !== "node_modules") walk(p);
        } else if (/\.(ts|mts|js|mjs)$/.test(f)) files.push(relative(root, p));
      }
    })(src);
  }
}

const problems = [];
for (const file of files) {
  if (ALLOWED.has(file)) continue;
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  lines.forEach((line, i) => {
    for (const [re, what] of SQL) if (re.test(line)) problems.push(`${file}:${i + 1}: ${what} outside the store modules: ${line.trim().slice(0, 120)}`);
  });
}
const stale = [...ALLOWED.keys()].filter((f) => !files.includes(f));
for (const f of stale) problems.push(`${f}: listed as allowed in scripts/check-sql.mjs but not there: remove it from the list`);

if (problems.length > 0) {
  console.error(`SQL outside the store modules (move it behind the service's store, or list a new store module in scripts/check-sql.mjs):\n${problems.join("\n")}`);
  process.exit(1);
}
console.log(`no SQL outside the ${ALLOWED.size} store files (${files.length} files checked)`);
