import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { issueUserToken, type AuthServiceDeps } from "./auth-service.js";

const DAY_S = 86_400;
export const BOOTSTRAP_ADMIN = { user: "admin", team: "default", ttlSeconds: 365 * DAY_S, renewWithinSeconds: 30 * DAY_S } as const;

/**
 * The first admin, so that `switchyard up` needs no flags: makes sure `file` holds a valid admin token, issuing one
 * (user `admin`, team `default`) when the file is missing, holds something else, was revoked, or expires within 30
 * days. The file is the key to the platform for whoever can read the data directory, as the signing key beside it is.
 * Returns the token and whether it is new.
 */
export async function ensureAdminToken(d: AuthServiceDeps, file: string): Promise<{ token: string; issued: boolean }> {
  if (existsSync(file)) {
    const current = readFileSync(file, "utf8").trim();
    try {
      const v = d.authority.verify(current);
      const id = v instanceof Promise ? await v : v;
      if (id.role === "admin" && id.expiresAtMs - d.authority.now() > BOOTSTRAP_ADMIN.renewWithinSeconds * 1000) return { token: current, issued: false };
    } catch {
      // Not a token of this platform (or revoked, or expired): replaced below.
    }
  }
  const { token } = await issueUserToken(d, {
    user: BOOTSTRAP_ADMIN.user,
    teams: [BOOTSTRAP_ADMIN.team],
    role: "admin",
    ttlSeconds: BOOTSTRAP_ADMIN.ttlSeconds,
    description: "bootstrap admin (switchyard up)",
    issuedBy: "bootstrap",
  });
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, token + "\n", { mode: 0o600 });
  renameSync(tmp, file);
  return { token, issued: true };
}
