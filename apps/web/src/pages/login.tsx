import { useState, type FormEvent } from "react";
import { useSessionState } from "../session.js";

/** Sign in with a token (`switchyard token create`, or the admin's from `switchyard up`'s CLI config). */
export function LoginPage() {
  const { signIn, ended } = useSessionState();
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(token);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  }
  return (
    <main id="main" className="login">
      <h1>Sign in to Switchyard</h1>
      {ended ? <p role="status">{ended}</p> : null}
      <form onSubmit={submit}>
        <label htmlFor="token">Access token</label>
        <input id="token" name="token" type="password" autoComplete="off" required value={token} onChange={(e) => setToken(e.target.value)} aria-describedby="token-help" aria-invalid={error ? true : undefined} />
        <p id="token-help" className="help">
          A token from <code>switchyard token create</code> (or the admin's, in the CLI config <code>switchyard up</code> wrote). It is kept in this tab's memory only: reloading the page signs you out.
        </p>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy || token.trim() === ""}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
