// The dashboard in real headless Chromium against a real platform: sign in, a validation error at its line, submit the
// demo job and watch it go Running without a reload, its logs stream and its loss chart grow, download its log and an
// artifact, cancel and delete a job, the same not-found page for another team's job as for none, and axe-core on
// every page in light and dark. Screenshots go to $SWITCHYARD_TEST_ARTIFACTS/dashboard (default test-artifacts/).
// Run after `npm run build`: node scripts/test.mjs dashboard
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { ROOT, WAIT_MS, axeProblems, colorScheme, go, memberToken, rest, screenshot, settle, signIn, startHarness, type Harness } from "./harness.js";

const DEMO_DIR = join(ROOT, "examples/demo-train");
/** The demo job, slowed so that its run can be watched: 40 epochs with a pause after each. */
const DEMO = readFileSync(join(DEMO_DIR, "job.yaml"), "utf8").replace(/args: \[.*\]/, 'args: [--epochs, "40", --sleep-ms, "400"]');
/** A job that runs until cancelled. */
const LONG = `apiVersion: switchyard/v1
kind: Job
metadata: {name: long-train, team: default}
spec:
  resources: {cpu: 500m, memory: 256Mi}
  command: [node, train.mjs, --epochs, "100000", --sleep-ms, "1000"]
  workingDir: ${DEMO_DIR}
`;
/** Asks for what this machine does not have. */
const WAITS = `apiVersion: switchyard/v1
kind: Job
metadata: {name: waits, team: default}
spec:
  resources: {gpus: 8}
  command: [node, -e, "1"]
  workingDir: /tmp
`;
/** Line 6 holds the mistake. */
const BROKEN = `apiVersion: switchyard/v1
kind: Job
metadata:
  name: broken
spec:
  replicas: two
  command: [node, -e, "1"]
`;

const row = (page: Page, name: string) => page.locator(`tr[data-job="${name}"]`);
const attr = async (page: Page, selector: string, name: string) => Number((await page.locator(selector).first().getAttribute(name)) ?? "0");

