import { ScalarType, type DescField, type Message } from "@bufbuild/protobuf";
import type { HttpRoute } from "./http-rule.js";
import { ALT_PARAM, invalid, mediaField, responseJson } from "./rest-transcode.js";
import { TextLineDecoder } from "./text-lines.js";

// The forms a server stream takes over REST, and which one a request gets. Every stream has server-sent events of
// JSON messages (`alt=sse`, the default), a JSON array (`alt=json`) and, when its message has a bytes field to stream,
// the raw bytes (`alt=media`). A stream whose bytes field is UTF-8 text (TEXT_STREAMS: a log) is answered as text
// instead: server-sent events with one `data:` line per line of text, or `text/plain` — the JSON forms (base64 in a
// message) stay for clients that ask for them. `alt` decides; without it the Accept header does; without a match the
// route's default (raw bytes where `response_body` names the bytes field, server-sent events otherwise).

/**
 * Server streams whose bytes field is UTF-8 text, by method (`package.Service.Method` → the field's proto name).
 * A line here is the whole rule: the REST transcoder and the OpenAPI document follow it; gRPC and Connect are unchanged.
 */
export const TEXT_STREAMS: ReadonlyMap<string, string> = new Map([["switchyard.v1.Jobs.GetLogs", "data"]]);

/** Writes one response of a stream: its headers, what each message adds, and how it ends. */
export interface StreamEncoder {
  readonly headers: Readonly<Record<string, string>>;
  /** The comment written while the stream is idle, so proxies keep it open (server-sent events only). */
  readonly keepAlive: string | undefined;
  /** What one message adds to the response ("" for nothing yet). */
  message(msg: Message): string | Uint8Array;
  /** What ends a complete response. */
  end(): string | Uint8Array;
  /**
   * What ends a response cut short by an error (`body` is its `{code, message, details}`), or undefined: then the
   * response is reset instead, so its client sees it incomplete.
   */
  error(body: unknown): string | undefined;
}

/** One form a stream can take. */
export interface StreamForm {
  /** The `alt` value that asks for it, if one does. */
  readonly alt: "sse" | "json" | "media" | undefined;
  /** The media type an Accept header asks for it by. */
  readonly mediaType: string;
  /** What the response is, for the OpenAPI document. */
  readonly description: string;
  open(): StreamEncoder;
}

/** A streaming route's forms, in the order ties are broken in, and the one given when the request says nothing. */
export interface RouteStreamForms {
  readonly forms: readonly StreamForm[];
  readonly fallback: StreamForm;
}

const EVENT_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" };
const KEEP_ALIVE = ": keep-alive\n\n";
const END_EVENT = "event: end\ndata: {}\n\n";
const errorEvent = (body: unknown): string => `event: error\ndata: ${JSON.stringify(body)}\n\n`;
const bytesOf = (msg: Message, field: DescField): Uint8Array => (msg as unknown as Record<string, Uint8Array>)[field.localName]!;

function jsonEvents(route: HttpRoute): StreamForm {
  return {
    alt: "sse",
    mediaType: "text/event-stream",
    description: `server-sent events: each \`data:\` line is a JSON ${route.method.output.name}; a final \`event: end\`, or \`event: error\` with an Error`,
    open: () => ({
      headers: EVENT_HEADERS,
      keepAlive: KEEP_ALIVE,
      message: (msg) => `data: ${JSON.stringify(responseJson(route, route.method.output, msg))}\n\n`,
      end: () => END_EVENT,
      error: errorEvent,
    }),
  };
}

function jsonArray(route: HttpRoute): StreamForm {
  return {
    alt: "json",
    mediaType: "application/json",
    description: `a JSON array of ${route.method.output.name}`,
    open: () => {
      let n = 0;
      return {
        headers: { "content-type": "application/json" },
        keepAlive: undefined,
        message: (msg) => `${n++ > 0 ? "," : "["}${JSON.stringify(responseJson(route, route.method.output, msg))}`,
        end: () => (n > 0 ? "]" : "[]"),
        error: () => undefined,
      };
    },
  };
}

function rawBytes(field: DescField): StreamForm {
  return {
    alt: "media",
    mediaType: "application/octet-stream",
    description: `the raw bytes of ${field.name}, as they are`,
    open: () => ({
      headers: { "content-type": "application/octet-stream" },
      keepAlive: undefined,
      message: (msg) => bytesOf(msg, field),
      end: () => "",
      error: () => undefined,
    }),
  };
}

/** Text as server-sent events: one event per line (text-lines.ts says how lines, cut chunks and bad UTF-8 are read). */
function textLineEvents(field: DescField): StreamForm {
  return {
    alt: "sse",
    mediaType: "text/event-stream",
    description: `server-sent events: one event per line of ${field.name} (UTF-8; a line ends at LF, CRLF or CR; bytes that are not UTF-8 read as U+FFFD), its text in the \`data:\` line; a final \`event: end\`, or \`event: error\` with an Error`,
    open: () => {
      const lines = new TextLineDecoder();
      const events = (ls: string[]): string => ls.map((l) => `data: ${l}\n\n`).join("");
      return {
        headers: EVENT_HEADERS,
        keepAlive: KEEP_ALIVE,
        message: (msg) => events(lines.push(bytesOf(msg, field))),
        end: () => events(lines.end()) + END_EVENT,
        // The line that was under way is still shown, then the error.
        error: (body) => events(lines.end()) + errorEvent(body),
      };
    },
  };
}

