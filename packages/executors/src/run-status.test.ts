import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { linkSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRecord } from "./run-status.js";
import { readRunLog } from "./run-log.js";

// A run directory on a Slurm node belongs to the job's account, and root reads records and logs from it: nothing there
// may make root read another file — not a symbolic link, and not a hard link to a file only root can read.
describe("run records and logs read by root from a directory the job owns", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-run-status-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const secret = join(dir, "secret");
  writeFileSync(secret, "0 1 2\n", { mode: 0o600 });

  it("reads a record of its own", async () => {
    writeFileSync(join(dir, "status"), "0 100 200\n");
    assert.equal(await readRecord(join(dir, "status")), "0 100 200\n");
  });

  it("refuses a record that is a symbolic or a hard link to another file", async () => {
    symlinkSync(secret, join(dir, "started"));
    linkSync(secret, join(dir, "pgid"));
    assert.equal(await readRecord(join(dir, "started")), null);
    assert.equal(await readRecord(join(dir, "pgid")), null);
  });

  it("reads no log through a hard link planted as the log", async () => {
    const logDir = mkdtempSync(join(dir, "log-"));
    writeFileSync(join(logDir, "output.log"), "mine\n");
    assert.equal((await readRunLog(logDir, 0, 1024)).data.toString(), "mine\n", "a log of its own is read");
    rmSync(join(logDir, "output.log"));
    linkSync(secret, join(logDir, "output.log"));
    assert.equal((await readRunLog(logDir, 0, 1024)).data.length, 0, "nothing of the linked file is read: it reads as no log yet");
  });
});
