import { firstMessageIdAt, invalidContent, systemClock, type Clock, type MailEvent } from '../core/index.js';
import { migrate, type Migration, type SqliteDatabase } from '../storage/index.js';
import { COUNTED_EVENT_TYPES, rollupEvent, type FirstTime } from './rollup.js';
import { COUNTERS, STATS_STREAMS, type Counter, type StatsCounters, type StatsDimension, type StatsLabels, type StatsQuery, type StatsStream } from './types.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const MINUTES_PER_HOUR = 60;
const HOURS_PER_DAY = 24;
const MINUTES_PER_DAY = HOURS_PER_DAY * MINUTES_PER_HOUR;

/**
 * How long the minute rows are kept. They exist to make recent ranges exact (the last 60
 * minutes, the last 24 hours and the 24 before them); a range's end further back rounds to the hour.
 */
export const MINUTE_RETENTION_MS = 48 * HOUR_MS;

const counterColumns = COUNTERS.map((c) => `        ${c} INTEGER NOT NULL DEFAULT 0,`).join('\n');

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- Counters per account, dimension, time bucket, dimension value ('' for dimension 'all';
      -- the recipient's domain; a tag) and stream. Every event is counted twice: in its UTC hour
      -- (span 'h', bucket = hours since 1970-01-01T00:00Z) and its UTC day (span 'd', bucket =
      -- days since then), so a question about weeks reads days, 24 times fewer rows, and only
      -- group_by=hour and the partial days at a range's ends read hours. A message has one
      -- stream, so keeping the stream in the key costs no extra row per event and lets a stream
      -- filter combine with any grouping. The key serves a range of buckets of one dimension
      -- (totals, by day or hour, every domain or tag); the second index one value's buckets (a
      -- domain=… or tag=… filter); the third the purge by age.
      CREATE TABLE stats_rollups (
        account_id  TEXT NOT NULL,
        dimension   TEXT NOT NULL,
        span        TEXT NOT NULL,
        bucket      INTEGER NOT NULL,
        value       TEXT NOT NULL,
        stream      TEXT NOT NULL,
${counterColumns}
        PRIMARY KEY (account_id, dimension, span, bucket, value, stream)
      ) WITHOUT ROWID;
      CREATE INDEX stats_rollups_value ON stats_rollups (account_id, dimension, value, span, bucket);
      CREATE INDEX stats_rollups_age ON stats_rollups (span, bucket);

      -- Facts counted once per message and recipient (unique opens and clicks, complaints,
      -- unsubscribes): the first sighting is written in the transaction that counts it.
      -- recipient '' stands for "the message" (an open of a message with several recipients).
      -- Message ids begin with their creation time, so the key also serves the purge by age.
      CREATE TABLE stats_seen (
        message_id  TEXT NOT NULL,
        recipient   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        PRIMARY KEY (message_id, recipient, kind)
      ) WITHOUT ROWID;

      -- How far the roll-ups have read the outbox; moved in the same transaction as the counts.
      CREATE TABLE stats_feed (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq    INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      -- The account's figures (dimension 'all' only: tags and domains stay hourly, to keep writes
      -- small) are also kept per UTC minute: span 'm', bucket = minutes since 1970-01-01T00:00Z,
      -- so a range ending within the last 48 hours is counted to the minute. What was counted
      -- before this migration has no minute rows: minutes_from is when that counting stopped
      -- (ms); minute rows are whole from the next minute on (null: counting began with them).
      ALTER TABLE stats_feed ADD COLUMN minutes_from INTEGER;
      UPDATE stats_feed SET minutes_from = updated_at;
    `,
  },
];

/** The most groups (domains, tags) one answer lists; the largest by sent come first. */
export const MAX_GROUPS = 1000;

const COUNTED = new Set<string>(COUNTED_EVENT_TYPES);
const COUNTER_INDEX = new Map<Counter, number>(COUNTERS.map((c, i) => [c, i]));

/** 'm': a bucket is a minute; 'h': an hour; 'd': a day. */
type Span = 'm' | 'h' | 'd';
const SPAN_MINUTES: Record<Span, number> = { m: 1, h: MINUTES_PER_HOUR, d: MINUTES_PER_DAY };

/** One row's change in a page: its key and what each counter goes up by. */
interface Delta {
  accountId: string;
  dimension: StatsDimension;
  span: Span;
  bucket: number;
  value: string;
  stream: StatsStream;
  counts: number[];
}

/** A run of buckets one query reads: [from, to) in minutes ('m'), hours ('h') or days ('d'). */
interface Part {
  span: Span;
  from: number;
  to: number;
}

/**
 * The buckets that cover [from, to) (minutes since 1970, on whole buckets of the finest span),
 * `spans` coarsest first: the coarsest span's whole buckets, and what is left at either end
 * from the next finer span, and so on. By day, hour and minute, a week from 10:15 to 10:15 is
 * 6 day rows, 13 + 10 hour rows and 45 + 15 minute rows (per stream).
 */
function partsOf(from: number, to: number, spans: readonly Span[]): Part[] {
  if (from >= to) return [];
  const [span, ...finer] = spans;
  const size = SPAN_MINUTES[span];
  const first = Math.ceil(from / size);
  const end = Math.floor(to / size);
  if (finer.length === 0) return [{ span, from: Math.floor(from / size), to: Math.ceil(to / size) }];
  if (first >= end) return partsOf(from, to, finer);
  return [{ span, from: first, to: end }, ...partsOf(from, first * size, finer), ...partsOf(end * size, to, finer)];
}

export interface StatsGroup {
  /** The hour or day number (hours or days since 1970-01-01 UTC), or the domain, tag or stream. */
  key: number | string;
  counters: StatsCounters;
}

export interface StatsQueryResult {
  /** The range counted: the question's, to the minute or rounded outward to whole hours (see query). */
  from: Date;
  to: Date;
  totals: StatsCounters;
  groups: StatsGroup[];
  /** More domains or tags matched than MAX_GROUPS. */
  truncated: boolean;
}

export function emptyCounters(): StatsCounters {
  return Object.fromEntries(COUNTERS.map((c) => [c, 0])) as StatsCounters;
}

const streamOf = (labels: StatsLabels | null | undefined, data: Record<string, unknown>): StatsStream => {
  const stream = labels?.stream ?? data.stream;
  return (STATS_STREAMS as readonly unknown[]).includes(stream) ? (stream as StatsStream) : 'transactional';
};

/**
 * Statistics roll-ups in the embedded SQLite database: counters per account, UTC hour and day,
 * stream and dimension (all, recipient domain, tag), and per UTC minute for the whole account's
 * figures of the last 48 hours, filled from the event outbox by the stats feeder and
 * read by `GET /api/v1/stats` and `herald stats`. Reading never touches the event table.
 */
export class SqliteStatsStore {
  private readonly clock: Clock;
  /** The first minute (since 1970) the minute rows are whole from, whatever their age. */
  private readonly minutesWholeFrom: number;
  private readonly s;
  private readonly queries = new Map<string, ReturnType<SqliteDatabase['prepare']>>();

  constructor(
    private readonly db: SqliteDatabase,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    migrate(db, 'stats', MIGRATIONS);
    const columns = COUNTERS.join(', ');
    this.s = {
      upsert: db.prepare(
        `INSERT INTO stats_rollups (account_id, dimension, span, bucket, value, stream, ${columns})
         VALUES (?, ?, ?, ?, ?, ?, ${COUNTERS.map(() => '?').join(', ')})
         ON CONFLICT (account_id, dimension, span, bucket, value, stream) DO UPDATE SET ${COUNTERS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
      ),
      seen: db.prepare('INSERT OR IGNORE INTO stats_seen (message_id, recipient, kind) VALUES (?, ?, ?)'),
      cursor: db.prepare('SELECT last_seq, updated_at FROM stats_feed WHERE id = 1'),
      setCursor: db.prepare('INSERT INTO stats_feed (id, last_seq, updated_at) VALUES (1, @seq, @now) ON CONFLICT (id) DO UPDATE SET last_seq = @seq, updated_at = @now'),
      purgeRollups: db.prepare("DELETE FROM stats_rollups WHERE (span = 'h' AND bucket < @hour) OR (span = 'd' AND bucket < @day)"),
      purgeMinutes: db.prepare("DELETE FROM stats_rollups WHERE span = 'm' AND bucket < ?"),
      purgeSeen: db.prepare('DELETE FROM stats_seen WHERE message_id < ?'),
    };
    // Set by a migration only, so read once.
    const minutesFrom = (db.prepare('SELECT minutes_from FROM stats_feed WHERE id = 1').get() as { minutes_from: number | null } | undefined)?.minutes_from ?? null;
    // Events of the minute that counting stopped in may have been counted without a minute row.
    this.minutesWholeFrom = minutesFrom === null ? -Infinity : Math.floor(minutesFrom / MINUTE_MS) + 1;
  }

  /** The oldest minute whose rows are kept: minute rows before it are purged (or about to be). */
  private firstKeptMinute(): number {
    return Math.floor((this.clock.now().getTime() - MINUTE_RETENTION_MS) / MINUTE_MS);
  }

  /** The seq of the last outbox event the roll-ups took into account (0: none yet). */
  feedCursor(): number {
    return (this.s.cursor.get() as { last_seq: number } | undefined)?.last_seq ?? 0;
  }

  /** When the roll-ups last took events in; null before the first time. */
  updatedAt(): Date | null {
    const row = this.s.cursor.get() as { updated_at: number } | undefined;
    return row ? new Date(row.updated_at) : null;
  }

  /**
   * Counts the events after `expectedSeq` up to `lastSeq` and moves the cursor to `lastSeq`, in
   * one transaction: a crash keeps all of it or none, so no event is counted twice. `labels`
   * holds each message's tags and stream (null: the message is gone; its events count without
   * tags). When the cursor is no longer at `expectedSeq` nothing is written and it returns false.
   */
  applyPage(expectedSeq: number, lastSeq: number, events: readonly MailEvent[], labels: ReadonlyMap<string, StatsLabels | null>): boolean {
    return this.db
      .transaction(() => {
        if (this.feedCursor() !== expectedSeq) return false;
        // Deltas are gathered per row first: a page's events mostly share their hours, so each
        // row is written once per page, not once per event.
        const deltas = new Map<string, Delta>();
        const bump = (accountId: string, dimension: StatsDimension, span: Span, bucket: number, value: string, stream: StatsStream, counters: Counter[], n: number) => {
          const key = `${accountId}\u0000${dimension}\u0000${span}${bucket}\u0000${value}\u0000${stream}`;
          let delta = deltas.get(key);
          if (!delta) deltas.set(key, (delta = { accountId, dimension, span, bucket, value, stream, counts: new Array<number>(COUNTERS.length).fill(0) }));
          for (const c of counters) delta.counts[COUNTER_INDEX.get(c)!] += n;
        };
        // Events older than the minute rows are kept (a catch-up after downtime) get none.
        const firstMinute = this.firstKeptMinute();
        const add = (accountId: string, dimension: StatsDimension, minute: number, value: string, stream: StatsStream, counters: Counter[], n: number) => {
          // By the minute only the whole account's figures: one row more per minute, not one per tag and domain too.
          if (dimension === 'all' && minute >= firstMinute) bump(accountId, dimension, 'm', minute, value, stream, counters, n);
          bump(accountId, dimension, 'h', Math.floor(minute / MINUTES_PER_HOUR), value, stream, counters, n);
          bump(accountId, dimension, 'd', Math.floor(minute / MINUTES_PER_DAY), value, stream, counters, n);
        };
        const firstTime: FirstTime = (messageId, recipient, kind) => this.s.seen.run(messageId, recipient, kind).changes > 0;
        for (const event of events) {
          if (!event.accountId || !event.messageId || !COUNTED.has(event.type)) continue;
          const data = event.data ?? {};
          // Delivery reports Herald sends about the account's mail are not the account's mail.
          if (event.type === 'accepted' && data.source === 'dsn') continue;
          const label = labels.get(event.messageId);
          if (label?.dsnFor) continue;
          const contribution = rollupEvent(event, firstTime);
          if (!contribution) continue;
          const { counters, weight, domains } = contribution;
          const minute = Math.floor(event.at.getTime() / MINUTE_MS);
          const stream = streamOf(label, data);
          add(event.accountId, 'all', minute, '', stream, counters, weight);
          // Tags are unique per message (the accept pipeline removes repeats).
          for (const tag of label?.tags ?? []) add(event.accountId, 'tag', minute, tag, stream, counters, weight);
          for (const [domain, n] of domains) add(event.accountId, 'domain', minute, domain, stream, counters, n);
        }
        for (const d of deltas.values()) this.s.upsert.run(d.accountId, d.dimension, d.span, d.bucket, d.value, d.stream, ...d.counts);
        this.s.setCursor.run({ seq: lastSeq, now: this.clock.now().getTime() });
        return true;
      })
      .immediate();
  }

  /**
   * The range a question counts, in minutes since 1970, and the spans that cover it. The whole
   * account's figures (no tag or domain filter, grouped by day or stream) are counted to the
   * minute at each end whose minute rows are kept and whole, else from the end's whole hour
   * (rounded outward); tags, domains and group_by=hour (whose groups are hours) always by the hour.
   */
  private settle(q: StatsQuery): { from: number; to: number; spans: readonly Span[] } {
    const fromMinute = Math.floor(q.from.getTime() / MINUTE_MS);
    const toMinute = Math.ceil(q.to.getTime() / MINUTE_MS);
    const hourDown = (minute: number) => Math.floor(minute / MINUTES_PER_HOUR) * MINUTES_PER_HOUR;
    const hourUp = (minute: number) => Math.ceil(minute / MINUTES_PER_HOUR) * MINUTES_PER_HOUR;
    const byMinute = q.tag === undefined && q.domain === undefined && (q.groupBy === 'day' || q.groupBy === 'stream');
    if (!byMinute) return { from: hourDown(fromMinute), to: hourUp(toMinute), spans: q.groupBy === 'hour' ? ['h'] : ['d', 'h'] };
    const firstMinute = Math.max(this.firstKeptMinute(), this.minutesWholeFrom);
    const from = fromMinute >= firstMinute ? fromMinute : hourDown(fromMinute);
    // The end reads minutes from its hour's start, or from the range's start within that hour.
    const to = Math.max(hourDown(toMinute), from) >= firstMinute ? toMinute : hourUp(toMinute);
    return { from, to, spans: ['d', 'h', 'm'] };
  }

  /**
   * Totals and one group per day, hour, domain, tag or stream for the query's range (as `settle`
   * rounds it: the result says which range was counted), from the roll-ups alone. A tag or
   * domain filter reads that tag's or domain's rows; the two cannot be combined with each other
   * (counts are kept per tag and per domain, not per pair), nor a tag filter with
   * group_by=domain or a domain filter with group_by=tag.
   */
  query(q: StatsQuery): StatsQueryResult {
    if (q.tag !== undefined && q.domain !== undefined) throw invalidContent('tag', 'tag and domain cannot be combined: statistics are kept per tag and per domain, not per pair');
    if (q.tag !== undefined && q.groupBy === 'domain') throw invalidContent('tag', 'a tag filter cannot be grouped by domain: statistics are kept per tag and per domain, not per pair');
    if (q.domain !== undefined && q.groupBy === 'tag') throw invalidContent('domain', 'a domain filter cannot be grouped by tag: statistics are kept per tag and per domain, not per pair');
    const range = this.settle(q);
    const filter: { dimension: StatsDimension; value: string } =
      q.tag !== undefined ? { dimension: 'tag', value: q.tag } : q.domain !== undefined ? { dimension: 'domain', value: q.domain.toLowerCase() } : { dimension: 'all', value: '' };
    // domain and tag groups read that dimension's rows, keeping only the filtered value when the
    // filter is of the same dimension; the other groupings read the filter's dimension.
    const grouped = q.groupBy === 'domain' || q.groupBy === 'tag';
    const dimension = grouped ? q.groupBy : filter.dimension;
    const oneValue = !grouped || filter.dimension === q.groupBy;
    const whereOf = (dimensionParam: string, withValue: boolean) =>
      `account_id = @accountId AND dimension = ${dimensionParam}${withValue ? ' AND value = @value' : ''} AND span = @span AND bucket >= @from AND bucket < @to` +
      (q.stream === undefined ? '' : ' AND stream = @stream');
    const sums = COUNTERS.map((c) => `SUM(${c}) AS ${c}`).join(', ');
    // One domain's or tag's rows are found by the value index; SQLite would otherwise walk the
    // key's bucket range over every value of the dimension.
    const from = (oneOfMany: boolean) => `stats_rollups${oneOfMany ? ' INDEXED BY stats_rollups_value' : ''}`;
    // Totals come from the filter's dimension: grouped by tag, a message with two tags would count twice.
    const totalsSql = `SELECT ${sums} FROM ${from(filter.dimension !== 'all')} WHERE ${whereOf('@filterDimension', true)}`;
    const key = q.groupBy === 'hour' || q.groupBy === 'day' ? 'bucket' : q.groupBy === 'stream' ? 'stream' : 'value';
    const totals = new Array<number>(COUNTERS.length).fill(0);
    const groups = new Map<number | string, number[]>();
    const addUp = (into: number[], row: Record<string, unknown>) => COUNTERS.forEach((c, i) => (into[i] += Number(row[c] ?? 0)));

    for (const part of partsOf(range.from, range.to, range.spans)) {
      const params: Record<string, unknown> = { accountId: q.accountId, dimension, filterDimension: filter.dimension, value: filter.value, span: part.span, from: part.from, to: part.to };
      if (q.stream !== undefined) params.stream = q.stream;
      addUp(totals, this.statement(totalsSql).get(params) as Record<string, unknown>);
      // By day, the hours and minutes of a partial day at either end add up into their day.
      const perDay = MINUTES_PER_DAY / SPAN_MINUTES[part.span];
      const k = q.groupBy === 'day' && perDay > 1 ? `bucket / ${perDay}` : key;
      for (const row of this.statement(`SELECT ${k} AS k, ${sums} FROM ${from(oneValue && dimension !== 'all')} WHERE ${whereOf('@dimension', oneValue)} GROUP BY k`).all(params) as (Record<string, unknown> & { k: number | string })[]) {
        let counts = groups.get(row.k);
        if (!counts) groups.set(row.k, (counts = new Array<number>(COUNTERS.length).fill(0)));
        addUp(counts, row);
      }
    }
    const asCounters = (counts: number[]) => Object.fromEntries(COUNTERS.map((c, i) => [c, counts[i]])) as StatsCounters;
    const sent = COUNTER_INDEX.get('sent')!;
    const byKey = (ka: number | string, kb: number | string) => (ka < kb ? -1 : ka > kb ? 1 : 0);
    // Domains and tags: the largest by sent first; times and streams in their order.
    const ordered = [...groups].sort(([ka, a], [kb, b]) => (grouped ? b[sent] - a[sent] || byKey(ka, kb) : byKey(ka, kb)));
    return {
      from: new Date(range.from * MINUTE_MS),
      to: new Date(range.to * MINUTE_MS),
      totals: asCounters(totals),
      groups: ordered.slice(0, MAX_GROUPS).map(([key, counts]) => ({ key, counters: asCounters(counts) })),
      truncated: ordered.length > MAX_GROUPS,
    };
  }

  /**
   * Forgets roll-up hours before `hoursBefore` (HERALD_STATS_RETENTION; a day once all its
   * hours are gone), minute rows older than MINUTE_RETENTION_MS by the store's clock (or before
   * `hoursBefore`, should that be the later) and the first sightings of messages created before
   * `seenBefore` (HERALD_RETENTION: the messages and their events are gone by then; a later open
   * of such a message counts as unique again). Returns how many rows went.
   */
  purge(hoursBefore: Date, seenBefore: Date): { hours: number; minutes: number; seen: number } {
    const hour = Math.floor(hoursBefore.getTime() / HOUR_MS);
    return {
      // A day goes once all its hours have gone.
      hours: this.s.purgeRollups.run({ hour, day: Math.floor(hour / HOURS_PER_DAY) }).changes,
      minutes: this.s.purgeMinutes.run(Math.max(this.firstKeptMinute(), hour * MINUTES_PER_HOUR)).changes,
      seen: this.s.purgeSeen.run(firstMessageIdAt(seenBefore.getTime())).changes,
    };
  }

  private statement(sql: string) {
    let statement = this.queries.get(sql);
    if (!statement) this.queries.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }
}
