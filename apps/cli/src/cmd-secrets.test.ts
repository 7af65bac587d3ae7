import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectSecretValues } from "./cmd-secrets.js";
import { CliExit, EXIT } from "./exit.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-cli-secrets-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const noStdin = async (): Promise<string> => assert.fail("stdin was read");

/** The usage error a call ends with; fails if it succeeds. Its message must not hold `secret`. */
async function usageError(p: Promise<unknown>, secret = "s3cr3t"): Promise<string> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof CliExit && e.code === EXIT.usage, `expected a usage error, got ${String(e)}`);
  assert.ok(!e.message.includes(secret), e.message);
  return e.message;
}

describe("switchyard secrets create: reading values", () => {
  it("takes KEY=VALUE literals, splitting at the first '='", async () => {
    assert.deepEqual(await collectSecretValues(["api-key=abc=def", "empty="], [], noStdin), { "api-key": "abc=def", empty: "" });
  });

  it("reads KEY=- from stdin, dropping one trailing newline", async () => {
    assert.deepEqual(await collectSecretValues(["token=-"], [], async () => "from-stdin\n"), { token: "from-stdin" });
    assert.deepEqual(await collectSecretValues(["token=-"], [], async () => "two\n\n"), { token: "two\n" });
    await usageError(collectSecretValues(["a=-", "b=-"], [], async () => "x"));
  });

  it("reads files as they are, keyed by KEY= or by the file's name", async () => {
    const pem = join(dir, "tls.key");
    writeFileSync(pem, "-----BEGIN KEY-----\nabc\n-----END KEY-----\n");
    assert.deepEqual(await collectSecretValues([], [pem, `other=${pem}`], noStdin), { "tls.key": "-----BEGIN KEY-----\nabc\n-----END KEY-----\n", other: "-----BEGIN KEY-----\nabc\n-----END KEY-----\n" });
    const binary = join(dir, "blob");
    writeFileSync(binary, Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    assert.match(await usageError(collectSecretValues([], [binary], noStdin)), /not UTF-8 text/);
    assert.match(await usageError(collectSecretValues([], [join(dir, "missing")], noStdin)), /cannot read .*ENOENT/);
  });

  it("refuses malformed, duplicate or missing values without repeating them", async () => {
    assert.match(await usageError(collectSecretValues(["s3cr3t"], [], noStdin)), /#1 is not KEY=VALUE \(no '='\)/);
    assert.match(await usageError(collectSecretValues(["=s3cr3t"], [], noStdin)), /the key is empty/);
    assert.match(await usageError(collectSecretValues(["k=s3cr3t", "k=s3cr3t"], [], noStdin)), /key "k" is given twice/);
    assert.match(await usageError(collectSecretValues([], [], noStdin)), /at least one key/);
  });
});
