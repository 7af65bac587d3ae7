import type { ReactNode } from "react";
import { updatedText, type Polled } from "../use-polling.js";

/**
 * The head of a page that refreshes on a timer (queues, mesh, serving, experiments): its title, a Refresh button with
 * when it was last updated (and `note`, what else to say there), and the last refresh's failure, if any, with `what`
 * could not be loaded (the page keeps showing the data it had).
 */
export function PolledHeader({ title, what, poll, note }: { title: string; what: string; poll: Polled<unknown>; note?: ReactNode }) {
  return (
    <>
      <h1>{title}</h1>
      <div className="dash-toolbar">
        <button type="button" onClick={poll.refresh} disabled={poll.loading}>
          Refresh
        </button>
        <span className="help">
          {updatedText(poll)}
          {note}
        </span>
      </div>
      {poll.error ? (
        <p role="alert" className="error">
          Could not load {what}: {poll.error}
        </p>
      ) : null}
    </>
  );
}
