import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import fc from "fast-check";
import { parse as parseYaml, stringify } from "yaml";
import { TestPlatform } from "./test-harness.js";

// Generated bodies, paths, headers and YAML sent to every route of a real gateway over a real jobs service:
// never a 5xx, never a crash, never a stored half-object; every rejection says which field and how to fix it.

interface Answer {
  status: number;
  text: string;
}

/** Sends exactly this request (fetch would normalise the path). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers: { ...headers, ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      // A stream that was accepted (WatchJobs stays open until its caller leaves): its status is the answer.
      if ((res.statusCode ?? 0) < 400 && String(res.headers["content-type"]).startsWith("text/event-stream")) {
        resolve({ status: res.statusCode ?? 0, text: "" });
        req.destroy();
        return;
      }
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The contract every answer keeps: no 5xx; errors are {code, message, details}; a 400 names each field and its fix. */
function checkAnswer(a: Answer, what: string): void {
  assert.ok(a.status < 500, `${what} → ${a.status} ${a.text.slice(0, 300)}`);
  if (a.status < 400) return;
  const body = JSON.parse(a.text) as { code: string; message: string; details: { field: string; message: string; hint?: string; expected?: string }[] };
  assert.deepEqual(Object.keys(body).sort(), ["code", "details", "message"], what);
  assert.ok(body.message.length > 0, what);
  if (a.status === 400) {
    assert.ok(body.details.length > 0, `${what}: a 400 without field details: ${a.text}`);
    for (const d of body.details) assert.ok(d.field && d.message && (d.hint || d.expected), `${what}: ${JSON.stringify(d)}`);
  }
}

const SAFE_PATH_CHARS = "abcxyz019-._~:@!$&'()*+,;=/%?#[]".split("");
const KNOWN_KEYS = ["manifest", "name", "team", "state", "limit", "replica", "follow", "attempt", "path", "requestId", "request_id", "fileName", "generateName", "baseDir", "user", "teams", "role", "ttlSeconds", "id", "token", "includeInactive", "yaml", "alt"];
const scalarValue = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom("-1", "1e99", "true", "NaN", "9223372036854775808", "a/../b", "%zz"));
const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom(...KNOWN_KEYS), fc.oneof(scalarValue, fc.array(scalarValue, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 4, noNullPrototype: true }),
);

