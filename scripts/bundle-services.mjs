#!/usr/bin/env node
// Bundles each service's compiled entry point (services/<name>/dist/main.js, after `tsc -b`) into one file,
// services/<name>/dist/bundle/main.js, which `switchyard up` runs (the package's `./main` export).
//
// Why: a service loaded as ~900 separate ES modules (kysely alone is ~400) keeps every module's record, scope and
// full source text on its heap; one tree-shaken, minified file holds about half as much (bench `jobs`,
// perServiceRssMb). Tests that start a service by path run the unbundled dist/main.js, so both load paths are tested.
//
// Left out of the bundle, loaded from node_modules when used: better-sqlite3 (a native addon), and the optional
// weight a service loads only when configured to (etcd3, OpenTelemetry's SDK and exporter).
import { build } from "esbuild";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const SERVICES = {
  control: ["main.js"],
  gateway: ["main.js"],
  // The manifest worker is started by URL relative to the module that starts it: it sits beside the bundle.
  jobs: ["main.js", "manifest-worker.js"],
  serving: ["main.js"],
  experiments: ["main.js"],
  // A replica of a deployment, run as a job: ONNX Runtime's native addon stays outside (node_modules).
  "model-server": ["main.js"],
};

for (const [name, entries] of Object.entries(SERVICES)) {
  const dist = join(root, "services", name, "dist");
  await build({
    entryPoints: entries.map((e) => join(dist, e)),
    outdir: join(dist, "bundle"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    minify: true,
    // Names stay: stack traces and logs must still say which function failed.
    keepNames: true,
    sourcemap: "linked",
    external: ["better-sqlite3", "onnxruntime-node", "etcd3", "@opentelemetry/sdk-trace-node", "@opentelemetry/sdk-trace-base", "@opentelemetry/resources", "@opentelemetry/exporter-trace-otlp-http"],
    // CommonJS dependencies (grpc-js) call require() for Node's built-ins; an ES module has none of its own.
    banner: { js: "import { createRequire as __switchyardRequire } from 'node:module'; const require = __switchyardRequire(import.meta.url);" },
    logLevel: "warning",
    legalComments: "none",
  });
}
