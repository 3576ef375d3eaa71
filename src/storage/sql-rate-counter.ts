import { systemClock, type Clock } from '../core/index.js';
import { checkCount, DAY_MS, judgeTake, MINUTE_MS, windowsAt, type KeyedRateLimiter, type RateLimitResult, type WindowLimits } from './rate-windows.js';
import type { DialectMigrations, SqlDatabase, SqlExecutor } from './sql-database.js';

/**
 * Messages counted per key (an account id, or `destination:<domain>`), window kind and window
 * start. `period` rather than `window`, which PostgreSQL reserves. Counts are
 * BIGINT on PostgreSQL: a key without limits is counted too, and a day of it may pass 2^31.
 */
const MIGRATIONS: DialectMigrations = {
  sqlite: [
    {
      version: 1,
      sql: `CREATE TABLE rate_limit_usage (
              counter_key TEXT NOT NULL,
              period TEXT NOT NULL CHECK (period IN ('minute', 'day')),
              window_start INTEGER NOT NULL,
              messages INTEGER NOT NULL,
              PRIMARY KEY (counter_key, period, window_start)
            ) WITHOUT ROWID`,
    },
  ],
  postgres: [
    {
      version: 1,
      sql: `CREATE TABLE rate_limit_usage (
              counter_key TEXT NOT NULL,
              period TEXT NOT NULL CHECK (period IN ('minute', 'day')),
              window_start BIGINT NOT NULL,
              messages BIGINT NOT NULL,
              PRIMARY KEY (counter_key, period, window_start)
            )`,
    },
  ],
};

/** Both rows of the windows holding now, minute first: every statement locks them in this order. */
const BOTH_WINDOWS = "INSERT INTO rate_limit_usage (counter_key, period, window_start, messages) VALUES (?, 'minute', ?, ?), (?, 'day', ?, ?)";
const CONFLICT = 'ON CONFLICT (counter_key, period, window_start) DO UPDATE SET messages =';

/** A refusal carried out of the transaction, so that it rolls back and the take leaves no trace. */
class Refused {
  constructor(readonly verdict: RateLimitResult) {}
}

/**
 * The counts kept in the shared database, so nodes on one PostgreSQL database allow a key its
 * limit together, not each (SQLite too, where one node is alone and `MemoryRateCounter` is the
 * cheaper choice). Same windows, order of checks and Retry-After as the memory counter: both
 * decide through `judgeTake`.
 *
 * - A limited key's take is one transaction: an upsert that creates (at 0) or locks both of
 *   its current rows and returns their counts, the verdict, then the increment. A concurrent take
 *   on another node waits at the upsert and then reads the count this one left, so together they
 *   never pass the limit. A refusal rolls back: nothing is written.
 * - A key without limits is still counted (a limit set mid-window must see what was already
 *   sent, as in memory), but by one upsert that adds, outside any transaction: nothing can refuse
 *   it, so there is nothing to read first. That is one write per take for such a key;
 *   buffering it in memory would save it only at the price of limits that miss what other nodes
 *   sent a moment ago.
 * - Old windows go when a key's new minute starts (its first take in it): the rows before
 *   the previous minute and the previous day. The previous windows stay, so a node whose clock is
 *   a little behind across a boundary still adds to the rows the others count.
 */
export class SqlRateCounter implements KeyedRateLimiter {
  private constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {}

  static async open(db: SqlDatabase, options: { clock?: Clock } = {}): Promise<SqlRateCounter> {
    await db.migrate('rate-limits', MIGRATIONS);
    return new SqlRateCounter(db, options.clock ?? systemClock);
  }

  async take(key: string, count: number, limits: WindowLimits, now: Date = this.clock.now()): Promise<RateLimitResult> {
    checkCount(count);
    const t = now.getTime();
    const { minuteStart, dayStart } = windowsAt(t);
    if (limits.ratePerMinute === null && limits.ratePerDay === null) {
      const after = usage(
        await this.db.all<UsageRow>(`${BOTH_WINDOWS} ${CONFLICT} rate_limit_usage.messages + excluded.messages RETURNING period, messages`, [
          key,
          minuteStart,
          count,
          key,
          dayStart,
          count,
        ]),
      );
      if (after.minute === count) await forgetOldWindows(this.db, key, minuteStart, dayStart);
      return { ok: true };
    }
    try {
      return await this.db.transaction(async (tx) => {
        const before = usage(
          await tx.all<UsageRow>(`${BOTH_WINDOWS} ${CONFLICT} rate_limit_usage.messages RETURNING period, messages`, [key, minuteStart, 0, key, dayStart, 0]),
        );
        const verdict = judgeTake(before, count, limits, t);
        if (!verdict.ok) throw new Refused(verdict);
        await tx.run(
          `UPDATE rate_limit_usage SET messages = messages + ?
            WHERE counter_key = ? AND ((period = 'minute' AND window_start = ?) OR (period = 'day' AND window_start = ?))`,
          [count, key, minuteStart, dayStart],
        );
        if (before.minute === 0) await forgetOldWindows(tx, key, minuteStart, dayStart);
        return verdict;
      });
    } catch (err) {
      if (err instanceof Refused) return err.verdict;
      throw err;
    }
  }
}

interface UsageRow {
  period: string;
  messages: number;
}

function usage(rows: UsageRow[]): { minute: number; day: number } {
  const of = (period: string) => Number(rows.find((r) => r.period === period)?.messages ?? 0);
  return { minute: of('minute'), day: of('day') };
}

/**
 * Deletes the key's rows older than the previous minute and the previous day. On PostgreSQL
 * rows another node holds are skipped (a later take deletes them): waiting for them while holding
 * this take's rows could deadlock with a node whose clock is behind.
 */
async function forgetOldWindows(db: SqlExecutor, key: string, minuteStart: number, dayStart: number): Promise<void> {
  await db.run(
    `DELETE FROM rate_limit_usage WHERE (counter_key, period, window_start) IN (
       SELECT counter_key, period, window_start FROM rate_limit_usage
        WHERE counter_key = ? AND ((period = 'minute' AND window_start < ?) OR (period = 'day' AND window_start < ?))
        ${db.dialect === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : ''})`,
    [key, minuteStart - MINUTE_MS, dayStart - DAY_MS],
  );
}
