import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, query, type DomainView, type Figures, type StatsReport } from '../api';
import { TimeChart, type Series } from '../chart';
import { count, percent, when } from '../format';
import { useLiveReload } from '../live';
import { Link } from '../router';

const METRICS: { key: keyof Figures; label: string; rate?: keyof Figures }[] = [
  { key: 'sent', label: 'Sent' },
  { key: 'delivered', label: 'Delivered', rate: 'delivery_rate' },
  { key: 'bounced', label: 'Bounced', rate: 'bounce_rate' },
  { key: 'complained', label: 'Complained', rate: 'complaint_rate' },
  { key: 'opened_unique', label: 'Opened', rate: 'open_rate' },
  { key: 'clicked_unique', label: 'Clicked', rate: 'click_rate' },
];

const PERIODS = [
  { key: 'day', label: 'Last 24 h' },
  { key: 'week', label: 'Last 7 days' },
  { key: 'month', label: 'Last 30 days' },
] as const;

const QUEUE_STATES = ['queued', 'deferred', 'delivering', 'held'] as const;

/** What is wrong with a domain, in a few words; null when nothing is. */
function attention(d: DomainView): string | null {
  const bad = d.checks.filter((c) => c.required && c.status !== 'ok').length;
  if (bad) return `${bad} record${bad === 1 ? '' : 's'} to fix`;
  if (d.status === 'failing') return 'failing';
  if (d.status !== 'verified') return d.checked_at ? d.status : 'not checked yet';
  return null;
}

/** "3 h 20 min" since a time: how long the oldest waiting message has waited. */
function age(iso: string, now: number): string {
  const minutes = Math.max(0, Math.floor((now - Date.parse(iso)) / 60_000));
  if (minutes < 1) return 'under a minute';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  return `${Math.floor(hours / 24)} days`;
}

function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function OverviewPage() {
  const [stats, setStats] = useState<Record<string, StatsReport> | null>(null);
  const [domains, setDomains] = useState<DomainView[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    const now = new Date();
    const dayAgo = new Date(now.getTime() - 86_400_000).toISOString();
    const monthStart = utcDay(new Date(now.getTime() - 29 * 86_400_000));
    Promise.all([
      api<StatsReport>('GET', `/api/v1/stats${query({ from: dayAgo, group_by: 'hour' })}`),
      api<StatsReport>('GET', '/api/v1/stats'),
      api<StatsReport>('GET', `/api/v1/stats${query({ from: monthStart, group_by: 'day' })}`),
    ]).then(([day, week, month]) => setStats({ day, week, month }), (err: Error) => setError(err.message));
    api<{ domains: DomainView[] }>('GET', '/api/v1/domains').then((r) => setDomains(r.domains), () => setDomains(null));
  }, []);
  useEffect(load, [load]);
  // The figures and the queue follow the account's events; statistics count events about a
  // second after they happen, so the reload waits a little longer.
  useLiveReload(load, { delayMs: 1500 });

  const chart = useMemo(() => {
    if (!stats) return null;
    const rows = stats.month.rows;
    const times = rows.map((r) => Date.parse(`${r.key}T00:00:00Z`) / 1000);
    const pick = (k: keyof Figures) => rows.map((r) => Number(r[k] ?? 0));
    const series: Series[] = [
      { label: 'Sent', values: pick('sent'), colorVar: '--c-sent' },
      { label: 'Delivered', values: pick('delivered'), colorVar: '--c-delivered' },
      { label: 'Bounced', values: pick('bounced'), colorVar: '--c-bounced' },
      { label: 'Opened', values: pick('opened_unique'), colorVar: '--c-opened' },
    ];
    return { times, series };
  }, [stats]);

  const needy = (domains ?? []).flatMap((domain) => {
    const why = attention(domain);
    return why ? [{ domain, why }] : [];
  });
  const queue = stats?.week.queue;

  return (
    <section>
      <h1>Overview</h1>
      {error && (
        <p className="error" role="alert">
          Statistics are not available: {error}
        </p>
      )}
      <div className="table-wrap">
        <table className="figures" aria-label="Sending statistics">
          <thead>
            <tr>
              <th scope="col">Recipients</th>
              {PERIODS.map((p) => (
                <th scope="col" key={p.key}>
                  {p.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {METRICS.map((m) => (
              <tr key={m.key} data-metric={m.key}>
                <th scope="row">{m.label}</th>
                {PERIODS.map((p) => {
                  const totals = stats?.[p.key]?.totals;
                  return (
                    <td key={p.key}>
                      <span className="big">{count(totals?.[m.key] ?? undefined)}</span>
                      {m.rate && totals && <span className="rate"> {percent(totals[m.rate])}</span>}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {stats && <p className="muted small">Counted up to {when(stats.week.updated_at)}; times are UTC days.</p>}

      <h2>Last 30 days</h2>
      {chart ? <TimeChart title="Sent, delivered, bounced and opened per day over the last 30 days" times={chart.times} series={chart.series} /> : <p className="muted">Loading…</p>}

      <h2>Domains that need attention</h2>
      {domains === null ? (
        <p className="muted">Loading…</p>
      ) : needy.length === 0 ? (
        <p className="muted" data-testid="domains-fine">
          {domains.length ? 'Every domain is verified and its records are in place.' : <>No sending domains yet: <Link href="/domains">add one</Link>.</>}
        </p>
      ) : (
        <ul className="attention" aria-label="Domains that need attention">
          {needy.map(({ domain, why }) => (
            <li key={domain.name}>
              <Link href={`/domains/${encodeURIComponent(domain.name)}`}>{domain.name}</Link> <span className={`status status-${domain.status}`}>{domain.status}</span> <span className="muted">{why}</span>
            </li>
          ))}
        </ul>
      )}

      <h2>Queue</h2>
      {queue ? (
        <>
          <ul className="cards" aria-label="Queue depth">
            {QUEUE_STATES.map((s) => (
              <li key={s} className="card">
                <span className="big">{count(queue[s])}</span>
                <span className="label">{s}</span>
              </li>
            ))}
          </ul>
          <p className="muted small" data-testid="queue-oldest">
            {queue.oldest_created_at ? `The oldest waiting message was accepted ${age(queue.oldest_created_at, Date.now())} ago (${when(queue.oldest_created_at)}).` : 'Nothing is waiting.'} Recipients waiting across all accounts.
          </p>
        </>
      ) : (
        <p className="muted">The queue's state is not available.</p>
      )}
    </section>
  );
}
