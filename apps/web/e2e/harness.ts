// The dashboard's browser tests' world: a real `switchyard up` (port 0, its own data directory) and Debian's headless
// Chromium driven by playwright-core (never a downloaded browser), plus what the tests do again and again: sign in,
// move between pages, run axe, save screenshots, call the REST API.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ROOT, cliEnv, spawnUp, type UpProcess } from "../../cli/src/test-platform.js";

export { ROOT };

/** Generous: the CI machine has two cores shared with everything else. Waits, never timed assertions. */
export const WAIT_MS = 60_000;

export interface Harness {
  url: string;
  adminToken: string;
  browser: Browser;
  artifactsDir: string;
  /** Page errors and CSP violations seen in any page of any context made by newPage. */
  readonly problems: string[];
  newPage(colorScheme?: "light" | "dark"): Promise<{ context: BrowserContext; page: Page }>;
  stop(): Promise<void>;
}

/** Chromium from Debian's package (.ci/run installs it), or SWITCHYARD_TEST_CHROMIUM. */
export function chromiumPath(): string {
  const path = process.env.SWITCHYARD_TEST_CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(path)) throw new Error(`no Chromium at ${path}: install Debian's chromium package (apt-get install chromium), or set SWITCHYARD_TEST_CHROMIUM to a Chromium binary`);
  return path;
}

export async function startHarness(): Promise<Harness> {
  const executablePath = chromiumPath();
  if (!existsSync(join(ROOT, "apps/web/dist/index.html"))) throw new Error("apps/web/dist is missing: run `npm run build` first");
  const dir = mkdtempSync(join(tmpdir(), "switchyard-web-e2e-"));
  const dataDir = join(dir, "data");
  let up: UpProcess | undefined;
  let browser: Browser | undefined;
  try {
    up = await spawnUp(cliEnv(join(dir, "config.yaml"), { SWITCHYARD_LOG_LEVEL: "warn" }), ["--data-dir", dataDir, "--port", "0"]);
    browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  } catch (err) {
    await up?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const artifactsDir = join(process.env.SWITCHYARD_TEST_ARTIFACTS ?? join(ROOT, "test-artifacts"), "dashboard");
  mkdirSync(artifactsDir, { recursive: true });
  const problems: string[] = [];
  const contexts: BrowserContext[] = [];
  const b = browser;
  const u = up;
  return {
    url: up.url,
    adminToken: readFileSync(join(dataDir, "admin-token"), "utf8").trim(),
    browser: b,
    artifactsDir,
    problems,
    async newPage(colorScheme = "light") {
      const context = await b.newContext({ colorScheme, viewport: { width: 1366, height: 900 }, acceptDownloads: true });
      contexts.push(context);
      const page = await context.newPage();
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
      });
      return { context, page };
    },
    async stop() {
      for (const c of contexts) await c.close().catch(() => {});
      await b.close();
      await u.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens `path` signed out, types the token into the login page, and waits for the page asked for. */
export async function signIn(page: Page, url: string, token: string, path = "/jobs"): Promise<void> {
  await page.goto(`${url}${path}`);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor({ timeout: WAIT_MS });
}

/**
 * Moves within the app as a link would (the token lives in the page's memory: a page load would sign out), and waits
 * for the new page's heading.
 */
export async function go(page: Page, path: string, heading: string | RegExp): Promise<void> {
  await page.evaluate((p) => history.pushState(null, "", p), path);
  await page.getByRole("heading", { level: 1, name: heading }).waitFor({ timeout: WAIT_MS });
}

/** Gives a page up to `ms` to finish its first loads ("Loading…" placeholders gone); proceeds either way. */
export async function settle(page: Page, ms = 15_000): Promise<void> {
  await page
    .waitForFunction(() => ![...document.querySelectorAll("main *")].some((e) => e.childElementCount === 0 && /^Loading\b/.test(e.textContent ?? "")), undefined, { timeout: ms })
    .catch(() => {});
}

/**
 * Switches the emulated system colour scheme and lets the page catch up: media-query listeners (the charts redraw in
 * the new palette) run in the next rendering step, and React commits their updates after it.
 */
export async function colorScheme(page: Page, scheme: "light" | "dark"): Promise<void> {
  await page.emulateMedia({ colorScheme: scheme });
  await page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 50)))));
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(join(require.resolve("axe-core"), "../axe.min.js"), "utf8");

/** axe-core's serious and critical violations on the page as it is now, one line each ([] when there are none). */
export async function axeProblems(page: Page, label: string): Promise<string[]> {
  // Evaluated, not added as a <script>: the gateway's CSP (script-src 'self') rightly refuses an inline script tag.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${label}: ${v.impact} ${v.id} (${v.help}) at ${v.targets.join(", ")}`);
}

export async function screenshot(h: Harness, page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(h.artifactsDir, `${name}.png`), fullPage: true });
}

/** A REST call with a token; the parsed JSON answer, or an Error with the status and body. */
export async function rest<T = unknown>(url: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** A token for `user`, a new member of `team` (created on the way). */
export async function memberToken(url: string, adminToken: string, user: string, team: string): Promise<string> {
  return (await rest<{ token: string }>(url, adminToken, "POST", "/v1/tokens", { user, teams: [team], role: "member" })).token;
}
