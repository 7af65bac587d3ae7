/** Longest piece of one line sent whole (UTF-16 code units); longer lines go in pieces of this size. */
export const MAX_LINE_CHARS = 64 * 1024;

/**
 * Turns a byte stream of UTF-8 text (a replica's log, read in chunks that cut anywhere) into its lines.
 *
 * - A character whose bytes a chunk boundary splits is held until its last byte arrives (TextDecoder's streaming mode);
 *   bytes that are not UTF-8 become U+FFFD, one per maximal bad subsequence (the WHATWG decoder's rule), so every line
 *   is valid text. A sequence still incomplete when the stream ends becomes U+FFFD too.
 * - A line ends at LF, CRLF or a lone CR (the terminators server-sent events know: a CR inside an event's `data:` would
 *   end it early, so a progress bar's `\r` redraws are lines of their own). A CR that ends one chunk and an LF that
 *   starts the next are one CRLF. Terminators are not part of the line.
 * - The unterminated rest of a chunk is held until its line ends or the stream ends (then it is the last line).
 * - A line longer than `maxLineChars` is given in pieces of that size, so a job that never writes a newline costs
 *   bounded memory and its output still arrives.
 */
export class TextLineDecoder {
  private readonly decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  private pending = "";
  /** The last character seen was a CR: an LF right after it belongs to it. */
  private afterCr = false;

  constructor(private readonly maxLineChars = MAX_LINE_CHARS) {
    if (!(maxLineChars >= 2)) throw new RangeError(`maxLineChars must be at least 2, got ${maxLineChars}`);
  }

  /** The lines `bytes` completes, with what was held before. */
  push(bytes: Uint8Array): string[] {
    return this.split(this.decoder.decode(bytes, { stream: true }));
  }

  /** The end of the stream: the held line, if any (nothing for a stream that ended with its terminator). */
  end(): string[] {
    const lines = this.split(this.decoder.decode());
    if (this.pending !== "") lines.push(this.pending);
    this.pending = "";
    this.afterCr = false;
    return lines;
  }

  private split(text: string): string[] {
    if (this.afterCr && text.startsWith("\n")) text = text.slice(1);
    if (text === "") return [];
    this.afterCr = text.endsWith("\r");
    const parts = text.split(/\r\n|\r|\n/);
    const lines: string[] = [];
    parts[0] = this.pending + parts[0]!;
    this.pending = parts.pop()!;
    for (const line of parts) this.cut(line, lines, true);
    this.pending = this.cut(this.pending, lines, false);
    return lines;
  }

  /** Pushes `line` in pieces of at most maxLineChars; returns what is left (all of it when `whole`). */
  private cut(line: string, out: string[], whole: boolean): string {
    let rest = line;
    while (rest.length > this.maxLineChars) {
      // Never between the two halves of a surrogate pair.
      const at = isHighSurrogate(rest.charCodeAt(this.maxLineChars - 1)) ? this.maxLineChars - 1 : this.maxLineChars;
      out.push(rest.slice(0, at));
      rest = rest.slice(at);
    }
    if (whole) {
      out.push(rest);
      return "";
    }
    return rest;
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
