// Whether this tab is worth streaming to. Over plaintext HTTP/1.1 a browser keeps at most 6 connections per origin
// across all its tabs, and every open stream (a job list, a job's watch, a followed log) holds one: tabs in the
// background give theirs back, so that the tab in front is never starved. Hidden for less than PAUSE_AFTER_MS (a quick
// look at another tab) changes nothing; back in front, the streams open again and their first message resyncs.
import { useEffect, useState } from "react";

const PAUSE_AFTER_MS = 30_000;

export function usePageVisible(pauseAfterMs = PAUSE_AFTER_MS): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState !== "hidden");
  useEffect(() => {
    let timer: number | undefined;
    const onChange = () => {
      window.clearTimeout(timer);
      if (document.visibilityState === "hidden") timer = window.setTimeout(() => setVisible(false), pauseAfterMs);
      else setVisible(true);
    };
    document.addEventListener("visibilitychange", onChange);
    return () => {
      window.clearTimeout(timer);
      document.removeEventListener("visibilitychange", onChange);
    };
  }, [pauseAfterMs]);
  return visible;
}
