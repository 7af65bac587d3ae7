import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Platform } from "@switchyard/api";
import { createServer } from "./server.js";

// A real python3-grpcio client (Debian's, for /usr/bin/python3) calls a mesh server: the standard health service and
// a unary method, with protobuf bytes written by hand (no generated Python code needed).
const CLIENT = String.raw`
import sys, grpc
target = sys.argv[1]
ch = grpc.insecure_channel(target, options=[("grpc.enable_http_proxy", 0)])
grpc.channel_ready_future(ch).result(timeout=10)
ident = lambda b: b
check = ch.unary_unary("/grpc.health.v1.Health/Check", request_serializer=ident, response_deserializer=ident)
print("health", check(b"", timeout=5).hex())
name = b"switchyard.v1.Platform"
print("health-service", check(b"\x0a" + bytes([len(name)]) + name, timeout=5).hex())
try:
    check(b"\x0a\x04nope", timeout=5)
except grpc.RpcError as e:
    print("unknown", e.code().name)
who = ch.unary_unary("/switchyard.v1.Platform/WhoAmI", request_serializer=ident, response_deserializer=ident)
resp, call = who.with_call(b"", metadata=(("x-switchyard-user", "py"),), timeout=5)
print("whoami", resp.hex())
`;

describe("interop with python grpcio", () => {
  const server = createServer({ name: "interop" }).add(Platform, {
    async whoAmI(_req, ctx) {
      return { user: `hello ${ctx.metadata["x-switchyard-user"] ?? "?"}`, role: "viewer" };
    },
    async getStatus() {
      return {};
    },
    async listAuditEvents() {
      return {};
    },
  });
  after(() => server.stop(100));

  it("answers grpc.health.v1 Check and a unary call from a Python client", async () => {
    const address = await server.start();
    // Asynchronously: the server answers from this same event loop.
    const r = await promisify(execFile)("/usr/bin/python3", ["-c", CLIENT, address], { encoding: "utf8", timeout: 30_000 });
    const lines = Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split(" ") as [string, string]));
    assert.equal(lines.health, "0801", "SERVING (field 1 = 1)");
    assert.equal(lines["health-service"], "0801");
    assert.equal(lines.unknown, "NOT_FOUND");
    // WhoAmIResponse{user: "hello py" (field 1), role: "viewer" (field 3)}
    assert.equal(lines.whoami, Buffer.concat([Buffer.from([0x0a, 8]), Buffer.from("hello py"), Buffer.from([0x1a, 6]), Buffer.from("viewer")]).toString("hex"));
  });
});
