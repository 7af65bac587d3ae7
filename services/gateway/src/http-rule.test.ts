import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hasOption } from "@bufbuild/protobuf";
import { Auth, http, Jobs, Platform, Queues, Secrets } from "@switchyard/api";
import { Validator } from "@seriousme/openapi-schema-validator";
import { collectRoutes, RouteTable, type RouteMatch } from "./http-rule.js";
import { openApiDocument } from "./openapi.js";

const SERVICES = [Jobs, Queues, Secrets, Auth, Platform];
const table = new RouteTable(collectRoutes(SERVICES));

function match(method: string, path: string): { method: string; vars: Record<string, string> } | { allowed: string[] } {
  const m = table.match(method, path);
  if (!("route" in m)) return m;
  return { method: (m as RouteMatch).route.method.name, vars: Object.fromEntries([...m.vars].map(([v, s]) => [v.fieldPath, s])) };
}

describe("REST routes from google.api.http annotations", () => {
  it("has a route for every annotated method and binding, and none for methods without one", () => {
    const annotated = SERVICES.flatMap((s) => s.methods.filter((m) => hasOption(m, http)).map((m) => `${s.typeName}.${m.name}`));
    const routed = new Set(table.all().map((r) => `${r.service.typeName}.${r.method.name}`));
    assert.deepEqual([...routed].sort(), annotated.sort());
    assert.ok(routed.has("switchyard.v1.Platform.WhoAmI"), "platform.proto annotates WhoAmI with GET /v1/whoami");
    assert.deepEqual(match("GET", "/v1/whoami"), { method: "WhoAmI", vars: {} });
    assert.equal(table.all().filter((r) => r.method.name === "RevokeToken").length, 2, "additional_bindings add routes");
  });

  it("matches resource paths, custom verbs, and multi-segment variables", () => {
    assert.deepEqual(match("GET", "/v1/jobs"), { method: "ListJobs", vars: {} });
    assert.deepEqual(match("POST", "/v1/jobs"), { method: "SubmitJob", vars: {} });
    assert.deepEqual(match("POST", "/v1/jobs:validate"), { method: "ValidateJob", vars: {} });
    assert.deepEqual(match("GET", "/v1/jobs/mnist"), { method: "GetJob", vars: { name: "mnist" } });
    assert.deepEqual(match("POST", "/v1/jobs/mnist:cancel"), { method: "CancelJob", vars: { name: "mnist" } });
    assert.deepEqual(match("GET", "/v1/jobs/mnist/logs"), { method: "GetLogs", vars: { name: "mnist" } });
    assert.deepEqual(match("GET", "/v1/jobs/mnist/artifacts"), { method: "ListArtifacts", vars: { name: "mnist" } });
    assert.deepEqual(match("GET", "/v1/jobs/mnist/artifacts/ckpt/model%20v2.onnx"), { method: "ReadArtifact", vars: { name: "mnist", path: "ckpt/model v2.onnx" } });
    assert.deepEqual(match("POST", "/v1/tokens/abc:revoke"), { method: "RevokeToken", vars: { id: "abc" } });
    assert.deepEqual(match("POST", "/v1/tokens:revoke"), { method: "RevokeToken", vars: {} });
    assert.deepEqual(match("GET", "/v1/jobs/a%2Fb"), { method: "GetJob", vars: { name: "a/b" } });
    assert.deepEqual(match("POST", "/v1/secrets"), { method: "CreateSecret", vars: {} });
    assert.deepEqual(match("GET", "/v1/secrets"), { method: "ListSecrets", vars: {} });
    assert.deepEqual(match("DELETE", "/v1/secrets/wandb"), { method: "DeleteSecret", vars: { name: "wandb" } });
  });

  it("tells which methods a path takes when the method is wrong, and nothing for unknown paths", () => {
    assert.deepEqual(match("DELETE", "/v1/jobs"), { allowed: ["GET", "POST"] });
    assert.deepEqual(match("GET", "/v1/jobs/x:cancel"), { method: "GetJob", vars: { name: "x:cancel" } });
    assert.deepEqual(match("GET", "/v2/nothing"), { allowed: [] });
    assert.deepEqual(match("GET", "/v1/jobs//logs"), { allowed: [] });
    assert.deepEqual(match("GET", "/v1/jobs/x/artifacts/"), { allowed: [] });
    assert.throws(() => table.match("GET", "/v1/jobs/%E0%A4%A"), URIError);
  });
});

describe("the OpenAPI document", () => {
  const doc = openApiDocument(table.all(), { title: "Switchyard", version: "test" });

  it("is a valid OpenAPI 3.1 document", async () => {
    const res = await new Validator().validate(structuredClone(doc));
    assert.equal(res.valid, true, JSON.stringify(res.errors, null, 2)?.slice(0, 2000));
  });

  it("describes every route with its parameters, body and responses", () => {
    const paths = doc["paths"] as Record<string, Record<string, { operationId: string; parameters: { name: string; in: string }[]; requestBody?: unknown; responses: Record<string, { content: Record<string, unknown> }> }>>;
    for (const r of table.all()) assert.ok(paths[r.openApiPath]?.[r.httpMethod.toLowerCase()], `${r.httpMethod} ${r.openApiPath}`);
    const get = paths["/v1/jobs/{name}"]!["get"]!;
    assert.deepEqual(get.parameters.map((p) => `${p.in}:${p.name}`), ["path:name", "query:team"]);
    const list = paths["/v1/jobs"]!["get"]!;
    assert.deepEqual(list.parameters.map((p) => p.name), ["state", "team", "limit", "queue", "user", "name"]);
    assert.ok(paths["/v1/jobs"]!["post"]!.requestBody);
    assert.deepEqual(paths["/v1/secrets/{name}"]!["delete"]!.parameters.map((p) => `${p.in}:${p.name}`), ["path:name", "query:team"]);
    assert.deepEqual(paths["/v1/secrets"]!["get"]!.parameters.map((p) => `${p.in}:${p.name}`), ["query:team"]);
    const logs = paths["/v1/jobs/{name}/logs"]!["get"]!;
    assert.ok(logs.responses["200"]!.content["text/event-stream"]);
    assert.ok(logs.responses["200"]!.content["text/plain"], "a log is also served as plain text");
    assert.ok(paths["/v1/jobs/{name}/artifacts/{path}"]!["get"]!.responses["200"]!.content["application/octet-stream"]);
    const ids = Object.values(paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    assert.equal(new Set(ids).size, ids.length, "operation ids are unique");
  });
});
