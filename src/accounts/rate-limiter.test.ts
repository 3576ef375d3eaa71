import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccountRateLimiter } from './rate-limiter.js';

// A fixed point: 12:00:30 UTC, half-way through a minute.
const T0 = Date.parse('2025-03-01T12:00:30Z');
function clockAt(start = T0) {
  let now = start;
  return { now: () => new Date(now), set: (ms: number) => (now = ms) };
}
const perMinute = (n: number | null) => ({ ratePerMinute: n, ratePerDay: null });

test('no limits: every take passes', () => {
  const limiter = new AccountRateLimiter({ clock: clockAt() });
  for (let i = 0; i < 1000; i++) assert.deepEqual(limiter.take('a', 100, { ratePerMinute: null, ratePerDay: null }), { ok: true });
});

test('a per-minute limit refuses the message over it until the next minute, and says how long to wait', () => {
  const clock = clockAt();
  const limiter = new AccountRateLimiter({ clock });
  for (let i = 0; i < 3; i++) assert.equal(limiter.take('a', 1, perMinute(3)).ok, true);
  assert.deepEqual(limiter.take('a', 1, perMinute(3)), { ok: false, retryAfterSeconds: 30, limit: 'minute', max: 3 });
  clock.set(T0 + 29_500);
  assert.deepEqual(limiter.take('a', 1, perMinute(3)), { ok: false, retryAfterSeconds: 1, limit: 'minute', max: 3 });
  clock.set(T0 + 30_000); // 12:01:00, a new window
  assert.equal(limiter.take('a', 3, perMinute(3)).ok, true);
});

test('a batch of N counts N, and a refused batch consumes nothing', () => {
  const limiter = new AccountRateLimiter({ clock: clockAt() });
  assert.equal(limiter.take('a', 7, perMinute(10)).ok, true);
  const refused = limiter.take('a', 4, perMinute(10));
  assert.equal(refused.ok, false);
  // The refused 4 were not counted: 3 more still fit.
  assert.equal(limiter.take('a', 3, perMinute(10)).ok, true);
  assert.equal(limiter.take('a', 1, perMinute(10)).ok, false);
});

test('a batch larger than the limit is refused with the limit, so the caller can tell it to split', () => {
  const limiter = new AccountRateLimiter({ clock: clockAt() });
  assert.deepEqual(limiter.take('a', 11, perMinute(10)), { ok: false, retryAfterSeconds: 30, limit: 'minute', max: 10 });
  assert.equal(limiter.take('a', 10, perMinute(10)).ok, true);
});

test('accounts are counted apart', () => {
  const limiter = new AccountRateLimiter({ clock: clockAt() });
  assert.equal(limiter.take('a', 5, perMinute(5)).ok, true);
  assert.equal(limiter.take('a', 1, perMinute(5)).ok, false);
  assert.equal(limiter.take('b', 5, perMinute(5)).ok, true);
});

test('a per-day limit runs over UTC days; when both are spent the day is reported', () => {
  const clock = clockAt();
  const limiter = new AccountRateLimiter({ clock });
  const limits = { ratePerMinute: 2, ratePerDay: 3 };
  assert.equal(limiter.take('a', 2, limits).ok, true);
  clock.set(T0 + 60_000);
  assert.equal(limiter.take('a', 1, limits).ok, true);
  // Minute and day both spent: waiting a minute would not help.
  assert.deepEqual(limiter.take('a', 2, limits), { ok: false, retryAfterSeconds: 12 * 3600 - 90, limit: 'day', max: 3 });
  clock.set(T0 + 120_000);
  assert.deepEqual(limiter.take('a', 1, limits), { ok: false, retryAfterSeconds: 12 * 3600 - 150, limit: 'day', max: 3 });
  clock.set(Date.parse('2025-03-02T00:00:00Z'));
  assert.equal(limiter.take('a', 2, limits).ok, true);
  assert.deepEqual(limiter.take('a', 1, limits), { ok: false, retryAfterSeconds: 60, limit: 'minute', max: 2 });
});

test('a limit set mid-window sees what was already sent in it', () => {
  const limiter = new AccountRateLimiter({ clock: clockAt() });
  assert.equal(limiter.take('a', 8, perMinute(null)).ok, true);
  assert.equal(limiter.take('a', 3, perMinute(10)).ok, false);
  assert.equal(limiter.take('a', 2, perMinute(10)).ok, true);
});

test('an explicit time wins over the clock; a bad count is a bug, not a refusal', () => {
  const limiter = new AccountRateLimiter({ clock: clockAt() });
  assert.equal(limiter.take('a', 1, perMinute(1), new Date(T0)).ok, true);
  assert.equal(limiter.take('a', 1, perMinute(1), new Date(T0 + 60_000)).ok, true);
  assert.throws(() => limiter.take('a', -1, perMinute(1)), RangeError);
  assert.throws(() => limiter.take('a', 1.5, perMinute(1)), RangeError);
});

test('prune forgets accounts whose day is over, and they start afresh', () => {
  const clock = clockAt();
  const limiter = new AccountRateLimiter({ clock });
  assert.equal(limiter.take('a', 1, { ratePerMinute: null, ratePerDay: 1 }).ok, true);
  limiter.prune();
  assert.equal(limiter.take('a', 1, { ratePerMinute: null, ratePerDay: 1 }).ok, false); // still today
  clock.set(T0 + 86_400_000);
  limiter.prune();
  assert.equal(limiter.take('a', 1, { ratePerMinute: null, ratePerDay: 1 }).ok, true);
});
