/**
 * The `postgres` driver's location: a `postgres://` (or `postgresql://`) URL as libpq and node-postgres read it, plus
 * Switchyard's own `pool` parameter, which is taken out before either sees it.
 *
 *   postgres://user:password@host:5432/switchyard             TCP
 *   postgres://user@/switchyard?host=/var/run/postgresql      a unix socket in that directory
 *   postgres://user@host/switchyard?sslmode=require&pool=4    parameters libpq knows pass through
 */
import { Code, SwitchyardError } from "@switchyard/core";

export interface PostgresLocation {
  /** The URL for node-postgres: without `pool`. */
  readonly connectionString: string;
  /** The URL for libpq's tools (pg_dump, psql): without `pool` and without the password (given as PGPASSWORD). */
  readonly libpqUrl: string;
  readonly password: string | undefined;
  /** Connections in the pool: 1 unless `?pool=N`. */
  readonly poolSize: number;
  /** The URL with its password replaced by `***`: the form every message shows. */
  readonly redacted: string;
}

export const POSTGRES_URL_FORMS = "postgres://USER:PASSWORD@HOST:PORT/DATABASE, or postgres://USER@/DATABASE?host=/SOCKET/DIR for a unix socket";

interface UrlParts {
  scheme: string;
  user: string | undefined;
  password: string | undefined;
  host: string;
  path: string;
  params: string[];
  fragment: string | undefined;
}

/**
 * Splits a URL of any scheme without decoding it. The user info ends at the last `@` before the query (so a password
 * with a stray `@` or `/` is still taken as the password — and hidden — rather than as the host).
 */
function splitUrl(url: string): UrlParts | undefined {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(url);
  if (m === null) return undefined;
  const [, scheme = "", rest = "", query, fragment] = m;
  const at = rest.lastIndexOf("@");
  const userInfo = at < 0 ? undefined : rest.slice(0, at);
  const hostPath = at < 0 ? rest : rest.slice(at + 1);
  const slash = hostPath.indexOf("/");
  const colon = userInfo?.indexOf(":") ?? -1;
  return {
    scheme,
    user: userInfo === undefined ? undefined : colon < 0 ? userInfo : userInfo.slice(0, colon),
    password: userInfo === undefined || colon < 0 ? undefined : userInfo.slice(colon + 1),
    host: slash < 0 ? hostPath : hostPath.slice(0, slash),
    path: slash < 0 ? "" : hostPath.slice(slash),
    params: (query ?? "").split("&").filter((p) => p !== ""),
    fragment,
  };
}

function joinUrl(u: UrlParts, o: { password: "keep" | "hide" | "drop"; keep: (param: string) => boolean; mask?: boolean }): string {
  const password = u.password === undefined || o.password === "drop" ? "" : `:${o.password === "hide" ? "***" : u.password}`;
  const params = u.params.filter((p) => o.keep(paramName(p))).map((p) => (o.mask === true && paramName(p) === "password" ? "password=***" : p));
  return `${u.scheme}${u.user !== undefined ? `${u.user}${password}@` : ""}${u.host}${u.path}${params.length > 0 ? `?${params.join("&")}` : ""}`;
}

/** Replaces a URL's password (in its user info or a `password` parameter) by `***`. */
export function redactPostgresUrl(url: string): string {
  const u = splitUrl(url);
  // Not a URL: shown as it is, unless an `@` says it may hold credentials.
  if (u === undefined) return url.includes("@") ? "(a location that is not a URL)" : url;
  return joinUrl(u, { password: "hide", keep: () => true, mask: true });
}

/** Reads a `postgres://` location; a malformed one is INVALID_ARGUMENT saying what is wrong and the forms accepted. */
export function parsePostgresLocation(location: string): PostgresLocation {
  const redacted = redactPostgresUrl(location);
  const bad = (what: string): SwitchyardError =>
    new SwitchyardError(Code.InvalidArgument, `PostgreSQL URL ${redacted}: ${what}; write ${POSTGRES_URL_FORMS}`, {
      details: [{ field: "location", message: what, expected: POSTGRES_URL_FORMS, got: redacted }],
    });
  const u = splitUrl(location);
  if (u === undefined || !/^postgres(ql)?:\/\/$/.test(u.scheme)) throw bad(u === undefined ? "is not a URL" : "does not start with postgres:// or postgresql://");
  if (u.fragment !== undefined) throw bad("has a #fragment, which means nothing here");
  if (u.password !== undefined && u.password.includes("/")) throw bad("the password has a '/' in it: percent-encode it (%2F)");
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:[\]@]*)(:\d{1,5})?$/.test(u.host)) throw bad(`host "${u.host}" is not HOST or HOST:PORT`);
  if (/%(?![0-9a-fA-F]{2})/.test(location)) throw bad("has a % that is not a %XX escape");
  if (u.path.length > 1 && u.path.slice(1).includes("/")) throw bad(`the database "${u.path.slice(1)}" has a '/' in it`);
  // Parameters are kept as written (their escapes too); only Switchyard's `pool` comes out, and the password for libpq.
  let poolSize = 1;
  let queryPassword: string | undefined;
  for (const p of u.params) {
    const value = decodeURIComponent(p.slice(p.indexOf("=") + 1 || p.length).replace(/\+/g, " "));
    if (paramName(p) === "pool") {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 100) throw bad(`pool=${value} is not a number of connections from 1 to 100`);
      poolSize = Number(value);
    } else if (paramName(p) === "password") queryPassword = value;
  }
  return {
    connectionString: joinUrl(u, { password: "keep", keep: (n) => n !== "pool" }),
    libpqUrl: joinUrl(u, { password: "drop", keep: (n) => n !== "pool" && n !== "password" }),
    password: u.password !== undefined ? decodeURIComponent(u.password) : queryPassword,
    poolSize,
    redacted,
  };
}

/** The same server and credentials, another database: `url` with its path replaced by `/database`. */
export function postgresUrlWithDatabase(url: string, database: string): string {
  const u = splitUrl(url);
  if (u === undefined) throw new SwitchyardError(Code.InvalidArgument, `PostgreSQL URL ${redactPostgresUrl(url)} is not a URL`);
  return joinUrl({ ...u, path: `/${encodeURIComponent(database)}` }, { password: "keep", keep: () => true });
}

function paramName(param: string): string {
  const eq = param.indexOf("=");
  const raw = eq < 0 ? param : param.slice(0, eq);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
