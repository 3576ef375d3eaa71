import { useState, type FormEvent } from 'react';
import { api, type DomainView } from '../api';
import { ListTable, Problem } from '../components';
import { message, useLoad } from '../hooks';
import { Link, navigate } from '../router';
import { when } from '../format';

export function DomainsPage({ admin }: { admin: boolean }) {
  const { data: domains, error } = useLoad(() => api<{ domains: DomainView[] }>('GET', '/api/v1/domains').then((r) => r.domains), []);
  const [name, setName] = useState('');
  const [addError, setAddError] = useState<string | null>(null);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setAddError(null);
    try {
      const added = await api<DomainView>('POST', '/api/v1/domains', { name: name.trim() });
      navigate(`/domains/${encodeURIComponent(added.name)}`);
    } catch (err) {
      setAddError(message(err));
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
          <Problem text={addError} id="add-error" />
        </form>
      )}
      <Problem text={error} />
      <ListTable
        rows={domains}
        empty="No domains yet."
        columns={['Domain', 'Status', 'Last checked', 'Needs attention']}
        row={(d) => {
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
        }}
      />
    </section>
  );
}
