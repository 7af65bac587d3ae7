// ModelServer.LoadModel's pieces put together: the model file the serving service sends when the replica cannot read
// one itself (a job's artifact, a registered model). In order from offset 0, the announced size never exceeded, the
// last piece checked against the file's SHA-256.
import { createHash } from "node:crypto";
import type { LoadModelRequest } from "@switchyard/api";
import { Code, SwitchyardError, invalidArgument } from "@switchyard/core";

export class ModelReceiver {
  private buffer: Uint8Array | undefined;
  private received = 0;
  private readonly hash = createHash("sha256");
  private done = false;

  constructor(private readonly maxBytes: number) {}

  /**
   * Takes one piece. Returns the bytes received so far, and the whole file with the last piece once its checksum
   * matched. A piece already received (a repeated call) is acknowledged again without being taken twice.
   */
  receive(req: LoadModelRequest): { received: number; file?: Uint8Array } {
    if (this.done) throw new SwitchyardError(Code.FailedPrecondition, "this replica already received its model: a replica loads one model once");
    const total = Number(req.totalBytes);
    const offset = Number(req.offset);
    if (!Number.isSafeInteger(total) || total <= 0) throw invalidArgument(`total_bytes must be the file's size (> 0), got ${req.totalBytes}`, [{ field: "total_bytes", message: "not a size", got: String(req.totalBytes) }]);
    if (total > this.maxBytes) {
      throw new SwitchyardError(Code.ResourceExhausted, `the model is ${total} bytes, more than this replica takes (--max-model-bytes ${this.maxBytes})`, { details: [{ field: "total_bytes", message: "too large", expected: `at most ${this.maxBytes}`, got: String(total) }] });
    }
    if (this.buffer === undefined) this.buffer = new Uint8Array(total);
    else if (this.buffer.length !== total) throw invalidArgument(`total_bytes changed from ${this.buffer.length} to ${total} between pieces`, [{ field: "total_bytes", message: "changed", expected: String(this.buffer.length), got: String(total) }]);
    if (offset + req.data.length <= this.received && !req.last) return { received: this.received };
    if (offset !== this.received) throw invalidArgument(`the piece at offset ${offset} is out of order: ${this.received} bytes were received, so the next piece starts there`, [{ field: "offset", message: "out of order", expected: String(this.received), got: String(offset) }]);
    if (this.received + req.data.length > total) throw invalidArgument(`the pieces exceed the announced ${total} bytes`, [{ field: "data", message: "more than total_bytes", expected: `at most ${total - this.received} bytes`, got: `${req.data.length} bytes` }]);
    this.buffer.set(req.data, this.received);
    this.hash.update(req.data);
    this.received += req.data.length;
    if (!req.last) return { received: this.received };
    if (this.received !== total) throw invalidArgument(`the last piece came after ${this.received} of the announced ${total} bytes`, [{ field: "last", message: "file incomplete", expected: `${total} bytes`, got: `${this.received} bytes` }]);
    const checksum = `sha256:${this.hash.digest("hex")}`;
    if (req.checksum !== checksum) {
      this.done = true;
      throw new SwitchyardError(Code.DataLoss, `the model's checksum is ${checksum}, not the ${JSON.stringify(req.checksum)} announced: the file was damaged on the way; start a new replica`, { details: [{ field: "checksum", message: "mismatch", expected: req.checksum, got: checksum }] });
    }
    this.done = true;
    const file = this.buffer;
    this.buffer = undefined;
    return { received: this.received, file };
  }
}
