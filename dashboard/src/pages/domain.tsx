import { useState } from 'react';
import { api, type DomainView, type RecordCheckView } from '../api';
import { Crumbs, ErrorPanel, Loading, Problem } from '../components';
import { CopyButton } from '../copy-button';
import { message, useLoad } from '../hooks';
import { when } from '../format';

export function DomainPage({ name, admin }: { name: string; admin: boolean }) {
  const { data: domain, setData: setDomain, error, setError } = useLoad(() => api<DomainView>('GET', `/api/v1/domains/${encodeURIComponent(name)}`), [name]);
  const [checking, setChecking] = useState(false);

  const verify = async () => {
    setChecking(true);
    try {
      const checked = await api<DomainView>('POST', `/api/v1/domains/${encodeURIComponent(name)}/verify`);
      setDomain((d) => ({ ...checked, records: d?.records }));
    } catch (err) {
      setError(message(err));
    } finally {
      setChecking(false);
    }
  };

  if (error && !domain) return <ErrorPanel title={name} error={error} />;
  if (!domain) return <Loading />;

  const checkOf = (purpose: string, recordName: string): RecordCheckView | undefined => domain.checks.find((c) => c.purpose === purpose && c.name === recordName);

  return (
    <section>
      <Crumbs href="/domains" section="Domains" here={domain.name} />
      <h1>
        {domain.name} <span className={`status status-${domain.status}`}>{domain.status}</span>
      </h1>
      <p className="muted">
        Last checked {when(domain.checked_at)}
        {domain.sending_stops_at ? ` · sending stops ${when(domain.sending_stops_at)} unless fixed` : ''}
      </p>
      <Problem text={error} />
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
