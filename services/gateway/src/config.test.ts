import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SwitchyardError } from "@switchyard/core";
import { EDGE_LIMIT_ENV, loadConfig } from "./config.js";
import { compileEdgeLimits, DEFAULT_EDGE_LIMITS } from "./edge-limits.js";

describe("the gateway's configuration", () => {
  it("reads every edge limit from its environment variable and leaves the rest at their defaults", () => {
    const c = loadConfig({ SWITCHYARD_MAX_BODY_BYTES: "1048576", SWITCHYARD_EDGE_MAX_CONNECTIONS_PER_ADDRESS: "64", SWITCHYARD_EDGE_H2_IDLE_TIMEOUT_MS: "" });
    assert.deepEqual(c.limits, { maxBodyBytes: 1048576, maxConnectionsPerAddress: 64 });
    const limits = compileEdgeLimits(c.limits);
    assert.equal(limits.maxBodyBytes, 1048576);
    assert.equal(limits.h2IdleTimeoutMs, DEFAULT_EDGE_LIMITS.h2IdleTimeoutMs);
    assert.deepEqual(Object.keys(EDGE_LIMIT_ENV).sort(), Object.keys(DEFAULT_EDGE_LIMITS).sort(), "every limit has a variable");
  });

  it("refuses a limit that is not a positive integer, naming the variable", () => {
    assert.throws(() => loadConfig({ SWITCHYARD_EDGE_HEADERS_TIMEOUT_MS: "20s" }), (e: unknown) => e instanceof SwitchyardError && /SWITCHYARD_EDGE_HEADERS_TIMEOUT_MS="20s"/.test(e.message));
    assert.throws(() => compileEdgeLimits({ maxBodyBytes: 0 }), /maxBodyBytes must be a positive integer/);
    assert.throws(() => compileEdgeLimits({ headersTimeoutMs: 90_000 }), /must not exceed requestTimeoutMs/);
  });
});
