import { silentLogger, systemClock, type Clock, type Logger } from '../core/index.js';
import type { QueueStore } from './types.js';

export interface RetentionOptions {
  /** How long finished messages are kept (HERALD_RETENTION). */
  retentionMs: number;
  clock?: Clock;
  logger?: Logger;
  /** Time between sweeps; default one hour. */
  intervalMs?: number;
  /** Messages removed per store call, so the store thread is never held for long. */
  batch?: number;
}

export interface Retention {
  /** Removes everything past retention now; resolves with how many messages went. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Removes every finished message older than `olderThan`, `batch` at a time (each a short store
 * transaction); `onProgress` hears the running total. Resolves with the total.
 */
export async function purgeAll(store: QueueStore, olderThan: Date, options: { batch?: number; onProgress?: (removed: number) => void; stopped?: () => boolean } = {}): Promise<number> {
  const batch = options.batch ?? 1000;
  let total = 0;
  for (;;) {
    const removed = await store.purgeFinished(olderThan, batch);
    total += removed;
    if (removed > 0) options.onProgress?.(total);
    if (removed < batch || options.stopped?.()) return total;
  }
}

/**
 * Keeps the queue from growing forever, as Postfix deletes a queue file once it is delivered —
 * but after a retention period, so `herald queue show` (and the API) can still tell what became
 * of a message. Sweeps once at start and then every interval.
 */
export function startRetention(store: QueueStore, options: RetentionOptions): Retention {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let stopped = false;

  const sweep = (): Promise<number> => {
    running ??= (async () => {
      let total = 0;
      try {
        total = await purgeAll(store, new Date(clock.now().getTime() - options.retentionMs), { batch: options.batch, stopped: () => stopped });
        if (total > 0) log.info({ messages: total }, 'removed finished messages past retention');
      } catch (err) {
        log.error({ err }, 'retention sweep failed; trying again at the next one');
      } finally {
        running = null;
      }
      return total;
    })();
    return running;
  };

  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => void sweep().finally(() => schedule(options.intervalMs ?? 3_600_000)), delay);
    timer.unref();
  };
  schedule(0);

  return {
    sweep,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
