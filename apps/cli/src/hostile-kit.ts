// Test support for hostile.test.ts: callers that send exactly the bytes they are given (raw HTTP/1.1 over a socket,
// HTTP/2 streams) from attackers' own loopback addresses, what a client of each protocol makes of the answer, a
// well-behaved caller that runs alongside, and the hostile values themselves (fast-check arbitraries). Not part of
// the CLI.
import { chmodSync, mkdtempSync, readFileSync } from "node:fs";
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import fc from "fast-check";

/** All of 127/8 is loopback: attackers come from here, so per-address limits never touch the well-behaved caller. */
export const ATTACKER = "127.0.0.2";
let next = 0;
/**
 * An address for a caller whose authentication fails: one of 127.0.0.3–127.0.0.66 in turn. The gateway closes new
 * connections from an address past its failed-authentication budget (its own defence, tested in services/gateway's
 * edge-connections.test.ts); spread over many addresses, every refused caller still gets its answer to judge, and
 * the token-holding attackers on ATTACKER keep theirs.
 */
export function anonymousAddress(): string {
  return `127.0.0.${3 + (next++ % 64)}`;
}
/** An answer that takes longer than this is a hang (the edge's own request timeout is 60 s). */
const HANG_MS = 90_000;

/** What came back. `status` 0: the server closed without an answer; -1: nothing within HANG_MS. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** HTTP/2: the RST_STREAM code of a stream the server reset without an answer. */
  rstCode?: number;
}

export interface RawRequest {
  method: string;
  /** Sent as it is: raw bytes (invalid UTF-8, NUL) included. */
  path: string | Buffer;
  headers?: [string, string | Buffer][];
  body?: string | Buffer;
  /** Send only this many bytes of the body (content-length promises all of it), then half-close. */
  truncateAt?: number;
  /** Send the body in pieces of `bytes`, `pauseMs` apart (a slow client). */
  trickle?: { bytes: number; pauseMs: number };
  /** The client address (default ATTACKER). */
  from?: string;
  /** Stop reading a 2xx answer at its head, or at its first whole enveloped message (streams that may go on). */
  stopAt?: "head" | "message";
}

const latin1 = (s: string | Buffer) => (typeof s === "string" ? Buffer.from(s, "latin1") : s);

/** One HTTP/1.1 request on its own connection from ATTACKER, bytes exactly as given (`connection: close`). */
export function h1(url: string, r: RawRequest): Promise<Answer> {
  const u = new URL(url);
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  const head = [latin1(`${r.method} `), latin1(r.path), latin1(` HTTP/1.1\r\nhost: ${u.host}\r\nconnection: close\r\n`)];
  for (const [k, v] of r.headers ?? []) head.push(latin1(`${k}: `), latin1(v), latin1("\r\n"));
  if (body) head.push(latin1(`content-length: ${body.length}\r\n`));
  head.push(latin1("\r\n"));
  return new Promise((resolve) => {
    const socket = netConnect({ host: u.hostname, port: Number(u.port), localAddress: r.from ?? ATTACKER });
    let got = Buffer.alloc(0);
    let done = false;
    const finish = (a: Answer) => {
      if (done) return;
      done = true;
      clearTimeout(hang);
      socket.destroy();
      resolve(a);
    };
    const hang = setTimeout(() => finish({ status: -1, headers: {}, body: got }), HANG_MS);
    socket.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const a = parseH1(got);
      if (a?.complete) return finish(a);
      if (!a || !r.stopAt || a.status < 200 || a.status > 299) return;
      if (r.stopAt === "head" || (a.body.length >= 5 && a.body.length >= 5 + a.body.readUInt32BE(1))) finish(a);
    });
    socket.on("error", () => undefined);
    socket.on("close", () => finish(parseH1(got) ?? { status: 0, headers: {}, body: got }));
    socket.once("connect", async () => {
      socket.write(Buffer.concat(head));
      if (!body) return;
      const sent = r.truncateAt === undefined ? body : body.subarray(0, r.truncateAt);
      const step = r.trickle?.bytes ?? sent.length;
      for (let i = 0; i < sent.length && !socket.destroyed; i += step) {
        socket.write(sent.subarray(i, i + step));
        if (r.trickle) await sleep(r.trickle.pauseMs);
      }
      if (r.truncateAt !== undefined) socket.end();
    });
  });
}

