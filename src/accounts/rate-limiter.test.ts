import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../core/index.js';
import type { SqlDatabase } from '../storage/index.js';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { AccountRateLimiter, type RateLimiter, type RateLimitResult } from './rate-limiter.js';
import { SqlAccountRateLimiter } from './sql-rate-limiter.js';
import type { AccountLimits } from './sql-account-store.js';

// A fixed point: 12:00:30 UTC, half-way through a minute.
const T0 = Date.parse('2025-03-01T12:00:30Z');
function clockAt(start = T0) {
  let now = start;
  return { now: () => new Date(now), set: (ms: number) => (now = ms) };
}
const perMinute = (n: number | null) => ({ ratePerMinute: n, ratePerDay: null });
const unlimited = { ratePerMinute: null, ratePerDay: null };

/** What every limiter does, on its own (one process, one connection). */
function behavesAsAnAccountLimiter(make: (clock: Clock) => Promise<RateLimiter>) {
  test('no limits: every take passes', async () => {
    const limiter = await make(clockAt());
    for (let i = 0; i < 200; i++) assert.deepEqual(await limiter.take('a', 100, unlimited), { ok: true });
  });

  test('a per-minute limit refuses the message over it until the next minute, and says how long to wait', async () => {
    const clock = clockAt();
    const limiter = await make(clock);
    for (let i = 0; i < 3; i++) assert.equal((await limiter.take('a', 1, perMinute(3))).ok, true);
    assert.deepEqual(await limiter.take('a', 1, perMinute(3)), { ok: false, retryAfterSeconds: 30, limit: 'minute', max: 3 });
    clock.set(T0 + 29_500);
    assert.deepEqual(await limiter.take('a', 1, perMinute(3)), { ok: false, retryAfterSeconds: 1, limit: 'minute', max: 3 });
    clock.set(T0 + 30_000); // 12:01:00, a new window
    assert.equal((await limiter.take('a', 3, perMinute(3))).ok, true);
  });

  test('a batch of N counts N, and a refused batch consumes nothing', async () => {
    const limiter = await make(clockAt());
    assert.equal((await limiter.take('a', 7, perMinute(10))).ok, true);
    const refused = await limiter.take('a', 4, perMinute(10));
    assert.equal(refused.ok, false);
    // The refused 4 were not counted: 3 more still fit.
    assert.equal((await limiter.take('a', 3, perMinute(10))).ok, true);
    assert.equal((await limiter.take('a', 1, perMinute(10))).ok, false);
  });

  test('a batch larger than the limit is refused with the limit, so the caller can tell it to split', async () => {
    const limiter = await make(clockAt());
    assert.deepEqual(await limiter.take('a', 11, perMinute(10)), { ok: false, retryAfterSeconds: 30, limit: 'minute', max: 10 });
    assert.equal((await limiter.take('a', 10, perMinute(10))).ok, true);
  });

  test('accounts are counted apart', async () => {
    const limiter = await make(clockAt());
    assert.equal((await limiter.take('a', 5, perMinute(5))).ok, true);
    assert.equal((await limiter.take('a', 1, perMinute(5))).ok, false);
    assert.equal((await limiter.take('b', 5, perMinute(5))).ok, true);
  });

  test('a per-day limit runs over UTC days; when both are spent the day is reported', async () => {
    const clock = clockAt();
    const limiter = await make(clock);
    const limits = { ratePerMinute: 2, ratePerDay: 3 };
    assert.equal((await limiter.take('a', 2, limits)).ok, true);
    clock.set(T0 + 60_000);
    assert.equal((await limiter.take('a', 1, limits)).ok, true);
    // Minute and day both spent: waiting a minute would not help.
    assert.deepEqual(await limiter.take('a', 2, limits), { ok: false, retryAfterSeconds: 12 * 3600 - 90, limit: 'day', max: 3 });
    clock.set(T0 + 120_000);
    assert.deepEqual(await limiter.take('a', 1, limits), { ok: false, retryAfterSeconds: 12 * 3600 - 150, limit: 'day', max: 3 });
    clock.set(Date.parse('2025-03-02T00:00:00Z'));
    assert.equal((await limiter.take('a', 2, limits)).ok, true);
    assert.deepEqual(await limiter.take('a', 1, limits), { ok: false, retryAfterSeconds: 60, limit: 'minute', max: 2 });
  });

  test('a limit set mid-window sees what was already sent in it', async () => {
    const limiter = await make(clockAt());
    assert.equal((await limiter.take('a', 8, perMinute(null))).ok, true);
    assert.equal((await limiter.take('a', 3, perMinute(10))).ok, false);
    assert.equal((await limiter.take('a', 2, perMinute(10))).ok, true);
  });

  test('an explicit time wins over the clock; a bad count is a bug, not a refusal', async () => {
    const limiter = await make(clockAt());
    assert.equal((await limiter.take('a', 1, perMinute(1), new Date(T0))).ok, true);
    assert.equal((await limiter.take('a', 1, perMinute(1), new Date(T0 + 60_000))).ok, true);
    await assert.rejects(limiter.take('a', -1, perMinute(1)), RangeError);
    await assert.rejects(limiter.take('a', 1.5, perMinute(1)), RangeError);
  });
}

