/**
 * The serving service's own copies of model files: registered versions (`models/<team>/<name>/<version>-<random>.onnx`) and
 * the models of revisions that named a job's artifact (`revisions/<deployment uid>/<n>.onnx`). Copied, not referred
 * to: the source job's files are collected by its queue's retention, and a replica's sandbox cannot see another
 * job's directory anyway — the reconciler sends the file to the replica over its socket (ModelServer.LoadModel).
 * Written whole under a temporary name, checksummed as it is written, then renamed into place; private to the
 * platform's user like everything in the data dir.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";

/** The largest model file taken (SWITCHYARD_MAX_MODEL_BYTES): a replica holds it in memory while it loads. */
export const DEFAULT_MAX_MODEL_BYTES = 2 * 1024 ** 3;

export interface StoredFile {
  file: string;
  checksum: string;
  sizeBytes: number;
}

export class ModelFiles {
  constructor(private readonly root: string, private readonly maxBytes = DEFAULT_MAX_MODEL_BYTES) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  /**
   * Where a registered version's file goes: its own name (a random part), so two registrations racing for one version
   * never write or remove each other's file — the store's primary key picks the winner, the loser removes its own.
   */
  registeredPath(team: string, name: string, version: number): string {
    return join(this.root, "models", team, name, `${version}-${randomBytes(6).toString("hex")}.onnx`);
  }

  revisionPath(deploymentUid: string, revision: number): string {
    return join(this.root, "revisions", deploymentUid, `${revision}.onnx`);
  }

  /** Writes `chunks` to `path` (replacing what was there), bounded by the size limit. */
  async write(path: string, chunks: AsyncIterable<Uint8Array>, what: string): Promise<StoredFile> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    const hash = createHash("sha256");
    let size = 0;
    const fh = await open(tmp, "wx", 0o600);
    try {
      for await (const c of chunks) {
        size += c.byteLength;
        if (size > this.maxBytes) {
          throw new SwitchyardError(Code.InvalidArgument, `${what} is larger than ${Math.round(this.maxBytes / 1024 ** 2)} MiB, the largest model taken: raise SWITCHYARD_MAX_MODEL_BYTES on the serving service`, { details: [{ field: "model", message: "too large", expected: `at most ${this.maxBytes} bytes` }] });
        }
        hash.update(c);
        await fh.write(c);
      }
      await fh.sync();
    } catch (err) {
      await fh.close();
      rmSync(tmp, { force: true });
      throw err;
    }
    await fh.close();
    if (size === 0) {
      rmSync(tmp, { force: true });
      throw new SwitchyardError(Code.InvalidArgument, `${what} is empty`, { details: [{ field: "model", message: "empty file" }] });
    }
    renameSync(tmp, path);
    return { file: path, checksum: `sha256:${hash.digest("hex")}`, sizeBytes: size };
  }

  /** A stored file in pieces of `pieceBytes`, for LoadModel. */
  async *read(path: string, pieceBytes = 4 * 1024 * 1024): AsyncGenerator<Buffer> {
    const stream = createReadStream(path, { highWaterMark: pieceBytes });
    for await (const chunk of stream) yield chunk as Buffer;
  }

  size(path: string): number {
    return statSync(path).size;
  }

  remove(path: string): void {
    if (path) rmSync(path, { force: true });
  }

  removeDeployment(deploymentUid: string): void {
    rmSync(join(this.root, "revisions", deploymentUid), { recursive: true, force: true });
  }
}
