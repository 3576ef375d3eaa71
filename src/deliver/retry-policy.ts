import type { RecipientOutcome } from '../core/index.js';
import type { RecipientResult } from '../queue/index.js';

export interface RetryInput {
  outcome: RecipientOutcome;
  /** The number of this attempt (1 for the first). */
  attempt: number;
  createdAt: Date;
  expiresAt: Date;
  now: Date;
  /** Waits between attempts in ms (HERALD_RETRY_SCHEDULE); the last one repeats. */
  schedule: readonly number[];
}

export type RetryDecision = Pick<RecipientResult, 'state' | 'nextAttemptAt'>;

/**
 * What happens to a recipient after an attempt. Delivered and bounced are final. A deferral is
 * retried on a schedule anchored to the message's creation (attempt n is due at createdAt plus
 * the first n steps), so a slow attempt or a restart does not stretch the schedule — but never
 * before now or the failure's notBefore, and never after expiresAt. At or past expiresAt the
 * recipient expires.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { outcome, now, expiresAt } = input;
  if (outcome.kind === 'delivered') return { state: 'delivered' };
  if (outcome.kind === 'bounced') return { state: 'bounced' };
  if (now.getTime() >= expiresAt.getTime()) return { state: 'expired' };
  let next = nextSlot(input.schedule, input.attempt, input.createdAt.getTime(), now.getTime());
  if (outcome.notBefore) next = Math.max(next, outcome.notBefore.getTime());
  // The last try happens at expiresAt itself; the attempt after it expires the recipient.
  next = Math.min(next, expiresAt.getTime());
  return { state: 'deferred', nextAttemptAt: new Date(next) };
}

/**
 * The first point of the creation-anchored grid (createdAt + sum of the first k steps, k ≥ the
 * attempt number) that lies after now. Skipping past points instead of using now keeps a message
 * that fell behind (held, or Herald was down) from being retried in a burst.
 */
export function nextSlot(schedule: readonly number[], attempt: number, createdAt: number, now: number): number {
  if (schedule.length === 0) throw new Error('the retry schedule is empty');
  const steps = schedule.map((s) => Math.max(1, s));
  let k = 0;
  let at = createdAt;
  while (k < Math.max(1, attempt) && k < steps.length) at += steps[k++];
  const last = steps[steps.length - 1];
  if (k < attempt) at += (attempt - k) * last;
  if (at > now) return at;
  // Walk the remaining listed steps, then jump over repeats of the last one arithmetically.
  while (k < steps.length && at <= now) at += steps[k++];
  if (at > now) return at;
  return at + (Math.floor((now - at) / last) + 1) * last;
}
