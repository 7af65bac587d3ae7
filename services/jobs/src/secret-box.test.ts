import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Code, SwitchyardError } from "@switchyard/core";
import { createSecretBox, jobEnvAad, openSecretBox, secretAad } from "./secret-box.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-secret-box-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const isDataLoss = (e: unknown) => e instanceof SwitchyardError && e.code === Code.DataLoss && !e.message.includes("hunter2");

/** The sealed value with one byte of its decoded body flipped. */
function flip(sealed: string, at: number): string {
  const raw = Buffer.from(sealed.slice(3), "base64");
  raw[at % raw.length] = (raw[at % raw.length] ?? 0) ^ 0x01;
  return `v1:${raw.toString("base64")}`;
}

describe("SecretBox", () => {
  const box = createSecretBox(randomBytes(32));
  const aad = secretAad("vision", "wandb", "api-key");

  it("opens what it sealed, for any text", () => {
    for (const text of ["hunter2", "", "ünïcödé 🔑", "x".repeat(100_000), "line\nbreaks\tand = signs"]) {
      const sealed = box.seal(text, aad);
      assert.match(sealed, /^v1:[A-Za-z0-9+/]+=*$/);
      assert.ok(!sealed.includes(text) || text === "");
      assert.equal(box.open(sealed, aad), text);
    }
  });

  it("uses a fresh nonce for every value: the same text seals differently", () => {
    const seen = new Set(Array.from({ length: 50 }, () => box.seal("hunter2", aad)));
    assert.equal(seen.size, 50);
  });

  it("refuses a value changed anywhere: nonce, body or tag", () => {
    const sealed = box.seal("hunter2", aad);
    const length = Buffer.from(sealed.slice(3), "base64").length;
    for (let at = 0; at < length; at++) assert.throws(() => box.open(flip(sealed, at), aad), isDataLoss, `byte ${at}`);
    for (const bad of ["", "v1:", "v2:" + sealed.slice(3), sealed.slice(0, 20), "hunter2"]) assert.throws(() => box.open(bad, aad), isDataLoss);
  });

  it("refuses a value moved to another place: another key, secret, team, job or variable", () => {
    const sealed = box.seal("hunter2", aad);
    for (const other of [secretAad("vision", "wandb", "api-key2"), secretAad("vision", "wandb2", "api-key"), secretAad("nlp", "wandb", "api-key"), jobEnvAad("uid-1", "API_KEY")]) {
      assert.throws(() => box.open(sealed, other), isDataLoss, other);
    }
    const inJob = box.seal("hunter2", jobEnvAad("uid-1", "API_KEY"));
    assert.throws(() => box.open(inJob, jobEnvAad("uid-2", "API_KEY")), isDataLoss);
    assert.throws(() => box.open(inJob, jobEnvAad("uid-1", "OTHER")), isDataLoss);
  });

  it("refuses a value sealed with another key, and keys that are not 256 bits", () => {
    const sealed = box.seal("hunter2", aad);
    assert.throws(() => createSecretBox(randomBytes(32)).open(sealed, aad), isDataLoss);
    for (const n of [0, 16, 31, 33, 64]) assert.throws(() => createSecretBox(randomBytes(n)), (e: unknown) => e instanceof SwitchyardError && e.code === Code.FailedPrecondition);
  });
});

describe("openSecretBox", () => {
  it("creates <data>/secrets/jobs-secrets.key 0600 on first use and reads the same key afterwards", () => {
    const dataDir = join(dir, "data");
    const first = openSecretBox(dataDir);
    const keyFile = join(dataDir, "secrets", "jobs-secrets.key");
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, "secrets")).mode & 0o777, 0o700);
    const sealed = first.seal("hunter2", "here");
    assert.equal(openSecretBox(dataDir).open(sealed, "here"), "hunter2");
  });

  it("refuses a key file others can read", () => {
    const dataDir = join(dir, "open");
    openSecretBox(dataDir);
    const keyFile = join(dataDir, "secrets", "jobs-secrets.key");
    chmodSync(keyFile, 0o644);
    assert.throws(() => openSecretBox(dataDir), (e: unknown) => e instanceof SwitchyardError && e.code === Code.FailedPrecondition && /readable by other users/.test(e.message));
  });
});