describe("the dashboard", () => {
  let h: Harness;
  let page: Page;

  before(async () => {
    h = await startHarness();
    ({ page } = await h.newPage());
    // Cancel and Delete ask first; the tests answer yes.
    page.on("dialog", (d) => void d.accept());
  });
  after(async () => {
    await h?.stop();
  });

  it("signs in with a token typed into the login page", async () => {
    await page.goto(`${h.url}/jobs`);
    await page.getByRole("heading", { level: 1, name: "Sign in to Switchyard" }).waitFor({ timeout: WAIT_MS });
    await screenshot(h, page, "login");
    await signIn(page, h.url, h.adminToken);
    await page.getByRole("heading", { level: 1, name: "Jobs" }).waitFor({ timeout: WAIT_MS });
    await page.getByText("No jobs yet").waitFor({ timeout: WAIT_MS });
  });

  it("shows a manifest's validation error at its line", async () => {
    await page.getByLabel("Manifest (YAML or JSON)").fill(BROKEN);
    await page.getByRole("button", { name: "Validate" }).click();
    await page.locator('.editor-gutter [data-line="6"][data-error="true"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('.editor-gutter [data-error="true"]').count(), 1, "only line 6 is marked");
    const problem = page.locator('.problems li[data-line="6"]');
    assert.match(await problem.innerText(), /Line 6, column \d+[\s\S]*spec\.replicas[\s\S]*two/);
    await page.locator("#submit").screenshot({ path: join(h.artifactsDir, "jobs-validation-error.png") });
  });

  it("submits the demo job and shows it turn Running, live, without a reload", async () => {
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await page.getByLabel("Manifest (YAML or JSON)").fill(DEMO);
    await page.getByLabel("Base directory").fill(DEMO_DIR);
    await page.getByRole("button", { name: "Submit", exact: true }).click();
    await page.getByRole("status").filter({ hasText: "Submitted: demo-train" }).waitFor({ timeout: WAIT_MS });
    await row(page, "demo-train").waitFor({ timeout: WAIT_MS });
    await page.locator('tr[data-job="demo-train"][data-phase="Running"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, "the page was not reloaded");
    await screenshot(h, page, "jobs");
  });

  it("streams the running job's log lines and grows its loss chart", async () => {
    await row(page, "demo-train").getByRole("link", { name: "demo-train" }).click();
    await page.getByRole("heading", { level: 1, name: "demo-train" }).waitFor({ timeout: WAIT_MS });
    await page.waitForFunction(() => /loss=/.test(document.querySelector("pre.logs")?.textContent ?? ""), undefined, { timeout: WAIT_MS });
    const lines = await attr(page, "pre.logs", "data-lines");
    await page.waitForFunction((n) => Number(document.querySelector("pre.logs")?.getAttribute("data-lines")) > n, lines, { timeout: WAIT_MS });

    const loss = 'figure.chart[data-title="Loss"]';
    await page.locator(loss).waitFor({ timeout: WAIT_MS });
    const points = await attr(page, loss, "data-points");
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel)?.getAttribute("data-points")) > Number(n), [loss, String(points)] as const, { timeout: WAIT_MS });
    assert.match((await page.locator(`${loss} [role="img"]`).getAttribute("aria-label")) ?? "", /^Loss: loss [\d.]+ at step \d+; val_loss/);
    await screenshot(h, page, "job-running");
  });

  it("finishes the demo job, then searches and downloads its log and downloads an artifact", async () => {
    await page.locator('[data-phase="Succeeded"]').waitFor({ timeout: 3 * WAIT_MS });
    await page.getByRole("button", { name: "Download metrics.json" }).waitFor({ timeout: WAIT_MS });
    const [log] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download", exact: true }).click()]);
    assert.equal(log.suggestedFilename(), "demo-train-replica-0-attempt-1.log");
    assert.match(readFileSync((await log.path())!, "utf8"), /epoch=40 loss=/);
    await page.getByLabel("Search the logs").fill("EPOCH=40");
    await page.locator("pre.logs mark").first().waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await page.locator("pre.logs mark").allInnerTexts(), ["epoch=40"], "the one matching line, its match highlighted");
    await page.getByLabel("Search the logs").fill("");
    const [artifact] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download metrics.json" }).click()]);
    assert.ok(JSON.parse(readFileSync((await artifact.path())!, "utf8")), "metrics.json is JSON");
    await screenshot(h, page, "job");
  });

  it("says in plain words why a job waits, and cancels a queued job and a running one", async () => {
    // Eight GPUs on a machine without any: accepted only with allowUnschedulable, then it waits, saying why.
    await rest(h.url, h.adminToken, "POST", "/v1/jobs", { requestId: randomUUID(), allowUnschedulable: true, manifest: WAITS });
    await rest(h.url, h.adminToken, "POST", "/v1/jobs", { requestId: randomUUID(), manifest: LONG });
    await go(page, "/jobs", "Jobs");
    await row(page, "waits").getByText(/^Waiting for resources: .*never fit.*\(position 1 in the queue\)/).waitFor({ timeout: WAIT_MS });
    await row(page, "waits").getByRole("button", { name: "Cancel waits" }).click();
    await page.locator('tr[data-job="waits"][data-phase="Cancelled"]').waitFor({ timeout: WAIT_MS });

    await page.locator('tr[data-job="long-train"][data-phase="Running"]').waitFor({ timeout: WAIT_MS });
    assert.ok(await row(page, "long-train").getByRole("button", { name: "Delete long-train" }).isDisabled(), "a running job cannot be deleted");
    await row(page, "long-train").getByRole("button", { name: "Cancel long-train" }).click();
    await page.locator('tr[data-job="long-train"][data-phase="Cancelled"]').waitFor({ timeout: WAIT_MS });
    await page.locator('p[aria-live="polite"]').getByText("long-train is Cancelled").waitFor({ timeout: WAIT_MS });
    assert.ok(await row(page, "long-train").getByRole("button", { name: "Cancel long-train" }).isDisabled(), "a finished job cannot be cancelled");
    await row(page, "long-train").getByRole("button", { name: "Delete long-train" }).click();
    await row(page, "long-train").waitFor({ state: "detached", timeout: WAIT_MS });
  });

  it("shows another team's job exactly as it shows a job that does not exist", async () => {
    const bob = await memberToken(h.url, h.adminToken, "bob", "beta");
    await rest(h.url, bob, "POST", "/v1/jobs", { requestId: randomUUID(), manifest: "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: beta-secret, team: beta}\nspec:\n  resources: {cpu: 100m, memory: 64Mi}\n  command: [node, -e, \"1\"]\n" });
    // It exists (an admin sees it): what alice gets below is the platform hiding it, not a broken page.
    await go(page, "/jobs/beta/beta-secret", "beta-secret");

    const alice = await memberToken(h.url, h.adminToken, "alice", "default");
    const { page: other } = await h.newPage();
    const mainText = async (path: string) => {
      await signIn(other, h.url, alice, path);
      await other.getByRole("heading", { level: 1 }).waitFor({ timeout: WAIT_MS });
      return other.locator("main").innerText();
    };
    const hidden = await mainText("/jobs/beta/beta-secret");
    await screenshot(h, other, "job-not-found");
    const missing = await mainText("/jobs/beta/does-not-exist");
    // The same through alice's own team: there the platform answers NOT_FOUND, not PERMISSION_DENIED.
    const hiddenInOwnTeam = await mainText("/jobs/default/beta-secret");
    const missingInOwnTeam = await mainText("/jobs/default/does-not-exist");
    assert.equal(hidden, missing);
    assert.equal(hiddenInOwnTeam, missing);
    assert.equal(missingInOwnTeam, missing);
    assert.match(hidden, /^Not found/);
    assert.doesNotMatch(hidden, /beta-secret/);
  });

  it("filters the list on the server by team, user and state", async () => {
    const shown = (names: string[]) =>
      page.waitForFunction((want) => [...document.querySelectorAll<HTMLElement>("tr[data-job]")].map((r) => r.dataset.job).sort().join() === want, [...names].sort().join(), { timeout: WAIT_MS });
    await go(page, "/jobs", "Jobs");
    await shown(["beta-secret", "demo-train", "waits"]);
    await page.getByLabel("Team", { exact: true }).selectOption("beta");
    await shown(["beta-secret"]);
    await page.getByLabel("Team", { exact: true }).selectOption("");
    await page.getByLabel("User", { exact: true }).fill("admin");
    await shown(["demo-train", "waits"]);
    await page.getByLabel("State", { exact: true }).selectOption("Cancelled");
    await shown(["waits"]);
    assert.match(page.url(), /state=Cancelled/);
    assert.match(page.url(), /user=admin/);
    await page.getByLabel("User", { exact: true }).fill("");
    await page.getByLabel("State", { exact: true }).selectOption("");
    await shown(["beta-secret", "demo-train", "waits"]);
  });

  it("has no serious accessibility violations on any page, light or dark, and no CSP or script errors", async () => {
    const pages: [string, string, string | RegExp][] = [
      ["jobs", "/jobs", "Jobs"],
      ["job", "/jobs/default/demo-train", "demo-train"],
      ["queues", "/queues", /^Queues/],
      ["mesh", "/mesh", "Mesh"],
      ["serving", "/serving", "Serving"],
      ["experiments", "/experiments", "Experiments"],
      ["not-found", "/jobs/default/nothing-here", "Not found"],
    ];
    const problems: string[] = [];
    const { page: out } = await h.newPage();
    await out.goto(`${h.url}/`);
    for (const scheme of ["light", "dark"] as const) {
      await colorScheme(out, scheme);
      problems.push(...(await axeProblems(out, `login (${scheme})`)));
    }
    for (const [name, path, heading] of pages) {
      await go(page, path, heading);
      await settle(page);
      for (const scheme of ["light", "dark"] as const) {
        await colorScheme(page, scheme);
        problems.push(...(await axeProblems(page, `${name} (${scheme})`)));
        await screenshot(h, page, `${name}-${scheme}`);
      }
    }
    await colorScheme(page, "light");
    assert.deepEqual([...problems, ...h.problems], []);
  });
});
