/**
 * The worker thread that reads large manifests (manifest-parser.ts): YAML parsing and validation of up to a megabyte
 * take hundreds of milliseconds, which must not stall the jobs service's event loop. Messages in: {id, text, options};
 * out: {id, ok: {parsed, redacted}} or {id, err: {code, message, details}}.
 */
import { parentPort } from "node:worker_threads";
import { SwitchyardError } from "@switchyard/core";
import { parseJobManifest, redactManifest, type ParseJobManifestOptions } from "@switchyard/specs";

parentPort!.on("message", (m: { id: number; text: string; options: ParseJobManifestOptions; redact: boolean }) => {
  try {
    const parsed = parseJobManifest(m.text, m.options);
    parentPort!.postMessage({ id: m.id, ok: { parsed, redacted: m.redact ? redactManifest(m.text) : "" } });
  } catch (err) {
    const e = SwitchyardError.from(err);
    parentPort!.postMessage({ id: m.id, err: { code: e.code, message: e.message, details: e.details } });
  }
});
