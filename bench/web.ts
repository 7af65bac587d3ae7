// `npm run bench -- web`: what the dashboard costs a browser. The JavaScript shipped (gzip, as the gateway serves it)
// and the time from a cold navigation in Debian's headless Chromium to the jobs list rendered — sign-in included, since
// the list needs a token — against a running platform holding JOBS jobs. Baseline in the same run: the same browser
// loading the gateway's /healthz (one tiny response from the same server: the browser's and the network's floor).
// Last line: {"jsGzipKb", "firstRenderMs", …}. Goals (issue 17): jsGzipKb ≤ 250, firstRenderMs ≤ 500.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium, type Browser } from "playwright-core";
import { ROOT } from "../apps/cli/src/test-platform.js";
import { percentile, round, startPlatform } from "./lib-platform.js";

const JOBS = Number(process.env.BENCH_WEB_JOBS ?? 200);
const LOADS = Number(process.env.BENCH_WEB_LOADS ?? 9);
const DIST = join(ROOT, "apps/web/dist");

/** gzip -9 sizes of the JavaScript: every file the build ships, and those the first page (index.html) loads. */
function bundleSizes(): { allKb: number; firstKb: number; files: number } {
  const assets = join(DIST, "assets");
  const js = readdirSync(assets).filter((f) => f.endsWith(".js"));
  const gz = (f: string) => gzipSync(readFileSync(join(assets, f)), { level: 9 }).length;
  const index = readFileSync(join(DIST, "index.html"), "utf8");
  const first = js.filter((f) => index.includes(`/assets/${f}`));
  const sum = (fs: string[]) => fs.reduce((n, f) => n + gz(f), 0) / 1024;
  return { allKb: round(sum(js), 1), firstKb: round(sum(first), 1), files: js.length };
}

function manifest(i: number): string {
  return `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: web-bench-${i}, team: default}\nspec:\n  suspend: true\n  resources: {cpu: 10m, memory: 16Mi}\n  command: [/bin/true]\n`;
}

/** One cold load (a fresh browser context: no cache, no session) from navigation to the jobs list with its rows. */
async function loadOnce(browser: Browser, url: string, token: string): Promise<{ totalMs: number; appMs: number }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const t0 = performance.now();
  await page.goto(url + "/");
  await page.locator("#token").waitFor();
  const appMs = performance.now() - t0;
  await page.fill("#token", token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForFunction((n) => document.querySelectorAll("main table tbody tr").length >= n, JOBS, { timeout: 30_000 });
  const totalMs = performance.now() - t0;
  await context.close();
  return { totalMs, appMs };
}

async function baselineOnce(browser: Browser, url: string): Promise<number> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const t0 = performance.now();
  await page.goto(url + "/healthz");
  await page.waitForFunction(() => document.body?.textContent?.includes("SERVING"));
  const ms = performance.now() - t0;
  await context.close();
  return ms;
}

async function main(): Promise<void> {
  const sizes = bundleSizes();
  const p = await startPlatform();
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    const headers = { authorization: `Bearer ${p.token}`, "content-type": "application/json" };
    for (let i = 0; i < JOBS; i++) {
      const r = await fetch(`${p.url}/v1/jobs`, { method: "POST", headers, body: JSON.stringify({ manifest: manifest(i), requestId: `web-bench-${i}` }) });
      if (!r.ok) throw new Error(`submit ${i}: ${r.status} ${await r.text()}`);
    }
    // One load to warm the server (its first TLS-free connection, the jobs service's first list), not counted.
    await loadOnce(browser, p.url, p.token);
    const loads: { totalMs: number; appMs: number }[] = [];
    const base: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      base.push(await baselineOnce(browser, p.url));
      loads.push(await loadOnce(browser, p.url, p.token));
    }
    const total = loads.map((l) => l.totalMs).sort((a, b) => a - b);
    const app = loads.map((l) => l.appMs).sort((a, b) => a - b);
    base.sort((a, b) => a - b);
    const result = {
      jsGzipKb: sizes.allKb,
      firstLoadJsGzipKb: sizes.firstKb,
      jsFiles: sizes.files,
      firstRenderMs: round(percentile(total, 50), 0),
      firstRenderP90Ms: round(percentile(total, 90), 0),
      loginPageMs: round(percentile(app, 50), 0),
      baselineHealthzMs: round(percentile(base, 50), 0),
      jobs: JOBS,
      loads: LOADS,
    };
    console.log(`web benchmark: headless Chromium (${browser.version()}), ${LOADS} cold loads (new context each), ${JOBS} jobs listed`);
    console.log(`  JavaScript shipped, gzip -9        ${sizes.allKb} kB in ${sizes.files} files (goal ≤ 250); the first page loads ${sizes.firstKb} kB`);
    console.log(`  navigation → jobs list rendered    p50 ${result.firstRenderMs} ms  p90 ${result.firstRenderP90Ms} ms (goal ≤ 500; sign-in included)`);
    console.log(`  navigation → login page            p50 ${result.loginPageMs} ms`);
    console.log(`  baseline: navigation → /healthz     p50 ${result.baselineHealthzMs} ms (same browser, same server, no app)`);
    console.log(JSON.stringify(result));
  } finally {
    await browser.close();
    await p.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
