import { firstMessageIdAt, invalidContent, systemClock, type Clock, type MailEvent } from '../core/index.js';
import { moveFeedCursor, type Migration, type SqlDatabase, type SqlExecutor } from '../storage/index.js';
import { COUNTED_EVENT_TYPES, rollupEvent, type FirstTime, type SeenKind } from './rollup.js';
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

/** The SQLite history. */
export const SQLITE_STATS_MIGRATIONS: readonly Migration[] = [
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

/**
 * The PostgreSQL history: version 1 is the SQLite schema as it stands (see there for what each
 * table and index is for). Counters are BIGINT, as SQLite's integers are 64-bit. Message ids
 * compare byte-wise (COLLATE "C"), as in SQLite, so the purge by creation time is the same
 * whatever the server's locale; tag and domain values likewise.
 */
export const POSTGRES_STATS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE stats_rollups (
        account_id  TEXT NOT NULL,
        dimension   TEXT NOT NULL,
        span        TEXT NOT NULL,
        bucket      INTEGER NOT NULL,
        value       TEXT COLLATE "C" NOT NULL,
        stream      TEXT NOT NULL,
${COUNTERS.map((c) => `        ${c} BIGINT NOT NULL DEFAULT 0,`).join('\n')}
        PRIMARY KEY (account_id, dimension, span, bucket, value, stream)
      );
      CREATE INDEX stats_rollups_value ON stats_rollups (account_id, dimension, value, span, bucket);
      CREATE INDEX stats_rollups_age ON stats_rollups (span, bucket);

      CREATE TABLE stats_seen (
        message_id  TEXT COLLATE "C" NOT NULL,
        recipient   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        PRIMARY KEY (message_id, recipient, kind)
      );

      CREATE TABLE stats_feed (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq      BIGINT NOT NULL,
        updated_at    BIGINT NOT NULL,
        minutes_from  BIGINT
      );
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

/**
 * Rows in runs of 64, 32, 16 … 1: a page's rows go in a few multi-row statements, of a handful of
 * shapes each prepared once, rather than one statement (on PostgreSQL one round trip) per row.
 */
function* runsOf<T>(rows: readonly T[], most = 64): Generator<T[]> {
  let i = 0;
  for (let size = most; size >= 1; size >>= 1) {
    while (rows.length - i >= size) {
      yield rows.slice(i, i + size);
      i += size;
    }
  }
}

const seenKey = (messageId: string, recipient: string, kind: SeenKind) => `${messageId}\u0000${recipient}\u0000${kind}`;

const streamOf = (labels: StatsLabels | null | undefined, data: Record<string, unknown>): StatsStream => {
  const stream = labels?.stream ?? data.stream;
  return (STATS_STREAMS as readonly unknown[]).includes(stream) ? (stream as StatsStream) : 'transactional';
};

/** An event that counts, with its message's labels. */
interface Counted {
  event: MailEvent;
  label: StatsLabels | null | undefined;
}

/**
 * Statistics roll-ups in Herald's record database (SQLite or PostgreSQL): counters per account,
 * UTC hour and day, stream and dimension (all, recipient domain, tag), and per UTC minute for the
 * whole account's figures of the last 48 hours, filled from the event outbox by the stats feeder
 * and read by `GET /api/v1/stats` and `herald stats`. Reading never touches the event table.
 */
export class SqlStatsStore {
  private constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
    /** The first minute (since 1970) the minute rows are whole from, whatever their age. */
    private readonly minutesWholeFrom: number,
  ) {}

  static async open(db: SqlDatabase, options: { clock?: Clock } = {}): Promise<SqlStatsStore> {
    await db.migrate('stats', { sqlite: SQLITE_STATS_MIGRATIONS, postgres: POSTGRES_STATS_MIGRATIONS });
    // Set by a migration only, so read once.
    const minutesFrom = (await db.get<{ minutes_from: number | null }>('SELECT minutes_from FROM stats_feed WHERE id = 1'))?.minutes_from ?? null;
    // Events of the minute that counting stopped in may have been counted without a minute row.
    return new SqlStatsStore(db, options.clock ?? systemClock, minutesFrom === null ? -Infinity : Math.floor(Number(minutesFrom) / MINUTE_MS) + 1);
  }

  /** The oldest minute whose rows are kept: minute rows before it are purged (or about to be). */
  private firstKeptMinute(): number {
    return Math.floor((this.clock.now().getTime() - MINUTE_RETENTION_MS) / MINUTE_MS);
  }

  /** The seq of the last outbox event the roll-ups took into account (0: none yet). */
  async feedCursor(): Promise<number> {
    return (await this.db.get<{ last_seq: number }>('SELECT last_seq FROM stats_feed WHERE id = 1'))?.last_seq ?? 0;
  }

  /** When the roll-ups last took events in; null before the first time. */
  async updatedAt(): Promise<Date | null> {
    const row = await this.db.get<{ updated_at: number }>('SELECT updated_at FROM stats_feed WHERE id = 1');
    return row ? new Date(row.updated_at) : null;
  }

  /**
   * Counts the events after `expectedSeq` up to `lastSeq` and moves the cursor to `lastSeq`, in
   * one transaction: a crash keeps all of it or none, so no event is counted twice. `labels`
   * holds each message's tags and stream (null: the message is gone; its events count without
   * tags). When the cursor is no longer at `expectedSeq` nothing is written and it returns false.
   */
  async applyPage(expectedSeq: number, lastSeq: number, events: readonly MailEvent[], labels: ReadonlyMap<string, StatsLabels | null>): Promise<boolean> {
    const counted: Counted[] = [];
    for (const event of events) {
      if (!event.accountId || !event.messageId || !COUNTED.has(event.type)) continue;
      // Delivery reports Herald sends about the account's mail are not the account's mail.
      if (event.type === 'accepted' && event.data?.source === 'dsn') continue;
      const label = labels.get(event.messageId);
      if (label?.dsnFor) continue;
      counted.push({ event, label });
    }
    // The first sightings the page asks about, in order: rollupEvent asks the same whatever the
    // answers, so they are all decided at once in the transaction below.
    const asked = new Map<string, [string, string, SeenKind]>();
    for (const { event } of counted) {
      rollupEvent(event, (messageId, recipient, kind) => {
        asked.set(seenKey(messageId, recipient, kind), [messageId, recipient, kind]);
        return false;
      });
    }
    const now = this.clock.now().getTime();
    // Events older than the minute rows are kept (a catch-up after downtime) get none.
    const firstMinute = this.firstKeptMinute();

    return this.db.transaction(async (tx) => {
      // The cursor moves first, and only from where this feeder saw it (see moveFeedCursor).
      if (!(await moveFeedCursor(tx, 'stats_feed', expectedSeq, lastSeq, now))) return false;

      // What is written now is seen for the first time; a key asked twice in the page is first only once.
      const fresh = new Set<string>();
      for (const run of runsOf([...asked.values()])) {
        const inserted = await tx.all<{ message_id: string; recipient: string; kind: SeenKind }>(
          `INSERT INTO stats_seen (message_id, recipient, kind) VALUES ${run.map(() => '(?, ?, ?)').join(', ')}
           ON CONFLICT (message_id, recipient, kind) DO NOTHING RETURNING message_id, recipient, kind`,
          run.flat(),
        );
        for (const r of inserted) fresh.add(seenKey(r.message_id, r.recipient, r.kind));
      }
      const firstTime: FirstTime = (messageId, recipient, kind) => fresh.delete(seenKey(messageId, recipient, kind));

      // Deltas are gathered per row first: a page's events mostly share their hours, so each
      // row is written once per page, not once per event.
      const deltas = new Map<string, Delta>();
      const bump = (accountId: string, dimension: StatsDimension, span: Span, bucket: number, value: string, stream: StatsStream, counters: Counter[], n: number) => {
        const key = `${accountId}\u0000${dimension}\u0000${span}${bucket}\u0000${value}\u0000${stream}`;
        let delta = deltas.get(key);
        if (!delta) deltas.set(key, (delta = { accountId, dimension, span, bucket, value, stream, counts: new Array<number>(COUNTERS.length).fill(0) }));
        for (const c of counters) delta.counts[COUNTER_INDEX.get(c)!] += n;
      };
      const add = (accountId: string, dimension: StatsDimension, minute: number, value: string, stream: StatsStream, counters: Counter[], n: number) => {
        // By the minute only the whole account's figures: one row more per minute, not one per tag and domain too.
        if (dimension === 'all' && minute >= firstMinute) bump(accountId, dimension, 'm', minute, value, stream, counters, n);
        bump(accountId, dimension, 'h', Math.floor(minute / MINUTES_PER_HOUR), value, stream, counters, n);
        bump(accountId, dimension, 'd', Math.floor(minute / MINUTES_PER_DAY), value, stream, counters, n);
      };
      for (const { event, label } of counted) {
        const contribution = rollupEvent(event, firstTime);
        if (!contribution) continue;
        const { counters, weight, domains } = contribution;
        const minute = Math.floor(event.at.getTime() / MINUTE_MS);
        const stream = streamOf(label, event.data ?? {});
        add(event.accountId, 'all', minute, '', stream, counters, weight);
        // Tags are unique per message (the accept pipeline removes repeats).
        for (const tag of label?.tags ?? []) add(event.accountId, 'tag', minute, tag, stream, counters, weight);
        for (const [domain, n] of domains) add(event.accountId, 'domain', minute, domain, stream, counters, n);
      }
      for (const run of runsOf([...deltas.values()])) await this.upsert(tx, run);
      return true;
    });
  }

  /** Adds deltas to their rows (made when missing), in one statement. */
  private upsert(tx: SqlExecutor, deltas: readonly Delta[]) {
    const row = `(${new Array(6 + COUNTERS.length).fill('?').join(', ')})`;
    return tx.run(
      `INSERT INTO stats_rollups (account_id, dimension, span, bucket, value, stream, ${COUNTERS.join(', ')})
       VALUES ${deltas.map(() => row).join(', ')}
       ON CONFLICT (account_id, dimension, span, bucket, value, stream) DO UPDATE SET ${COUNTERS.map((c) => `${c} = stats_rollups.${c} + excluded.${c}`).join(', ')}`,
      deltas.flatMap((d) => [d.accountId, d.dimension, d.span, d.bucket, d.value, d.stream, ...d.counts]),
    );
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
  async query(q: StatsQuery): Promise<StatsQueryResult> {
    if (q.tag !== undefined && q.domain !== undefined) throw invalidContent('tag', 'tag and domain cannot be combined: statistics are kept per tag and per domain, not per pair');
    if (q.tag !== undefined && q.groupBy === 'domain') throw invalidContent('tag', 'a tag filter cannot be grouped by domain: statistics are kept per tag and per domain, not per pair');
    if (q.domain !== undefined && q.groupBy === 'tag') throw invalidContent('domain', 'a domain filter cannot be grouped by tag: statistics are kept per tag and per domain, not per pair');
    const range = this.settle(q);
    const filter: { dimension: StatsDimension; value: string } =
      q.tag !== undefined ? { dimension: 'tag', value: q.tag } : q.domain !== undefined ? { dimension: 'domain', value: q.domain.toLowerCase() } : { dimension: 'all', value: '' };
    // domain and tag groups read that dimension's rows, keeping only the filtered value when the
    // filter is of the same dimension; the other groupings read the filter's dimension.
    const grouped = q.groupBy === 'domain' || q.groupBy === 'tag';
    const dimension: StatsDimension = q.groupBy === 'domain' || q.groupBy === 'tag' ? q.groupBy : filter.dimension;
    const oneValue = !grouped || filter.dimension === q.groupBy;
    /** The rows of `rowsOf`'s dimension (and value) in one part of the range: the condition and its parameters. */
    const where = (rowsOf: StatsDimension, withValue: boolean, part: Part): { sql: string; params: unknown[] } => ({
      sql:
        `account_id = ? AND dimension = ?${withValue ? ' AND value = ?' : ''} AND span = ? AND bucket >= ? AND bucket < ?` +
        (q.stream === undefined ? '' : ' AND stream = ?'),
      params: [q.accountId, rowsOf, ...(withValue ? [filter.value] : []), part.span, part.from, part.to, ...(q.stream === undefined ? [] : [q.stream])],
    });
    const sums = COUNTERS.map((c) => `SUM(${c}) AS ${c}`).join(', ');
    // One domain's or tag's rows are found by the value index; SQLite would otherwise walk the
    // key's bucket range over every value of the dimension. PostgreSQL's planner picks it by itself.
    const from = (oneOfMany: boolean) => `stats_rollups${oneOfMany && this.db.dialect === 'sqlite' ? ' INDEXED BY stats_rollups_value' : ''}`;
    const key = q.groupBy === 'hour' || q.groupBy === 'day' ? 'bucket' : q.groupBy === 'stream' ? 'stream' : 'value';
    const totals = new Array<number>(COUNTERS.length).fill(0);
    const groups = new Map<number | string, number[]>();
    const addUp = (into: number[], row: Record<string, unknown>) => COUNTERS.forEach((c, i) => (into[i] += Number(row[c] ?? 0)));

    for (const part of partsOf(range.from, range.to, range.spans)) {
      // Totals come from the filter's dimension: grouped by tag, a message with two tags would count twice.
      const forTotals = where(filter.dimension, true, part);
      const totalsRow = await this.db.get<Record<string, unknown>>(`SELECT ${sums} FROM ${from(filter.dimension !== 'all')} WHERE ${forTotals.sql}`, forTotals.params);
      if (totalsRow) addUp(totals, totalsRow);
      // By day, the hours and minutes of a partial day at either end add up into their day.
      const perDay = MINUTES_PER_DAY / SPAN_MINUTES[part.span];
      const k = q.groupBy === 'day' && perDay > 1 ? `bucket / ${perDay}` : key;
      const forGroups = where(dimension, oneValue, part);
      const rows = await this.db.all<Record<string, unknown> & { k: number | string }>(
        `SELECT ${k} AS k, ${sums} FROM ${from(oneValue && dimension !== 'all')} WHERE ${forGroups.sql} GROUP BY k`,
        forGroups.params,
      );
      for (const row of rows) {
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
  async purge(hoursBefore: Date, seenBefore: Date): Promise<{ hours: number; minutes: number; seen: number }> {
    const hour = Math.floor(hoursBefore.getTime() / HOUR_MS);
    // A day goes once all its hours have gone.
    const hours = await this.db.run("DELETE FROM stats_rollups WHERE (span = 'h' AND bucket < ?) OR (span = 'd' AND bucket < ?)", [hour, Math.floor(hour / HOURS_PER_DAY)]);
    const minutes = await this.db.run("DELETE FROM stats_rollups WHERE span = 'm' AND bucket < ?", [Math.max(this.firstKeptMinute(), hour * MINUTES_PER_HOUR)]);
    const seen = await this.db.run('DELETE FROM stats_seen WHERE message_id < ?', [firstMessageIdAt(seenBefore.getTime())]);
    return { hours: hours.changes, minutes: minutes.changes, seen: seen.changes };
  }
}
