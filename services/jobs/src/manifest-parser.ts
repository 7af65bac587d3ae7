/**
 * Manifests are read with bounded cost to the service: size and nesting are proven bounded before parsing (specs,
 * core's checkTextBounds), small ones are parsed inline (a few milliseconds), and larger ones in one worker thread
 * with its own heap and stack limits and a time limit — a manifest that takes longer is refused and its worker
 * replaced, and at most `maxQueued` wait their turn (more are refused at once). So no request blocks the event loop
 * for more than a few milliseconds, and none can take the process down.
 */
import { Worker } from "node:worker_threads";
import { Code, SwitchyardError, checkTextBounds, type FieldViolation } from "@switchyard/core";
import { hasInlineSecrets, nativeManifestText } from "./manifest-secrets.js";
import { MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH, parseJobManifest, redactManifest, type ParseJobManifestOptions, type ParsedJobManifest } from "@switchyard/specs";

export interface ManifestParserOptions {
  /** Manifests up to this size are parsed inline (default 32 KiB: well under 10 ms here). */
  inlineMaxBytes?: number;
  /** How long one manifest may take in the worker (default 5 s). */
  timeoutMs?: number;
  /** Manifests waiting for the worker before new ones are refused (default 8). */
  maxQueued?: number;
  /** The worker stops after this long without work (default 5 s: its heap is not kept for nothing); the next large manifest starts it again. */
  idleMs?: number;
}

export interface ReadManifest {
  parsed: ParsedJobManifest;
  /** The manifest with inline secret values replaced by "(secret)" (what is stored); the text itself when it has none. */
  redacted: string;
  /** The native manifest the spec reads as, when asked for (`native`): "" otherwise. */
  native: string;
}

export interface ManifestParser {
  /** `native`: also render the native manifest (ValidateJob), in the same thread as the parse. */
  read(text: string, options: ParseJobManifestOptions, o?: { native?: boolean }): Promise<ReadManifest>;
  close(): Promise<void>;
}

interface Pending {
  id: number;
  text: string;
  options: ParseJobManifestOptions;
  native: boolean;
  resolve: (r: ReadManifest) => void;
  reject: (e: unknown) => void;
}


export function createManifestParser(o: ManifestParserOptions = {}): ManifestParser {
  const inlineMaxBytes = o.inlineMaxBytes ?? 32 * 1024;
  const timeoutMs = o.timeoutMs ?? 5000;
  const maxQueued = o.maxQueued ?? 8;
  const idleMs = o.idleMs ?? 5000;
  const queue: Pending[] = [];
  let worker: Worker | undefined;
  let current: { p: Pending; timer: NodeJS.Timeout; w: Worker; why?: string } | undefined;
  let idle: NodeJS.Timeout | undefined;
  let nextId = 1;

  // The compiled worker, also when this module runs from source under tsx (tests): workers do not get tsx's loader.
  const url = new URL(import.meta.url.endsWith(".ts") ? "../dist/manifest-worker.js" : "./manifest-worker.js", import.meta.url);
  function start(): Worker {
    const w = new Worker(url, { resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 } });
    w.unref();
    w.on("message", (m: { id: number; ok?: { parsed: ParsedJobManifest; redacted: string; native: string }; err?: { code: Code; message: string; details: FieldViolation[] } }) => {
      if (!current || current.p.id !== m.id) return;
      const { p, timer } = current;
      clearTimeout(timer);
      current = undefined;
      if (m.ok) p.resolve({ parsed: m.ok.parsed, redacted: m.ok.redacted || p.text, native: m.ok.native });
      else p.reject(new SwitchyardError(m.err!.code, m.err!.message, { details: m.err!.details }));
      next();
    });
    const died = (why: string) => {
      if (worker === w) worker = undefined;
      if (current && current.w === w) {
        const { p, timer } = current;
        why = current.why ?? why;
        clearTimeout(timer);
        current = undefined;
        p.reject(new SwitchyardError(Code.InvalidArgument, `the manifest could not be read within the platform's limits (${why}): make it smaller and simpler`, {
          details: [{ field: "(document)", message: why, hint: "a job manifest describes one job: keep data out of it" }],
        }));
      }
      next();
    };
    w.on("error", (err) => died(`its reader failed: ${err.message}`));
    w.on("exit", () => died("its reader stopped"));
    return w;
  }

  function next(): void {
    if (current || queue.length === 0) {
      if (!current && queue.length === 0 && worker && !idle) {
        idle = setTimeout(() => {
          idle = undefined;
          const w = worker;
          worker = undefined;
          void w?.terminate();
        }, idleMs);
        idle.unref();
      }
      return;
    }
    if (idle) (clearTimeout(idle), (idle = undefined));
    const p = queue.shift()!;
    worker ??= start();
    const w = worker;
    const timer = setTimeout(() => {
      // Too slow: the worker is replaced, and the manifest refused by the exit handler.
      if (current?.p === p) current.why = `reading it took longer than ${timeoutMs} ms`;
      void w.terminate();
    }, timeoutMs);
    current = { p, timer, w };
    w.postMessage({ id: p.id, text: p.text, options: p.options, redact: true, native: p.native });
  }

  return {
    async read(text, options, o = {}) {
      // Size and nesting first, here: linear, and no parser (in this thread or the worker) sees a text over them.
      checkTextBounds(text, options.file ?? "the manifest", { maxBytes: MAX_MANIFEST_BYTES, maxDepth: MAX_MANIFEST_DEPTH }, options.file);
      if (text.length <= inlineMaxBytes) {
        const parsed = parseJobManifest(text, options);
        return { parsed, redacted: hasInlineSecrets(parsed) ? redactManifest(text) : text, native: o.native ? nativeManifestText(parsed.spec) : "" };
      }
      if (queue.length >= maxQueued) {
        throw new SwitchyardError(Code.ResourceExhausted, `too many large manifests are being read right now (${maxQueued} waiting): retry in a moment`);
      }
      return new Promise<ReadManifest>((resolve, reject) => {
        queue.push({ id: nextId++, text, options, native: o.native === true, resolve, reject });
        next();
      });
    },
    async close() {
      if (idle) clearTimeout(idle);
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
