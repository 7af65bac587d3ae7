import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create, toBinary, toJsonString, type DescMethod } from "@bufbuild/protobuf";
import { Auth, ConfigCenter, Jobs, Platform, Queues, Secrets } from "@switchyard/api";
import fc from "fast-check";
import { anonymousAddress, arbMessage, billionLaughs, envelope, H2, h1, jsonBody, leaks, MiB, NUMBERS, outcomeOf, pct, RAW_UTF8, readUp, REFUSALS, sharedDir, startSteadyCaller, text, type Answer, type Outcome, type RawRequest, type Wire } from "./hostile-kit.js";
import { cliEnv, runCli, spawnUp, type UpProcess } from "./test-platform.js";

// Nothing a caller sends can take the platform down: generated and hand-written hostile requests against a real
// `switchyard up` — every REST route its /openapi.json lists, every Connect, gRPC and gRPC-Web method of the API's
// services — from an attacker's own address (127.0.0.2) with an admin's token, a viewer's and none. Every one is
// refused (a 4xx, or the gRPC status of a client's mistake) or served, never a 5xx, INTERNAL or UNAVAILABLE, and no
// error shows a server path or a stack. Meanwhile a well-behaved caller on 127.0.0.1 sees every call succeed; at the end
// no service was restarted and a real job still runs. Outcomes only: no timing is asserted. The bugs found so far are
// kept at the end as todo tests, each its smallest failing case; the sweeps leave those inputs out until they are fixed.
// Complements services/gateway's fuzz.test.ts (field-level contract on a lone gateway) and edge-limits.test.ts
// (endless uploads, what the edge reads): here the whole platform, every protocol, the worst shapes of input.

const RUNS_PER_ROUTE = 40;
const RUNS_PER_METHOD = 20;
const SERVICES = [Jobs, Queues, Secrets, Auth, Platform, ConfigCenter];
type Who = "admin" | "viewer" | "none";
const WHO: Who[] = ["admin", "viewer", "none"];

/** Outcomes a test accepts besides REFUSALS: success, UNIMPLEMENTED for unknown methods, a cut-off body's. */
type Also = { okToo?: boolean; unknownToo?: boolean; cutToo?: boolean };
/** A request: a typed message's init, or (Connect only) a raw body. */
type Msg = { init?: Record<string, unknown>; raw?: string | Buffer };
interface RestRoute { method: string; template: string; query: string[]; body: string[] }
type OpenApi = { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, { schema: { $ref: string } }> } }>>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };

