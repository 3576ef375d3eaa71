import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { SqlRateCounter, type KeyedRateLimiter } from './index.js';

const perMinute = (n: number) => ({ ratePerMinute: n, ratePerDay: null });

describeEachBackend('the windowed counter shared by nodes', ({ engine, fresh, another }) => {
  const t0 = new Date(Date.UTC(2026, 0, 5, 12, 0, 30));
  const clock = { now: () => t0 };

  // On SQLite the connections of one thread cannot wait for each other's transactions: there
  // the nodes take turns; on PostgreSQL their takes overlap.
  const together = async (...nodes: (() => Promise<{ ok: boolean }>[])[]) => {
    if (engine === 'postgres') return (await Promise.all(nodes.map((n) => Promise.all(n())))).flat();
    const all: { ok: boolean }[] = [];
    for (const n of nodes) all.push(...(await Promise.all(n())));
    return all;
  };

  test('two connections allow a destination its limit together, apart from an account counted in the same table', async () => {
    const db = await fresh();
    const a = await SqlRateCounter.open(db, { clock });
    const b = await SqlRateCounter.open(await another(db), { clock });
    const takes = (node: KeyedRateLimiter, key: string) => () => Array.from({ length: 8 }, () => node.take(key, 1, perMinute(10)));
    const results = await together(takes(a, 'destination:big.test'), takes(b, 'destination:big.test'));
    assert.equal(results.filter((r) => r.ok).length, 10);
    assert.deepEqual(await b.take('destination:big.test', 1, perMinute(10)), { ok: false, retryAfterSeconds: 30, limit: 'minute', max: 10 });

    // Another key in the same table, and another destination, have their own counts.
    assert.equal((await a.take('acc_abc', 10, perMinute(10))).ok, true);
    assert.equal((await b.take('destination:small.test', 10, perMinute(10))).ok, true);

    // The next minute starts afresh on either connection.
    const later = new Date(t0.getTime() + 60_000);
    assert.equal((await b.take('destination:big.test', 10, perMinute(10), later)).ok, true);
    assert.equal((await a.take('destination:big.test', 1, perMinute(10), later)).ok, false);
  });
});
