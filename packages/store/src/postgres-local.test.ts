import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const script = new URL("../../../scripts/postgres-local.sh", import.meta.url).pathname;
const run = promisify(execFile);
const binaries = "/usr/lib/postgresql/15/bin/initdb";

describe("scripts/postgres-local.sh", { skip: existsSync(binaries) ? undefined : `${binaries} is not installed (Debian: postgresql-15)` }, () => {
  it("starts a throwaway cluster once, prints only its URL, keeps fsync on, and stops it cleanly", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "sy-pgl-"));
    t.after(async () => {
      await run(script, ["stop", dir]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });
    const first = await run(script, ["start", dir]);
    const url = `postgres://postgres@/switchyard?host=${dir}/sock`;
    assert.deepEqual([first.stdout, first.stderr], [`${url}\n`, ""], "quiet but for the URL");
    assert.deepEqual((await run(script, ["start", dir])).stdout, `${url}\n`, "a second start finds it running");
    assert.equal((await run(script, ["url", dir])).stdout, `${url}\n`);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const r = await client.query<{ fsync: string; sync: string; listen: string; db: string }>(
        "select current_setting('fsync') as fsync, current_setting('synchronous_commit') as sync, current_setting('listen_addresses') as listen, current_database() as db",
      );
      assert.deepEqual(r.rows, [{ fsync: "on", sync: "on", listen: "", db: "switchyard" }], "durable, and reachable on its socket only");
    } finally {
      await client.end();
    }

    const stop = await run(script, ["stop", dir]);
    assert.deepEqual([stop.stdout, stop.stderr], ["", ""]);
    await run(script, ["stop", dir]);
    const after = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    await assert.rejects(after.connect());
    await after.end().catch(() => undefined);
  });

  it("refuses a DIR whose path cannot go into the URL", async () => {
    const dir = join(tmpdir(), `sy pg ${process.pid}`);
    await assert.rejects(run(script, ["start", dir]), (e: { code?: number; stderr?: string }) => e.code === 1 && /use a path of letters, digits/.test(e.stderr ?? ""));
    assert.equal(existsSync(dir), false, "nothing made");
  });
});
