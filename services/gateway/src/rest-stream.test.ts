import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create, type Message } from "@bufbuild/protobuf";
import { ArtifactChunkSchema, Jobs, LogChunkSchema } from "@switchyard/api";
import { SwitchyardError } from "@switchyard/core";
import { collectRoutes, type HttpRoute } from "./http-rule.js";
import { chooseStreamForm, StreamForms, TEXT_STREAMS, type StreamEncoder } from "./rest-stream.js";

const routes = collectRoutes([Jobs]);
const route = (name: string): HttpRoute => routes.find((r) => r.method.name === name)!;
const logs = route("GetLogs");
const artifact = route("ReadArtifact");
const forms = new StreamForms(routes, TEXT_STREAMS);

/** The media type (and alt) of the form a request with `alt` and `accept` gets. */
function chosen(r: HttpRoute, alt: string | null, accept?: string, table = forms): string {
  return chooseStreamForm(r, table.of(r)!, alt, accept).open().headers["content-type"]!;
}

const log = (text: string | number[]): Message => create(LogChunkSchema, { data: typeof text === "string" ? new TextEncoder().encode(text) : Uint8Array.from(text) }) as Message;
const asText = (x: string | Uint8Array): string => (typeof x === "string" ? x : new TextDecoder().decode(x));
function written(e: StreamEncoder, msgs: Message[]): string[] {
  return msgs.map((m) => asText(e.message(m)));
}

describe("REST stream forms: which one a request gets", () => {
  it("answers a text stream (logs) as text events by default, and as what alt or Accept asks for", () => {
    assert.equal(chosen(logs, null), "text/event-stream");
    assert.equal(chosen(logs, null, "*/*"), "text/event-stream");
    assert.equal(chosen(logs, null, "text/event-stream"), "text/event-stream");
    assert.equal(chosen(logs, null, "text/plain"), "text/plain; charset=utf-8");
    assert.equal(chosen(logs, null, "application/json"), "application/json");
    assert.equal(chosen(logs, null, "text/plain;q=0.5, application/json"), "application/json");
    assert.equal(chosen(logs, null, "text/plain, */*;q=0.1"), "text/plain; charset=utf-8");
    assert.equal(chosen(logs, null, "text/*"), "text/event-stream", "a tie goes to the default");
    assert.equal(chosen(logs, null, "image/png"), "text/event-stream", "an Accept nothing matches gets the default");
    assert.equal(chosen(logs, null, "text/event-stream;q=0, text/plain;q=0"), "text/event-stream", "what Accept refuses and names nothing else: the default");
    assert.equal(chosen(logs, "json", "text/plain"), "application/json", "alt wins over Accept");
    assert.equal(chosen(logs, "sse", "application/json"), "text/event-stream");
    assert.equal(chosen(logs, "media"), "application/octet-stream");
  });

  it("answers a download (response_body: data) as raw bytes by default, JSON forms on request", () => {
    assert.equal(chosen(artifact, null), "application/octet-stream");
    assert.equal(chosen(artifact, null, "*/*"), "application/octet-stream");
    assert.equal(chosen(artifact, null, "text/event-stream"), "text/event-stream");
    assert.equal(chosen(artifact, null, "application/json"), "application/json");
    assert.equal(chosen(artifact, null, "text/plain"), "application/octet-stream", "not a text stream: no text form");
  });

  it("refuses an alt that is no form, naming the parameter", () => {
    const err = (() => {
      try {
        chosen(logs, "xml");
        return undefined;
      } catch (e) {
        return e as SwitchyardError;
      }
    })();
    assert.ok(err instanceof SwitchyardError);
    assert.equal(err.details[0]?.field, "alt");
  });

  it("is decided per route: a stream not declared as text keeps JSON messages with base64 bytes", () => {
    const generic = new StreamForms(routes, new Map());
    assert.equal(chosen(logs, null, "text/plain", generic), "text/event-stream");
    const e = chooseStreamForm(logs, generic.of(logs)!, null, undefined).open();
    assert.deepEqual(written(e, [log("hi\n")]), [`data: {"data":"aGkK","replica":0,"attempt":0}\n\n`]);
  });

  it("refuses at start a text stream whose field is not bytes", () => {
    assert.throws(() => new StreamForms(routes, new Map([["switchyard.v1.Jobs.GetLogs", "replica"]])), /"replica" is not a bytes field of switchyard.v1.LogChunk/);
  });
});

describe("REST stream forms: what a text stream's responses carry", () => {
  it("sends one event per complete line, holds a partial one, and sends the rest before the end event", () => {
    const e = chooseStreamForm(logs, forms.of(logs)!, null, undefined).open();
    assert.deepEqual(written(e, [log("step=1\nstep=2\nhalf"), log(" of a line\n"), log("tail")]), ["data: step=1\n\ndata: step=2\n\n", "data: half of a line\n\n", ""]);
    assert.equal(asText(e.end()), "data: tail\n\nevent: end\ndata: {}\n\n");
  });

  it("sends the line under way, then the error, when a stream fails", () => {
    const e = chooseStreamForm(logs, forms.of(logs)!, null, undefined).open();
    written(e, [log("partial")]);
    assert.equal(e.error({ code: "unavailable" }), 'data: partial\n\nevent: error\ndata: {"code":"unavailable"}\n\n');
  });

  it("streams text/plain as written, keeping a cut character whole and bad bytes as U+FFFD", () => {
    const e = chooseStreamForm(logs, forms.of(logs)!, null, "text/plain").open();
    assert.deepEqual(written(e, [log([0x63, 0x61, 0x66, 0xc3]), log([0xa9, 0x0a, 0xff, 0x0a, 0xe2])]), ["caf", "é\n\uFFFD\n"]);
    assert.equal(asText(e.end()), "\uFFFD");
    assert.equal(e.error({}), undefined, "a text response that fails is cut short, not ended as if complete");
  });

  it("gives raw bytes unchanged with alt=media, invalid UTF-8 included", () => {
    const e = chooseStreamForm(logs, forms.of(logs)!, "media", undefined).open();
    assert.deepEqual([...(e.message(log([0xff, 0x0a])) as Uint8Array)], [0xff, 0x0a]);
    const a = chooseStreamForm(artifact, forms.of(artifact)!, null, undefined).open();
    assert.deepEqual([...(a.message(create(ArtifactChunkSchema, { data: Uint8Array.of(1, 2) }) as Message) as Uint8Array)], [1, 2]);
  });
});