describe('the account limiter in memory', () => {
  behavesAsAnAccountLimiter(async (clock) => new AccountRateLimiter({ clock }));

  test('prune forgets accounts whose day is over, and they start afresh', async () => {
    const clock = clockAt();
    const limiter = new AccountRateLimiter({ clock });
    assert.equal((await limiter.take('a', 1, { ratePerMinute: null, ratePerDay: 1 })).ok, true);
    limiter.prune();
    assert.equal((await limiter.take('a', 1, { ratePerMinute: null, ratePerDay: 1 })).ok, false); // still today
    clock.set(T0 + 86_400_000);
    limiter.prune();
    assert.equal((await limiter.take('a', 1, { ratePerMinute: null, ratePerDay: 1 })).ok, true);
  });
});

describeEachBackend('the account limiter in the database', ({ engine, fresh, another }) => {
  behavesAsAnAccountLimiter(async (clock) => SqlAccountRateLimiter.open(await fresh(), { clock }));

  // Connections of one thread cannot wait for each other's SQLite transactions (two processes
  // would): there each node's takes run at once and the nodes take turns; on PostgreSQL all of
  // them overlap.
  const together = async <T>(...nodes: (() => Promise<T>[])[]): Promise<T[]> => {
    if (engine === 'postgres') return (await Promise.all(nodes.map((n) => Promise.all(n())))).flat();
    const all: T[] = [];
    for (const n of nodes) all.push(...(await Promise.all(n())));
    return all;
  };

  /** Two nodes on one database, on their own connections and one clock. */
  async function twoNodes(clock: Clock = clockAt()) {
    const db = await fresh();
    const a = await SqlAccountRateLimiter.open(db, { clock });
    const b = await SqlAccountRateLimiter.open(await another(db), { clock });
    return { db, a, b };
  }

  const rowsOf = (db: SqlDatabase, accountId: string) =>
    db.all<{ period: string; window_start: number; messages: number }>(
      'SELECT period, window_start, messages FROM rate_limit_usage WHERE counter_key = ? ORDER BY period DESC, window_start',
      [accountId],
    );

  test('nodes taking at once allow the limit together: 30 takes of 1 against 10 a minute pass 10', async () => {
    const { a, b } = await twoNodes();
    const takes = (node: RateLimiter) => () => Array.from({ length: 15 }, () => node.take('acme', 1, perMinute(10)));
    const results = await together(takes(a), takes(b));
    assert.equal(results.filter((r) => r.ok).length, 10);
    for (const r of results.filter((r) => !r.ok)) assert.deepEqual(r, { ok: false, retryAfterSeconds: 30, limit: 'minute', max: 10 });
    assert.equal((await a.take('acme', 1, perMinute(10))).ok, false, 'still spent, seen from either node');
    assert.equal((await b.take('acme', 1, perMinute(10))).ok, false);
  });

  test('batches from both nodes count against a shared day', async () => {
    const clock = clockAt();
    const { a, b } = await twoNodes(clock);
    const day = { ratePerMinute: null, ratePerDay: 10 };
    const [x, y] = await together(
      () => [a.take('acme', 4, day)],
      () => [b.take('acme', 4, day)],
    );
    assert.deepEqual([x.ok, y.ok], [true, true]);
    clock.set(T0 + 3600_000);
    assert.deepEqual(await a.take('acme', 4, day), { ok: false, retryAfterSeconds: 11 * 3600 - 30, limit: 'day', max: 10 });
    assert.equal((await b.take('acme', 2, day)).ok, true);
    assert.equal((await a.take('acme', 1, day)).ok, false);
  });

  test('what one node sent without limits counts when a limit appears on the other', async () => {
    const { a, b } = await twoNodes();
    assert.equal((await a.take('acme', 8, unlimited)).ok, true);
    assert.equal((await b.take('acme', 3, perMinute(10))).ok, false);
    assert.equal((await b.take('acme', 2, perMinute(10))).ok, true);
    assert.equal((await a.take('acme', 1, perMinute(10))).ok, false);
  });

  test('a refused take writes nothing', async () => {
    const { db, a, b } = await twoNodes();
    assert.equal((await a.take('new', 11, perMinute(10))).ok, false);
    assert.deepEqual(await rowsOf(db, 'new'), [], 'not even the rows of its windows');
    assert.equal((await a.take('acme', 6, perMinute(10))).ok, true);
    assert.equal((await b.take('acme', 5, perMinute(10))).ok, false);
    assert.deepEqual(
      (await rowsOf(db, 'acme')).map((r) => [r.period, r.messages]),
      [
        ['minute', 6],
        ['day', 6],
      ],
    );
  });

  test('windows roll over on the clock, and rows before the previous window are deleted', async () => {
    const clock = clockAt();
    const { db, a, b } = await twoNodes(clock);
    const minute = Math.floor(T0 / 60_000) * 60_000;
    const day = Date.parse('2025-03-01T00:00:00Z');
    assert.equal((await a.take('acme', 2, perMinute(2))).ok, true);
    assert.equal((await b.take('acme', 1, perMinute(2))).ok, false);
    clock.set(minute + 60_000);
    assert.equal((await b.take('acme', 2, perMinute(2))).ok, true, 'a new minute');
    assert.equal((await a.take('acme', 1, perMinute(2))).ok, false);
    clock.set(minute + 120_000);
    assert.equal((await a.take('acme', 1, unlimited)).ok, true);
    assert.deepEqual(
      (await rowsOf(db, 'acme')).map((r) => [r.period, r.window_start, r.messages]),
      [
        ['minute', minute + 60_000, 2],
        ['minute', minute + 120_000, 1],
        ['day', day, 5],
      ],
      'the minute before the previous one is gone',
    );
    // Two days on, with a limit: yesterday's row stays, the day before goes.
    clock.set(day + 86_400_000);
    assert.equal((await b.take('acme', 1, { ratePerMinute: null, ratePerDay: 5 })).ok, true, 'a new day');
    clock.set(day + 2 * 86_400_000);
    assert.equal((await b.take('acme', 5, { ratePerMinute: null, ratePerDay: 5 })).ok, true);
    assert.deepEqual(
      (await rowsOf(db, 'acme')).map((r) => [r.period, r.window_start, r.messages]),
      [
        ['minute', day + 2 * 86_400_000, 5],
        ['day', day + 86_400_000, 1],
        ['day', day + 2 * 86_400_000, 5],
      ],
    );
  });

  test('gives the memory limiter’s answers, Retry-After included, over minutes and days', async () => {
    const clock = clockAt(Date.parse('2025-03-01T23:58:10Z'));
    const { a, b } = await twoNodes(clock);
    const memory = new AccountRateLimiter({ clock });
    const limits: AccountLimits[] = [perMinute(3), { ratePerMinute: 4, ratePerDay: 9 }, unlimited, { ratePerMinute: null, ratePerDay: 6 }];
    const fromMemory: RateLimitResult[] = [];
    const fromDatabase: RateLimitResult[] = [];
    const start = clock.now().getTime();
    for (let i = 0; i < 60; i++) {
      // Steps of 7.3 s cross minutes at varying points and, after a minute and a half, midnight.
      clock.set(start + Math.round(i * 7_300));
      const account = i % 3 === 0 ? 'other' : 'acme';
      const count = 1 + (i % 4);
      const rules = limits[Math.floor(i / 15)];
      fromMemory.push(await memory.take(account, count, rules));
      fromDatabase.push(await (i % 2 ? a : b).take(account, count, rules));
    }
    assert.deepEqual(fromDatabase, fromMemory);
    assert.ok(fromMemory.some((r) => !r.ok && r.limit === 'minute') && fromMemory.some((r) => !r.ok && r.limit === 'day'), 'both limits refused somewhere');
  });
});