/** The answer in `b` so far, `complete` once all of its body is there. */
function parseH1(b: Buffer): (Answer & { complete: boolean }) | undefined {
  const end = b.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine, ...lines] = b.subarray(0, end).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines) headers[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim();
  let body = b.subarray(end + 4);
  let complete = false;
  if (headers["transfer-encoding"] === "chunked") {
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; ) {
      const eol = body.indexOf("\r\n", i);
      if (eol < 0) break;
      const n = parseInt(body.subarray(i, eol).toString(), 16);
      if (n === 0) complete = true;
      if (!(n > 0)) break;
      parts.push(body.subarray(eol + 2, eol + 2 + n));
      i = eol + 2 + n + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers["content-length"] !== undefined) {
    complete = body.length >= Number(headers["content-length"]);
    body = body.subarray(0, Number(headers["content-length"]));
  }
  return { status: Number(statusLine!.split(" ")[1]), headers, body, complete };
}

/** An HTTP/2 session from ATTACKER or `from` (gRPC, Connect over h2c). */
export class H2 {
  private readonly session: ClientHttp2Session;
  constructor(url: string, from = ATTACKER) {
    const u = new URL(url);
    this.session = h2connect(url, { createConnection: () => netConnect({ host: u.hostname, port: Number(u.port), localAddress: from }) });
    this.session.on("error", () => undefined);
  }

  /** One stream; for a server stream, what came until its first message (then it is cancelled). */
  call(path: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
    return new Promise((resolve) => {
      const stream = this.session.request({ ":method": "POST", ":path": path, te: "trailers", ...headers });
      let head: IncomingHttpHeaders = {};
      const data: Buffer[] = [];
      const finish = (trailers: IncomingHttpHeaders = {}) => {
        clearTimeout(hang);
        if (!stream.closed) stream.close();
        const all: Record<string, string> = {};
        for (const [k, v] of Object.entries({ ...head, ...trailers })) if (v !== undefined) all[k] = String(v);
        resolve({ status: Number(head[":status"] ?? 0), headers: all, body: Buffer.concat(data), rstCode: stream.rstCode ?? 0 });
      };
      const hang = setTimeout(() => ((head = {}), finish()), HANG_MS);
      stream.on("response", (h) => (head = h));
      stream.on("data", (d: Buffer) => {
        data.push(d);
        const b = Buffer.concat(data);
        if (b.length >= 5 && b.length >= 5 + b.readUInt32BE(1)) finish(); // one whole message: the call works
      });
      stream.on("trailers", (t) => finish(t));
      stream.on("close", () => finish());
      stream.on("error", () => undefined);
      stream.end(body);
    });
  }

  close(): void {
    this.session.destroy();
  }
}

/** A gRPC / Connect-streaming envelope. */
export function envelope(message: Buffer | string, flags = 0): Buffer {
  const m = Buffer.from(message);
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(m.length, 1);
  return Buffer.concat([head, m]);
}

export type Wire = "rest" | "connect" | "connect-stream" | "grpc" | "grpc-web";

/** A verdict: the status a client of that protocol reads (Connect's code names), and the error text it reads. */
export interface Outcome {
  code: string;
  message: string;
}

const GRPC_CODES = ["ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated"];

/** gRPC's mapping of an HTTP status that carries no grpc-status (what grpc-js and grpc-go report). */
function grpcCodeOfHttp(status: number): string {
  return ({ 400: "internal", 401: "unauthenticated", 403: "permission_denied", 404: "unimplemented", 429: "unavailable", 502: "unavailable", 503: "unavailable", 504: "unavailable" } as Record<number, string>)[status] ?? "unknown";
}

