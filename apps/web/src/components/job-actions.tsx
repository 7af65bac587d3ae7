// Cancel and Delete for one job, each asking first (cancelling stops a training run; deleting cannot be undone),
// each disabled where the platform would refuse it: a finished job cannot be cancelled, an unfinished one not deleted.
import type { Job } from "@switchyard/api";
import { useState } from "react";
import { errorText } from "../api.js";
import { useSession } from "../session.js";
import { isCancelling, isFinished } from "./job-text.js";

export interface JobActionsProps {
  job: Job;
  /** After a successful delete (the job page leaves for the list). */
  onDeleted?: () => void;
}

export function JobActions({ job, onDeleted }: JobActionsProps) {
  const { api, identity } = useSession();
  // Viewers read; the platform would refuse them either action.
  const viewer = identity.role === "viewer";
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const name = job.metadata?.name ?? "";
  const team = job.metadata?.team ?? "";
  const finished = isFinished(job);
  const cancelling = isCancelling(job);
  // By uid: a row shown a while ago acts on the job it shows, never on a newer one that took its name.
  const uid = job.metadata?.uid ?? "";
  const why = viewer ? "Viewers cannot change jobs" : undefined;
  const cancelWhy = why ?? (finished ? "It has finished already" : cancelling ? "Being cancelled" : undefined);
  const deleteWhy = why ?? (finished ? undefined : "Cancel it first, or wait until it ends");
  const whyId = `why-${uid}`;

  async function act(kind: "cancel" | "delete") {
    const question = kind === "cancel" ? `Cancel job ${name} (team ${team})? Its replicas are stopped.` : `Delete job ${name} (team ${team})? It disappears from every list; this cannot be undone.`;
    if (!window.confirm(question)) return;
    setBusy(true);
    setError(undefined);
    try {
      if (kind === "cancel") await api.jobs.cancelJob({ name: uid, team });
      else {
        await api.jobs.deleteJob({ name: uid, team });
        onDeleted?.();
      }
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="job-actions">
      <button type="button" className="danger" aria-label={`${cancelling ? "Cancelling" : "Cancel"} ${name} (team ${team})`} aria-describedby={cancelWhy ? `${whyId}-cancel` : undefined} disabled={viewer || busy || finished || cancelling} onClick={() => void act("cancel")} title={cancelWhy}>
        {cancelling ? "Cancelling…" : "Cancel"}
      </button>
      <button type="button" className="danger" aria-label={`Delete ${name} (team ${team})`} aria-describedby={deleteWhy ? `${whyId}-delete` : undefined} disabled={viewer || busy || !finished} onClick={() => void act("delete")} title={deleteWhy}>
        Delete
      </button>
      {/* Why a button is disabled, for screen readers too (a title alone reaches mouse users only). */}
      {cancelWhy ? <span id={`${whyId}-cancel`} className="visually-hidden">{cancelWhy}</span> : null}
      {deleteWhy ? <span id={`${whyId}-delete`} className="visually-hidden">{deleteWhy}</span> : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
