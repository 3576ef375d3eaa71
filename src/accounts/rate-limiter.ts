import { systemClock, type Clock } from '../core/index.js';
import type { AccountLimits } from './sql-account-store.js';

export type RateLimitWindow = 'minute' | 'day';

export type RateLimitResult =
  | { ok: true }
  /** `max` is the limit that refused; a batch larger than it can never pass and must be split. */
  | { ok: false; retryAfterSeconds: number; limit: RateLimitWindow; max: number };

/**
 * Messages per account per minute and per day over fixed windows (minutes and UTC days, aligned to
 * the epoch): simple and cheap, at the price of allowing up to twice a limit across a window
 * boundary. Every take is counted, limited or not, so a limit set mid-window already sees what was
 * sent in it.
 */
export interface RateLimiter {
  /**
   * Counts `count` messages (a batch of N counts N) against the account's limits. All or nothing:
   * a refused take consumes nothing, so a client told to wait is not charged for being told.
   */
  take(accountId: string, count: number, limits: AccountLimits, now?: Date): Promise<RateLimitResult>;
}

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** The starts (ms) of the minute and of the UTC day holding `t`. */
export function windowsAt(t: number): { minuteStart: number; dayStart: number } {
  return { minuteStart: Math.floor(t / MINUTE_MS) * MINUTE_MS, dayStart: Math.floor(t / DAY_MS) * DAY_MS };
}

/** A bad count is a bug of the caller, not a refusal. */
export function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`a message count must be a whole number of at least 0 (got ${count})`);
}

/**
 * Whether `count` more messages fit beside what the windows holding `t` already counted. Every
 * limiter decides here, so their refusals and Retry-After values agree.
 */
export function judgeTake(used: { minute: number; day: number }, count: number, limits: AccountLimits, t: number): RateLimitResult {
  const { minuteStart, dayStart } = windowsAt(t);
  // The day is checked first: when both are exhausted, waiting for the next minute would only
  // earn another refusal.
  if (limits.ratePerDay !== null && used.day + count > limits.ratePerDay) {
    return { ok: false, retryAfterSeconds: secondsUntil(dayStart + DAY_MS, t), limit: 'day', max: limits.ratePerDay };
  }
  if (limits.ratePerMinute !== null && used.minute + count > limits.ratePerMinute) {
    return { ok: false, retryAfterSeconds: secondsUntil(minuteStart + MINUTE_MS, t), limit: 'minute', max: limits.ratePerMinute };
  }
  return { ok: true };
}

interface Usage {
  minuteStart: number;
  minuteCount: number;
  dayStart: number;
  dayCount: number;
}

/**
 * The limits counted in this process's memory: for a node alone on its database (the embedded
 * SQLite deployment). Nodes sharing PostgreSQL count together with `SqlAccountRateLimiter`.
 */
export class AccountRateLimiter implements RateLimiter {
  private readonly clock: Clock;
  private readonly usage = new Map<string, Usage>();

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async take(accountId: string, count: number, limits: AccountLimits, now: Date = this.clock.now()): Promise<RateLimitResult> {
    checkCount(count);
    const t = now.getTime();
    const { minuteStart, dayStart } = windowsAt(t);
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
    const verdict = judgeTake({ minute: u.minuteCount, day: u.dayCount }, count, limits, t);
    if (!verdict.ok) return verdict;
    u.minuteCount += count;
    u.dayCount += count;
    return verdict;
  }

  /** Forgets counts from windows that are over (call now and then; an idle account costs nothing after). */
  prune(now: Date = this.clock.now()): void {
    const { dayStart } = windowsAt(now.getTime());
    for (const [accountId, u] of this.usage) if (u.dayStart < dayStart) this.usage.delete(accountId);
  }
}

/** Whole seconds, rounded up and at least 1, as an HTTP Retry-After header needs (RFC 9110 §10.2.3). */
function secondsUntil(end: number, now: number): number {
  return Math.max(1, Math.ceil((end - now) / 1000));
}