describe("bad input to every route", () => {
  let p: TestPlatform;
  let token: string;
  before(async () => {
    p = await TestPlatform.start();
    token = await p.token("fuzz-admin", ["default"], "admin");
  });
  after(async () => {
    await p.stop();
  });

  it("answers generated bodies and query strings on every route without a 5xx, naming the field", async () => {
    const routes = p.gateway.routes.all();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.array(fc.string({ maxLength: 10 }), { minLength: 2, maxLength: 2 }),
        fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 6 })), fc.string({ maxLength: 10 }), { maxKeys: 3, noNullPrototype: true }),
        fc.oneof(jsonBody.map((b) => JSON.stringify(b)), fc.string({ maxLength: 40 }), fc.constant(undefined)),
        async (route, varValues, query, body) => {
          let i = 0;
          const path = route.template.replace(/\{[^}]+\}/g, () => encodeURIComponent(varValues[i++] || "x"));
          const qs = new URLSearchParams(query).toString();
          const a = await raw(p.url, route.httpMethod, path + (qs ? `?${qs}` : ""), { authorization: `Bearer ${token}`, "content-type": "application/json" }, body);
          checkAnswer(a, `${route.httpMethod} ${path}?${qs} ${body ?? ""}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("answers generated paths and methods with a JSON error, never a crash", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
        fc.oneof(
          fc.array(fc.constantFrom(...SAFE_PATH_CHARS), { maxLength: 30 }).map((cs) => `/${cs.join("")}`),
          fc.array(fc.constantFrom(...SAFE_PATH_CHARS), { maxLength: 20 }).map((cs) => `/v1/jobs/${cs.join("")}`),
          fc.constantFrom("/v1/jobs/%", "/v1/jobs/%E0%A4%A", "/v1//jobs", "/v1/jobs/x/../y", "/v1/jobs/x:cancel:cancel", "//v1/jobs", "/v1/jobs/x/artifacts/../../etc/passwd", "/v1/jobs/x/artifacts/%2e%2e/%2e%2e/etc/passwd"),
        ),
        async (method, path) => {
          const a = await raw(p.url, method, path, { authorization: `Bearer ${token}` }, method === "GET" ? undefined : "{}");
          checkAnswer(a, `${method} ${path}`);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("answers generated headers: bad credentials are 401 with what to send, forged identities change nothing", async () => {
    const header = fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, ""));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(header, header.map((s) => `Bearer ${s}`), fc.constant(`Bearer ${token}x`), fc.constant(`Basic ${token}`), fc.constant(undefined)),
        fc.dictionary(fc.constantFrom("x-switchyard-user", "x-switchyard-role", "x-switchyard-teams", "content-type", "accept", "x-switchyard-caller", "grpc-timeout", "connect-protocol-version"), header, { maxKeys: 4, noNullPrototype: true }),
        fc.constantFrom("/v1/jobs", "/v1/tokens", "/switchyard.v1.Jobs/ListJobs"),
        async (authorization, extra, path) => {
          const post = path.startsWith("/switchyard");
          const a = await raw(p.url, post ? "POST" : "GET", path, { ...extra, ...(authorization !== undefined ? { authorization } : {}), ...(post ? { "content-type": "application/json" } : {}) }, post ? "{}" : undefined);
          assert.ok(a.status < 500, `${path} ${JSON.stringify(extra)} → ${a.status} ${a.text}`);
          if (authorization !== `Bearer ${token}` && !post) {
            assert.equal(a.status, 401, a.text);
            assert.match(JSON.parse(a.text).message as string, /Bearer|token/);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("stores a generated manifest whole or not at all, and says what to fix when it refuses", async () => {
    const templates = [
      "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: fz, team: default}\nspec:\n  suspend: true\n  command: [/bin/true]\n  replicas: 2\n  resources: {cpu: 10m, memory: 16Mi, gpus: 0}\n  env: {A: b}\n  restartPolicy: OnFailure\n  distributed: {framework: pytorch, nprocPerNode: 1}\n",
      "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {name: fz, namespace: default}\nspec:\n  runPolicy: {suspend: true, backoffLimit: 1}\n  nprocPerNode: '1'\n  pytorchReplicaSpecs:\n    Master:\n      replicas: 1\n      template: {spec: {containers: [{name: pytorch, image: x, command: [/bin/true], resources: {limits: {cpu: 10m}}}]}}\n    Worker:\n      replicas: 1\n      template: {spec: {containers: [{name: pytorch, image: x, command: [/bin/true], resources: {limits: {cpu: 10m}}}]}}\n",
      "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: fz, namespace: default}\nspec:\n  suspend: true\n  trainer: {command: [/bin/true], numNodes: 2, numProcPerNode: 1, resourcesPerNode: {limits: {cpu: 10m}}}\n",
    ].map((t) => parseYaml(t) as Record<string, unknown>);
    const KEYS = ["replicas", "resources", "cpu", "memory", "gpus", "nvidia.com/gpu", "env", "name", "team", "namespace", "restartPolicy", "nprocPerNode", "numNodes", "numProcPerNode", "backoffLimit", "workingDir", "args", "priorityClass", "queue", "x-unknown", "imagePullPolicy", "volumes", "nodeSelector", "tolerations", "replicaz"];
    // Mutations never touch `suspend` or `command`: an accepted job waits suspended and runs nothing.
    const mutate = (doc: unknown, path: string[], keys: string[], value: unknown, drop: boolean): unknown => {
      if (path.length === 0 || typeof doc !== "object" || doc === null) return doc;
      const copy: Record<string, unknown> = Array.isArray(doc) ? ([...doc] as unknown as Record<string, unknown>) : { ...(doc as Record<string, unknown>) };
      const [head, ...rest] = path;
      const k = Object.keys(copy).includes(head!) ? head! : (keys[0] ?? head!);
      if (k === "suspend" || k === "command") return copy;
      if (rest.length === 0) {
        if (drop) delete copy[k];
        else copy[k] = value;
      } else copy[k] = mutate(copy[k], rest, keys.slice(1), value, drop);
      return copy;
    };
    let accepted = 0;
    const before = ((await p.rest("GET", "/v1/jobs", { token })).json as { jobs: unknown[] }).jobs.length;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...templates),
        fc.array(fc.constantFrom("spec", "metadata", "trainer", "pytorchReplicaSpecs", "Master", "Worker", "template", "runPolicy", "resources", "limits", "0", "containers", ...KEYS), { minLength: 1, maxLength: 5 }),
        fc.array(fc.constantFrom(...KEYS), { maxLength: 3 }),
        fc.oneof(scalarValue, fc.jsonValue({ maxDepth: 2 }), fc.constantFrom("500m", "4Gi", "auto", "Never", "Always", "ExitCode", -1, 0, 1.5, 1e9, "a b", [], {})),
        fc.boolean(),
        fc.oneof(fc.constant(false), fc.constant(true)),
        async (template, path, keys, value, drop, garble) => {
          let text = stringify(mutate(template, path, keys, value, drop));
          if (garble) text = text.replace(/:\s/, ": [").replace(/\n\s+/, "\n\t");
          const name = `fz${accepted}-${Math.random().toString(36).slice(2, 7)}`;
          text = text.replace(/name: fz\b/, `name: ${name}`);
          const a = await raw(p.url, "POST", "/v1/jobs", { authorization: `Bearer ${token}`, "content-type": "application/json" }, JSON.stringify({ manifest: text, fileName: "fuzz.yaml" }));
          checkAnswer(a, text);
          if (a.status === 200) {
            accepted++;
            const job = JSON.parse(a.text) as { job: { metadata: { uid: string } } };
            const got = await p.rest("GET", `/v1/jobs/${job.job.metadata.uid}`, { token });
            assert.equal(got.status, 200);
            assert.ok((got.json as { spec: { command: string[] } }).spec.command.length > 0, "a stored job has its whole spec");
          }
        },
      ),
      { numRuns: 200 },
    );
    const after = ((await p.rest("GET", "/v1/jobs", { token })).json as { jobs: unknown[] }).jobs.length;
    assert.equal(after - before, accepted, "refused submissions stored nothing");
  });
});
