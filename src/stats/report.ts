import { invalidContent } from '../core/index.js';
import { emptyCounters, type SqlStatsStore, type StatsQueryResult } from './sql-stats-store.js';
import { GROUP_BYS, STATS_STREAMS, type StatsCounters, type StatsFigures, type StatsGroupBy, type StatsQuery, type StatsRates, type StatsReport, type StatsRow, type StatsStream } from './types.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** group_by=hour covers at most this many hours (31 days) … */
export const MAX_HOURLY_RANGE_HOURS = 31 * 24;
/** … and every other grouping at most this many (400 days): the hour rows a question may read. */
export const MAX_RANGE_HOURS = 400 * 24;
/** The range when none is given: today and the 6 days before it (UTC). */
export const DEFAULT_RANGE_DAYS = 7;
const MAX_TAG_LENGTH = 128;
const MAX_DOMAIN_LENGTH = 253;

/** A statistics question as the user wrote it (query string, CLI options). */
export interface StatsParams {
  from?: string;
  to?: string;
  groupBy?: string;
  stream?: string;
  tag?: string;
  domain?: string;
}

const DATE = /^\d{4}-\d\d-\d\d$/;
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)?$/i;

/** A time the user gave: a UTC day (2030-03-01) or an ISO 8601 time, UTC unless it names an offset. */
function parseTime(text: string, field: 'from' | 'to'): { ms: number; dateOnly: boolean } {
  const t = text.trim();
  const bad = () => invalidContent(field, `${field} must be a date (2030-03-01) or an ISO 8601 time (2030-03-01T10:00:00Z), not "${t.slice(0, 40)}"`);
  if (DATE.test(t)) {
    const ms = Date.parse(`${t}T00:00:00Z`);
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== t) throw bad();
    return { ms, dateOnly: true };
  }
  if (!DATE_TIME.test(t)) throw bad();
  // Without an offset the time is UTC, as every statistic is (Date.parse would take it as local).
  const ms = Date.parse(/(?:Z|[+-]\d\d:?\d\d)$/i.test(t) ? t : `${t}Z`);
  if (Number.isNaN(ms)) throw bad();
  return { ms, dateOnly: false };
}

/**
 * Checks a question and sets its range: `from` is rounded down and `to` up to whole UTC minutes
 * (the store counts whole hours where it has no minutes: SqlStatsStore.query); a date alone as
 * `to` includes that whole day. Without `to`, the range ends with the current minute; without
 * `from`, it is today and the six days before (or the seven days before `to`). The range's
 * limits are checked in whole hours. Throws `invalidContent` naming the field.
 */
export function parseStatsQuery(accountId: string, params: StatsParams, now: Date): StatsQuery {
  const groupBy = (params.groupBy ?? 'day') as StatsGroupBy;
  if (!GROUP_BYS.includes(groupBy)) throw invalidContent('group_by', `group_by is one of ${GROUP_BYS.join(', ')}, not "${String(params.groupBy).slice(0, 40)}"`);
  let to: number;
  if (params.to !== undefined && params.to !== '') {
    const t = parseTime(params.to, 'to');
    to = t.dateOnly ? t.ms + DAY_MS : Math.ceil(t.ms / MINUTE_MS) * MINUTE_MS;
  } else {
    // The minute now running included.
    to = (Math.floor(now.getTime() / MINUTE_MS) + 1) * MINUTE_MS;
  }
  let from: number;
  if (params.from !== undefined && params.from !== '') {
    from = Math.floor(parseTime(params.from, 'from').ms / MINUTE_MS) * MINUTE_MS;
  } else if (params.to !== undefined && params.to !== '') {
    from = to - DEFAULT_RANGE_DAYS * DAY_MS;
  } else {
    from = Math.floor(now.getTime() / DAY_MS) * DAY_MS - (DEFAULT_RANGE_DAYS - 1) * DAY_MS;
  }
  if (from >= to) throw invalidContent('to', 'to must be after from');
  // The hours the range touches: at most that many hour rows are read.
  const hours = Math.ceil(to / HOUR_MS) - Math.floor(from / HOUR_MS);
  if (groupBy === 'hour' && hours > MAX_HOURLY_RANGE_HOURS) {
    throw invalidContent('from', `group_by=hour covers at most ${MAX_HOURLY_RANGE_HOURS / 24} days (${MAX_HOURLY_RANGE_HOURS} hours); this range has ${hours} hours — narrow from and to, or use group_by=day`);
  }
  if (hours > MAX_RANGE_HOURS) throw invalidContent('from', `a range covers at most ${MAX_RANGE_HOURS / 24} days; this one has ${Math.ceil(hours / 24)}`);

  const query: StatsQuery = { accountId, from: new Date(from), to: new Date(to), groupBy };
  if (params.stream !== undefined) {
    if (!(STATS_STREAMS as readonly string[]).includes(params.stream)) throw invalidContent('stream', `stream is "transactional" or "broadcast", not "${params.stream.slice(0, 40)}"`);
    query.stream = params.stream as StatsStream;
  }
  if (params.tag !== undefined) {
    if (params.tag === '' || params.tag.length > MAX_TAG_LENGTH) throw invalidContent('tag', `a tag is 1 to ${MAX_TAG_LENGTH} characters`);
    query.tag = params.tag;
  }
  if (params.domain !== undefined) {
    const domain = params.domain.trim().toLowerCase().replace(/\.$/, '');
    if (domain === '' || domain.length > MAX_DOMAIN_LENGTH || /[\s@/]/.test(domain)) throw invalidContent('domain', `"${params.domain.slice(0, 40)}" is not a domain name (the part of an address after @)`);
    query.domain = domain;
  }
  // Which filters combine with which grouping is the store's to say (SqlStatsStore.query).
  return query;
}

