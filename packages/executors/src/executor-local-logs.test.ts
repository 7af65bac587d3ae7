import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@switchyard/core";
import type { Executor, LogLimits } from "./executor.js";
import { createLocalExecutor, type LocalExecutorOptions } from "./executor-local.js";
import { exitOf, liveGroupMembers, logWriterOf, procFile, runningGroup, sh, waitFor } from "./executor-local-test-kit.js";

// Real processes: floods through the shim's log writer (split + one sh and cat per chunk), sampled on disk and in /proc.

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 512 * KiB;
const LIMITS: LogLimits = { headBytes: 1 * MiB, tailBytes: 2 * MiB };
const BOUND = LIMITS.headBytes + LIMITS.tailBytes + CHUNK;
const FLOOD = 200_000_000;
const CHUNK_FILE = /^log\.\d{12}$/;

let root = "";
let runsDir = "";
const started: Array<{ executor: Executor; runId: string }> = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-executor-logs-"));
  runsDir = join(root, "runs");
});

after(async () => {
  await Promise.all(started.map(({ executor, runId }) => executor.terminate(runId, 0).catch(() => undefined)));
  await rm(root, { recursive: true, force: true });
});

function executor(options: Partial<LocalExecutorOptions> = {}): Executor {
  return createLocalExecutor({ runsDir, pollMs: 50, logChunkBytes: CHUNK, ...options });
}

function launch(ex: Executor, runId: string, script: string, logLimits?: LogLimits) {
  started.push({ executor: ex, runId });
  return ex.launch({ runId, command: sh(script), env: {}, gpuIndices: [], workingDir: root, ...(logLimits ? { logLimits } : {}) });
}

/** Bytes of the log's chunk files in a run directory, and the indices present. */
function onDisk(dir: string): { bytes: number; indices: number[] } {
  let bytes = 0;
  const indices: number[] = [];
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!CHUNK_FILE.test(name)) continue;
    try {
      bytes += lstatSync(join(dir, name)).size;
      indices.push(Number(name.slice(4)));
    } catch {
      // removed by the writer since the listing
    }
  }
  return { bytes, indices };
}

/** Samples the log's size on disk every ~2 ms until the run's status file appears. */
async function sampleUntilEnded(dir: string, timeoutMs = 120_000): Promise<{ max: number; samples: number }> {
  const end = Date.now() + timeoutMs;
  let max = 0;
  let samples = 0;
  while (!existsSync(join(dir, "status"))) {
    if (Date.now() > end) throw new Error(`${dir}: no status after ${timeoutMs} ms`);
    max = Math.max(max, onDisk(dir).bytes);
    samples++;
    await new Promise((r) => setTimeout(r, 2));
  }
  return { max, samples };
}

/**
 * Reads a run's whole log from offset 0 in steps of `maxBytes`, following `nextOffset`; splits it into the data between
 * gaps and the markers, by the contract's arithmetic (a chunk's data is `nextOffset - offset - droppedBytes` long).
 */
async function readWhole(ex: Executor, runId: string, maxBytes: number) {
  let offset = 0;
  const parts: Buffer[] = [];
  const segments: Buffer[][] = [[]];
  const markers: Array<{ bytes: number; why: string; text: string }> = [];
  for (;;) {
    const chunk = await ex.readLog(runId, { offset, maxBytes });
    if (chunk.data.length === 0) break;
    const dataBytes = chunk.droppedBytes === undefined ? chunk.data.length : chunk.nextOffset - offset - chunk.droppedBytes;
    assert.ok(dataBytes >= 0 && dataBytes <= maxBytes, `${dataBytes} bytes of output in a read of at most ${maxBytes}`);
    segments.at(-1)!.push(chunk.data.subarray(0, dataBytes));
    if (chunk.droppedBytes !== undefined) {
      const text = chunk.data.subarray(dataBytes).toString("utf8");
      const m = /^\n?\[switchyard: (\d+) bytes of output ([^\]\n]*)\]\n$/.exec(text);
      assert.ok(m !== null && Number(m[1]) === chunk.droppedBytes, `the chunk ends with its marker: ${JSON.stringify(text)}`);
      markers.push({ bytes: chunk.droppedBytes, why: m[2]!, text });
      segments.push([]);
    }
    parts.push(chunk.data);
    offset = chunk.nextOffset;
  }
  const text = Buffer.concat(parts).toString("utf8");
  return { text, end: offset, markers, segments: segments.map((s) => Buffer.concat(s).toString("latin1")) };
}

const onlyX = (s: string): boolean => /^x*$/.test(s);

function vmRssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(procFile(pid, "status")?.toString("utf8") ?? "");
  return m ? Number(m[1]) : 0;
}