function frames(b: Buffer): { flags: number; data: Buffer }[] {
  const out = [];
  for (let i = 0; i + 5 <= b.length; i += 5 + b.readUInt32BE(i + 1)) out.push({ flags: b[i]!, data: b.subarray(i + 5, i + 5 + b.readUInt32BE(i + 1)) });
  return out;
}

/** What a client of `wire` makes of an answer. */
export function outcomeOf(wire: Wire, a: Answer): Outcome {
  if (a.status === -1) return { code: "hang", message: "no answer in 90 s" };
  // A stream reset without an answer reads as grpc-js reads it (REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM, others).
  if (a.status === 0 && a.rstCode) return { code: ({ 7: "unavailable", 8: "canceled", 11: "resource_exhausted" } as Record<number, string>)[a.rstCode] ?? "internal", message: `RST_STREAM ${a.rstCode}` };
  if (a.status === 0) return { code: "closed", message: a.body.toString("latin1").slice(0, 200) };
  const text = a.body.toString("utf8");
  if (wire === "rest" || wire === "connect" || (wire === "connect-stream" && a.status !== 200)) {
    if (a.status < 400) return { code: "ok", message: "" };
    try {
      const j = JSON.parse(text) as { code?: string };
      return { code: a.status >= 500 ? `http ${a.status}` : (j.code ?? "refused"), message: `${a.status} ${text}` };
    } catch {
      return { code: a.status >= 500 ? `http ${a.status}` : "refused", message: `${a.status} ${text}` };
    }
  }
  if (wire === "connect-stream") {
    const end = frames(a.body).find((f) => f.flags & 0b10);
    const err = end ? (JSON.parse(end.data.toString()) as { error?: { code: string; message?: string } }).error : undefined;
    return err ? { code: err.code, message: err.message ?? "" } : { code: "ok", message: "" };
  }
  let h = a.headers;
  if (wire === "grpc-web") {
    const t = frames(a.body).find((f) => f.flags & 0x80);
    if (t) h = { ...h, ...Object.fromEntries(t.data.toString("latin1").split("\r\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()])) };
  }
  if (a.status !== 200) return { code: grpcCodeOfHttp(a.status), message: `HTTP ${a.status} ${text.slice(0, 300)}` };
  if (h["grpc-status"] === undefined) return frames(a.body).some((f) => !(f.flags & 0x80)) ? { code: "ok", message: "" } : { code: "closed", message: "no grpc-status" };
  let message = h["grpc-message"] ?? "";
  try {
    message = decodeURIComponent(message);
  } catch {
    /* as sent */
  }
  return { code: GRPC_CODES[Number(h["grpc-status"])] ?? `grpc ${h["grpc-status"]}`, message };
}

/**
 * Refusals a hostile request may get: a client's mistake, never the server's (no 5xx, INTERNAL, UNKNOWN, UNAVAILABLE).
 * "refused": a 4xx with no JSON body (Node's own 400 for bytes HTTP does not allow, Connect's 415). UNIMPLEMENTED (unknown
 * methods) and CANCELED / DEADLINE_EXCEEDED (cut-off bodies) count only where a test says so.
 */
export const REFUSALS = new Set(["refused", "invalid_argument", "unauthenticated", "permission_denied", "not_found", "resource_exhausted", "failed_precondition", "out_of_range", "already_exists", "aborted"]);

/** Text no error may hold: server paths and stack frames. */
export function leaks(message: string, dataDir: string): string | undefined {
  for (const p of [dataDir, "/tmp/", "/root", "/var/lib"]) if (message.includes(p)) return p;
  if (/\n\s+at |\bat .+\.[cm]?[jt]s:\d+/.test(message)) return "a stack trace";
  return undefined;
}

/** Billion laughs: `levels` anchors, each a list of ten aliases of the one before. */
export function billionLaughs(levels = 9): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(",")}]`);
  return lines.join("\n") + "\n";
}

/** A temp tree every user can enter (jobs run as `nobody` must reach their directories); the data dir stays private. */
export function sharedDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** `<data>/up.json`: the services' pids and how often each was restarted. */
export function readUp(dataDir: string): { services: Record<string, number>; restarts: Record<string, number> } {
  return JSON.parse(readFileSync(join(dataDir, "up.json"), "utf8")) as { services: Record<string, number>; restarts: Record<string, number> };
}

/**
 * A well-behaved caller on 127.0.0.1 with the admin's token, for as long as the suite runs: ListJobs, GetJob of a real
 * job and ValidateJob every few milliseconds, a (suspended) SubmitJob every 20th round. Every call must succeed.
 */
export function startSteadyCaller(url: string, token: string, job: string): { stop(): Promise<{ calls: number; failures: string[] }> } {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const manifest = "apiVersion: switchyard/v1\nkind: Job\nmetadata: {generateName: calm-, team: default}\nspec:\n  suspend: true\n  resources: {cpu: 10m, memory: 16Mi}\n  command: [/bin/true]\n";
  const failures: string[] = [];
  let calls = 0;
  let stopped = false;
  const call = async (what: string, path: string, body?: unknown) => {
    calls++;
    try {
      const res = await fetch(url + path, { method: body ? "POST" : "GET", headers, ...(body ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      if (res.status !== 200) failures.push(`${what}: ${res.status} ${text.slice(0, 300)}`);
    } catch (err) {
      failures.push(`${what}: ${String(err)}`);
    }
  };
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      await call("ListJobs", "/v1/jobs?limit=5");
      await call("GetJob", `/v1/jobs/${job}`);
      await call("ValidateJob", "/v1/jobs:validate", { manifest });
      if (i % 20 === 0) await call("SubmitJob", "/v1/jobs", { manifest, requestId: `calm-${i}` });
      await sleep(5);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { calls, failures };
    },
  };
}

// ---- Hostile values: fast-check arbitraries for text, numbers, JSON bodies and typed request messages ----

export const MiB = 1 << 20;
/** Names the suite's own callers use, and shapes that would be valid admin changes: generated text is never these. */
const NOT_GENERATED = /^(admin|mallory|vic|steady)$|^\s*\[|queues|\/tmp|\/root|\/var\/lib/;
const TRAVERSAL = ["..", "../..", "../../../../etc/passwd", "/etc/passwd", "..\\..\\x", "....//....//etc", "a/../../b", ".", "", " ", "\u0000", "a\u0000b", "~", "${PATH}", "*", "%", "_", "'; DROP TABLE jobs; --", "\ud800", "x\udfffy", "\u202e", "\ufeff"];
export const NUMBERS = ["9223372036854775808", "9223372036854775807", "-9223372036854775809", "18446744073709551616", "1e999", "NaN", "Infinity", "-1", "-0", "0x10", "1_000", " 12 ", "999999999", "2147483648", "-2147483649", "1.5"];
/**
 * Text for any field. Identifiers are echoed in errors, so they stay far below the ~110 KB that bug (4) of
 * hostile.test.ts needs; payload fields (PAYLOAD) also take huge values, up to the 4 MiB body limit and past it.
 */
export const text = fc
  .oneof({ weight: 6, arbitrary: fc.string({ maxLength: 24, unit: "binary" }) }, { weight: 3, arbitrary: fc.constantFrom(...TRAVERSAL, ...NUMBERS) }, { weight: 1, arbitrary: fc.constantFrom(500, 1000).map((n) => "é".repeat(n)) })
  .filter((s) => !NOT_GENERATED.test(s));
const PAYLOAD = new Set(["manifest", "yaml", "content", "values"]);
const huge = fc.constantFrom(64 * 1024, MiB, 4 * MiB - 4096, 4 * MiB + 1).map((n) => "x".repeat(n));
const payloadText = fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: huge });
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(2 ** 63, -(2 ** 63), 2 ** 64, 999999999, -1, 1e308));
const scalar = fc.oneof(text, number, fc.boolean(), fc.constant(null), fc.constantFrom(...NUMBERS));
export const RAW_UTF8 = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80]].map((b) => Buffer.from(b));

/** Percent-encodes every byte but the unreserved ones (a lone surrogate as U+FFFD's bytes). */
export const pct = (s: string) => [...Buffer.from(s, "utf8")].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, "0")}`)).join("");
/** A JSON object body from `props` (a message's fields) and junk keys, sometimes with raw invalid UTF-8 inside, or no JSON at all. */
export function jsonBody(props: string[]): fc.Arbitrary<string | Buffer> {
  const pair = fc.oneof(...props.map((p) => fc.tuple(fc.constant(p), fc.oneof(PAYLOAD.has(p) ? payloadText : scalar, fc.array(scalar, { maxLength: 4 }), fc.dictionary(text, scalar, { maxKeys: 3, noNullPrototype: true })))), fc.tuple(fc.oneof(text, fc.constantFrom("__proto__", "@type")), scalar));
  const obj = fc.array(pair, { maxLength: 5 }).map((ps) => `{${ps.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`);
  const garbled = fc.tuple(obj, fc.constantFrom(...RAW_UTF8)).map(([s, bad]) => Buffer.concat([Buffer.from(s.slice(0, s.indexOf('"') + 1)), bad, Buffer.from(s.slice(s.indexOf('"') + 1))]));
  const junk = fc.constantFrom("", "null", "[]", "{", '{"a":1,}', "1e999", '"x"', "\u0000", `{"x":${"[".repeat(50_000)}${"]".repeat(50_000)}}`, `${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`);
  return fc.oneof({ weight: 6, arbitrary: obj }, { weight: 2, arbitrary: garbled }, { weight: 1, arbitrary: junk });
}
function arbScalar(t: ScalarType, payload: boolean): fc.Arbitrary<unknown> {
  const i64 = fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom(-1n, 2n ** 63n - 1n, -(2n ** 63n)));
  switch (t) {
    case ScalarType.STRING: return payload ? payloadText : text;
    case ScalarType.BOOL: return fc.boolean();
    case ScalarType.BYTES: return fc.uint8Array({ maxLength: 64 });
    case ScalarType.DOUBLE: return fc.double();
    case ScalarType.FLOAT: return fc.float();
    case ScalarType.INT32: case ScalarType.SINT32: case ScalarType.SFIXED32: return fc.oneof(fc.integer(), fc.constantFrom(-1, 2 ** 31 - 1, -(2 ** 31), 999999999));
    case ScalarType.UINT32: case ScalarType.FIXED32: return fc.nat({ max: 2 ** 32 - 1 });
    case ScalarType.UINT64: case ScalarType.FIXED64: return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    default: return i64;
  }
}
/** A request message's init with hostile values in every field (well-typed: the wire types hold; the values do not). */
export function arbMessage(m: DescMessage, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const field = (f: DescField): fc.Arbitrary<unknown> => {
    const e = f as unknown as { scalar?: ScalarType; message?: DescMessage; enum?: { values: { number: number }[] } };
    const one = e.message ? (depth < 2 ? arbMessage(e.message, depth + 1) : fc.constant({})) : e.enum ? fc.constantFrom(...e.enum.values.map((v) => v.number)) : arbScalar(e.scalar!, PAYLOAD.has(f.jsonName));
    return f.fieldKind === "list" ? fc.array(one, { maxLength: 4 }) : f.fieldKind === "map" ? fc.dictionary(text, one, { maxKeys: 4, noNullPrototype: true }) : one;
  };
  return fc.record(Object.fromEntries(m.fields.map((f) => [f.localName, field(f)])), { requiredKeys: [] });
}

