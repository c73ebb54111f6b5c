import { useState } from 'react';
import { ApiError, checkToken } from '../api/client';
import { saveToken } from '../api/token-store';

/** Shown when the API answers 401: the query engine is bound off loopback and wants its bearer token. */
export function LoginView({ onLogin }: { onLogin: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="login">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          saveToken(token.trim());
          try {
            await checkToken();
            onLogin();
          } catch (err) {
            saveToken(null);
            setError(err instanceof ApiError && err.needsLogin ? 'That token was refused.' : String(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>Loupe</h1>
        <p>
          This query engine needs an API token (the <code>--token</code> or <code>LOUPE_TOKEN</code> it was
          started with).
        </p>
        <label>
          Token
          <input
            type="password"
            autoFocus
            autoComplete="current-password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
        </label>
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
        {error && <p className="form-error">{error}</p>}
      </form>
    </main>
  );
}