describe("nothing a caller sends can take the platform down", () => {
  const dir = sharedDir("switchyard-hostile-");
  const dataDir = join(dir, "data");
  const env = cliEnv(join(dir, "config.yaml"));
  const tokens: Record<Who, string> = { admin: "", viewer: "", none: "" };
  let p: UpProcess;
  let url: string;
  let pidsAtStart: Record<string, number>;
  let steady: ReturnType<typeof startSteadyCaller>;

  const cli = (args: string[]) => {
    const r = runCli(env, args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  /** Submits a small job through the CLI and waits for it; returns its phase. */
  const runJob = (name: string, script: string, specExtra = "") => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: ${name}, team: default}\nspec:\n  resources: {cpu: 10m, memory: 16Mi}\n  command: [/bin/sh, -c, ${JSON.stringify(script)}]\n${specExtra}`);
    chmodSync(file, 0o644);
    runCli(env, ["submit", file, "--wait"]);
    return (JSON.parse(cli(["get", name, "-o", "json"])) as { status: { phase: string } }).status.phase;
  };
  const auth = (who: Who): [string, string][] => (who === "none" ? [] : [["authorization", `Bearer ${tokens[who]}`]]);
  /** The verdict on an answer: a refusal (or, with okToo, success), never a server error; no server path, no stack. */
  const judge = (wire: Wire, a: Answer, what: string, o: Also = {}): Outcome => {
    const out = outcomeOf(wire, a);
    const also = [...(o.okToo ? ["ok"] : []), ...(o.unknownToo ? ["unimplemented"] : []), ...(o.cutToo ? ["closed", "canceled", "deadline_exceeded"] : [])];
    const fine = REFUSALS.has(out.code) || also.includes(out.code);
    assert.ok(fine && !((wire === "rest" || wire === "connect") && a.status >= 500), `${what.slice(0, 300)} → ${wire} ${a.status} ${out.code}: ${out.message.slice(0, 500)}`);
    const leak = leaks(out.message, dataDir);
    assert.equal(leak, undefined, `${what.slice(0, 300)}: the error shows ${leak}: ${out.message.slice(0, 500)}`);
    return out;
  };
  const judgeHttp = (wire: Wire, a: Answer, what: string, o: Also = {}) => judge(a.status === 200 ? wire : "rest", a, what, o);
  /** For the known bugs below: the one right answer. */
  const expectCode = (wire: Wire, a: Answer, code: string, what: string) => assert.equal(judge(wire, a, what, { okToo: code === "ok" }).code, code, what);
  /** One HTTP/1.1 request as `who`: with that token, from ATTACKER (callers without one from addresses of their own). */
  const send = (who: Who, r: RawRequest) => h1(url, { ...r, headers: [...auth(who), ...(r.headers ?? [])], ...(who === "none" ? { from: anonymousAddress() } : {}) });
  /** One gRPC call as `who` on the attackers' session (a caller without a token on a session of its own). */
  const grpc = async (h2: H2, who: Who, path: string, body: Buffer): Promise<Answer> => {
    const headers = { "content-type": "application/grpc", ...Object.fromEntries(auth(who)) };
    if (who !== "none") return h2.call(path, headers, body);
    const own = new H2(url, anonymousAddress());
    try {
      return await own.call(path, headers, body);
    } finally {
      own.close();
    }
  };
  /** One call of `m` in `wire`: a typed message, or (Connect only) a raw body. Server streams are read to their first message. */
  const rpc = (h2: H2, m: DescMethod, wire: "connect" | "grpc" | "grpc-web", who: Who, msg: Msg): Promise<Answer> => {
    const path = `/${m.parent.typeName}/${m.name}`;
    const stream = m.methodKind === "server_streaming";
    const message = msg.raw ?? (wire === "connect" ? toJsonString(m.input, create(m.input, msg.init as never)) : Buffer.from(toBinary(m.input, create(m.input, msg.init as never))));
    if (wire === "grpc") return grpc(h2, who, path, envelope(message));
    const type = wire === "grpc-web" ? "application/grpc-web+proto" : stream ? "application/connect+json" : "application/json";
    return send(who, { method: "POST", path, headers: [["content-type", type]], body: wire === "grpc-web" || stream ? envelope(message) : message, stopAt: "message" });
  };
  const wireOf = (m: DescMethod, wire: "connect" | "grpc" | "grpc-web"): Wire => (wire === "connect" && m.methodKind === "server_streaming" ? "connect-stream" : wire);

  before(async () => {
    p = await spawnUp(env, ["--data-dir", dataDir, "--jobs-dir", join(dir, "jobs"), "--port", "0", "--grace-ms", "1000"]);
    url = p.url;
    tokens.admin = cli(["token", "create", "--user", "mallory", "--team", "default", "--role", "admin"]).trim().split("\n").pop()!;
    tokens.viewer = cli(["token", "create", "--user", "vic", "--team", "default", "--role", "viewer"]).trim().split("\n").pop()!;
    cli(["secrets", "create", "wandb", "--team", "vision", "--from-literal", "api-key=other-teams-secret"]);
    assert.equal(runJob("steady", 'for i in 1 2 3; do echo loss=0.$i; done; echo kept > "$SWITCHYARD_OUTPUT_DIR/out.txt"'), "Succeeded");
    pidsAtStart = readUp(dataDir).services;
    steady = startSteadyCaller(url, readFileSync(join(dataDir, "admin-token"), "utf8").trim(), "steady");
  });
  after(async () => {
    await steady?.stop();
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers generated paths, queries and bodies on every REST route in /openapi.json: refused or served, never a server error", async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApi;
    const routes: RestRoute[] = Object.entries(doc.paths).flatMap(([template, ops]) =>
      Object.entries(ops).map(([method, op]) => {
        const ref = op.requestBody?.content["application/json"]?.schema.$ref.split("/").pop();
        return { method: method.toUpperCase(), template, query: (op.parameters ?? []).filter((x) => x.in === "query").map((x) => x.name), body: Object.keys((ref && doc.components.schemas[ref]?.properties) ?? {}) };
      }),
    );
    assert.ok(routes.length >= 20 && routes.some((r) => r.template.includes("{path}")), JSON.stringify(routes.map((r) => r.template)));
    const segment = fc.oneof({ weight: 3, arbitrary: text.map(pct) }, { weight: 1, arbitrary: fc.constantFrom("..", "%2e%2e", "..%2f..%2fetc%2fpasswd", "../../etc/passwd", "%ff", "%c0%af", "%ed%a0%80", "%00", "%", "%zz", "a%2fb", "x:cancel", "//etc/passwd") });
    for (const r of routes) {
      const query = fc.oneof(
        fc.array(fc.tuple(fc.oneof(fc.constantFrom(...r.query, "alt", "team"), text), fc.oneof(text, fc.constantFrom(...NUMBERS, "media", "sse"))), { maxLength: 4 }).map((ps) => (ps.length ? `?${ps.map(([k, v]) => `${pct(k)}=${pct(v)}`).join("&")}` : "")),
        fc.constantFrom("?%zz=%ff", "?limit=-1&limit=2", "?maxPoints=999999999", "?&&&==&", `?names=${"a".repeat(20_000)}`),
      );
      const body = r.method === "GET" || r.method === "DELETE" ? fc.constant(undefined) : jsonBody(r.body);
      const type = fc.constantFrom("application/json", "application/json", "text/plain", "application/x-www-form-urlencoded", "application/grpc", "");
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...WHO), segment, segment, query, body, type, async (who, v1, v2, q, b, t) => {
          let i = 0;
          const path = r.template.replace(/\{[^}]+\}/g, () => (i++ === 0 ? v1 : `${v1}/${v2}`)) + q;
          const a = await send(who, { method: r.method, path, ...(b === undefined ? {} : { headers: [["content-type", t]], body: b }), stopAt: "head" });
          // A head over the 16 KiB header limit gets Node's 431 and a close; a client still sending its body may see only the reset.
          judge("rest", a, `${who} ${r.method} ${path} ${String(b ?? "").slice(0, 200)}`, { okToo: true, cutToo: b !== undefined && path.length > 15_000 });
        }),
        { numRuns: RUNS_PER_ROUTE, endOnFailure: true, includeErrorInReport: true },
      );
    }
  });

  it("answers every Connect, gRPC and gRPC-Web method of Jobs, Queues, Secrets, Auth, Platform and ConfigCenter with hostile field values: refused or served", async () => {
    const h2 = new H2(url);
    try {
      for (const s of SERVICES) {
        for (const m of s.methods) {
          const msg = fc.oneof({ weight: 3, arbitrary: arbMessage(m.input).map((init): Msg => ({ init })) }, { weight: 1, arbitrary: jsonBody(m.input.fields.map((f) => f.jsonName)).map((raw): Msg => ({ raw })) });
          await fc.assert(
            fc.asyncProperty(fc.constantFrom(...WHO), fc.constantFrom<"connect" | "grpc" | "grpc-web">("connect", "grpc", "grpc-web"), msg, async (who, wire, x) => {
              if (x.raw !== undefined && wire !== "connect") return; // raw JSON is for the JSON protocol; binary garbage is bug (1)
              judge(wireOf(m, wire), await rpc(h2, m, wire, who, x), `${who} ${wire} ${s.typeName}/${m.name} ${JSON.stringify(x, (_, v: unknown) => (typeof v === "bigint" ? String(v) : typeof v === "string" ? v.slice(0, 80) : v)).slice(0, 300)}`, { okToo: true });
            }),
            { numRuns: RUNS_PER_METHOD, endOnFailure: true, includeErrorInReport: true },
          );
        }
      }
      // Methods the gateway does not serve are UNIMPLEMENTED (gRPC reads an HTTP 404 so), never a crash.
      for (const path of ["/switchyard.v1.Jobs/DropEverything", "/switchyard.v1.Registry/Register", "/switchyard.v1.Registry/Watch", "/grpc.health.v1.Health/Check", "/switchyard.v1.Nope/Nope", "/switchyard.v1.Jobs/SubmitJob/x"]) {
        for (const who of WHO) {
          judge("grpc", await grpc(h2, who, path, envelope(Buffer.alloc(0))), `${who} gRPC ${path}`, { unknownToo: true });
          judge("grpc-web", await send(who, { method: "POST", path, headers: [["content-type", "application/grpc-web+proto"]], body: envelope(Buffer.alloc(0)) }), `${who} gRPC-Web ${path}`, { unknownToo: true });
          judge("connect", await send(who, { method: "POST", path, headers: [["content-type", "application/json"]], body: "{}" }), `${who} Connect ${path}`);
        }
      }
    } finally {
      h2.close();
    }
  });

  it("refuses deep nesting, huge strings and arrays, many keys and alias bombs in manifests and bodies, for every caller", async () => {
    const manifestEnv = (n: number, value: (i: number) => string) => `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: keys, team: default}\nspec:\n  command: [/bin/true]\n  env:\n${Array.from({ length: n }, (_, i) => `    K${i}: ${value(i)}\n`).join("")}`;
    const documents: [string, string][] = [
      ["flow YAML nested 1,000 levels", `${"[".repeat(1000)}${"]".repeat(1000)}`],
      ["flow YAML nested 100,000 levels", `${"[".repeat(100_000)}${"]".repeat(100_000)}`],
      ["block YAML nested 100,000 levels", `${"- ".repeat(100_000)}x`],
      ["mappings nested 1,000 levels", `${Array.from({ length: 1000 }, (_, i) => `${" ".repeat(i)}a:`).join("\n")} 1`],
      ["JSON nested 100,000 levels", `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`],
      ["a billion laughs", billionLaughs()],
      ["60,000 keys", manifestEnv(60_000, () => "v")],
      ["a 400,000-item list", `[${"1,".repeat(400_000)}1]`],
      ["a string just under the body limit", "x".repeat(4 * MiB - 1024)],
      ["a string past the body limit", "x".repeat(4 * MiB + 1)],
    ];
    for (const [what, doc] of documents) {
      const targets: [string, string, unknown][] = [
        ["rest", "/v1/jobs", { manifest: doc, requestId: what }],
        ["rest", "/v1/jobs:validate", { manifest: doc }],
        ["connect", "/switchyard.v1.Jobs/SubmitJob", { manifest: doc }],
        ["rest", "/v1/queues:apply", { yaml: doc }],
        ["connect", "/switchyard.v1.ConfigCenter/PutDocuments", { documents: [{ namespace: "mesh", kind: "VirtualService", name: "bomb", content: doc }] }],
      ];
      for (const [wire, path, body] of targets) {
        if (/billion laughs|60,000 keys|400,000-item/.test(what) && /queues|ConfigCenter/.test(path)) continue; // bugs (3), (11) below
        for (const who of WHO) judge(wire as Wire, await send(who, { method: "POST", path, headers: [["content-type", "application/json"]], body: JSON.stringify(body) }), `${who} ${path}: ${what}`);
      }
    }
    // The body itself: nested 100,000 levels, a huge array, many keys — on every REST route that takes one and every Connect method.
    const bodies: [string, string][] = [
      ["a body nested 100,000 levels", `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`],
      ["an array body nested 100,000 levels", `${"[".repeat(100_000)}${"]".repeat(100_000)}`],
      ["200,000 keys", `{${Array.from({ length: 200_000 }, (_, i) => `"k${i}":1`).join(",")}}`],
      ["a 900,000-item array under an unknown key", `{"zz":[${"1,".repeat(900_000)}1]}`],
    ];
    const posts = ["/v1/jobs", "/v1/jobs:validate", "/v1/jobs:collect", "/v1/queues:apply", "/v1/tokens", "/v1/tokens:revoke", "/v1/secrets", "/v1/jobs/steady:cancel"];
    const methods = SERVICES.flatMap((s) => s.methods.filter((m) => m.methodKind === "unary").map((m) => `/${s.typeName}/${m.name}`));
    for (const [what, body] of bodies) {
      // REST refuses unknown keys; Connect ignores them (proto3 JSON's option), so a method with nothing required may answer.
      for (const path of [...posts, ...methods]) {
        const rest = path.startsWith("/v1");
        if (rest && what === "200,000 keys") continue; // bug (10) below
        judge(rest ? "rest" : "connect", await send("admin", { method: "POST", path, headers: [["content-type", "application/json"]], body }), `${path}: ${what}`, { okToo: !rest });
      }
    }
  });

  it("refuses invalid UTF-8 and NUL in paths, query strings, header values and bodies, and wrong content types", async () => {
    const bytes = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((x) => (typeof x === "string" ? Buffer.from(x, "latin1") : x)));
    for (const bad of [...RAW_UTF8, Buffer.from([0])]) {
      for (const who of WHO) {
        const cases: [string, RawRequest, boolean?][] = [
          ["raw bytes in a path segment", { method: "GET", path: bytes("/v1/jobs/", bad, "x"), headers: [] }],
          ["raw bytes in an artifact path", { method: "GET", path: bytes("/v1/jobs/steady/artifacts/", bad), headers: [] }],
          ["raw bytes in a query string", { method: "GET", path: bytes("/v1/jobs?team=", bad), headers: [] }],
          ["percent-encoded bytes in a path", { method: "GET", path: `/v1/jobs/${[...bad].map((b) => `%${b.toString(16)}`).join("")}`, headers: [] }],
          ["raw bytes in the token", { method: "GET", path: "/v1/jobs", headers: [["authorization", bytes("Bearer ", bad, tokens.admin)]], from: anonymousAddress() }],
          ["raw bytes in the content type", { method: "POST", path: "/v1/jobs:validate", headers: [["content-type", bytes("application/json", bad)]], body: '{"manifest":"x"}' }],
          ["raw bytes in the content type (Connect)", { method: "POST", path: "/switchyard.v1.Jobs/ValidateJob", headers: [["content-type", bytes("application/", bad)]], body: '{"manifest":"x"}' }],
          ["raw bytes in a JSON body", { method: "POST", path: "/v1/jobs:validate", headers: [["content-type", "application/json"]], body: bytes('{"manifest":"apiVersion: ', bad, '"}') }],
          ["raw bytes in a JSON key", { method: "POST", path: "/v1/secrets", headers: [["content-type", "application/json"]], body: bytes('{"name":"x","values":{"', bad, '":"v"}}') }],
          ["raw bytes in a Connect JSON body", { method: "POST", path: "/switchyard.v1.Jobs/GetJob", headers: [["content-type", "application/json"]], body: bytes('{"name":"', bad, '"}') }],
          ["raw bytes in a header no one reads", { method: "GET", path: "/v1/jobs", headers: [["x-junk", bytes(bad, "x")], ["accept-language", bad]] }, true],
        ];
        for (const [what, req, okToo] of cases) judge(String(req.path).startsWith("/switchyard") ? "connect" : "rest", await send(req.from ? "none" : who, req), `${who}: ${what} ${bad.toString("hex")}`, { okToo: okToo === true && who !== "none" });
      }
    }
    for (const type of ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/proto", "application/json; charset=utf-16", "", "*/*"]) {
      for (const who of WHO) {
        judge("rest", await send(who, { method: "POST", path: "/v1/jobs", headers: [["content-type", type]], body: "manifest=apiVersion" }), `${who} REST as ${type}`);
        if (type !== "application/proto") judge("connect", await send(who, { method: "POST", path: "/switchyard.v1.Jobs/SubmitJob", headers: [["content-type", type]], body: "manifest=apiVersion" }), `${who} Connect as ${type}`);
      }
    }
  });

  it("answers truncated and slow bodies on every protocol", async () => {
    const body = JSON.stringify({ manifest: `apiVersion: switchyard/v1\nkind: Job\n${"# padding\n".repeat(2000)}` });
    const h2 = new H2(url);
    try {
      for (const who of WHO) {
        for (const [wire, path, type] of [["rest", "/v1/jobs:validate", "application/json"], ["connect", "/switchyard.v1.Jobs/ValidateJob", "application/json"], ["grpc-web", "/switchyard.v1.Jobs/ValidateJob", "application/grpc-web+proto"]] as const) {
          const b = wire === "grpc-web" ? envelope(Buffer.from(toBinary(Jobs.method.validateJob.input, create(Jobs.method.validateJob.input, { manifest: body })))) : Buffer.from(body);
          // A cut body may get Node's own HTTP 400 before any protocol is spoken: judged as HTTP then.
          for (const cut of [0, 3, 100, b.length - 1]) judgeHttp(wire, await send(who, { method: "POST", path, headers: [["content-type", type]], body: b, truncateAt: cut }), `${who} ${wire} cut at ${cut}`, { cutToo: true });
          judge(wire, await send(who, { method: "POST", path, headers: [["content-type", type]], body: b.subarray(0, 600), trickle: { bytes: 40, pauseMs: 30 } }), `${who} ${wire} slow`, { okToo: true });
        }
        // gRPC: an envelope that promises more than it brings, and one cut inside its prefix.
        const message = Buffer.from(toBinary(Jobs.method.validateJob.input, create(Jobs.method.validateJob.input, { manifest: "x" })));
        for (const b of [Buffer.concat([envelope(message).subarray(0, 5), message.subarray(0, 2)]), Buffer.from([0, 0, 0]), Buffer.from([0, 0, 0, 0, 100, 1, 2])]) {
          judge("grpc", await grpc(h2, who, "/switchyard.v1.Jobs/ValidateJob", b), `${who} gRPC truncated ${b.toString("hex")}`, { cutToo: true });
        }
      }
    } finally {
      h2.close();
    }
  });

  it("keeps names and artifact paths in their place: traversal is refused or not found, and serves nothing outside", async () => {
    const paths = ["../../../../etc/passwd", "..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "%2Fetc%2Fpasswd", "/etc/passwd", "out.txt/../../..", "....//....//etc/passwd", "..\\..\\etc\\passwd", "out.txt%00.png", ".", "..", `${"a/".repeat(5000)}x`, `${"../".repeat(2000)}etc/passwd`];
    for (const who of WHO) {
      for (const path of paths) {
        for (const url2 of [`/v1/jobs/steady/artifacts/${path}`, `/v1/jobs/${path}`, `/v1/jobs/${path}/logs`, `/v1/secrets/${path}`]) {
          const a = await send(who, { method: url2.startsWith("/v1/secrets") ? "DELETE" : "GET", path: url2, stopAt: "head" });
          judge("rest", a, `${who} ${url2}`);
          assert.doesNotMatch(a.body.toString("latin1"), /root:x:0:0/);
        }
        const h2 = new H2(url);
        for (const wire of ["connect", "grpc", "grpc-web"] as const) {
          const a = await rpc(h2, Jobs.method.readArtifact, wire, who, { init: { name: "steady", path: decodeURIComponent(path) } });
          judge(wireOf(Jobs.method.readArtifact, wire), a, `${who} ${wire} ReadArtifact ${path}`);
          assert.doesNotMatch(a.body.toString("latin1"), /root:x:0:0/);
        }
        h2.close();
      }
    }
  });

  it("refuses absurd numbers and semantically hostile manifests (10,000 replicas, other teams' secrets and jobs)", async () => {
    const job = (spec: string, meta = "team: default") => `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: hostile, ${meta}}\nspec:\n  resources: {cpu: 10m, memory: 16Mi}\n  command: [/bin/true]\n${spec}`;
    const refused: [string, string][] = [
      ["10,000 replicas", job("  replicas: 10000\n")],
      ["a billion processes per node", job("  distributed: {framework: pytorch, nprocPerNode: 1000000000}\n")],
      ["a negative replica count", job("  replicas: -3\n")],
      ["2^63 priority", job("  priority: 9223372036854775808\n")],
      ["NaN CPUs", job("  suspend: true\n").replace("cpu: 10m", "cpu: NaN")],
      ["1e308 GPUs", job("").replace("cpu: 10m", "gpus: 1e308, cpu: 10m")],
      ["a negative backoff", job("  backoffLimit: -1\n")],
      ["a deadline past 2^53", job("  activeDeadlineSeconds: 1e300\n")],
      ["another team's secret", job("  env: {K: {secretKeyRef: {name: wandb, key: api-key}}}\n")],
      ["a secret named by path", job("  env: {K: {secretKeyRef: {name: ../vision/wandb, key: api-key}}}\n")],
      ["a Kubeflow job reading another namespace's secret", "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {name: hostile, namespace: default}\nspec:\n  pytorchReplicaSpecs:\n    Master:\n      replicas: 1\n      template: {spec: {containers: [{name: pytorch, image: x, command: [/bin/true], env: [{name: K, valueFrom: {secretKeyRef: {name: wandb, key: api-key}}}]}]}}\n"],
      ["a job name with a path", job("").replace("name: hostile", "name: ../../hostile")],
    ];
    for (const [what, manifest] of refused) {
      for (const who of WHO) {
        judge("rest", await send(who, { method: "POST", path: "/v1/jobs", headers: [["content-type", "application/json"]], body: JSON.stringify({ manifest, requestId: `${what}-${who}` }) }), `${who} submits ${what}`);
        judge("connect", await send(who, { method: "POST", path: "/switchyard.v1.Jobs/ValidateJob", headers: [["content-type", "application/json"]], body: JSON.stringify({ manifest }) }), `${who} validates ${what}`, { okToo: who !== "none" && what.includes("secret") }); // validation reads no secret
      }
    }
    // A viewer submits nothing, a caller reads nothing of another team; 5,000 small env vars are a job like any other.
    const many = job(`  suspend: true\n  env:\n${Array.from({ length: 5000 }, (_, i) => `    V${i}: "${i}"\n`).join("")}`);
    for (const who of ["viewer", "none"] as const) judge("rest", await send(who, { method: "POST", path: "/v1/jobs", headers: [["content-type", "application/json"]], body: JSON.stringify({ manifest: many.replace("team: default", "team: vision") }) }), `${who} submits to vision`);
    judge("rest", await send("admin", { method: "POST", path: "/v1/jobs", headers: [["content-type", "application/json"]], body: JSON.stringify({ manifest: many.replace("hostile", "many-env") }) }), "5,000 env vars", { okToo: true });
    const numbers = ["/v1/jobs?limit=-1", "/v1/jobs?limit=9223372036854775808", "/v1/jobs?limit=NaN", "/v1/jobs/steady/metrics?maxPoints=999999999", "/v1/jobs/steady/metrics?maxPoints=-1", "/v1/jobs/steady/logs?replica=-1", "/v1/jobs/steady/logs?attempt=2147483648", "/v1/jobs/steady/logs?replica=1e3", "/v1/usage?since=-9223372036854775808", "/v1/usage?since=1e400"];
    for (const path of numbers) for (const who of WHO) judge("rest", await send(who, { method: "GET", path, stopAt: "head" }), `${who} ${path}`, { okToo: who !== "none" && path.includes("limit=-1") });
    for (const body of [{ olderThanSeconds: "-9223372036854775808" }, { olderThanSeconds: "NaN" }, { olderThanSeconds: "1e999", dryRun: true }]) for (const who of WHO) judge("rest", await send(who, { method: "POST", path: "/v1/jobs:collect", headers: [["content-type", "application/json"]], body: JSON.stringify(body) }), `${who} collect ${JSON.stringify(body)}`);
    for (const ttl of ["9223372036854775807", "-1", "NaN", 1e308]) for (const who of WHO) judge("rest", await send(who, { method: "POST", path: "/v1/tokens", headers: [["content-type", "application/json"]], body: JSON.stringify({ user: "zed", teams: ["default"], role: "viewer", ttlSeconds: ttl }) }), `${who} token ttl ${ttl}`);
  });

  it("is still whole: no service restarted, the well-behaved caller never failed, and a real job runs to Succeeded", async () => {
    const { calls, failures } = await steady.stop();
    assert.deepEqual(failures, [], `${failures.length} of ${calls} well-behaved calls failed`);
    assert.ok(calls > 50, `only ${calls} well-behaved calls`);
    const up = readUp(dataDir);
    assert.deepEqual(up.services, pidsAtStart, "the services' pids changed");
    assert.ok(Object.values(up.restarts).every((n) => n === 0), `restarts: ${JSON.stringify(up.restarts)}`);
    assert.equal(p.proc.exitCode, null);
    assert.equal(runJob("after-the-storm", "echo still here"), "Succeeded");
  });

  // Bugs this suite found, each as its smallest case, fixed: they run after the checks above, so that what they do to
  // the platform does not mask those.
  it("(1) answers an undecodable protobuf message with INVALID_ARGUMENT on gRPC, gRPC-Web and Connect", async () => {
    const h2 = new H2(url);
    try {
      const path = "/switchyard.v1.Jobs/GetJob";
      for (const bad of [Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x03, 0xff, 0xfe, 0xfd])]) {
        expectCode("grpc", await grpc(h2, "admin", path, envelope(bad)), "invalid_argument", `gRPC ${bad.toString("hex")}`);
        expectCode("grpc-web", await send("admin", { method: "POST", path, headers: [["content-type", "application/grpc-web+proto"]], body: envelope(bad) }), "invalid_argument", `gRPC-Web ${bad.toString("hex")}`);
        expectCode("connect", await send("admin", { method: "POST", path, headers: [["content-type", "application/proto"]], body: bad }), "invalid_argument", `Connect ${bad.toString("hex")}`);
      }
      expectCode("grpc", await grpc(h2, "admin", path, envelope(Buffer.from([1, 2, 3]), 1)), "invalid_argument", "a compressed flag without grpc-encoding");
      expectCode("connect", await send("admin", { method: "GET", path: "/switchyard.v1.Jobs/ListJobs?connect=v1&encoding=proto&base64=1&message=____" }), "invalid_argument", "Connect GET");
    } finally {
      h2.close();
    }
  });

  it("(2) refuses a JSON array nested 5,000 levels in a field of a REST body", async () => {
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    for (const [path, body] of [["/v1/jobs:validate", `{"manifest":${deep}}`], ["/v1/secrets", `{"name":"a","values":{"k":${deep}}}`], ["/v1/tokens", `{"user":"a","teams":[${deep}]}`]] as const) {
      expectCode("rest", await send("admin", { method: "POST", path, headers: [["content-type", "application/json"]], body }), "invalid_argument", path);
    }
  });

  it("(3) refuses alias bombs in queues.yaml and mesh policies", async () => {
    expectCode("rest", await send("admin", { method: "POST", path: "/v1/queues:apply", headers: [["content-type", "application/json"]], body: JSON.stringify({ yaml: billionLaughs() }) }), "invalid_argument", "queues.yaml");
    const documents = [{ namespace: "mesh", kind: "VirtualService", name: "laughs", content: billionLaughs() }];
    expectCode("connect", await send("admin", { method: "POST", path: "/switchyard.v1.ConfigCenter/PutDocuments", headers: [["content-type", "application/json"]], body: JSON.stringify({ documents }) }), "invalid_argument", "mesh policy");
  });

  it("(4) refuses a 200,000-character job name with NOT_FOUND, and calls made meanwhile succeed", async () => {
    const hostile = send("admin", { method: "POST", path: "/switchyard.v1.Jobs/GetJob", headers: [["content-type", "application/json"], ["connect-timeout-ms", "5000"]], body: JSON.stringify({ name: "a".repeat(200_000) }) });
    const meanwhile: number[] = [];
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 300));
      meanwhile.push((await fetch(`${url}/v1/jobs/steady`, { headers: { authorization: `Bearer ${tokens.admin}` } })).status);
    }
    const answer = await hostile;
    assert.deepEqual(meanwhile, [200, 200, 200, 200, 200, 200], "well-behaved calls made meanwhile");
    expectCode("connect", answer, "not_found", "GetJob with a 200,000-character name");
  });

  it("(5) answers a secret of 5,000 keys (under the 1 MiB limit) without an internal error", async () => {
    const values = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, "v"]));
    judge("rest", await send("admin", { method: "POST", path: "/v1/secrets", headers: [["content-type", "application/json"]], body: JSON.stringify({ name: "wide", team: "default", values }) }), "5,000 keys", { okToo: true });
  });

  it("(6) runs a job with a 30-day activeDeadlineSeconds to completion", () => {
    assert.equal(runJob("thirty-days", "sleep 1", "  activeDeadlineSeconds: 2592000\n"), "Succeeded");
  });

  it("(7) refuses at submission an env value no process can be started with (200 KB; Linux takes 128 KiB per string)", async () => {
    const manifest = `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: wide-env, team: default}\nspec:\n  resources: {cpu: 10m, memory: 16Mi}\n  command: [/bin/true]\n  env: {BIG: "${"x".repeat(200_000)}"}\n`;
    expectCode("rest", await send("admin", { method: "POST", path: "/v1/jobs", headers: [["content-type", "application/json"]], body: JSON.stringify({ manifest }) }), "invalid_argument", "a 200 KB env value");
  });

  it("(8) refuses a token with 100,000 teams", async () => {
    const teams = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
    expectCode("rest", await send("admin", { method: "POST", path: "/v1/tokens", headers: [["content-type", "application/json"]], body: JSON.stringify({ user: "wide", teams, role: "viewer" }) }), "invalid_argument", "100,000 teams");
  });

  it("(9) answers an unknown Content-Encoding on Connect as Connect's spec says: unimplemented, naming what it takes", async () => {
    // The one 5xx the suite accepts: the Connect protocol prescribes `unimplemented` (HTTP 501) for a compression the
    // server does not support, and clients rely on it to fall back.
    const r = await send("admin", { method: "POST", path: "/switchyard.v1.Jobs/ValidateJob", headers: [["content-type", "application/json"], ["content-encoding", "zstd"]], body: "{}" });
    assert.equal(r.status, 501);
    assert.match(r.body.toString(), /"code":"unimplemented"[\s\S]*gzip/);
  });

  it("(10) refuses a REST body of 200,000 unknown keys with a 400 that lists at most 50 of them", async () => {
    const keys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(",")}}`;
    expectCode("rest", await send("admin", { method: "POST", path: "/v1/jobs", headers: [["content-type", "application/json"]], body: keys(200_000) }), "invalid_argument", "200,000 keys");
    const some = await send("admin", { method: "POST", path: "/v1/jobs", headers: [["content-type", "application/json"]], body: keys(50_000) });
    assert.ok((JSON.parse(some.body.toString()) as { details: unknown[] }).details.length <= 50, `${some.body.length} bytes of details`);
  });

  it("(11) refuses queues.yaml and mesh policies of 60,000 keys or 1,000 problems at once, listing at most 50 problems", async () => {
    const keys = `queues:\n  - name: q\n    team: t\n    labels:\n${Array.from({ length: 60_000 }, (_, i) => `      k${i}: v\n`).join("")}`;
    const timeout: [string, string] = ["connect-timeout-ms", "5000"];
    const apply = (yaml: string) => send("admin", { method: "POST", path: "/switchyard.v1.Queues/ApplyQueues", headers: [["content-type", "application/json"], timeout], body: JSON.stringify({ yaml }) });
    const list = outcomeOf("connect", await apply(`[${"1,".repeat(1000)}1]`));
    assert.equal(list.code, "invalid_argument", list.message.slice(0, 300));
    assert.ok((list.message.match(/expected a queue/g) ?? []).length <= 50, "at most 50 problems listed");
    expectCode("connect", await apply(keys), "invalid_argument", "queues.yaml of 60,000 keys");
    const documents = [{ namespace: "mesh", kind: "VirtualService", name: "keys", content: keys }];
    expectCode("connect", await send("admin", { method: "POST", path: "/switchyard.v1.ConfigCenter/PutDocuments", headers: [["content-type", "application/json"], timeout], body: JSON.stringify({ documents }) }), "invalid_argument", "a mesh policy of 60,000 keys");
  });
});
