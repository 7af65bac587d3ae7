#!/usr/bin/env node
// Fails when imports form a cycle: between workspace packages (their package.json dependencies) or between the files
// of one package (relative imports in src/, type-only imports included: a type cycle is a design cycle too), and on
// deep imports into another package (only its index and the sub-paths its package.json exports). Layers point down
// only (docs/ARCHITECTURE.md).
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const pkgDirs = ["packages", "services", "apps"].flatMap((top) => readdirSync(join(root, top)).map((d) => join(root, top, d))).filter((d) => existsSync(join(d, "package.json")));
const pkgs = new Map(pkgDirs.map((d) => [JSON.parse(readFileSync(join(d, "package.json"), "utf8")).name, d]));

function findCycle(graph) {
  const state = new Map();
  const stack = [];
  const visit = (n) => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (!state.has(m)) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of graph.keys()) if (!state.has(n)) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

/** Whether workspace package `name` exports `subpath` (e.g. "./testing") in its package.json. */
function exported(name, subpath) {
  const dir = pkgs.get(name);
  if (!dir) return false;
  const exports = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).exports ?? {};
  return typeof exports === "object" && subpath in exports;
}

const problems = [];
const pkgGraph = new Map();
for (const [name, dir] of pkgs) {
  const deps = Object.keys(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).dependencies ?? {});
  pkgGraph.set(name, deps.filter((d) => pkgs.has(d)));
}
const pc = findCycle(pkgGraph);
if (pc) problems.push(`package cycle: ${pc.join(" → ")}`);

for (const [name, dir] of pkgs) {
  const files = [];
  (function walk(d) {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith(".ts")) files.push(p);
    }
  })(join(dir, "src"));
  const graph = new Map();
  for (const f of files) {
    const src = readFileSync(f, "utf8");
    const deps = [...src.matchAll(/^(?:import|export)\s+[^;]*?from\s+"(\.[^"]+)"/gms)].map((m) => resolve(dirname(f), m[1].replace(/\.js$/, ".ts")));
    graph.set(f, deps);
    for (const m of src.matchAll(/from\s+"(@switchyard\/[^"]+)"/g)) {
      const parts = m[1].split("/");
      if (parts.length > 2 && !exported(parts.slice(0, 2).join("/"), `./${parts.slice(2).join("/")}`)) problems.push(`${relative(root, f)}: deep import ${m[1]} (import from the package's index or a sub-path its package.json exports)`);
    }
  }
  const fc = findCycle(graph);
  if (fc) problems.push(`${name}: file cycle: ${fc.map((f) => relative(root, f)).join(" → ")}`);
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`no import cycles (${pkgs.size} packages)`);
