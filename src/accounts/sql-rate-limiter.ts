import type { Clock } from '../core/index.js';
import { SqlRateCounter, type RateLimitResult, type SqlDatabase } from '../storage/index.js';
import type { RateLimiter } from './rate-limiter.js';
import type { AccountLimits } from './sql-account-store.js';

/**
 * The account limits counted in the shared database (`SqlRateCounter`, table `rate_limit_usage`
 * under the account's id), so nodes on one PostgreSQL database allow an account its limit
 * together, not each.
 */
export class SqlAccountRateLimiter implements RateLimiter {
  private constructor(private readonly counter: SqlRateCounter) {}

  static async open(db: SqlDatabase, options: { clock?: Clock } = {}): Promise<SqlAccountRateLimiter> {
    return new SqlAccountRateLimiter(await SqlRateCounter.open(db, options));
  }

  take(accountId: string, count: number, limits: AccountLimits, now?: Date): Promise<RateLimitResult> {
    return this.counter.take(accountId, count, limits, now);
  }
}
