/**
 * The worker thread that reads large manifests (manifest-parser.ts): YAML parsing and validation of up to a megabyte
 * take hundreds of milliseconds, which must not stall the jobs service's event loop. Messages in: {id, text, options};
 * out: {id, ok: {parsed, redacted}} or {id, err: {code, message, details}}.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import { SwitchyardError } from "@switchyard/core";
import { parseJobManifest, redactManifest, type ParseJobManifestOptions } from "@switchyard/specs";
import { hasInlineSecrets, nativeManifestText } from "./manifest-secrets.js";

// This thread reads what callers send; the service's own thread answers everyone: on Linux a thread has its own nice
// value (setpriority on its thread id), so a stream of large manifests cannot take the CPU from the event loop.
try {
  setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), 10);
} catch {
  /* not Linux, or not allowed: the worker runs at the service's priority */
}

parentPort!.on("message", (m: { id: number; text: string; options: ParseJobManifestOptions; redact: boolean; native: boolean }) => {
  try {
    const parsed = parseJobManifest(m.text, m.options);
    // Redaction parses the text again: only when there is something to redact.
    const redacted = m.redact && hasInlineSecrets(parsed) ? redactManifest(m.text) : "";
    parentPort!.postMessage({ id: m.id, ok: { parsed, redacted, native: m.native ? nativeManifestText(parsed.spec) : "" } });
  } catch (err) {
    const e = SwitchyardError.from(err);
    parentPort!.postMessage({ id: m.id, err: { code: e.code, message: e.message, details: e.details } });
  }
});
