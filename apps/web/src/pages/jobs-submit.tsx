// Submit a job from a pasted manifest: Validate shows the platform's problems at their lines, Submit stores the job.
import type { Job } from "@switchyard/api";
import { useRef, useState, type FormEvent } from "react";
import { Link } from "wouter";
import { ManifestEditor } from "../components/manifest-editor.js";
import { jobHref } from "../components/job-text.js";
import { headline, violationsOf, type Violation } from "../components/violations.js";
import { useSession } from "../session.js";

/** The name errors are reported against: `manifest.yaml:6:13: …`. */
const FILE_NAME = "manifest.yaml";

type Outcome =
  | { kind: "valid"; name: string; team: string; warnings: readonly string[] }
  | { kind: "submitted"; job: Job; warnings: readonly string[]; replayed: boolean }
  | { kind: "error"; message: string; violations: Violation[] };

export function SubmitJob() {
  const { api } = useSession();
  const [manifest, setManifest] = useState("");
  const [baseDir, setBaseDir] = useState("");
  const [generateName, setGenerateName] = useState(false);
  const [busy, setBusy] = useState<"validate" | "submit" | undefined>();
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  // One id per version of the request: pressing Submit again after a lost answer returns the first job, not a second.
  const requestId = useRef<string | undefined>(undefined);
  const changed = () => {
    requestId.current = undefined;
    setOutcome((o) => (o?.kind === "error" ? o : undefined));
  };

  async function run(kind: "validate" | "submit") {
    setBusy(kind);
    try {
      if (kind === "validate") {
        const r = await api.jobs.validateJob({ manifest, fileName: FILE_NAME, baseDir: baseDir.trim() });
        setOutcome({ kind: "valid", name: r.name, team: r.team, warnings: r.warnings });
      } else {
        requestId.current ??= newRequestId();
        const r = await api.jobs.submitJob({ requestId: requestId.current, manifest, fileName: FILE_NAME, baseDir: baseDir.trim(), generateName });
        if (r.job) setOutcome({ kind: "submitted", job: r.job, warnings: r.warnings, replayed: r.replayed });
      }
    } catch (err) {
      setOutcome({ kind: "error", message: headline(err), violations: violationsOf(err) });
    } finally {
      setBusy(undefined);
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    void run("submit");
  }

  const violations = outcome?.kind === "error" ? outcome.violations : [];
  return (
    <section aria-labelledby="submit-title" id="submit" className="submit">
      <h2 id="submit-title">Submit a job</h2>
      <form onSubmit={onSubmit}>
        <label htmlFor="manifest">Manifest (YAML or JSON)</label>
        <p id="manifest-help" className="help">
          A switchyard/v1 Job, a Kubeflow PyTorchJob or TrainJob, or a Kubernetes Job.
        </p>
        <ManifestEditor
          id="manifest"
          value={manifest}
          onChange={(v) => {
            setManifest(v);
            changed();
          }}
          violations={violations}
          describedBy="manifest-help"
        />
        <div className="submit-options">
          <div className="field">
            <label htmlFor="base-dir">Base directory</label>
            <input id="base-dir" value={baseDir} onChange={(e) => (setBaseDir(e.target.value), changed())} placeholder="/home/me/project" aria-describedby="base-dir-help" spellCheck={false} />
            <p id="base-dir-help" className="help">
              Absolute path on the platform's machine that a relative <code>workingDir</code> resolves against (optional).
            </p>
          </div>
          <div className="check">
            <input id="generate-name" type="checkbox" checked={generateName} onChange={(e) => (setGenerateName(e.target.checked), changed())} />
            <label htmlFor="generate-name">Add a random suffix to the name</label>
          </div>
        </div>
        <div className="actions">
          <button type="button" onClick={() => void run("validate")} disabled={busy !== undefined || manifest.trim() === ""}>
            {busy === "validate" ? "Validating…" : "Validate"}
          </button>
          <button type="submit" className="primary" disabled={busy !== undefined || manifest.trim() === ""}>
            {busy === "submit" ? "Submitting…" : "Submit"}
          </button>
        </div>
        <div role="status" className="outcome">
          {outcome ? <OutcomeText outcome={outcome} /> : null}
        </div>
      </form>
    </section>
  );
}

function OutcomeText({ outcome }: { outcome: Outcome }) {
  const warnings = outcome.kind !== "error" && outcome.warnings.length > 0 ? (
    <ul className="warnings">
      {outcome.warnings.map((w) => (
        <li key={w}>Warning: {w}</li>
      ))}
    </ul>
  ) : null;
  if (outcome.kind === "valid")
    return (
      <>
        <p className="ok">
          Valid: job <strong>{outcome.name}</strong> in team {outcome.team}.
        </p>
        {warnings}
      </>
    );
  if (outcome.kind === "submitted") {
    const m = outcome.job.metadata;
    return (
      <>
        <p className="ok">
          {outcome.replayed ? "Already submitted" : "Submitted"}: <Link href={jobHref(outcome.job)}>{m?.name}</Link> in team {m?.team}.
        </p>
        {warnings}
      </>
    );
  }
  return (
    <p className="error">
      {outcome.message}
      {outcome.violations.length > 0 ? ` (${outcome.violations.length} problem${outcome.violations.length === 1 ? "" : "s"}, listed under the manifest)` : ""}
    </p>
  );
}

/** A UUID v4; crypto.randomUUID exists only in secure contexts, and the gateway may be plain http on a LAN address. */
function newRequestId(): string {
  if (typeof crypto.randomUUID === "function" && window.isSecureContext) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
