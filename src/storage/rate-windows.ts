import { systemClock, type Clock } from '../core/index.js';

export type RateLimitWindow = 'minute' | 'day';

/** Most messages per minute and per UTC day; null is no limit. */
export interface WindowLimits {
  ratePerMinute: number | null;
  ratePerDay: number | null;
}

export type RateLimitResult =
  | { ok: true }
  /** `max` is the limit that refused; a batch larger than it can never pass and must be split. */
  | { ok: false; retryAfterSeconds: number; limit: RateLimitWindow; max: number };

/**
 * Messages counted per key over fixed windows (minutes and UTC days, aligned to the epoch):
 * simple and cheap, at the price of allowing up to twice a limit across a window boundary. Every
 * take is counted, limited or not, so a limit set mid-window already sees what was sent in it.
 * Accounts count under their id, destinations under `destination:<domain>` (account ids never
 * hold a colon), so both may share one counter's table.
 */
export interface KeyedRateLimiter {
  /**
   * Counts `count` messages against the key's limits. All or nothing: a refused take consumes
   * nothing, so whoever is told to wait is not charged for being told.
   */
  take(key: string, count: number, limits: WindowLimits, now?: Date): Promise<RateLimitResult>;
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
export function judgeTake(used: { minute: number; day: number }, count: number, limits: WindowLimits, t: number): RateLimitResult {
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
 * The counts kept in this process's memory: for a node alone on its database (the embedded
 * SQLite deployment). Nodes sharing PostgreSQL count together with `SqlRateCounter`.
 */
export class MemoryRateCounter implements KeyedRateLimiter {
  private readonly clock: Clock;
  private readonly usage = new Map<string, Usage>();
  private prunedDay = -Infinity;

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async take(key: string, count: number, limits: WindowLimits, now: Date = this.clock.now()): Promise<RateLimitResult> {
    checkCount(count);
    const t = now.getTime();
    const { minuteStart, dayStart } = windowsAt(t);
    // Keys come and go (every destination domain is one): the first take of a day drops the
    // keys idle since an earlier one.
    if (dayStart > this.prunedDay) {
      this.prune(now);
      this.prunedDay = dayStart;
    }
    let u = this.usage.get(key);
    if (!u) {
      u = { minuteStart, minuteCount: 0, dayStart, dayCount: 0 };
      this.usage.set(key, u);
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

  /** Forgets counts from windows that are over (an idle key costs nothing after). */
  prune(now: Date = this.clock.now()): void {
    const { dayStart } = windowsAt(now.getTime());
    for (const [key, u] of this.usage) if (u.dayStart < dayStart) this.usage.delete(key);
  }
}

/** Whole seconds, rounded up and at least 1, as an HTTP Retry-After header needs (RFC 9110 §10.2.3). */
function secondsUntil(end: number, now: number): number {
  return Math.max(1, Math.ceil((end - now) / 1000));
}
