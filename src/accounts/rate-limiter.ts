import { MemoryRateCounter, type RateLimitResult } from '../storage/index.js';
import type { AccountLimits } from './sql-account-store.js';

export type { RateLimitResult, RateLimitWindow } from '../storage/index.js';

/**
 * Messages per account per minute and per day, counted by the windowed counters of storage
 * (rate-windows.ts) under the account's id.
 */
export interface RateLimiter {
  /**
   * Counts `count` messages (a batch of N counts N) against the account's limits. All or nothing:
   * a refused take consumes nothing, so a client told to wait is not charged for being told.
   */
  take(accountId: string, count: number, limits: AccountLimits, now?: Date): Promise<RateLimitResult>;
}

/**
 * The limits counted in this process's memory: for a node alone on its database (the embedded
 * SQLite deployment). Nodes sharing PostgreSQL count together with `SqlAccountRateLimiter`.
 */
export class AccountRateLimiter extends MemoryRateCounter implements RateLimiter {}
