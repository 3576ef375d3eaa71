import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiFailure, type DomainView } from '../api';
import { Link, navigate } from '../router';
import { when } from '../format';

export function DomainsPage({ admin }: { admin: boolean }) {
  const [domains, setDomains] = useState<DomainView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [addError, setAddError] = useState<string | null>(null);

  useEffect(() => {
    api<{ domains: DomainView[] }>('GET', '/api/v1/domains').then((r) => setDomains(r.domains), (err: Error) => setError(err.message));
  }, []);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setAddError(null);
    try {
      const added = await api<DomainView>('POST', '/api/v1/domains', { name: name.trim() });
      navigate(`/domains/${encodeURIComponent(added.name)}`);
    } catch (err) {
      setAddError(err instanceof ApiFailure ? err.message : String(err));
    }
  };

  return (
    <section>
      <h1>Domains</h1>
      <p className="muted">The domains this account sends from. Each needs a few DNS records so that receivers trust its mail.</p>
      {admin && (
        <form className="inline" onSubmit={(e) => void add(e)} aria-describedby={addError ? 'add-error' : undefined}>
          <label>
            Add a domain
            <input name="name" required placeholder="example.com" value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <button type="submit">Add domain</button>
          {addError && (
            <p className="error" id="add-error" role="alert">
              {addError}
            </p>
          )}
        </form>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {domains && domains.length === 0 && <p className="muted">No domains yet.</p>}
      {domains && domains.length > 0 && (
        <div className="table-wrap">
          <table className="list">
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">Status</th>
                <th scope="col">Last checked</th>
                <th scope="col">Needs attention</th>
              </tr>
            </thead>
            <tbody>
              {domains.map((d) => {
                const problems = d.checks.filter((c) => c.status !== 'ok' && c.required).length;
                return (
                  <tr key={d.name}>
                    <td>
                      <Link href={`/domains/${encodeURIComponent(d.name)}`}>{d.name}</Link>
                    </td>
                    <td>
                      <span className={`status status-${d.status}`}>{d.status}</span>
                    </td>
                    <td>{when(d.checked_at)}</td>
                    <td>{problems ? `${problems} record${problems === 1 ? '' : 's'}` : d.checked_at ? 'no' : 'not checked yet'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
