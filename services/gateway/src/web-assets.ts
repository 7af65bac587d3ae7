import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { extname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { Code, SwitchyardError, type Logger } from "@switchyard/core";
import { closeUnread, hasBody, refuse, type EdgeRequest, type EdgeResponse } from "./edge-guard.js";

// The dashboard's files (apps/web/dist, built by Vite), served by the gateway at / on its one port. Read once at start
// into memory — a few hundred kB — so a request never touches the file system: no path is ever joined from a URL, so
// there is nothing to traverse, and no symlink the build dir might hold is followed (only regular files are read).

/** Routes of the single-page app: each answers index.html, and the app's router shows the page. */
const APP_ROUTES = /^\/(?:|login|jobs|jobs\/[^/]+\/[^/]+|queues|mesh|serving|experiments)$/;

/**
 * What a browser may do with the dashboard's pages: scripts, styles, images, fonts and calls from this origin only
 * (no inline script or style sheet, no eval, no CDN), never framed (clickjacking), no plugins, no base-URI games.
 * element.style from the app's code (uPlot, React style props) is CSSOM, which 'self' does not restrict.
 */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), usb=(), payment=()",
};

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

/** Bounds on what is loaded: a build dir holding something unexpected (a huge file, a deep tree) is refused. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;
const MAX_DEPTH = 6;

interface Asset {
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
}

export interface WebAssets {
  /** Files served, by URL path. */
  readonly paths: readonly string[];
  /** Answers a GET or HEAD of a dashboard file or app route; false when the request is not one (REST's to answer). */
  handle(req: EdgeRequest, res: EdgeResponse, path: string): boolean;
}

/**
 * Loads the built dashboard from `dir`. Undefined when it is not there (the web app was not built): then GET / says
 * so (notBuilt) instead of a bare 404.
 */
export function loadWebAssets(dir: string, logger: Logger): WebAssets | undefined {
  const assets = new Map<string, Asset>();
  let total = 0;
  const walk = (d: string, url: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Error(`${d}: deeper than ${MAX_DEPTH} levels`);
    for (const name of readdirSync(d).sort()) {
      const file = join(d, name);
      const st = lstatSync(file);
      if (st.isDirectory()) walk(file, `${url}${name}/`, depth + 1);
      else if (st.isFile()) {
        if (st.size > MAX_FILE_BYTES || (total += st.size) > MAX_TOTAL_BYTES) throw new Error(`${file}: the dashboard's files exceed ${MAX_FILE_BYTES} bytes a file or ${MAX_TOTAL_BYTES} in all`);
        const body = readFileSync(file);
        const type = TYPES[extname(name)] ?? "application/octet-stream";
        const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 512;
        const gz = compressible ? gzipSync(body, { level: 9 }) : undefined;
        // Vite names every file under assets/ by its content's hash: cached for good. index.html is checked each time.
        const hashed = url.startsWith("/assets/");
        assets.set(`${url}${name}`, {
          body,
          gzip: gz && gz.length < body.length ? gz : undefined,
          type,
          etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
          cacheControl: hashed ? "public, max-age=31536000, immutable" : "no-cache",
        });
      }
      // Anything else (a symlink, a socket) is not the build's and is not served.
    }
  };
  try {
    // The configured directory may itself be a link (a deployment's `current`); inside it, links are not followed.
    const root = realpathSync(dir);
    if (!lstatSync(root).isDirectory()) return undefined;
    walk(root, "/", 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const index = assets.get("/index.html");
  if (index === undefined) {
    logger.warn({ dir }, "the dashboard is not built (no index.html): GET / says so; run `npm run build`");
    return undefined;
  }
  return {
    paths: [...assets.keys()],
    handle(req, res, path) {
      if (req.method !== "GET" && req.method !== "HEAD") return false;
      const asset = APP_ROUTES.test(path) ? index : assets.get(path);
      if (asset === undefined) return false;
      if (hasBody(req)) closeUnread(req, res);
      send(req, res, asset);
      return true;
    },
  };
}

/** Whether Accept-Encoding takes gzip (or *) with a non-zero weight. */
function acceptsGzip(header: string): boolean {
  for (const part of header.split(",")) {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding !== "gzip" && coding !== "*") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function send(req: EdgeRequest, res: EdgeResponse, a: Asset): void {
  const headers: Record<string, string | number> = { ...SECURITY_HEADERS, "content-type": a.type, "cache-control": a.cacheControl, etag: a.etag, vary: "accept-encoding" };
  if (req.headers["if-none-match"] === a.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = a.gzip !== undefined && acceptsGzip(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? a.gzip! : a.body;
  if (gzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = body.length;
  res.writeHead(200, headers);
  if (req.method === "HEAD") res.end();
  else res.end(body);
}

/**
 * GET / when the dashboard should be served but is not built: say how to build it, as the REST error every other
 * unknown path gets (JSON {code, message, details}). A gateway given no dashboard leaves / to REST's 404.
 */
export function notBuilt(req: EdgeRequest, res: EdgeResponse, path: string, dir: string | undefined): boolean {
  if (dir === undefined || req.method !== "GET" || path !== "/") return false;
  refuse(req, res, "rest", new SwitchyardError(Code.NotFound, `the dashboard is not built (no ${dir}/index.html): run \`npm run build\``));
  return true;
}
