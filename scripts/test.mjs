#!/usr/bin/env node
// Runs every *.test.ts under packages/, services/, apps/ and examples/ with node:test through tsx.
// Node 20's test runner takes files, not globs, so we list them here. Extra args filter by substring.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".test.ts") || name.endsWith(".test.mjs")) files.push(relative(root, p));
  }
}
for (const top of ["packages", "services", "apps", "examples"]) walk(join(root, top));
const selected = files.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (selected.length === 0) {
  console.error("no test files matched", filters);
  process.exit(2);
}
// Files that share the one Slurm cluster (.ci/run's, SWITCHYARD_TEST_SLURM_CONF) run one at a time after the rest: two
// of them at once would each see the other's allocations on the node.
const shared = selected.filter((f) => /slurm/i.test(f));
const parallel = selected.filter((f) => !shared.includes(f));
// --test-force-exit: a file whose tests are done exits even if a failed test left a handle open (a hang would only end at
// CI's limit); --test-timeout: a test stuck for 5 minutes fails instead of hanging the run.
const run = (files, extra = []) =>
  files.length === 0
    ? 0
    : (spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-force-exit", "--test-timeout=300000", "--test-reporter=spec", ...extra, ...files], {
        cwd: root,
        stdio: "inherit",
        env: { ...process.env, NODE_OPTIONS: "" },
      }).status ?? 1);
const first = run(parallel);
const second = run(shared, ["--test-concurrency=1"]);
process.exit(first !== 0 ? first : second);
