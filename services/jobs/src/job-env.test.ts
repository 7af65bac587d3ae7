// What a replica's environment is made of: the account's entry, a PATH of the system's directories (and node's own),
// the job spec — never the platform's own PATH, which npm and npx fill with their folders when they start it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, linkSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { jobPath } from "./job-env.js";
import { Sandbox, shellJob, waitForPhase, type JobsProcess } from "./test-harness.js";

async function logOf(jobs: JobsProcess, name: string): Promise<string> {
  let text = "";
  for await (const c of jobs.client.getLogs({ name })) text += Buffer.from(c.data).toString();
  return text;
}

/** The PATH a job printed (`echo "PATH=$PATH"`), split. */
async function jobPathOf(jobs: JobsProcess, name: string, extra = ""): Promise<string[]> {
  await jobs.client.submitJob({ manifest: shellJob(name, 'echo "PATH=$PATH"', extra) });
  const done = await waitForPhase(jobs.client, name, ["Succeeded", "Failed"]);
  const log = await logOf(jobs, name);
  assert.equal(done.status?.phase, "Succeeded", log);
  const line = log.split("\n").find((l) => l.startsWith("PATH="));
  assert.ok(line, log);
  return line.slice("PATH=".length).split(":");
}

describe("jobs service: a job's environment", () => {
  const sb = new Sandbox();
  // As `npm start` or `npx switchyard up` starts the platform: npm puts its own folders first on the PATH.
  const npmDirs = [join(sb.dir, "x/node_modules/.bin"), join(sb.dir, "npm-cache/_npx/abc123/node_modules/.bin"), join(sb.dir, "npm/node_modules/@npmcli/run-script/lib/node-gyp-bin")];
  const platformPath = [...npmDirs, process.env["PATH"] ?? "/usr/bin:/bin"].join(":");
  let jobs: JobsProcess;
  before(async () => {
    for (const d of npmDirs) mkdirSync(d, { recursive: true });
    jobs = await sb.startJobs({ PATH: platformPath, npm_lifecycle_event: "start", SWITCHYARD_SIMULATE_GPUS: "0" });
  });
  after(() => sb.cleanup());

  it("gives a replica none of the folders on the platform's own PATH", async () => {
    const path = await jobPathOf(jobs, "path");
    for (const d of npmDirs) assert.ok(!path.includes(d), `${d} reached the job: ${path.join(":")}`);
    assert.ok(!path.some((d) => /node_modules|_npx|node-gyp-bin/.test(d)), path.join(":"));
    assert.ok(path.includes("/usr/bin") && path.includes("/bin"), "the system's directories are there");
  });

  it("lets the job spec set its own PATH", async () => {
    assert.deepEqual(await jobPathOf(jobs, "own-path", "  env: {PATH: /opt/tools/bin:/usr/bin:/bin}\n"), ["/opt/tools/bin", "/usr/bin", "/bin"]);
  });

  it("leaves out node's own directory when npx installed that node into its cache", async () => {
    // A node run from npm's cache (`npx -p node@20 switchyard up`): the job must not get that folder either.
    const bin = join(sb.dir, "npm-cache/_npx/def456/node_modules/node/bin");
    mkdirSync(bin, { recursive: true });
    const node = join(bin, "node");
    try {
      linkSync(process.execPath, node);
    } catch {
      copyFileSync(process.execPath, node);
    }
    const other = new Sandbox();
    try {
      const p = await other.startJobs({ PATH: platformPath, SWITCHYARD_SIMULATE_GPUS: "0" }, undefined, node);
      const path = await jobPathOf(p, "npx-node");
      assert.ok(!path.some((d) => d.startsWith(sb.dir)), path.join(":"));
    } finally {
      await other.cleanup();
    }
  });

  it("puts node's directory after the system's, unless it is npm's or a system one", () => {
    assert.equal(jobPath("/opt/node-20/bin"), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/node-20/bin", "last: nothing in it shadows a system command");
    assert.equal(jobPath("/usr/bin"), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    assert.equal(jobPath("/home/a/.npm/_npx/1f2e/node_modules/node/bin"), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  });
});
