import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { cliEnv, ROOT, runCli, spawnUp, type UpProcess } from "./test-platform.js";

// The Python client (clients/python) on the system's /usr/bin/python3, against real platforms: `switchyard up` as a
// real process tree, a member logged in with the real CLI (so the client reads the config file `login` writes), and
// a second platform with `up --tls` whose config names its certificate. The client's own unittest suite runs there,
// unit tests and platform tests together; this test checks that every platform test ran and passed.

const PYTHON = "/usr/bin/python3";
const CLIENT_DIR = join(ROOT, "clients/python");

/** The platform tests that must have run and passed (a skip is a failure here). */
const PLATFORM_TESTS = [
  "test_a_job_reports_metrics_with_log_metric_and_is_followed_waited_for_and_read_back",
  "test_cancels_a_job_from_a_manifest_file_after_a_wait_that_times_out",
  "test_says_who_the_token_speaks_for",
  "test_raises_the_platform_s_error_with_status_code_message_and_details",
  "test_passes_on_what_the_platform_warns_about",
  "test_calls_only_routes_the_gateway_s_openapi_document_lists",
  "test_trusts_the_ca_file_from_the_config_or_the_environment_and_nothing_else",
  "test_reads_every_file_the_cli_s_yaml_package_writes_as_it_reads_it",
];

/** Values that make the `yaml` package quote, escape or fold what it writes. */
const YAML_CASES: Record<string, string>[] = [
  { server: "http://127.0.0.1:8080", token: "sy_eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXRoYXQtaXMtbG9uZ2VyLXRoYW4tZWlnaHR5LWNoYXJhY3RlcnM" },
  { server: "https://[::1]:8443", ca: "/tmp/a path with spaces/and # hash/cert.pem" },
  { ca: "/very long path with many spaces in it that goes on and on and on past eighty characters for sure/ca.pem" },
  { ca: "/very long path with many spaces in it that goes on and on and on past eighty characters, it's: quoted/ca.pem" },
  { ca: '/very long path with many spaces in it that goes on and on and on past eighty characters, "it" is: quoted/ca.pem' },
  { team: "true" },
  { team: "123" },
  { team: "null" },
  { team: "it's" },
  { team: 'say "hi"' },
  { team: "ümlaut ✓" },
  { team: "*star" },
  { team: "a: b" },
  { team: "" },
  { team: " lead" },
  { team: "tab\there" },
  { team: "x\u0001y\u007f" },
  { team: "- dash" },
  { team: "#x" },
  { team: "a #b" },
  { team: "~" },
];

function run(cmd: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...o, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}

describe("the Python client against a running platform", { skip: !existsSync(PYTHON) && `${PYTHON} is not installed` }, () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-python-"));
  const adminEnv = cliEnv(join(dir, "admin.yaml"));
  const pyConfig = join(dir, "py.yaml");
  const tlsEnv = cliEnv(join(dir, "tls.yaml"));
  // The job's python imports the client from here: a folder its account can read, outside the folders the platform
  // hides from jobs (the CLI config's folder, `dir`, among them).
  const jobPath = mkdtempSync(join(tmpdir(), "switchyard-python-path-"));
  let platform: UpProcess;
  let tls: UpProcess;

  before(async () => {
    [platform, tls] = await Promise.all([
      spawnUp({ ...adminEnv, SWITCHYARD_LOG_LEVEL: "warn" }, ["--data-dir", join(dir, "data"), "--port", "0", "--grace-ms", "1000"]),
      spawnUp({ ...tlsEnv, SWITCHYARD_LOG_LEVEL: "warn" }, ["--data-dir", join(dir, "tls-data"), "--jobs-dir", join(dir, "tls-jobs"), "--port", "0", "--tls"]),
    ]);
    chmodSync(jobPath, 0o755);
    cpSync(join(CLIENT_DIR, "switchyard"), join(jobPath, "switchyard"), { recursive: true, filter: (src) => !src.includes("__pycache__") });
  });
  after(async () => {
    await Promise.all([platform?.stop(), tls?.stop()]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(jobPath, { recursive: true, force: true });
  });

  it("passes the client's tests on /usr/bin/python3: submit, follow, wait, metrics from log_metric, list, get, cancel, errors, TLS", async () => {
    const created = runCli(adminEnv, ["token", "create", "--user", "py", "--team", "default", "--role", "member", "--ttl", "1h"]);
    assert.equal(created.code, 0, created.stderr);
    const login = runCli(cliEnv(pyConfig), ["login", "--server", platform.url], created.stdout.trim() + "\n");
    assert.equal(login.code, 0, login.stderr);

    const cases = join(dir, "yaml-cases.json");
    writeFileSync(cases, JSON.stringify(YAML_CASES.map((c) => ({ yaml: stringify(c), expected: c }))));

    const { SWITCHYARD_TLS_CA: _ca, PYTHONPATH: _pp, PYTHONHOME: _ph, ...inherited } = cliEnv(pyConfig);
    const env = {
      ...inherited,
      PYTHONPATH: CLIENT_DIR,
      PYTHONDONTWRITEBYTECODE: "1",
      SWITCHYARD_TEST_PLATFORM: "1",
      SWITCHYARD_TEST_JOB_PYTHONPATH: jobPath,
      SWITCHYARD_TEST_TLS_CONFIG: join(dir, "tls.yaml"),
      SWITCHYARD_TEST_YAML_CASES: cases,
    };
    const r = await run(PYTHON, ["-m", "unittest", "discover", "-s", "tests", "-t", ".", "-v"], { cwd: CLIENT_DIR, env });
    assert.equal(r.code, 0, r.output);
    assert.doesNotMatch(r.output, /\bskipped\b/, r.output);
    for (const name of PLATFORM_TESTS) assert.match(r.output, new RegExp(`^${name} \\(.*\\) \\.\\.\\. ok$`, "m"), `${name} did not pass:\n${r.output}`);
  });
});
