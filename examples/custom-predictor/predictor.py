#!/usr/bin/python3
"""A custom predictor for Switchyard's model server: the Open Inference Protocol's REST API for one model, with the
Python standard library alone (http.server, json).

The model ("rowsum" unless MODEL_NAME says otherwise) takes one FP32 input "x" of shape [N, K] and answers one FP32
output "sum" of shape [N, 1]: the sum of each row. The model server starts it with PORT in the environment and
translates each gRPC call into these REST calls on 127.0.0.1:$PORT:

  GET  /v2/health/live, /v2/health/ready     200 when alive / ready
  GET  /v2/models/{name}                      the model's metadata (inputs, outputs, datatypes, shapes)
  GET  /v2/models/{name}/ready                200 when the model is ready
  POST /v2/models/{name}/infer                {"inputs": [{"name", "shape", "datatype", "data"}], ...}

Errors are {"error": "..."} with 400 (the request's fault: the model server answers INVALID_ARGUMENT with this
message) or 404 (an unknown model: NOT_FOUND).
"""
import json
import math
import os
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = os.environ.get("MODEL_NAME", "rowsum")
METADATA = {
    "name": MODEL,
    "versions": ["1"],
    "platform": "python",
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, -1]}],
    "outputs": [{"name": "sum", "datatype": "FP32", "shape": [-1, 1]}],
}
MAX_BODY = 64 * 1024 * 1024


def flatten(data):
    """Row-major elements of flat or nested lists."""
    out = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


class BadRequest(Exception):
    pass


def infer(body):
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise BadRequest('expected {"inputs": [...]}')
    inputs = {i.get("name"): i for i in body["inputs"] if isinstance(i, dict)}
    x = inputs.get("x")
    if x is None:
        raise BadRequest('input "x" is missing: the model expects x (FP32 [-1, -1])')
    if x.get("datatype") != "FP32":
        raise BadRequest('input "x": expected datatype FP32, got %s' % x.get("datatype"))
    shape = x.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise BadRequest('input "x": expected shape [N, K], got %s' % json.dumps(shape))
    n, k = shape
    values = flatten(x.get("data", []))
    if len(values) != n * k:
        raise BadRequest('input "x": expected %d elements for shape [%d, %d], got %d' % (n * k, n, k, len(values)))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise BadRequest('input "x": expected finite numbers (FP32)')
    sums = [float(sum(values[r * k:(r + 1) * k])) for r in range(n)]
    response = {"model_name": MODEL, "model_version": "1", "outputs": [{"name": "sum", "datatype": "FP32", "shape": [n, 1], "data": sums}]}
    if "id" in body:
        response["id"] = body["id"]
    return response


class Handler(BaseHTTPRequestHandler):
    # Keep-alive: the model server reuses its connections.
    protocol_version = "HTTP/1.1"

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path in ("/v2/health/live", "/v2/health/ready", "/v2/models/%s/ready" % MODEL):
            self.reply(200, {"live": True, "ready": True})
        elif self.path == "/v2/models/%s" % MODEL:
            self.reply(200, METADATA)
        elif self.path.startswith("/v2/models/"):
            self.reply(404, {"error": "model not found; this predictor serves %s" % MODEL})
        else:
            self.reply(404, {"error": "no such path: %s" % self.path})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.reply(413, {"error": "request body too large"})
            self.close_connection = True
            return
        body = self.rfile.read(length)
        if self.path != "/v2/models/%s/infer" % MODEL:
            self.reply(404, {"error": "model not found; this predictor serves %s" % MODEL})
            return
        try:
            self.reply(200, infer(json.loads(body)))
        except (BadRequest, ValueError) as e:
            self.reply(400, {"error": str(e)})

    def log_message(self, fmt, *args):
        pass  # one line per request would drown the job's log


def exit_with_parent():
    """The model server gives us a pipe as stdin and never writes to it: when it goes away (even killed), the pipe
    ends and so do we. (Started by hand, stdin is no pipe and this does not run.)"""
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except OSError:
        pass
    os._exit(0)


def main():
    port = int(os.environ["PORT"])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    if stat.S_ISFIFO(os.fstat(0).st_mode):
        threading.Thread(target=exit_with_parent, daemon=True).start()
    print("rowsum predictor on 127.0.0.1:%d" % port, file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal

    # SIGTERM (the model server passes it on after its in-flight calls ended): stop serving, exit 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    main()
