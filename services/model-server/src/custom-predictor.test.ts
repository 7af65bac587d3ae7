// Custom predictors behind the model server: the Python example (examples/custom-predictor, Debian's python3 and its
// standard library), and predictors that misbehave. Real processes throughout.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import { decodeOutputs, encodeInputs, type Tensor } from "@switchyard/inference";
import { privateDir, REPO, startServer, until } from "./test-harness.js";

const PYTHON = "/usr/bin/python3";
const EXAMPLE = join(REPO, "examples/custom-predictor/predictor.py");

const x = (rows: number[][]): Tensor => ({ name: "x", datatype: "FP32", shape: [rows.length, rows[0]!.length], data: Float32Array.from(rows.flat()) });

/** Whether a process is alive (signal 0). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("a custom predictor", () => {
  const tmp = privateDir();
  let n = 0;
  const dir = () => {
    const d = join(tmp.dir, `s${n++}`);
    mkdirSync(d, { mode: 0o700 });
    return d;
  };
  after(() => tmp.remove());

  it("serves the example's row sums over gRPC, typed and raw, with its metadata and its errors", async () => {
    const server = await startServer(dir(), ["--name", "rowsum", "--custom", "--", PYTHON, EXAMPLE]);
    let predictorPid: number | undefined;
    try {
      const md = await server.infer.modelMetadata({ name: "rowsum" });
      assert.deepEqual([md.platform, md.inputs.map((t) => [t.name, t.datatype, t.shape.map(Number)]), md.outputs.map((t) => [t.name, t.datatype, t.shape.map(Number)])], ["custom", [["x", "FP32", [-1, -1]]], [["sum", "FP32", [-1, 1]]]]);
      for (const raw of [false, true]) {
        const resp = await server.infer.modelInfer({ modelName: "rowsum", id: "q1", ...encodeInputs([x([[1, 2, 3], [0.5, -4, 10]])], { raw }) });
        assert.equal(resp.id, "q1");
        assert.equal(resp.rawOutputContents.length, raw ? 1 : 0);
        const [sum] = decodeOutputs(resp);
        assert.deepEqual([sum!.name, sum!.shape, Array.from(sum!.data as Float32Array)], ["sum", [2, 1], [6, 6.5]]);
      }
      // Checked by the model server against the predictor's metadata before it is sent…
      await assert.rejects(server.infer.modelInfer({ modelName: "rowsum", ...encodeInputs([{ ...x([[1, 2]]), name: "y" }]) }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && /^input "y": the model has no such input; its inputs are x \(FP32 \[-1, -1\]\)$/.test(e.message));
      // …and the predictor's own 400 comes back as INVALID_ARGUMENT with its message.
      await assert.rejects(server.infer.modelInfer({ modelName: "rowsum", ...encodeInputs([x([[1, NaN]])]) }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && e.message === 'input "x": expected finite numbers (FP32)');
      predictorPid = Number(/"pid":(\d+)[^\n]*custom predictor started/.exec(server.stderr())?.[1]);
      assert.ok(alive(predictorPid));
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
    await until(() => !alive(predictorPid!));
  });

  it("batches in front of the predictor when asked", async () => {
    const server = await startServer(dir(), ["--name", "rowsum", "--max-batch-size", "16", "--max-queue-delay-us", "100000", "--custom", "--", PYTHON, EXAMPLE]);
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => server.infer.modelInfer({ modelName: "rowsum", ...encodeInputs([x([[i, i, 1]])]) })));
      assert.deepEqual(answers.map((r) => Array.from(decodeOutputs(r)[0]!.data as Float32Array)), Array.from({ length: 8 }, (_, i) => [2 * i + 1]));
      const text = await server.scrape();
      assert.match(text, /switchyard_inference_batch_requests_sum\{model="rowsum",revision="1"\} 8/);
      assert.doesNotMatch(text, /switchyard_inference_batch_requests_count\{model="rowsum",revision="1"\} 8\b/, "fewer runs than requests");
    } finally {
      await server.stop();
    }
  });

  it("makes the model server exit with the predictor's exit code when the predictor exits", async () => {
    // Ready at once, then gone with code 3 a moment later.
    const script = join(tmp.dir, "exits.py");
    writeFileSync(
      script,
      [
        "import os, threading",
        "from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer",
        "class H(BaseHTTPRequestHandler):",
        "    protocol_version = 'HTTP/1.1'",
        "    def do_GET(self):",
        "        self.send_response(200 if self.path == '/v2/health/ready' else 404)",
        "        self.send_header('Content-Length', '0')",
        "        self.end_headers()",
        "        threading.Timer(0.3, lambda: os._exit(3)).start()",
        "    def log_message(self, *a): pass",
        "ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()",
      ].join("\n"),
    );
    const server = await startServer(dir(), ["--name", "gone", "--custom", "--", PYTHON, script], { waitReady: false });
    const exit = await server.exited;
    server.infer.close();
    server.control.close();
    assert.equal(exit.code, 3, server.stderr());
    assert.match(server.stderr(), /the custom predictor exited with code 3: exiting with its code/);
  });

  it("on SIGTERM lets in-flight calls finish, then passes SIGTERM on to the predictor, then exits 0", async () => {
    // Answers each call after 400 ms; on SIGTERM writes how many it had answered, then exits.
    const script = join(tmp.dir, "slow.py");
    const marker = join(tmp.dir, "slow.out");
    writeFileSync(
      script,
      [
        "import json, os, signal, sys, threading, time",
        "from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer",
        "answered = [0]",
        "lock = threading.Lock()",
        "def term(*_):",
        `    open(${JSON.stringify(marker)}, 'w').write('answered %d before SIGTERM' % answered[0])`,
        "    os._exit(0)",
        "signal.signal(signal.SIGTERM, term)",
        "class H(BaseHTTPRequestHandler):",
        "    protocol_version = 'HTTP/1.1'",
        "    def reply(self, status, body):",
        "        data = json.dumps(body).encode()",
        "        self.send_response(status)",
        "        self.send_header('Content-Type', 'application/json')",
        "        self.send_header('Content-Length', str(len(data)))",
        "        self.end_headers()",
        "        self.wfile.write(data)",
        "    def do_GET(self):",
        "        self.reply(200 if self.path == '/v2/health/ready' else 404, {})",
        "    def do_POST(self):",
        "        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))",
        "        time.sleep(0.4)",
        "        with lock: answered[0] += 1",
        "        self.reply(200, {'model_name': 'slow', 'outputs': [dict(body['inputs'][0], name='y')]})",
        "    def log_message(self, *a): pass",
        "server = ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H)",
        "server.daemon_threads = True",
        "server.serve_forever()",
      ].join("\n"),
    );
    const server = await startServer(dir(), ["--name", "slow", "--custom", "--", PYTHON, script]);
    const calls = Array.from({ length: 4 }, (_, i) => server.infer.modelInfer({ modelName: "slow", ...encodeInputs([x([[i]])]) }));
    await until(async () => (await server.control.getLoad({})).inFlight === 4);
    const exit = await server.stop();
    assert.equal(exit.code, 0, server.stderr());
    const answers = await Promise.all(calls);
    assert.deepEqual(answers.map((r) => Array.from(decodeOutputs(r)[0]!.data as Float32Array)), [[0], [1], [2], [3]]);
    assert.equal(readFileSync(marker, "utf8"), "answered 4 before SIGTERM");
  });
});
