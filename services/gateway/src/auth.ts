import { timingSafeEqual } from "node:crypto";
import { Code, ConnectError, createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";

export interface Identity {
  user: string;
  teams: string[];
  role: "admin" | "member" | "viewer";
}

export const identityKey = createContextKey<Identity>({ user: "", teams: [], role: "viewer" });

export function identityOf(ctx: HandlerContext): Identity {
  return ctx.values.get(identityKey);
}

export interface TokenVerifier {
  verify(token: string): Identity | undefined;
}

/** The first verifier: the admin token written by `switchyard up`. (Signed, revocable user tokens come later.) */
export function staticTokenVerifier(adminToken: string): TokenVerifier {
  const expected = Buffer.from(adminToken);
  return {
    verify(token) {
      const got = Buffer.from(token);
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) return undefined;
      return { user: "admin", teams: ["*"], role: "admin" };
    },
  };
}

/** Refuses calls without a valid bearer token (UNAUTHENTICATED) and puts the verified identity in the context. */
export function authInterceptor(verifier: TokenVerifier): Interceptor {
  return (next) => async (req) => {
    const header = req.header.get("authorization") ?? "";
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) throw new ConnectError("missing credentials: send Authorization: Bearer <token> (run `switchyard up` or `switchyard login` to get one)", Code.Unauthenticated);
    const id = verifier.verify(m[1]!.trim());
    if (!id) throw new ConnectError("invalid or expired token", Code.Unauthenticated);
    req.contextValues.set(identityKey, id);
    return next(req);
  };
}
