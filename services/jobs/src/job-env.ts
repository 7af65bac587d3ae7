/**
 * A replica's environment is the mapped account's entry (HOME, USER, LOGNAME: the executor adds them with `runAs`;
 * the job's own home directory otherwise), the PATH below, and the job spec's variables (which override them) — built
 * from nothing (`env -i`), so no variable of the platform's own environment (its tokens, its PATH) reaches a job.
 */
import { sep } from "node:path";

/** The system's directories, as a login shell has them. */
export const SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** A directory npm made or manages: a project's or npx's `node_modules` (.bin), npm's cache, node-gyp-bin. */
function npmManaged(dir: string): boolean {
  const parts = dir.split(sep);
  return parts.some((p) => p === "node_modules" || p === "_npx" || p === "_cacache" || p === "node-gyp-bin");
}

/**
 * The PATH a replica starts with: the system's, then node's own directory (jobs such as the demo run `node`, and get
 * the node the platform runs on where the system has none) — never the PATH the platform itself was started with (npm
 * and npx put their `node_modules/.bin`, `_npx/…` and `node-gyp-bin` folders there). Node's directory comes last, so
 * nothing in it shadows a system command; it is left out when it is one of npm's (a node installed by npx into its
 * cache) or already a system one.
 */
export function jobPath(nodeDir: string): string {
  const dirs = [...SYSTEM_PATH, ...(npmManaged(nodeDir) || SYSTEM_PATH.includes(nodeDir) ? [] : [nodeDir])];
  return dirs.join(":");
}