function pssKb(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(procFile(pid, "smaps_rollup")?.toString("utf8") ?? "");
  return m ? Number(m[1]) : 0;
}

describe("local executor: bounded logs", () => {
  it("keeps the first and the latest bytes of a flood within head + tail + one chunk on disk, and the job's exit code", async (t) => {
    const ex = executor();
    const t0 = Date.now();
    await launch(ex, "flood", `head -c ${FLOOD} /dev/zero | tr '\\0' x; exit 3`, LIMITS);
    const dir = join(runsDir, "flood");
    const sampled = await sampleUntilEnded(dir);
    const state = await exitOf(ex, "flood", 120_000);
    assert.deepEqual(state.kind === "exited" && [state.exitCode, state.signal], [3, null]);
    const final = onDisk(dir);
    t.diagnostic(`${FLOOD} bytes in ${Date.now() - t0} ms; ${sampled.samples} samples, at most ${sampled.max} bytes on disk (bound ${BOUND}), ${final.bytes} at the end`);
    assert.ok(sampled.samples >= 50, `sampled ${sampled.samples} times`);
    assert.ok(sampled.max <= BOUND && final.bytes <= BOUND, `${sampled.max} / ${final.bytes} bytes on disk`);

    const log = await readWhole(ex, "flood", 1 * MiB);
    assert.equal(log.markers.length, 1, "one marker for the one gap");
    const [head = "", tail = ""] = log.segments;
    assert.equal(head.length, LIMITS.headBytes);
    assert.ok(onlyX(head) && onlyX(tail));
    assert.ok(tail.length >= LIMITS.tailBytes && tail.length <= LIMITS.tailBytes + CHUNK, `the latest ${tail.length} bytes`);
    const marker = log.markers[0]!;
    assert.equal(marker.bytes, FLOOD - head.length - tail.length);
    assert.equal(log.end, FLOOD, "the logical offsets count every byte the replica wrote");
    assert.equal(marker.text, `\n[switchyard: ${marker.bytes} bytes of output dropped here — the log keeps the first 1 MiB and the latest 2 MiB of each run]\n`);
    assert.ok(!marker.text.includes("="), "no metric parser reads the marker");
    assert.equal((await ex.readLog("flood", { offset: FLOOD })).data.length, 0);
    await ex.close();
  });

  it("holds the limits while no executor runs and reads correctly in a new one (the jobs service restarted)", async () => {
    let ex: Executor | null = executor();
    await launch(ex, "restart", `head -c ${FLOOD} /dev/zero | tr '\\0' x; echo; echo done; exit 3`, LIMITS);
    const dir = join(runsDir, "restart");
    await waitFor("the writer to rotate", () => onDisk(dir).indices.some((i) => i > 8));
    await ex.close(); // the jobs service is gone: nothing of node watches or reads this run
    ex = null;
    const sampled = await sampleUntilEnded(dir);
    assert.ok(sampled.samples >= 20 && sampled.max <= BOUND, JSON.stringify(sampled));

    const fresh = executor();
    started.push({ executor: fresh, runId: "restart" });
    const state = await exitOf(fresh, "restart");
    assert.equal(state.kind === "exited" && state.exitCode, 3);
    const log = await readWhole(fresh, "restart", 256 * KiB);
    assert.equal(log.markers.length, 1);
    const [head = "", tail = ""] = log.segments;
    assert.ok(head.length === LIMITS.headBytes && onlyX(head));
    assert.ok(tail.endsWith("x\ndone\n") && onlyX(tail.slice(0, -6)) && tail.length >= LIMITS.tailBytes, `${tail.length} bytes after the gap`);
    assert.equal(head.length + log.markers[0]!.bytes + tail.length, FLOOD + 6);
    assert.equal(log.end, FLOOD + 6);
    await fresh.close();
  });

  it("writes what a replica prints on its way out when terminated mid-flood, then records the status, leaving no process", async () => {
    const ex = executor();
    await launch(ex, "terminated", `trap 'echo last-words; exit 7' TERM; head -c 100000000000 /dev/zero | tr '\\0' x; echo never`, LIMITS);
    const dir = join(runsDir, "terminated");
    const { shimPid, pgid } = await runningGroup(ex, "terminated");
    const writer = await waitFor("the log writer", () => logWriterOf(shimPid, pgid));
    assert.notDeepEqual(liveGroupMembers(writer), [], "the writer runs in a group of its own");
    await waitFor("the writer to rotate", () => onDisk(dir).indices.some((i) => i > 8));
    await ex.terminate("terminated", 5000);

    const state = await ex.inspect("terminated");
    assert.deepEqual(state.kind === "exited" && state.exitCode, 7, "the trap's own exit code");
    assert.deepEqual(liveGroupMembers(pgid), [], "no process of the job is left");
    assert.deepEqual(liveGroupMembers(writer), [], "nor of the writer");
    assert.equal(procFile(shimPid, "stat"), null, "the shim has ended");
    assert.ok(onDisk(dir).bytes <= BOUND);
    const log = await readWhole(ex, "terminated", 1 * MiB);
    assert.equal(log.markers.length, 1);
    assert.ok(log.text.endsWith("last-words\n"), `the last line made it into the log before the status: ${JSON.stringify(log.text.slice(-60))}`);
    await ex.close();
  });

  it("yields every kept line exactly once to readers stepping by offsets, across chunk boundaries and the gap", async () => {
    const C = 4096;
    const ex = executor({ logChunkBytes: C });
    const lines = 5000;
    const width = 21; // "step=000123 loss=0.5\n"
    await launch(ex, "lines", `awk 'BEGIN { for (i = 0; i < ${lines}; i++) printf "step=%06d loss=0.5\\n", i }'`, { headBytes: 2 * C, tailBytes: 2 * C });
    const state = await exitOf(ex, "lines");
    assert.equal(state.kind === "exited" && state.exitCode, 0);

    // Kept whole: the lines inside the first two chunks, and those that start in the last two full chunks or after.
    const end = lines * width;
    const gapEnd = (Math.floor((end - 1) / C) - 2) * C;
    const line = (i: number): string => `step=${String(i).padStart(6, "0")} loss=0.5`;
    const headLines = Math.floor((2 * C) / width);
    const firstTail = Math.ceil(gapEnd / width);
    const dropped = firstTail * width - headLines * width;
    const marker = `[switchyard: ${dropped} bytes of output dropped here — the log keeps the first 8 KiB and the latest 8 KiB of each run]`;
    const expected = [...Array.from({ length: headLines }, (_, i) => line(i)), marker, ...Array.from({ length: lines - firstTail }, (_, i) => line(firstTail + i))];

    // As the metrics collector reads: whole lines only, the stored offset advanced by what it used.
    const seen: string[] = [];
    let offset = 0;
    for (;;) {
      const chunk = await ex.readLog("lines", { offset, maxBytes: 50 });
      if (chunk.data.length === 0) break;
      const used = chunk.data.lastIndexOf(0x0a) + 1;
      assert.ok(used > 0, `a line ends within 50 bytes of offset ${offset}`);
      seen.push(...chunk.data.subarray(0, used).toString("utf8").split("\n").slice(0, -1));
      offset = used === chunk.data.length ? chunk.nextOffset : offset + used;
    }
    assert.deepEqual(seen, expected);
    assert.equal(offset, end);
    assert.deepEqual(seen.filter((l) => l.includes("=")).length, expected.length - 1, "only whole metric lines, no marker, no half lines");

    // As `logs --follow` streams: tiny reads, the marker whole even though it is longer than maxBytes.
    const streamed = await readWhole(ex, "lines", 7);
    assert.equal(streamed.text, `${expected.join("\n")}\n`);
    assert.equal(streamed.end, end);
    const across = await ex.readLog("lines", { offset: C - 10, maxBytes: 20 });
    assert.deepEqual([across.data.toString(), across.nextOffset], [`${expected.join("\n")}\n`.slice(C - 10, C + 10), C + 10]);
    await ex.close();
  });

  it("keeps the writer small: a few shell-sized processes, whatever the flood", async (t) => {
    const ex = executor({ logChunkBytes: undefined });
    const size = 400_000_000;
    const t0 = Date.now();
    await launch(ex, "rss", `head -c ${size} /dev/zero | tr '\\0' x`);
    const { shimPid, pgid } = await runningGroup(ex, "rss");
    const writer = await waitFor("the log writer", () => logWriterOf(shimPid, pgid));
    let maxRssKb = 0;
    let maxPssKb = 0;
    let samples = 0;
    while ((await ex.inspect("rss")).kind === "running") {
      const members = liveGroupMembers(writer);
      maxRssKb = Math.max(maxRssKb, members.reduce((sum, pid) => sum + vmRssKb(pid), 0));
      maxPssKb = Math.max(maxPssKb, members.reduce((sum, pid) => sum + pssKb(pid), 0));
      samples++;
      await new Promise((r) => setTimeout(r, 5));
    }
    const ms = Date.now() - t0;
    t.diagnostic(`writer: at most ${(maxRssKb / 1024).toFixed(1)} MB VmRSS, ${(maxPssKb / 1024).toFixed(1)} MB PSS over ${samples} samples; ${size} bytes through it in ${ms} ms (${(size / MiB / (ms / 1000)).toFixed(0)} MiB/s, default limits)`);
    assert.ok(samples >= 10 && maxRssKb > 0, `${samples} samples`);
    assert.ok(maxRssKb < 16 * 1024, `the writer's processes use ${maxRssKb} kB of VmRSS`);
    const disk = onDisk(join(runsDir, "rss")).bytes;
    assert.ok(disk <= 8 * MiB + 56 * MiB + 4 * MiB, `${disk} bytes on disk with the default limits`);
    await ex.close();
  });

  it("loses output, never the job, when the disk is full, says where, and writes again once there is room", async (t) => {
    const mnt = join(root, "full");
    await mkdir(mnt);
    if (process.getuid?.() !== 0 || spawnSync("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt]).status !== 0) {
      return t.skip("filling a disk needs root and a tmpfs mount");
    }
    t.after(() => spawnSync("umount", ["-l", mnt]));
    await writeFile(join(mnt, "filler"), Buffer.alloc(2 * MiB));
    const work = join(root, "disk-full-work");
    await mkdir(work);
    const ex = createLocalExecutor({ runsDir: join(mnt, "runs"), pollMs: 50, logChunkBytes: CHUNK });
    started.push({ executor: ex, runId: "disk-full" });
    // 10 MB of 500 kB lines into ~1 MiB of free space, then (once the test frees room) more than a chunk and a last line.
    const script =
      `i=0; while [ $i -lt 20 ]; do head -c 500000 /dev/zero | tr '\\0' x; echo; echo "line $i"; i=$((i + 1)); done; ` +
      `touch waiting; while [ ! -e go ]; do sleep 0.02; done; head -c 600000 /dev/zero | tr '\\0' y; echo; echo "the end"; exit 3`;
    await ex.launch({ runId: "disk-full", command: sh(script), env: {}, gpuIndices: [], workingDir: work, logLimits: LIMITS });
    await waitFor("the flood into a full disk", () => existsSync(join(work, "waiting")), 60_000);
    await rm(join(mnt, "filler"));
    await writeFile(join(work, "go"), "");
    const state = await exitOf(ex, "disk-full", 60_000);
    assert.equal(state.kind === "exited" && state.exitCode, 3, "the job's own exit code");
    const log = await readWhole(ex, "disk-full", 1 * MiB);
    const total = 10 * (500_001 + 7) + 10 * (500_001 + 8) + 600_001 + 8;
    assert.equal(log.end, total);
    assert.ok(log.markers.some((m) => m.why.endsWith("the log could not be written (disk full?)")), JSON.stringify(log.markers.map((m) => m.text)));
    assert.equal(log.markers.reduce((sum, m) => sum + m.bytes, 0) + log.segments.reduce((sum, seg) => sum + seg.length, 0), total);
    assert.ok(log.text.endsWith("\nthe end\n"), JSON.stringify(log.text.slice(-200)));
    await ex.close();
  });

  it("still reads a run written by the previous version (one output.log), and refuses limits that are not byte counts", async () => {
    const dir = join(runsDir, "legacy");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "launched"), "1\n");
    await writeFile(join(dir, "output.log"), "epoch=1 loss=0.9\nepoch=2 loss=0.4\n");
    await writeFile(join(dir, "status"), "0 1 2\n");
    const ex = executor();
    assert.deepEqual(await ex.inspect("legacy"), { kind: "exited", exitCode: 0, signal: null, startedAtMs: 1, endedAtMs: 2 });
    assert.equal((await ex.readLog("legacy")).data.toString(), "epoch=1 loss=0.9\nepoch=2 loss=0.4\n");
    const part = await ex.readLog("legacy", { offset: 17, maxBytes: 7 });
    assert.deepEqual([part.data.toString(), part.nextOffset, part.droppedBytes], ["epoch=2", 24, undefined]);
    assert.deepEqual(await ex.readLog("legacy", { offset: 999 }), { data: Buffer.alloc(0), nextOffset: 999 });
    assert.equal(ex.logPath("legacy"), join(dir, "output.log"));

    await assert.rejects(launch(ex, "bad-limits", "true", { headBytes: -1, tailBytes: 1.5 }), (err: { code?: unknown; message?: string }) => {
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.message ?? "", /logLimits\.headBytes.*logLimits\.tailBytes/);
      return true;
    });
    assert.deepEqual(await ex.inspect("bad-limits"), { kind: "absent" });
    assert.throws(() => createLocalExecutor({ runsDir, logChunkBytes: 100 }), { code: Code.InvalidArgument });
    await ex.close();
  });
});
