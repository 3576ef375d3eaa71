import { setImmediate as nextTurn } from 'node:timers/promises';
import { silentLogger, systemClock, type Clock, type Logger } from '../core/index.js';
import { startSweeper, type Sweeper } from '../storage/index.js';
import type { QueueStore } from './types.js';

export interface RetentionOptions {
  /** How long finished messages are kept (HERALD_RETENTION). */
  retentionMs: number;
  /** How long events are kept (HERALD_EVENT_RETENTION), whatever became of their messages. */
  eventRetentionMs: number;
  clock?: Clock;
  logger?: Logger;
  /** Time between sweeps; default one hour. */
  intervalMs?: number;
  /** Messages, or events, removed per store call, so the store is never held for long. */
  batch?: number;
}

/**
 * `sweep()` removes everything past retention now (after a sweep already running) and resolves
 * with how many messages and events went.
 */
export type Retention = Sweeper;

interface PurgeOptions {
  batch?: number;
  /** Hears the running total after each batch that removed something. */
  onProgress?: (removed: number) => void;
  /** Asked before each batch; true ends the purge there. */
  stopped?: () => boolean;
}

/**
 * Calls `purgeBatch(limit)` until it removes fewer than `limit` rows or `stopped()` says so,
 * letting other work (sending writes events too) take its turn between batches. Resolves with
 * the total removed.
 */
async function inBatches(purgeBatch: (limit: number) => Promise<number>, options: PurgeOptions): Promise<number> {
  const batch = options.batch ?? 1000;
  let total = 0;
  while (!options.stopped?.()) {
    const removed = await purgeBatch(batch);
    total += removed;
    if (removed > 0) options.onProgress?.(total);
    if (removed < batch) break;
    await nextTurn();
  }
  return total;
}

/**
 * Removes every finished message older than `olderThan`, `batch` at a time (each a short store
 * transaction); `onProgress` hears the running total. Resolves with the total. Events stay.
 */
export function purgeAll(store: QueueStore, olderThan: Date, options: PurgeOptions = {}): Promise<number> {
  return inBatches((limit) => store.purgeFinished(olderThan, limit), options);
}

/** Removes every event older than `olderThan`, `batch` at a time, as purgeAll does messages. */
function purgeAllEvents(store: QueueStore, olderThan: Date, options: PurgeOptions = {}): Promise<number> {
  return inBatches((limit) => store.purgeEvents(olderThan, limit), options);
}

/**
 * Keeps the queue from growing forever, as Postfix deletes a queue file once it is delivered —
 * but after a retention period, so `herald queue show` (and the API) can still tell what became
 * of a message. Messages and events each have their own period: a message may outlive its
 * events (a shorter timeline) and events their message. Sweeps once at start and then every
 * interval; a stop ends a sweep after the batch in hand.
 */
export function startRetention(store: QueueStore, options: RetentionOptions): Retention {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  return startSweeper({
    intervalMs: options.intervalMs,
    onError: (err) => log.error({ err }, 'retention sweep failed; trying again at the next one'),
    sweep: async (stopped) => {
      const now = clock.now().getTime();
      const batches = { batch: options.batch, stopped };
      const messages = await purgeAll(store, new Date(now - options.retentionMs), batches);
      if (messages > 0) log.info({ messages }, 'removed finished messages past retention');
      const events = await purgeAllEvents(store, new Date(now - options.eventRetentionMs), batches);
      if (events > 0) log.info({ events }, 'removed events past retention');
      return messages + events;
    },
  });
}
