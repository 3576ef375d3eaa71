import { firstMessageIdAt, invalidContent, systemClock, type Clock, type MailEvent } from '../core/index.js';
import { migrate, type Migration, type SqliteDatabase } from '../storage/index.js';
import { COUNTED_EVENT_TYPES, rollupEvent, type FirstTime } from './rollup.js';
import { COUNTERS, STATS_STREAMS, type Counter, type StatsCounters, type StatsDimension, type StatsLabels, type StatsQuery, type StatsStream } from './types.js';

const HOUR_MS = 3_600_000;
const HOURS_PER_DAY = 24;

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
];

/** The most groups (domains, tags) one answer lists; the largest by sent come first. */
export const MAX_GROUPS = 1000;

const COUNTED = new Set<string>(COUNTED_EVENT_TYPES);
const COUNTER_INDEX = new Map<Counter, number>(COUNTERS.map((c, i) => [c, i]));

/** 'h': a bucket is an hour; 'd': a day. */
type Span = 'h' | 'd';

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

/** A run of buckets one query reads: [from, to) in hours ('h') or days ('d'). */
interface Part {
  span: Span;
  from: number;
  to: number;
}

/**
 * The buckets that cover [fromHour, toHour): whole days read from the day rows, the partial
 * days at either end from the hour rows; group_by=hour reads hours only.
 */
function partsOf(fromHour: number, toHour: number, hourly: boolean): Part[] {
  const firstDay = Math.ceil(fromHour / HOURS_PER_DAY);
  const endDay = Math.floor(toHour / HOURS_PER_DAY);
  if (hourly || firstDay >= endDay) return [{ span: 'h', from: fromHour, to: toHour }];
  const parts: Part[] = [{ span: 'd', from: firstDay, to: endDay }];
  if (fromHour < firstDay * HOURS_PER_DAY) parts.push({ span: 'h', from: fromHour, to: firstDay * HOURS_PER_DAY });
  if (endDay * HOURS_PER_DAY < toHour) parts.push({ span: 'h', from: endDay * HOURS_PER_DAY, to: toHour });
  return parts;
}

export interface StatsGroup {
  /** The hour or day number (hours or days since 1970-01-01 UTC), or the domain, tag or stream. */
  key: number | string;
  counters: StatsCounters;
}

export interface StatsQueryResult {
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
 * stream and dimension (all, recipient domain, tag), filled from the event outbox by the stats feeder and
 * read by `GET /api/v1/stats` and `herald stats`. Reading never touches the event table.
 */
export class SqliteStatsStore {
  private readonly clock: Clock;
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
      purgeSeen: db.prepare('DELETE FROM stats_seen WHERE message_id < ?'),
    };
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
        const add = (accountId: string, dimension: StatsDimension, hour: number, value: string, stream: StatsStream, counters: Counter[], n: number) => {
          bump(accountId, dimension, 'h', hour, value, stream, counters, n);
          bump(accountId, dimension, 'd', Math.floor(hour / HOURS_PER_DAY), value, stream, counters, n);
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
          const hour = Math.floor(event.at.getTime() / HOUR_MS);
          const stream = streamOf(label, data);
          add(event.accountId, 'all', hour, '', stream, counters, weight);
          // Tags are unique per message (the accept pipeline removes repeats).
          for (const tag of label?.tags ?? []) add(event.accountId, 'tag', hour, tag, stream, counters, weight);
          for (const [domain, n] of domains) add(event.accountId, 'domain', hour, domain, stream, counters, n);
        }
        for (const d of deltas.values()) this.s.upsert.run(d.accountId, d.dimension, d.span, d.bucket, d.value, d.stream, ...d.counts);
        this.s.setCursor.run({ seq: lastSeq, now: this.clock.now().getTime() });
        return true;
      })
      .immediate();
  }

  /**
   * Totals and one group per day, hour, domain, tag or stream for the query's range, from the
   * roll-ups alone. A tag or domain filter reads that tag's or domain's rows; the two cannot be
   * combined with each other (counts are kept per tag and per domain, not per pair), nor a tag
   * filter with group_by=domain or a domain filter with group_by=tag.
   */
  query(q: StatsQuery): StatsQueryResult {
    if (q.tag !== undefined && q.domain !== undefined) throw invalidContent('tag', 'tag and domain cannot be combined: statistics are kept per tag and per domain, not per pair');
    if (q.tag !== undefined && q.groupBy === 'domain') throw invalidContent('tag', 'a tag filter cannot be grouped by domain: statistics are kept per tag and per domain, not per pair');
    if (q.domain !== undefined && q.groupBy === 'tag') throw invalidContent('domain', 'a domain filter cannot be grouped by tag: statistics are kept per tag and per domain, not per pair');
    const fromHour = Math.floor(q.from.getTime() / HOUR_MS);
    const toHour = Math.ceil(q.to.getTime() / HOUR_MS);
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

    for (const part of partsOf(fromHour, toHour, q.groupBy === 'hour')) {
      const params: Record<string, unknown> = { accountId: q.accountId, dimension, filterDimension: filter.dimension, value: filter.value, span: part.span, from: part.from, to: part.to };
      if (q.stream !== undefined) params.stream = q.stream;
      addUp(totals, this.statement(totalsSql).get(params) as Record<string, unknown>);
      // By day, the hours of a partial day at either end add up into their day.
      const k = q.groupBy === 'day' && part.span === 'h' ? `bucket / ${HOURS_PER_DAY}` : key;
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
      totals: asCounters(totals),
      groups: ordered.slice(0, MAX_GROUPS).map(([key, counts]) => ({ key, counters: asCounters(counts) })),
      truncated: ordered.length > MAX_GROUPS,
    };
  }

  /**
   * Forgets roll-up hours before `hoursBefore` (HERALD_STATS_RETENTION; a day once all its
   * hours are gone) and the first sightings of messages created before `seenBefore`
   * (HERALD_RETENTION: the messages and their events are gone by then; a later open of such a
   * message counts as unique again). Returns how many rows went.
   */
  purge(hoursBefore: Date, seenBefore: Date): { hours: number; seen: number } {
    const hour = Math.floor(hoursBefore.getTime() / HOUR_MS);
    return {
      // A day goes once all its hours have gone.
      hours: this.s.purgeRollups.run({ hour, day: Math.floor(hour / HOURS_PER_DAY) }).changes,
      seen: this.s.purgeSeen.run(firstMessageIdAt(seenBefore.getTime())).changes,
    };
  }

  private statement(sql: string) {
    let statement = this.queries.get(sql);
    if (!statement) this.queries.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }
}
