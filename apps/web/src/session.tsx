// Who is signed in. The token is kept in memory only (this module's React state), never in localStorage, sessionStorage
// or a cookie: no script but ours can read it from storage, no request carries it unless our code adds it (so there is
// nothing for a cross-site request to ride on: no CSRF), and closing or reloading the tab signs out. The cost: a reload
// asks for the token again. The gateway's CSP allows scripts from this origin only, so an injected script cannot run
// to read it from memory either.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
// The API client and the jobs list are in the first bundle, not loaded after sign-in: measured (bench web), loading
// them after the login form moved their cost into the sign-in (form 176 ms, but sign-in → list 449 ms instead of ~200).
import { createApi, errorText, type Api } from "./api.js";

export interface Identity {
  user: string;
  teams: string[];
  role: string;
}

export interface Session {
  readonly api: Api;
  readonly identity: Identity;
  signOut(): void;
}

interface SessionState {
  session: Session | undefined;
  /** Why the last session ended (an expired or revoked token), to show on the login page. */
  ended: string | undefined;
  signIn(token: string): Promise<void>;
}

const SessionContext = createContext<SessionState | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | undefined>();
  const [ended, setEnded] = useState<string | undefined>();
  const signOut = useCallback(() => setSession(undefined), []);
  const signIn = useCallback(async (token: string) => {
    const api = createApi(token.trim(), () => {
      setEnded("Your token is no longer accepted (expired or revoked): sign in again.");
      setSession(undefined);
    });
    try {
      const me = await api.platform.whoAmI({});
      setEnded(undefined);
      setSession({ api, identity: { user: me.user, teams: [...me.teams], role: me.role }, signOut });
    } catch (err) {
      throw new Error(errorText(err));
    }
  }, [signOut]);
  const value = useMemo(() => ({ session, ended, signIn }), [session, ended, signIn]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSessionState(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSessionState outside SessionProvider");
  return s;
}

/** The signed-in session (pages render only inside one). */
export function useSession(): Session {
  const s = useSessionState().session;
  if (!s) throw new Error("useSession without a session");
  return s;
}
