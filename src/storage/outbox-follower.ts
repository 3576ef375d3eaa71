import { silentLogger, systemClock, type Clock, type Logger, type MailEvent } from '../core/index.js';
import type { SqlExecutor } from './sql-database.js';

/**
 * A room that keeps its own tables up to date from the queue's event outbox (the suppression
 * list, the statistics roll-ups) reads it the same way: after a cursor kept in its own tables,
 * a page at a time, writing what a page means and moving the cursor in ONE transaction, so a
 * crash or restart resumes where it stopped and counts no event twice. Wake-ups (the queue's
 * commits) are hints; the periodic scan is the truth. This is that loop; the room supplies what
 * a page means and the transaction that writes it.
 */
export interface OutboxFollowerOptions<W> {
  /** Names the follower in logs ("suppression feed", "statistics"). */
  name: string;
  /** The queue's outbox: events with seq > afterSeq, in seq order, at most `limit`. */
  readEvents(afterSeq: number, limit: number): Promise<MailEvent[]>;
  /** The seq of the last event the room's tables take into account (0: none yet). */
  loadCursor(): number | Promise<number>;
  /** What a page asks to write, or null when it needs no write. */
  prepare(events: MailEvent[]): W | null | Promise<W | null>;
  /**
   * Writes `work` (null: nothing, only the cursor) and moves the cursor from `from` to `to`, in
   * one transaction. Returns false, having written nothing, when the cursor was no longer at
   * `from` (someone else moved it).
   */
  commit(from: number, to: number, work: W | null): boolean | Promise<boolean>;
  /** Runs after each read up to the end of the outbox (purges and other upkeep). */
  afterDrain?(): void | Promise<void>;
  clock?: Clock;
  logger?: Logger;
  /** The periodic scan that catches whatever a missed wake-up would lose; 0: none. */
  intervalMs: number;
  /** Events read per page. */
  pageSize: number;
  /**
   * How long a wake-up waits before reading (0: at once). Under load commits arrive by the
   * thousand per second: waiting gathers them into a few large pages and transactions.
   */
  wakeDelayMs?: number;
}

export interface OutboxFollower {
  /** A hint that events were committed (the queue's onCommit): reads the outbox soon. */
  wake(): void;
  /**
   * Reads the outbox up to its end and applies it; resolves with how many events were read once
   * every event committed before the call is taken into account.
   */
  runOnce(): Promise<number>;
  /** Stops the timers, waits for a run in progress and saves how far it read. */
  stop(): Promise<void>;
}

/** A cursor that only moved over events with nothing to write is saved after this many events … */
const SAVE_EVERY_EVENTS = 50_000;
/** … or this long. Re-reading such events after a crash writes nothing, so this only saves work. */
const SAVE_EVERY_MS = 60_000;

/** Starts following the outbox: catches up at once with what was committed while Herald was down. */
export function followOutbox<W>(options: OutboxFollowerOptions<W>): OutboxFollower {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  const { name, pageSize, intervalMs } = options;
  const wakeDelayMs = options.wakeDelayMs ?? 0;

  let running: Promise<number> | null = null;
  let again = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeTimer: NodeJS.Timeout | undefined;
  // Where reading continues, and what the database holds; they differ while only events with
  // nothing to write have been read since the last save.
  let cursor: number | null = null;
  let saved = 0;
  let savedAt = 0;

  const save = async (upTo: number, work: W | null): Promise<boolean> => {
    if (!(await options.commit(saved, upTo, work))) {
      // The cursor moved under us: start again from what the database says.
      log.warn({ expected: saved }, `the ${name} cursor was moved by someone else; reading on from there`);
      cursor = null;
      return false;
    }
    saved = upTo;
    savedAt = clock.now().getTime();
    return true;
  };

  const drain = async (): Promise<number> => {
    let read = 0;
    while (!stopped) {
      if (cursor === null) {
        cursor = saved = await options.loadCursor();
        savedAt = clock.now().getTime();
      }
      const events = await options.readEvents(cursor, pageSize);
      if (events.length === 0) break;
      if (events.some((e) => e.seq === undefined)) throw new Error(`an outbox event without a seq: the ${name} cannot keep its place`);
      const work = await options.prepare(events);
      const last = events[events.length - 1].seq!;
      read += events.length;
      if (work !== null || last - saved >= SAVE_EVERY_EVENTS || clock.now().getTime() - savedAt >= SAVE_EVERY_MS) {
        if (!(await save(last, work))) continue;
      }
      cursor = last;
      if (events.length < pageSize) break;
    }
    await options.afterDrain?.();
    return read;
  };

  const runOnce = (): Promise<number> => {
    if (running) {
      // The run in progress may have read the outbox before the caller's events: go round again.
      again = true;
      return running;
    }
    running = (async () => {
      let read = 0;
      try {
        do {
          again = false;
          read += await drain();
        } while (again && !stopped);
      } finally {
        running = null;
      }
      return read;
    })();
    return running;
  };

  const run = () => {
    if (stopped) return;
    runOnce().catch((err: unknown) => log.error({ err }, `reading the outbox for the ${name} failed; trying again at the next wake-up`));
  };

  const wake = () => {
    if (stopped) return;
    if (wakeDelayMs <= 0) return run();
    if (wakeTimer) return;
    wakeTimer = setTimeout(() => {
      wakeTimer = undefined;
      run();
    }, wakeDelayMs);
    wakeTimer.unref();
  };

  const schedule = () => {
    if (stopped || intervalMs <= 0) return;
    timer = setTimeout(() => {
      run();
      schedule();
    }, intervalMs);
    timer.unref();
  };

  run();
  schedule();

  return {
    wake,
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(wakeTimer);
      await running?.catch(() => undefined);
      // Keep the place reached over events that needed no write, so a restart does not re-read them.
      if (cursor !== null && cursor > saved) {
        try {
          await save(cursor, null);
        } catch (err) {
          log.warn({ err }, `could not save how far the ${name} read; it will re-read those events`);
        }
      }
    },
  };
}

/**
 * Moves a room's outbox cursor (a one-row table `<table> (id = 1, last_seq, updated_at)`) from
 * `expectedSeq` to `lastSeq` inside the page's transaction, and only from there: false means
 * another feeder moved it first and the page is not this one's to apply. Run it first in the
 * transaction: on PostgreSQL its row lock makes another node's feeder wait, then find the cursor
 * moved; on SQLite transactions take turns anyway.
 */
export async function moveFeedCursor(tx: SqlExecutor, table: string, expectedSeq: number, lastSeq: number, now: number): Promise<boolean> {
  if (!/^[a-z_]+$/.test(table)) throw new Error(`moveFeedCursor: "${table}" is not a plain table name`);
  const moved =
    expectedSeq === 0
      ? await tx.run(
          `INSERT INTO ${table} (id, last_seq, updated_at) VALUES (1, ?, ?)
           ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at WHERE ${table}.last_seq = 0`,
          [lastSeq, now],
        )
      : await tx.run(`UPDATE ${table} SET last_seq = ?, updated_at = ? WHERE id = 1 AND last_seq = ?`, [lastSeq, now, expectedSeq]);
  return moved.changes > 0;
}
