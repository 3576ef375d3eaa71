import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiFailure, type Answer } from '../api';
import { CopyButton } from '../copy-button';
import { when } from '../format';

type ApiKeyView = Answer<'/api/v1/api-keys'>['api_keys'][number];

type CredentialView = Answer<'/api/v1/credentials'>['credentials'][number];

const message = (err: unknown) => (err instanceof ApiFailure || err instanceof Error ? err.message : String(err));

/** A secret shown once, right after it was made, with a copy button. */
function Secret({ label, value }: { label: string; value: string }) {
  return (
    <div className="secret" role="status">
      <p>
        <strong>{label}</strong> — shown only now; store it where your application keeps secrets.
      </p>
      <div className="field">
        <span className="label">Value</span>
        <code>{value}</code>
        <CopyButton text={value} label={label} />
      </div>
    </div>
  );
}

export function KeysPage({ admin }: { admin: boolean }) {
  const [keys, setKeys] = useState<ApiKeyView[] | null>(null);
  const [credentials, setCredentials] = useState<CredentialView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<{ label: string; value: string; extra?: string } | null>(null);
  const [formError, setFormError] = useState<{ form: 'key' | 'credential'; text: string } | null>(null);

  const load = useCallback(() => {
    api<{ api_keys: ApiKeyView[] }>('GET', '/api/v1/api-keys').then((r) => setKeys(r.api_keys), (err) => setError(message(err)));
    api<{ credentials: CredentialView[] }>('GET', '/api/v1/credentials').then((r) => setCredentials(r.credentials), (err) => setError(message(err)));
  }, []);
  useEffect(() => {
    if (admin) load();
  }, [admin, load]);

  if (!admin)
    return (
      <section>
        <h1>Keys and credentials</h1>
        <p className="muted">API keys and SMTP credentials are managed by the account's admins.</p>
      </section>
    );

  const createKey = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    setFormError(null);
    try {
      const created = await api<ApiKeyView & { key: string }>('POST', '/api/v1/api-keys', { name: String(data.get('name')).trim(), scope: data.get('scope') });
      setShown({ label: `API key "${created.name}"`, value: created.key });
      form.reset();
      load();
    } catch (err) {
      setFormError({ form: 'key', text: message(err) });
    }
  };
  const createCredential = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    setFormError(null);
    try {
      const created = await api<CredentialView & { password: string }>('POST', '/api/v1/credentials', { name: String(data.get('name')).trim() });
      setShown({ label: `SMTP password of "${created.name}"`, value: created.password, extra: `Username: ${created.username}` });
      form.reset();
      load();
    } catch (err) {
      setFormError({ form: 'credential', text: message(err) });
    }
  };
  const revoke = async (what: 'api-keys' | 'credentials', id: string, name: string) => {
    if (!window.confirm(`Revoke "${name}"? It stops working at once.`)) return;
    try {
      await api('DELETE', `/api/v1/${what}/${encodeURIComponent(id)}`);
      load();
    } catch (err) {
      setError(message(err));
    }
  };

  return (
    <section>
      <h1>Keys and credentials</h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {shown && (
        <>
          <Secret label={shown.label} value={shown.value} />
          {shown.extra && <p className="mono">{shown.extra}</p>}
        </>
      )}

      <h2>API keys</h2>
      <p className="muted">For the HTTP API: <code>Authorization: Bearer &lt;key&gt;</code>. A <code>send</code> key sends, <code>read</code> reads, <code>admin</code> does both and manages the account.</p>
      <form className="inline" onSubmit={(e) => void createKey(e)} aria-label="Create an API key">
        <label>
          Key name
          <input name="name" required placeholder="shop-backend" />
        </label>
        <label>
          Scope
          <select name="scope" defaultValue="send">
            <option value="send">send</option>
            <option value="read">read</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit">Create API key</button>
        {formError?.form === 'key' && (
          <p className="error" role="alert">
            {formError.text}
          </p>
        )}
      </form>
      {keys && (
        <div className="table-wrap">
          <table className="list" aria-label="API keys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scope</th>
                <th scope="col">Starts with</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>{k.scope}</td>
                  <td className="mono">{k.prefix}…</td>
                  <td className="nowrap">{when(k.created_at)}</td>
                  <td className="nowrap">{when(k.last_used_at)}</td>
                  <td>
                    <button type="button" className="secondary small" onClick={() => void revoke('api-keys', k.id, k.name)}>
                      Revoke {k.name}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>SMTP credentials</h2>
      <p className="muted">
        For applications that send over SMTP (ports 587 and 465, AUTH PLAIN or LOGIN): a generated username and password. Credentials that let a network relay without a
        password are made on the server (<code>herald credentials create --network</code>).
      </p>
      <form className="inline" onSubmit={(e) => void createCredential(e)} aria-label="Create an SMTP credential">
        <label>
          Credential name
          <input name="name" required placeholder="billing-app" />
        </label>
        <button type="submit">Create SMTP credential</button>
        {formError?.form === 'credential' && (
          <p className="error" role="alert">
            {formError.text}
          </p>
        )}
      </form>
      {credentials && credentials.length === 0 && <p className="muted">No SMTP credentials yet.</p>}
      {credentials && credentials.length > 0 && (
        <div className="table-wrap">
          <table className="list" aria-label="SMTP credentials">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Username or networks</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {credentials.map((c) => (
                <tr key={c.id}>
                  <td>{c.name}</td>
                  <td className="mono">{c.kind === 'password' ? c.username : c.networks.join(', ')}</td>
                  <td className="nowrap">{when(c.created_at)}</td>
                  <td>
                    <button type="button" className="secondary small" onClick={() => void revoke('credentials', c.id, c.name)}>
                      Revoke {c.name}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
