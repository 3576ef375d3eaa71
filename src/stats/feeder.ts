import { silentLogger, systemClock, type Clock, type Logger, type MailEvent } from '../core/index.js';
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
 * Message labels, looked up once per message and kept (they never change): a message's events
 * (accepted, delivered, opened …) usually arrive while it is still in memory. The ones a page
 * lacks are looked up together, in one call. A message not found is not remembered: a suppressed
 * event may be read before its message is committed; nor is a failed lookup: the next page asks again.
 */
class LabelCache {
  private readonly found = new Map<string, Promise<StatsLabels | null>>();

  constructor(
    private readonly lookup: StatsLabelLookup,
    private readonly size: number,
  ) {}

  async getMany(messageIds: Iterable<string>): Promise<Map<string, StatsLabels | null>> {
    const wanted = new Map<string, Promise<StatsLabels | null>>();
    const missing: string[] = [];
    for (const id of new Set(messageIds)) {
      const hit = this.found.get(id);
      if (hit) {
        // Most recently used goes last: the oldest is dropped first.
        this.found.delete(id);
        this.found.set(id, hit);
        wanted.set(id, hit);
      } else missing.push(id);
    }
    if (missing.length) {
      const batch = this.lookup(missing);
      for (const id of missing) {
        const forget = () => {
          if (this.found.get(id) === pending) this.found.delete(id);
        };
        const pending: Promise<StatsLabels | null> = batch.then(
          (metas) => {
            const meta = metas.get(id);
            if (!meta) {
              forget();
              return null;
            }
            return { tags: meta.tags, stream: meta.stream, dsnFor: meta.dsnFor };
          },
          (err: unknown) => {
            forget();
            throw err;
          },
        );
        this.found.set(id, pending);
        wanted.set(id, pending);
      }
      while (this.found.size > this.size) this.found.delete(this.found.keys().next().value!);
    }
    const labels = await Promise.all([...wanted].map(async ([id, pending]) => [id, await pending] as const));
    return new Map(labels);
  }
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
  const labels = new LabelCache(options.messageLabels, options.cacheSize ?? 20_000);
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
      return { events, labels: await labels.getMany(ids) };
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
