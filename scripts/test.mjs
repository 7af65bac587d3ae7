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
// --test-force-exit: a file whose tests are done exits even if a failed test left a handle open (a hang would only end at
// CI's limit); --test-timeout: a test stuck for 5 minutes fails instead of hanging the run.
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-force-exit", "--test-timeout=300000", "--test-reporter=spec", ...selected], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, NODE_OPTIONS: "" },
});
process.exit(r.status ?? 1);
