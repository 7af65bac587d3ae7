// Test fixture, not part of the CLI: what a hostile local user does, run by the security tests as `nobody` (setpriv).
// Prints one JSON line per attempt: {"op", "target", "ok", "code"|"error"}. Plain JavaScript so it runs as any user
// without a build or a tsx cache.
//
//   node test-attacker.mjs connect <unix-path>...                      open each socket
//   node test-attacker.mjs read <file>...                              read each file
//   node test-attacker.mjs grpc <address> <call> [metadata-json] [tls]  one forged gRPC call (calls below); tls:
//       `plain` (default), `nocert` (TLS trusting any server, no client certificate) or `<cert.pem>,<key.pem>` (TLS
//       with that client certificate: a self-made one, or one of another CA)
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const require = createRequire(root + "package.json");
const grpc = require("@grpc/grpc-js");
const { create, toBinary } = await import(root + "node_modules/@bufbuild/protobuf/dist/esm/index.js");
const api = await import(root + "packages/api/dist/index.js");

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

// The calls of the attack list, each with a request that would do harm if it were believed.
const ABORT_ALL = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: takedown}
spec:
  hosts: [jobs]
  http:
  - route: [{destination: {host: jobs}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}
`;
const CALLS = {
  submit: ["/switchyard.v1.Jobs/SubmitJob", api.SubmitJobRequestSchema, { manifest: "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: pwn, team: default}\nspec:\n  command: [id]\n", requestId: "pwn" }],
  cancel: ["/switchyard.v1.Jobs/CancelJob", api.CancelJobRequestSchema, { name: "victim" }],
  list: ["/switchyard.v1.Jobs/ListJobs", api.ListJobsRequestSchema, {}],
  takedown: ["/switchyard.v1.ConfigCenter/PutDocuments", api.PutDocumentsRequestSchema, { documents: [{ namespace: "mesh", kind: "VirtualService", name: "takedown", content: ABORT_ALL }] }],
  register: ["/switchyard.v1.Registry/Register", api.RegisterRequestSchema, { instance: { service: "jobs", address: "127.0.0.1:1", labels: {}, instanceId: "rogue" }, ttlMs: 60000n }],
  health: ["/grpc.health.v1.Health/Check", api.HealthCheckRequestSchema, { service: "" }],
};

function channelCredentials(tls) {
  if (tls === "plain") return grpc.credentials.createInsecure();
  const verify = { rejectUnauthorized: false, checkServerIdentity: () => undefined };
  if (tls === "nocert") return grpc.credentials.createSsl(null, null, null, verify);
  const [cert, key] = tls.split(",");
  return grpc.credentials.createSsl(null, readFileSync(key), readFileSync(cert), verify);
}

async function grpcCall(address, name, metadata, tls = "plain") {
  const [path, schema, init] = CALLS[name];
  const client = new grpc.Client(address, channelCredentials(tls));
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const res = await new Promise((resolve) => {
    client.makeUnaryRequest(path, (m) => Buffer.from(toBinary(schema, m)), (b) => b, create(schema, init), md, { deadline: Date.now() + 5000 }, (err) =>
      resolve(err ? { ok: false, code: err.code, error: err.details } : { ok: true }),
    );
  });
  client.close();
  out({ op: "grpc", target: `${address} ${name} ${tls.includes(",") ? "foreign-cert" : tls}`, ...res });
}

function tryConnect(path) {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve({ ok: true });
    });
    s.once("error", (e) => resolve({ ok: false, code: e.code }));
  });
}

const [op, ...args] = process.argv.slice(2);
if (op === "connect") for (const p of args) out({ op, target: p, ...(await tryConnect(p)) });
else if (op === "read") {
  for (const p of args) {
    try {
      const text = readFileSync(p, "utf8");
      out({ op, target: p, ok: true, bytes: text.length });
    } catch (e) {
      out({ op, target: p, ok: false, code: e.code });
    }
  }
} else if (op === "grpc") await grpcCall(args[0], args[1], JSON.parse(args[2] ?? "{}"), args[3]);
else {
  process.stderr.write(`unknown op ${op}\n`);
  process.exit(2);
}
