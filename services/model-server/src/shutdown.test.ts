// SIGTERM while callers keep calling: what was taken is answered, what comes after is refused as not executed (a
// caller retries it on another replica), and the process exits 0.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { encodeInputs } from "@switchyard/inference";
import { demoModel, privateDir, startServer, until } from "./test-harness.js";

describe("SIGTERM under load", () => {
  const tmp = privateDir();
  after(() => tmp.remove());

  it("answers every request the server took, refuses the rest UNAVAILABLE, and exits 0", async () => {
    const model = demoModel(tmp.dir);
    // One run at a time: requests wait in the queue, so some are queued when the signal comes.
    const server = await startServer(tmp.dir, ["--name", "demo", "--model", model, "--container-concurrency", "1"]);
    const request = { modelName: "demo", ...encodeInputs([{ name: "input", datatype: "FP32", shape: [64, 2], data: new Float32Array(128).fill(0.5) }]) };
    let ok = 0;
    let killed = false;
    /** Failures of calls made before the signal, and of calls made after it (to a server going or gone). */
    const failures: { before: SwitchyardError[]; after: SwitchyardError[] } = { before: [], after: [] };
    const callers = Array.from({ length: 16 }, async () => {
      for (;;) {
        const afterKill = killed;
        try {
          await server.infer.modelInfer(request, { timeoutMs: 3_000 });
          ok++;
        } catch (err) {
          failures[afterKill ? "after" : "before"].push(SwitchyardError.from(err));
          return;
        }
      }
    });
    await until(() => ok >= 200);
    const before = await server.control.getLoad({});
    server.child.kill("SIGTERM");
    killed = true;
    // The callers' last calls wait on a server that is gone, with only grpc-js's unreferenced timers (deadline, backoff)
    // pending: this interval keeps the test's event loop alive until they settle.
    const alive = setInterval(() => undefined, 1000);
    const exit = await server.exited;
    await Promise.all(callers).finally(() => clearInterval(alive));
    server.infer.close();
    server.control.close();
    assert.equal(exit.code, 0, server.stderr());
    assert.equal(exit.signal, null);
    // Whatever was in the server when GetLoad looked (and everything before) was answered.
    assert.ok(ok >= Number(before.completed) + before.inFlight, `${ok} answered; ${before.completed} before the signal plus ${before.inFlight} in flight`);
    // A call the server took is answered; one it did not take is refused UNAVAILABLE (not executed: retry elsewhere).
    const unexpected = failures.before.filter((e) => e.code !== Code.Unavailable);
    assert.deepEqual(unexpected.map((e) => e.message), []);
    // After the signal a call may also find no server left to connect to before its deadline.
    assert.deepEqual(failures.after.filter((e) => e.code !== Code.Unavailable && e.code !== Code.DeadlineExceeded).map((e) => e.message), []);
    assert.match(server.stderr(), /"msg":"requests drained"/);
  });
});
