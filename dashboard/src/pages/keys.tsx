import { useState, type FormEvent } from 'react';
import { api, type Answer } from '../api';
import { ACTIONS, AdminOnly, ListTable, Problem, SecretShown } from '../components';
import { message, useLoad } from '../hooks';
import { when } from '../format';

type ApiKeyView = Answer<'/api/v1/api-keys'>['api_keys'][number];

type CredentialView = Answer<'/api/v1/credentials'>['credentials'][number];

/** A secret to show once: what it is, its value, and for a credential the username that goes with it. */
type Shown = { label: string; value: string; extra?: string };

export function KeysPage({ admin }: { admin: boolean }) {
  const keys = useLoad(() => api<{ api_keys: ApiKeyView[] }>('GET', '/api/v1/api-keys').then((r) => r.api_keys), [], admin);
  const credentials = useLoad(() => api<{ credentials: CredentialView[] }>('GET', '/api/v1/credentials').then((r) => r.credentials), [], admin);
  const [shown, setShown] = useState<Shown | null>(null);
  const [formError, setFormError] = useState<{ form: 'key' | 'credential'; text: string } | null>(null);

  if (!admin) return <AdminOnly title="Keys and credentials" what="API keys and SMTP credentials" />;

  const load = () => {
    keys.reload();
    credentials.reload();
  };
  /** A create form's submit: makes the thing, shows its secret once and lists it. */
  const create = (form: 'key' | 'credential', make: (data: FormData) => Promise<Shown>) => async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const element = e.currentTarget;
    const data = new FormData(element);
    setFormError(null);
    try {
      setShown(await make(data));
      element.reset();
      load();
    } catch (err) {
      setFormError({ form, text: message(err) });
    }
  };
  const createKey = create('key', async (data) => {
    const created = await api<ApiKeyView & { key: string }>('POST', '/api/v1/api-keys', { name: String(data.get('name')).trim(), scope: data.get('scope') });
    return { label: `API key "${created.name}"`, value: created.key };
  });
  const createCredential = create('credential', async (data) => {
    const created = await api<CredentialView & { password: string }>('POST', '/api/v1/credentials', { name: String(data.get('name')).trim() });
    return { label: `SMTP password of "${created.name}"`, value: created.password, extra: `Username: ${created.username}` };
  });
  const revoke = async (what: 'api-keys' | 'credentials', id: string, name: string) => {
    if (!window.confirm(`Revoke "${name}"? It stops working at once.`)) return;
    try {
      await api('DELETE', `/api/v1/${what}/${encodeURIComponent(id)}`);
      load();
    } catch (err) {
      keys.setError(message(err));
    }
  };

  return (
    <section>
      <h1>Keys and credentials</h1>
      <Problem text={keys.error ?? credentials.error} />
      {shown && (
        <>
          <SecretShown title={shown.label} note="shown only now; store it where your application keeps secrets." field="Value" value={shown.value} copyLabel={shown.label} />
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
        <Problem text={formError?.form === 'key' ? formError.text : null} />
      </form>
      <ListTable
        rows={keys.data}
        label="API keys"
        columns={['Name', 'Scope', 'Starts with', 'Created', 'Last used', ACTIONS]}
        row={(k) => (
          <tr key={k.id}>
            <td>{k.name}</td>
            <td>{k.scope}</td>
            <td className="mono">{k.prefix}…</td>
            <td className="nowrap">{when(k.created_at)}</td>
            <td className="nowrap">{when(k.last_used_at)}</td>
            <td>
              <RevokeButton name={k.name} onClick={() => void revoke('api-keys', k.id, k.name)} />
            </td>
          </tr>
        )}
      />

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
        <Problem text={formError?.form === 'credential' ? formError.text : null} />
      </form>
      <ListTable
        rows={credentials.data}
        label="SMTP credentials"
        empty="No SMTP credentials yet."
        columns={['Name', 'Username or networks', 'Created', ACTIONS]}
        row={(c) => (
          <tr key={c.id}>
            <td>{c.name}</td>
            <td className="mono">{c.kind === 'password' ? c.username : c.networks.join(', ')}</td>
            <td className="nowrap">{when(c.created_at)}</td>
            <td>
              <RevokeButton name={c.name} onClick={() => void revoke('credentials', c.id, c.name)} />
            </td>
          </tr>
        )}
      />
    </section>
  );
}

function RevokeButton({ name, onClick }: { name: string; onClick: () => void }) {
  return (
    <button type="button" className="secondary small" onClick={onClick}>
      Revoke {name}
    </button>
  );
}
