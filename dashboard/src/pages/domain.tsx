import { useEffect, useState } from 'react';
import { api, ApiFailure, type DomainView, type RecordCheckView } from '../api';
import { CopyButton } from '../copy-button';
import { Link } from '../router';
import { when } from '../format';

export function DomainPage({ name, admin }: { name: string; admin: boolean }) {
  const [domain, setDomain] = useState<DomainView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  useEffect(() => {
    api<DomainView>('GET', `/api/v1/domains/${encodeURIComponent(name)}`).then(setDomain, (err: Error) => setError(err.message));
  }, [name]);

  const verify = async () => {
    setChecking(true);
    try {
      const checked = await api<DomainView>('POST', `/api/v1/domains/${encodeURIComponent(name)}/verify`);
      setDomain((d) => ({ ...checked, records: d?.records }));
    } catch (err) {
      setError(err instanceof ApiFailure ? err.message : String(err));
    } finally {
      setChecking(false);
    }
  };

  if (error && !domain)
    return (
      <section>
        <h1>{name}</h1>
        <p className="error" role="alert">
          {error}
        </p>
      </section>
    );
  if (!domain) return <p className="loading" role="status">Loading…</p>;

  const checkOf = (purpose: string, recordName: string): RecordCheckView | undefined => domain.checks.find((c) => c.purpose === purpose && c.name === recordName);

  return (
    <section>
      <p className="crumbs">
        <Link href="/domains">Domains</Link> / {domain.name}
      </p>
      <h1>
        {domain.name} <span className={`status status-${domain.status}`}>{domain.status}</span>
      </h1>
      <p className="muted">
        Last checked {when(domain.checked_at)}
        {domain.sending_stops_at ? ` · sending stops ${when(domain.sending_stops_at)} unless fixed` : ''}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {admin && (
        <p>
          <button type="button" onClick={() => void verify()} disabled={checking}>
            {checking ? 'Checking…' : 'Check the records now'}
          </button>
        </p>
      )}
      <h2>DNS records to publish</h2>
      <p className="muted small">Publish these at your DNS provider, then check. Each record says why it is needed.</p>
      <ol className="records">
        {(domain.records ?? []).map((r) => {
          const check = checkOf(r.purpose, r.name);
          return (
            <li key={`${r.purpose}-${r.name}`} className="record" data-purpose={r.purpose}>
              <div className="record-head">
                <strong>{r.purpose}</strong> <span className="muted">{r.type}</span> {!r.required && <span className="tag">optional</span>}
                <span className={`status status-${check?.status ?? 'unchecked'}`}>{check?.status ?? 'not checked'}</span>
              </div>
              <div className="field">
                <span className="label">Name</span>
                <code>{r.name}</code>
                <CopyButton text={r.name} label={`${r.purpose} record name`} />
              </div>
              <div className="field">
                <span className="label">Value</span>
                <code className="value">{r.value}</code>
                <CopyButton text={r.value} label={`${r.purpose} record value`} />
              </div>
              <p className="muted small">{r.why}</p>
              {check?.problem && <p className="problem">Problem: {check.problem}</p>}
              {check?.fix && <p className="fix">Fix: {check.fix}</p>}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
