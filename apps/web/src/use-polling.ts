// Loading a page's data and keeping it fresh: one load at a time, the next one `intervalMs` after the last answer
// (a setTimeout chain, never setInterval, so a slow platform is not asked again before it answered), paused while the
// tab is hidden and resumed with a load when it shows again, stopped on unmount. Used by the mesh, queues, serving and
// experiments pages; a failed refresh keeps the last data and says why.
import { useCallback, useEffect, useRef, useState } from "react";
import { errorText, isAborted } from "./api.js";

export interface Polled<T> {
  readonly data: T | undefined;
  /** The platform's message for the last failed load (the data, if any, is from the load before). */
  readonly error: string | undefined;
  /** A load is in flight. */
  readonly loading: boolean;
  readonly updatedAtMs: number | undefined;
  /** Loads now (the Refresh button); the chain goes on from this answer. */
  refresh(): void;
}

/**
 * `load` runs when the component mounts and whenever `key` changes (the old data is dropped then), and again every
 * `intervalMs` while the document is visible (undefined: only on `refresh()`).
 */
export function usePolling<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number | undefined, key = ""): Polled<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: string; loading: boolean; updatedAtMs?: number }>({ key, loading: true });
  const loadRef = useRef(load);
  loadRef.current = load;
  const kick = useRef<() => void>(() => {});

  useEffect(() => {
    const ctrl = new AbortController();
    let timer: number | undefined;
    let inFlight = false;
    let again = false;
    setState({ key, loading: true });
    const run = async () => {
      window.clearTimeout(timer);
      timer = undefined;
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      setState((s) => ({ ...s, loading: true }));
      try {
        const data = await loadRef.current(ctrl.signal);
        if (!ctrl.signal.aborted) setState({ key, data, loading: false, updatedAtMs: Date.now() });
      } catch (err) {
        if (!ctrl.signal.aborted && !isAborted(err)) setState((s) => ({ ...s, error: errorText(err), loading: false }));
      }
      inFlight = false;
      if (ctrl.signal.aborted) return;
      if (again) {
        again = false;
        void run();
      } else schedule();
    };
    const schedule = () => {
      if (intervalMs !== undefined && document.visibilityState === "visible") timer = window.setTimeout(() => void run(), intervalMs);
    };
    const onVisibility = () => {
      if (document.visibilityState !== "visible") {
        window.clearTimeout(timer);
        timer = undefined;
      } else if (intervalMs !== undefined && !inFlight && timer === undefined) void run();
    };
    kick.current = () => void run();
    document.addEventListener("visibilitychange", onVisibility);
    void run();
    return () => {
      ctrl.abort();
      window.clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
      kick.current = () => {};
    };
  }, [key, intervalMs]);

  const refresh = useCallback(() => kick.current(), []);
  // Until the effect for a new key has run, the state is the old key's: show nothing of it.
  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: current ? state.loading : true, updatedAtMs: current ? state.updatedAtMs : undefined, refresh };
}

/** "updated 14:03:07", for the status line beside a Refresh button. */
export function updatedText(p: Pick<Polled<unknown>, "loading" | "updatedAtMs">): string {
  if (p.updatedAtMs === undefined) return p.loading ? "Loading…" : "";
  return `${p.loading ? "Refreshing… " : ""}Updated ${new Date(p.updatedAtMs).toLocaleTimeString()}`;
}
