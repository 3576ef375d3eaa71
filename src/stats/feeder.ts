import { BatchLookupCache, silentLogger, systemClock, type Clock, type Logger, type MailEvent } from '../core/index.js';
import { followOutbox } from '../storage/index.js';
import { COUNTED_EVENT_TYPES } from './rollup.js';
import type { SqlStatsStore } from './sql-stats-store.js';
import type { StatsLabels } from './types.js';

/** Looks messages' labels up, many in one call (the queue's metaOf); a message not found is left out. */
export type StatsLabelLookup = (messageIds: readonly string[]) => Promise<ReadonlyMap<string, StatsLabels>>;

export interface StatsFeederOptions {
  store: Pick<SqlStatsStore, 'feedCursor' | 'applyPage' | 'purge'>;
  /** The queue's outbox: events with seq > afterSeq, in seq order, at most `limit`. */
  readEvents(afterSeq: number, limit: number): Promise<MailEvent[]>;
  /** Messages' tags and stream (QueueStore.metaOf). */
  messageLabels: StatsLabelLookup;
  config: {
    /** HERALD_STATS_RETENTION: how long hourly roll-ups are kept. */
    statsRetention: number;
    /** HERALD_RETENTION: how long messages and events are kept; first sightings (unique opens …) as long. */
    retention: number;
  };
  clock?: Clock;
  logger?: Logger;
  /** The periodic scan that catches whatever a missed wake-up would lose; default 30 s; 0: none. */
  intervalMs?: number;
  /** Events read per page; default 2,000. */
  pageSize?: number;
  /** How long a wake-up waits, gathering commits into one page; default 1 s. */
  wakeDelayMs?: number;
  /** Message labels kept in memory; default 20,000. */
  cacheSize?: number;
}

export interface StatsFeeder {
  /** A hint that events were committed (the queue's onCommit): counts them within wakeDelayMs. */
  wake(): void;
  /** Counts every event committed before the call; resolves with how many events were read. */
  runOnce(): Promise<number>;
  /** Stops the timers, waits for a run in progress and saves how far it read. */
  stop(): Promise<void>;
}

const PURGE_EVERY_MS = 3_600_000;
const COUNTED = new Set<string>(COUNTED_EVENT_TYPES);

/** A page and its messages' labels, looked up before the transaction that counts it. */
interface Page {
  events: MailEvent[];
  labels: Map<string, StatsLabels | null>;
}

/**
 * Turns the event outbox into statistics roll-ups. Each page's messages' labels (tags, stream)
 * are looked up first, all at once; then the page is counted and the cursor moved in one
 * transaction (storage `followOutbox`), so a crash or restart never counts an event twice.
 * Wake-ups are gathered for `wakeDelayMs`, so under load the counts are written a few times a
 * second in large pages rather than once per commit. One feeder per database.
 */
export function startStatsFeeder(options: StatsFeederOptions): StatsFeeder {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  // Labels never change: kept per message, a page's unknown ones looked up in one call. A message
  // not found is not remembered (a suppressed event may be read before its message is committed).
  const labels = new BatchLookupCache<StatsLabels>({
    lookup: async (ids) => {
      const metas = await options.messageLabels(ids);
      return new Map([...metas].map(([id, meta]) => [id, { tags: meta.tags, stream: meta.stream, dsnFor: meta.dsnFor }]));
    },
    size: options.cacheSize ?? 20_000,
    rememberMissing: false,
  });
  let lastPurge = 0;

  const purge = async () => {
    const now = clock.now().getTime();
    if (now - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = now;
    const removed = await store.purge(new Date(now - options.config.statsRetention), new Date(now - options.config.retention));
    if (removed.hours > 0) log.info({ rows: removed.hours }, 'removed statistics past HERALD_STATS_RETENTION');
  };

  return followOutbox<Page>({
    name: 'statistics',
    readEvents: options.readEvents,
    loadCursor: () => store.feedCursor(),
    async prepare(events) {
      const ids = new Set<string>();
      for (const e of events) if (COUNTED.has(e.type) && e.messageId && e.accountId) ids.add(e.messageId);
      if (ids.size === 0) return null;
      const found = await Promise.all([...labels.getMany(ids)].map(async ([id, pending]) => [id, await pending] as const));
      return { events, labels: new Map(found) };
    },
    commit: (from, to, page) => store.applyPage(from, to, page?.events ?? [], page?.labels ?? new Map()),
    afterDrain: purge,
    clock,
    logger: log,
    intervalMs: options.intervalMs ?? 30_000,
    pageSize: options.pageSize ?? 2000,
    wakeDelayMs: options.wakeDelayMs ?? 1000,
  });
}
