import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Identity } from "./identity.js";

/** Verifies a token's text: the identity it stands for, or UNAUTHENTICATED. Synchronous when cached. */
export interface TokenVerifier {
  verify(token: string): Identity | Promise<Identity>;
}

const NOBODY: Identity = { user: "", teams: [], role: "viewer", tokenId: "", expiresAtMs: 0 };
/**
 * The verified identity of a Connect/gRPC/gRPC-Web call, set by the edge (connect-edge.ts) from the token before the
 * body is read. Only this identity travels inward: headers a client sends are never forwarded.
 */
export const identityKey = createContextKey<Identity>(NOBODY);

export function identityOf(ctx: HandlerContext): Identity {
  return ctx.values.get(identityKey);
}

const MISSING = "missing credentials: send `Authorization: Bearer <token>` (`switchyard up` writes the admin's token to the CLI config; `switchyard login` saves another)";

/** The identity an `Authorization` header proves, or UNAUTHENTICATED. */
export function authenticate(verifier: TokenVerifier, header: string | null | undefined): Identity | Promise<Identity> {
  if (!header) throw new SwitchyardError(Code.Unauthenticated, MISSING);
  // "Bearer <token>", case-insensitive scheme, as RFC 6750 says.
  if (header.length < 8 || header.slice(0, 7).toLowerCase() !== "bearer ") throw new SwitchyardError(Code.Unauthenticated, `unsupported Authorization scheme: ${MISSING}`);
  const token = header.slice(7).trim();
  if (!token) throw new SwitchyardError(Code.Unauthenticated, MISSING);
  return verifier.verify(token);
}
