import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TextLineDecoder } from "./text-lines.js";

const bytes = (...parts: (string | number[])[]): Uint8Array[] => parts.map((p) => (typeof p === "string" ? new TextEncoder().encode(p) : Uint8Array.from(p)));

/** Every line the decoder gives for `chunks`, the end included. */
function linesOf(chunks: Uint8Array[], max?: number): string[] {
  const d = new TextLineDecoder(max);
  return [...chunks.flatMap((c) => d.push(c)), ...d.end()];
}

describe("TextLineDecoder: a log's bytes as lines", () => {
  it("gives complete lines at once and holds a partial line until its end arrives", () => {
    const d = new TextLineDecoder();
    assert.deepEqual(d.push(new TextEncoder().encode("step=1\nstep=2\nste")), ["step=1", "step=2"]);
    assert.deepEqual(d.push(new TextEncoder().encode("p=3")), []);
    assert.deepEqual(d.push(new TextEncoder().encode("\n")), ["step=3"]);
    assert.deepEqual(d.end(), []);
  });

  it("gives an unterminated last line when the stream ends, and keeps empty lines", () => {
    assert.deepEqual(linesOf(bytes("a\n\nb")), ["a", "", "b"]);
    assert.deepEqual(linesOf(bytes("\n")), [""]);
    assert.deepEqual(linesOf(bytes("")), []);
  });

  it("keeps a character whose bytes two chunks split whole", () => {
    // é is C3 A9, 😀 is F0 9F 98 80: cut after every byte.
    const all = [...new TextEncoder().encode("café 😀\n")];
    assert.deepEqual(linesOf(all.map((b) => Uint8Array.of(b))), ["café 😀"]);
  });

  it("reads bytes that are not UTF-8 as U+FFFD, one per bad sequence, and the rest of the line as it is", () => {
    assert.deepEqual(linesOf(bytes([0x61, 0xff, 0x62, 0x0a, 0xc3, 0x28, 0x0a])), ["a\uFFFDb", "\uFFFD("]);
    // A sequence cut off by the end of the stream is one U+FFFD.
    assert.deepEqual(linesOf(bytes("ok\n", [0x78, 0xe2, 0x82])), ["ok", "x\uFFFD"]);
  });

  it("ends lines at LF, CRLF and a lone CR, and takes a CRLF split across chunks as one end", () => {
    assert.deepEqual(linesOf(bytes("a\r\nb\rc\nd")), ["a", "b", "c", "d"]);
    assert.deepEqual(linesOf(bytes("10%\r", "\n20%\r", "30%\r")), ["10%", "20%", "30%"]);
    assert.deepEqual(linesOf(bytes("x\r", "\r", "y")), ["x", "", "y"]);
  });

  it("gives a line longer than the limit in pieces, never splitting a surrogate pair", () => {
    assert.deepEqual(linesOf(bytes("abcdefg\n"), 3), ["abc", "def", "g"]);
    const d = new TextLineDecoder(3);
    assert.deepEqual(d.push(new TextEncoder().encode("abcdefg")), ["abc", "def"], "a long line arrives before its end");
    assert.deepEqual(d.end(), ["g"]);
    assert.deepEqual(linesOf(bytes("ab😀c\n"), 3), ["ab", "😀c"]);
  });
});
