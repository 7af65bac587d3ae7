#!/usr/bin/env node
// `npm run bench -- NAME [args…]` runs bench/NAME.ts (through tsx) after the build. Each benchmark prints its figures
// next to a baseline measured in the same run and ends with one JSON object on its last line.
import { existsSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";

const dir = new URL(".", import.meta.url).pathname;
const [name, ...rest] = process.argv.slice(2);
const available = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.startsWith("lib-")).map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME [args]\n  NAME: one of ${available.join(", ") || "(none yet)"}`);
  process.exit(2);
}
const file = `${dir}${name}.ts`;
if (!existsSync(file)) process.exit(2);
const r = spawnSync(process.execPath, ["--import", "tsx", file, ...rest], { stdio: "inherit" });
process.exit(r.status ?? 1);
