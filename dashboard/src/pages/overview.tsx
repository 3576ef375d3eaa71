import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, query, type DomainView, type Figures, type StatsReport } from '../api';
import { TimeChart, type Series } from '../chart';
import { count, percent, when } from '../format';
import { useLiveReload } from '../live';
import { Link } from '../router';

/** `worse` marks the figures whose rise is bad news (the change is shown in the warning colour). */
const METRICS: { key: keyof Figures; label: string; rate?: keyof Figures; worse?: boolean }[] = [
  { key: 'sent', label: 'Sent' },
  { key: 'delivered', label: 'Delivered', rate: 'delivery_rate' },
  { key: 'bounced', label: 'Bounced', rate: 'bounce_rate', worse: true },
  { key: 'complained', label: 'Complained', rate: 'complaint_rate', worse: true },
  { key: 'opened_unique', label: 'Opened', rate: 'open_rate' },
  { key: 'clicked_unique', label: 'Clicked', rate: 'click_rate' },
];

const PERIODS = [
  { key: 'hour', label: 'Last hour' },
  { key: 'day', label: 'Last 24 h' },
  { key: 'month', label: 'Last 30 days' },
] as const;
type Period = (typeof PERIODS)[number]['key'];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Ranges = { current: Record<string, string>; previous: Record<string, string> };

/**
 * The ranges of the three periods and of the period before each, as stats queries. The account's
 * figures of the last 48 hours are counted to the minute, so the last hour is the last 60
 * minutes and the last 24 h the last 24 × 60, each ending with the current minute (so far);
 * the last 30 days are today and the 29 UTC days before. The 24-hour chart has a point per UTC
 * hour: this hour so far and the 23 before.
 */
function ranges(now: Date): { periods: Record<Period, Ranges>; chart: Record<string, string> } {
  const end = (Math.floor(now.getTime() / MINUTE) + 1) * MINUTE;
  const hour = Math.floor(now.getTime() / HOUR) * HOUR;
  const iso = (t: number) => new Date(t).toISOString();
  const today = Date.parse(utcDay(now));
  const last = (length: number): Ranges => ({ current: { from: iso(end - length), to: iso(end) }, previous: { from: iso(end - 2 * length), to: iso(end - length) } });
  return {
    periods: {
      hour: last(HOUR),
      day: last(DAY),
      month: { current: { from: utcDay(new Date(today - 29 * DAY)), group_by: 'day' }, previous: { from: utcDay(new Date(today - 59 * DAY)), to: utcDay(new Date(today - 30 * DAY)) } },
    },
    chart: { from: iso(hour - 23 * HOUR), group_by: 'hour' },
  };
}

/** The change from the previous period, as a short mark with its words for screen readers (an image
 * role: a plain span's label is not read). */
function Change({ now, before, worse }: { now: number; before: number; worse?: boolean }) {
  if (now === before) {
    return (
      <span className="change" role="img" aria-label="the same as the period before" title="The same as the period before">
        ±0
      </span>
    );
  }
  const up = now > before;
  const words = before === 0 ? 'none the period before' : `${up ? 'up' : 'down'} ${Math.round((Math.abs(now - before) / before) * 100)}% from ${count(before)} the period before`;
  return (
    <span className={`change change-${up ? 'up' : 'down'}${worse ? ' change-bad' : ''}`} role="img" aria-label={words} title={words}>
      {before === 0 ? 'new' : `${up ? '▲' : '▼'} ${Math.round((Math.abs(now - before) / before) * 100)}%`}
    </span>
  );
}

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

/** Each period and the one before it, and the hours of the 24-hour chart. */
interface OverviewStats {
  periods: Record<Period, { current: StatsReport; previous: StatsReport }>;
  hourly: StatsReport;
}

export function OverviewPage() {
  const [stats, setStats] = useState<OverviewStats | null>(null);
  const [domains, setDomains] = useState<DomainView[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    const wanted = ranges(new Date());
    const read = (params: Record<string, string>) => api<StatsReport>('GET', `/api/v1/stats${query(params)}`);
    // Seven small reads of the roll-ups: each period and the one before it, and the hours of the chart.
    Promise.all([
      Promise.all(PERIODS.map(async ({ key }) => [key, { current: await read(wanted.periods[key].current), previous: await read(wanted.periods[key].previous) }] as const)),
      read(wanted.chart),
    ]).then(
      ([answers, hourly]) => {
        setError(null);
        setStats({ periods: Object.fromEntries(answers) as OverviewStats['periods'], hourly });
      },
      (err: Error) => setError(err.message),
    );
    api<{ domains: DomainView[] }>('GET', '/api/v1/domains').then((r) => setDomains(r.domains), () => setDomains(null));
  }, []);
  useEffect(load, [load]);
  // The figures and the queue follow the account's events; statistics count events about a
  // second after they happen, so the reload waits a little longer.
  useLiveReload(load, { delayMs: 1500 });

  const charts = useMemo(() => {
    if (!stats) return null;
    const plot = (rows: StatsReport['rows'], time: (key: string) => number) => {
      const pick = (k: keyof Figures) => rows.map((r) => Number(r[k] ?? 0));
      const series: Series[] = [
        { label: 'Sent', values: pick('sent'), colorVar: '--c-sent' },
        { label: 'Delivered', values: pick('delivered'), colorVar: '--c-delivered' },
        { label: 'Bounced', values: pick('bounced'), colorVar: '--c-bounced' },
        { label: 'Opened', values: pick('opened_unique'), colorVar: '--c-opened' },
      ];
      return { times: rows.map((r) => time(r.key) / 1000), series };
    };
    return {
      day: plot(stats.hourly.rows, (key) => Date.parse(key)),
      month: plot(stats.periods.month.current.rows, (key) => Date.parse(`${key}T00:00:00Z`)),
    };
  }, [stats]);

  const needy = (domains ?? []).flatMap((domain) => {
    const why = attention(domain);
    return why ? [{ domain, why }] : [];
  });
  const queue = stats?.periods.hour.current.queue;

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
                  const totals = stats?.periods[p.key].current.totals;
                  const before = stats?.periods[p.key].previous.totals;
                  return (
                    <td key={p.key}>
                      <span className="big">{count(totals?.[m.key] ?? undefined)}</span>
                      {m.rate && totals && <span className="rate"> {percent(totals[m.rate])}</span>}
                      {totals && before && <Change now={Number(totals[m.key] ?? 0)} before={Number(before[m.key] ?? 0)} worse={m.worse} />}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {stats && (
        <p className="muted small">
          Counted up to {when(stats.periods.hour.current.updated_at)}. The last hour is the last 60 minutes and the last 24 h the last 24 × 60, up to the current minute; the last 30 days are today and
          the 29 UTC days before. Each change compares with the period of the same length just before.
        </p>
      )}

      <div className="charts">
        <div>
          <h2>Last 24 hours</h2>
          {charts ? <TimeChart title="Sent, delivered, bounced and opened per hour over the last 24 hours" times={charts.day.times} series={charts.day.series} /> : <p className="muted">Loading…</p>}
        </div>
        <div>
          <h2>Last 30 days</h2>
          {charts ? <TimeChart title="Sent, delivered, bounced and opened per day over the last 30 days" times={charts.month.times} series={charts.month.series} /> : <p className="muted">Loading…</p>}
        </div>
      </div>

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
