import { createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Identity } from "./identity.js";
import { toConnectError } from "./http-errors.js";

/** Verifies a token's text: the identity it stands for, or UNAUTHENTICATED. Synchronous when cached. */
export interface TokenVerifier {
  verify(token: string): Identity | Promise<Identity>;
}

const NOBODY: Identity = { user: "", teams: [], role: "viewer", tokenId: "", expiresAtMs: 0 };
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

/**
 * Connect/gRPC/gRPC-Web side of the edge: refuses calls without a valid token (UNAUTHENTICATED) and puts the verified
 * identity in the handler context. Only this identity travels inward: headers a client sends are never forwarded.
 */
export function authInterceptor(verifier: TokenVerifier): Interceptor {
  return (next) => async (req) => {
    let id: Identity;
    try {
      const r = authenticate(verifier, req.header.get("authorization"));
      id = r instanceof Promise ? await r : r;
    } catch (err) {
      throw toConnectError(err);
    }
    req.contextValues.set(identityKey, id);
    return next(req);
  };
}
