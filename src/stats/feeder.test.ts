import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newMessageId } from '../core/index.js';
import { SqliteQueueStore, type MessageMeta } from '../queue/index.js';
import { SqliteSqlDatabase } from '../storage/index.js';
import { tempDatabase } from '../../test/support/sqlite.js';
import { startStatsFeeder } from './feeder.js';
import { parseStatsQuery, statsReport } from './report.js';
import { SqlStatsStore } from './sql-stats-store.js';

const T0 = Date.parse('2030-03-01T10:15:00Z');

test('a page of new messages costs one label lookup; known ones none; a failed lookup is asked again on the next read', async (t) => {
  const clock = { now: () => new Date(T0) };
  const queue = new SqliteQueueStore(tempDatabase(t, 'herald-feeder-queue-')(), { clock });
  const stats = await SqlStatsStore.open(new SqliteSqlDatabase(tempDatabase(t, 'herald-feeder-stats-')()), { clock });
  /** Every lookup call, with the ids it asked about. */
  const calls: string[][] = [];
  let failing = false;
  const feeder = startStatsFeeder({
    store: stats,
    readEvents: (after, limit) => queue.readEvents(after, limit),
    messageLabels: async (ids) => {
      calls.push([...ids]);
      if (failing) throw new Error('the queue store is busy');
      return queue.metaOf(ids);
    },
    config: { statsRetention: 400 * 86_400_000, retention: 30 * 86_400_000 },
    clock,
    intervalMs: 0,
    wakeDelayMs: 0,
    pageSize: 1000,
  });
  await feeder.runOnce();

  let n = 0;
  const send = async (count: number, meta: MessageMeta) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = newMessageId(T0 + ++n);
      await queue.enqueue({ id, accountId: 'acme', source: 'api', mailFrom: 'shop@s.test', recipients: [`r${n}@a.test`], body: Buffer.from('Subject: x\r\n\r\nx\r\n'), createdAt: clock.now(), expiresAt: new Date(T0 + 86_400_000), meta });
      ids.push(id);
    }
    return ids;
  };
  const delivered = (ids: string[]) => Promise.all(ids.map((id, i) => queue.recordEvent({ type: 'delivered', messageId: id, accountId: 'acme', recipient: `r${i}@a.test`, at: clock.now(), data: {} })));
  const byTag = async () => {
    const report = await statsReport(stats, parseStatsQuery('acme', { from: '2030-03-01', to: '2030-03-01', groupBy: 'tag' }, clock.now()));
    return Object.fromEntries(report.rows.map((r) => [r.key, [r.sent, r.delivered]]));
  };

  const receipts = await send(40, { tags: ['receipt'] });
  await delivered(receipts);
  assert.equal(await feeder.runOnce(), 80);
  assert.equal(calls.length, 1, 'one lookup for the whole page');
  assert.deepEqual(new Set(calls[0]), new Set(receipts));
  assert.equal(calls[0].length, 40, 'each message asked about once');
  assert.deepEqual(await byTag(), { receipt: [40, 40] });

  // Known messages cost nothing; the page's new ones one call together.
  const news = await send(5, { tags: ['news'], stream: 'broadcast' });
  await delivered([...receipts.slice(0, 10), ...news]);
  await feeder.runOnce();
  assert.deepEqual(calls.slice(1), [news]);
  assert.deepEqual(await byTag(), { news: [5, 5], receipt: [40, 50] });

  // A failed lookup counts nothing and is not remembered: the next read asks again.
  failing = true;
  const late = await send(3, { tags: ['late'] });
  await assert.rejects(feeder.runOnce(), /the queue store is busy/);
  assert.deepEqual(calls.slice(2), [late]);
  assert.deepEqual(await byTag(), { news: [5, 5], receipt: [40, 50] });
  failing = false;
  assert.equal(await feeder.runOnce(), 3);
  assert.deepEqual(calls.slice(3), [late]);
  assert.deepEqual(await byTag(), { late: [3, 0], news: [5, 5], receipt: [40, 50] });
  await feeder.stop();
});