/** Text as it is written, decoded (a character cut by a chunk boundary waits for its end; bad bytes are U+FFFD). */
function plainText(field: DescField): StreamForm {
  return {
    alt: undefined,
    mediaType: "text/plain",
    description: `the text of ${field.name} as it is written, UTF-8 (bytes that are not UTF-8 read as U+FFFD)`,
    open: () => {
      const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
      return {
        headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no", "x-content-type-options": "nosniff" },
        keepAlive: undefined,
        message: (msg) => decoder.decode(bytesOf(msg, field), { stream: true }),
        end: () => decoder.decode(),
        error: () => undefined,
      };
    },
  };
}

/** The REST forms of every streaming route, from TEXT_STREAMS (or another such declaration, for tests). */
export class StreamForms {
  private readonly byRoute = new Map<HttpRoute, RouteStreamForms>();

  /** Throws when a declared text stream's field is not a bytes field of its message (a mistake caught at start). */
  constructor(routes: readonly HttpRoute[], textStreams: ReadonlyMap<string, string> = TEXT_STREAMS) {
    for (const route of routes) {
      if (route.method.methodKind !== "server_streaming") continue;
      const textName = textStreams.get(`${route.service.typeName}.${route.method.name}`);
      const media = mediaField(route);
      let forms: StreamForm[];
      if (textName !== undefined) {
        const field = route.method.output.fields.find((f) => f.name === textName);
        if (!field || field.fieldKind !== "scalar" || field.scalar !== ScalarType.BYTES) {
          throw new Error(`text stream ${route.method.name}: "${textName}" is not a bytes field of ${route.method.output.typeName}`);
        }
        forms = [textLineEvents(field), plainText(field), jsonArray(route), rawBytes(field)];
      } else {
        forms = [jsonEvents(route), jsonArray(route), ...(media ? [rawBytes(media)] : [])];
      }
      const fallback = route.responseBodyField && media ? forms.find((f) => f.alt === "media")! : forms[0]!;
      this.byRoute.set(route, { forms, fallback });
    }
  }

  /** The forms of a streaming route (undefined for a unary one). */
  of(route: HttpRoute): RouteStreamForms | undefined {
    return this.byRoute.get(route);
  }
}

const ALT_VALUES = ["json", "sse", "media"];

/**
 * The form a request gets: the one `alt` names (400 when the stream has no such form), else the best the Accept header
 * takes — highest q, then the most specific range (`text/plain` over `text/*` over `*\/*`), then the route's fallback,
 * then the forms' order — else the fallback. An Accept that takes none of the forms gets the fallback too (as if it
 * were absent: lenient, like most servers).
 */
export function chooseStreamForm(route: HttpRoute, r: RouteStreamForms, alt: string | null, accept: string | undefined): StreamForm {
  if (alt !== null) {
    if (!ALT_VALUES.includes(alt)) throw invalid([{ field: ALT_PARAM, message: "is not a response form", expected: "json, sse or media", got: JSON.stringify(alt) }]);
    const form = r.forms.find((f) => f.alt === alt);
    if (!form) throw invalid([{ field: ALT_PARAM, message: `${route.method.output.name} has no raw content to stream`, expected: "json or sse", got: JSON.stringify(alt), hint: "use ?alt=sse" }]);
    return form;
  }
  const ranges = parseAccept(accept);
  let best: { form: StreamForm; q: number; specificity: number } | undefined;
  for (const form of r.forms) {
    const m = matchRange(ranges, form.mediaType);
    if (!m || m.q <= 0) continue;
    const better = !best || m.q > best.q || (m.q === best.q && (m.specificity > best.specificity || (m.specificity === best.specificity && form === r.fallback)));
    if (better) best = { form, ...m };
  }
  return best?.form ?? r.fallback;
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

/** An Accept header's media ranges (parameters other than q ignored); none for an absent or empty header. */
export function parseAccept(accept: string | undefined): MediaRange[] {
  if (!accept) return [];
  const out: MediaRange[] = [];
  for (const part of accept.split(",")) {
    const [range, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const slash = range?.indexOf("/") ?? -1;
    if (!range || slash <= 0 || slash === range.length - 1) continue;
    let q = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([0-9.]+)$/.exec(p);
      if (m) q = Math.min(1, Math.max(0, Number(m[1]) || 0));
    }
    out.push({ type: range.slice(0, slash), subtype: range.slice(slash + 1), q });
  }
  return out;
}

/** The q of the most specific range that matches `mediaType`, and how specific it is (2 exact, 1 `type/*`, 0 `*\/*`). */
function matchRange(ranges: readonly MediaRange[], mediaType: string): { q: number; specificity: number } | undefined {
  const [type, subtype] = mediaType.split("/") as [string, string];
  let found: { q: number; specificity: number } | undefined;
  for (const r of ranges) {
    const specificity = r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === "*" ? 1 : r.type === "*" && r.subtype === "*" ? 0 : -1;
    if (specificity >= 0 && (!found || specificity > found.specificity)) found = { q: r.q, specificity };
  }
  return found;
}
