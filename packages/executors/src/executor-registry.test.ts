import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Executor } from "./executor.js";
import { createExecutor, executorAppliesSandbox, executorNames, registerExecutor, type ExecutorOptions } from "./executor-registry.js";

describe("executors chosen by name", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-executors-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("builds the built-in local executor", async () => {
    const ex = createExecutor("local", { runsDir: join(dir, "runs") });
    try {
      assert.equal(ex.name, "local");
      assert.deepEqual(await ex.inspect("never-launched"), { kind: "absent" });
    } finally {
      await ex.close();
    }
  });

  it("builds the built-in slurm executor with its own options, without asking Slurm anything", async () => {
    const ex = createExecutor("slurm", { runsDir: join(dir, "slurm-runs"), slurm: { slurmConf: "/nonexistent/slurm.conf", partition: "debug" } });
    try {
      assert.equal(ex.name, "slurm");
      assert.equal(typeof ex.inventory, "function");
      assert.deepEqual(await ex.inspect("never-launched"), { kind: "absent" });
    } finally {
      await ex.close();
    }
    assert.throws(() => createExecutor("slurm", { runsDir: dir, slurm: { slurmConf: "relative.conf" } }), /slurmConf must be an absolute path/);
  });

  it("refuses an executor nobody registered, naming the ones there are", () => {
    assert.throws(() => createExecutor("kubernetes", { runsDir: dir }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError && e.code === Code.InvalidArgument);
      assert.match(e.message, /no executor "kubernetes": the executors are local, slurm/);
      return true;
    });
  });

  it("builds a registered executor with the platform's options", () => {
    const seen: ExecutorOptions[] = [];
    registerExecutor("recording", (o) => {
      seen.push(o);
      return { name: "recording" } as Executor;
    });
    assert.equal(createExecutor("recording", { runsDir: "/runs" }).name, "recording");
    assert.deepEqual(seen, [{ runsDir: "/runs" }]);
    assert.deepEqual(executorNames(), ["local", "recording", "slurm"]);
    assert.throws(() => registerExecutor("Not A Name", () => ({}) as Executor), /lowercase/);
  });

  it("says which engines cannot apply the local sandbox (a non-root platform then runs single-user)", () => {
    assert.equal(executorAppliesSandbox("local"), true);
    assert.equal(executorAppliesSandbox("slurm"), false, "Slurm runs replicas on its nodes, outside this machine's bubblewrap");
    registerExecutor("remote", () => ({ name: "remote" }) as Executor, { appliesSandbox: false });
    assert.equal(executorAppliesSandbox("remote"), false);
    registerExecutor("remote", () => ({ name: "remote" }) as Executor);
    assert.equal(executorAppliesSandbox("remote"), true, "a registration that says nothing applies the sandbox");
  });
});
