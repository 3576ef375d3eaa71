import { useState, type FormEvent } from 'react';
import { api, ApiFailure, type SessionInfo } from '../api';

export function SignInPage({ onSignedIn }: { onSignedIn(session: SessionInfo): void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api<SessionInfo>('POST', '/api/v1/session', { email, password }));
    } catch (err) {
      setError(err instanceof ApiFailure ? err.message : 'Herald could not be reached; try again.');
      setBusy(false);
    }
  };

  return (
    <main className="sign-in" id="main">
      <form onSubmit={(e) => void submit(e)} aria-describedby={error ? 'sign-in-error' : undefined}>
        <h1>Sign in to Herald</h1>
        <label>
          E-mail address
          <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && (
          <p className="error" id="sign-in-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">
          No user yet? On the server, run <code>herald users create --email you@example.com --operator</code>.
        </p>
      </form>
    </main>
  );
}