const rate = (n: number, d: number): number | null => (d === 0 ? null : Math.round((n / d) * 10_000) / 10_000);

/** The rates users watch; null where the denominator is 0. */
export function ratesOf(c: StatsCounters): StatsRates {
  return {
    delivery_rate: rate(c.delivered, c.sent),
    bounce_rate: rate(c.bounced_hard + c.bounced_soft, c.sent),
    complaint_rate: rate(c.complained, c.delivered),
    open_rate: rate(c.opened_unique, c.delivered),
    click_rate: rate(c.clicked_unique, c.delivered),
  };
}

export function figuresOf(c: StatsCounters): StatsFigures {
  return { ...c, bounced: c.bounced_hard + c.bounced_soft, ...ratesOf(c) };
}

const dayKey = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const hourKey = (hour: number) => `${new Date(hour * HOUR_MS).toISOString().slice(0, 13)}:00:00Z`;

/**
 * The answer to a checked question: totals, and a row per group with every counter and the
 * rates. Days and hours are listed in order, each one in the range even when nothing happened
 * (a chart needs the zeros); streams both (or the one filtered); domains and tags the largest by
 * sent first.
 */
export async function statsReport(store: Pick<SqlStatsStore, 'query' | 'updatedAt'>, query: StatsQuery): Promise<StatsReport> {
  const result: StatsQueryResult = await store.query(query);
  const byKey = new Map(result.groups.map((g) => [g.key, g.counters]));
  const row = (key: string, counters: StatsCounters | undefined): StatsRow => ({ key, ...figuresOf(counters ?? emptyCounters()) });
  let rows: StatsRow[];
  // The range counted, which the store may have rounded out to whole hours.
  const from = result.from.getTime();
  const to = result.to.getTime();
  switch (query.groupBy) {
    case 'hour':
      rows = [];
      for (let h = from / HOUR_MS; h < to / HOUR_MS; h++) rows.push(row(hourKey(h), byKey.get(h)));
      break;
    case 'day':
      rows = [];
      for (let d = Math.floor(from / DAY_MS); d <= Math.floor((to - 1) / DAY_MS); d++) rows.push(row(dayKey(d), byKey.get(d)));
      break;
    case 'stream':
      rows = (query.stream ? [query.stream] : [...STATS_STREAMS]).map((s) => row(s, byKey.get(s)));
      break;
    default:
      rows = result.groups.map((g) => row(String(g.key), g.counters));
  }
  return {
    from: result.from,
    to: result.to,
    groupBy: query.groupBy,
    filters: { stream: query.stream ?? null, tag: query.tag ?? null, domain: query.domain ?? null },
    totals: figuresOf(result.totals),
    rows,
    truncated: result.truncated,
    updatedAt: await store.updatedAt(),
  };
}

/** The report as JSON shows it (API and `herald stats --json`): ISO times, snake_case names. */
export function statsView(r: StatsReport) {
  return {
    from: r.from.toISOString(),
    to: r.to.toISOString(),
    group_by: r.groupBy,
    filters: r.filters,
    totals: r.totals,
    rows: r.rows,
    truncated: r.truncated,
    updated_at: r.updatedAt ? r.updatedAt.toISOString() : null,
  };
}
