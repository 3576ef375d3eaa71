import { systemClock, type Clock } from '../core/index.js';
import type { AccountLimits } from './sql-account-store.js';

export type RateLimitWindow = 'minute' | 'day';

export type RateLimitResult =
  | { ok: true }
  /** `max` is the limit that refused; a batch larger than it can never pass and must be split. */
  | { ok: false; retryAfterSeconds: number; limit: RateLimitWindow; max: number };

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

interface Usage {
  minuteStart: number;
  minuteCount: number;
  dayStart: number;
  dayCount: number;
}

/**
 * Messages per account per minute and per day, counted in this process's memory over fixed
 * windows (minutes and UTC days, aligned to the epoch): simple and cheap, at the price of allowing
 * up to twice a limit across a window boundary. Every take is counted, limited or not, so a limit
 * set mid-window already sees what was sent in it.
 */
export class AccountRateLimiter {
  private readonly clock: Clock;
  private readonly usage = new Map<string, Usage>();

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Counts `count` messages (a batch of N counts N) against the account's limits. All or nothing:
   * a refused take consumes nothing, so a client told to wait is not charged for being told.
   */
  take(accountId: string, count: number, limits: AccountLimits, now: Date = this.clock.now()): RateLimitResult {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`a message count must be a whole number of at least 0 (got ${count})`);
    const t = now.getTime();
    const minuteStart = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    const dayStart = Math.floor(t / DAY_MS) * DAY_MS;
    let u = this.usage.get(accountId);
    if (!u) {
      u = { minuteStart, minuteCount: 0, dayStart, dayCount: 0 };
      this.usage.set(accountId, u);
    }
    if (u.minuteStart !== minuteStart) {
      u.minuteStart = minuteStart;
      u.minuteCount = 0;
    }
    if (u.dayStart !== dayStart) {
      u.dayStart = dayStart;
      u.dayCount = 0;
    }
    // The day is checked first: when both are exhausted, waiting for the next minute would only
    // earn another refusal.
    if (limits.ratePerDay !== null && u.dayCount + count > limits.ratePerDay) {
      return { ok: false, retryAfterSeconds: secondsUntil(dayStart + DAY_MS, t), limit: 'day', max: limits.ratePerDay };
    }
    if (limits.ratePerMinute !== null && u.minuteCount + count > limits.ratePerMinute) {
      return { ok: false, retryAfterSeconds: secondsUntil(minuteStart + MINUTE_MS, t), limit: 'minute', max: limits.ratePerMinute };
    }
    u.minuteCount += count;
    u.dayCount += count;
    return { ok: true };
  }

  /** Forgets counts from windows that are over (call now and then; an idle account costs nothing after). */
  prune(now: Date = this.clock.now()): void {
    const dayStart = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
    for (const [accountId, u] of this.usage) if (u.dayStart < dayStart) this.usage.delete(accountId);
  }
}

/** Whole seconds, rounded up and at least 1, as an HTTP Retry-After header needs (RFC 9110 §10.2.3). */
function secondsUntil(end: number, now: number): number {
  return Math.max(1, Math.ceil((end - now) / 1000));
}
