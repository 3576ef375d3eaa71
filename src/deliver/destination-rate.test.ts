// HERALD_DESTINATION_RATE in the scheduler: a real SQLite queue, a transport that records what
// it was asked to deliver, and a clock the test moves.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { newMessageId, type MailEvent } from '../core/index.js';
import type { DeliveryBatch, NewMessage } from '../queue/index.js';
import { openSqlite } from '../storage/index.js';
import { PostponeCountingStore } from '../../test/support/postpone-counting-store.js';
import { DeliveryScheduler } from './scheduler.js';
import type { Transport, TransportResult } from './smtp-transport.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a destination rate of 5 a minute: 5 of 12 go, the rest wait untried for the minute to end (not for the retry schedule), then 5 more go', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-rate-'));
  dirs.push(dir);
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  let now = minute + 10_000;
  const windowEnd = minute + 60_000;
  const store = new PostponeCountingStore(openSqlite(join(dir, 'queue.db')));
  const sent: string[] = [];
  const transport: Transport = {
    async deliver(batch: DeliveryBatch): Promise<TransportResult> {
      sent.push(batch.messageId);
      const reply = { code: 250, enhanced: '2.0.0', text: 'Ok' };
      return { host: 'mx.big.test', outcomes: new Map(batch.recipients.map((r) => [r.id, { kind: 'delivered' as const, host: 'mx.big.test', reply }])) };
    },
    close: async () => {},
  };
  // A first retry step of 5 minutes: a wait counted as an attempt would come back after it.
  const config = { hostname: 'herald.test', retrySchedule: [300_000], maxQueueAge: 86_400_000, deliveryConcurrency: 20, destinationConcurrency: 3, destinationRate: 5 };
  const scheduler = new DeliveryScheduler({ store, transport, config, clock: { now: () => new Date(now) }, rescanMs: 20, stopGraceMs: 5000 });

  const delivered: MailEvent[] = [];
  const deferred: MailEvent[] = [];
  let changed = () => {};
  store.onPostponed(() => changed());
  store.onCommit((events) => {
    for (const e of events) {
      if (e.type === 'delivered') delivered.push(e);
      if (e.type === 'deferred') deferred.push(e);
    }
    changed();
  });
  const settled = async (done: () => boolean) => {
    while (!done()) await new Promise<void>((resolve) => (changed = resolve));
  };

  try {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = newMessageId();
      ids.push(id);
      const m: NewMessage = {
        id,
        accountId: 'acct',
        source: 'api',
        mailFrom: 'news@senders.test',
        recipients: [`reader${i}@big.test`],
        body: Buffer.from(`From: news@senders.test\r\nSubject: ${id}\r\n\r\nHello.\r\n`),
        createdAt: new Date(now),
        expiresAt: new Date(now + 86_400_000),
        meta: { subject: id },
      };
      await store.enqueue(m);
    }
    await scheduler.start();
    await settled(() => delivered.length + deferred.length + store.postponed === 12);
    assert.equal(sent.length, 5, 'five connections in the first minute');
    assert.equal(delivered.length, 5);
    assert.equal(deferred.length, 0, 'waiting for the rate is not a deferral');
    const waiting = (await Promise.all(ids.map((id) => store.get(id)))).flatMap((m) => m!.recipients).filter((r) => r.state !== 'delivered');
    assert.equal(waiting.length, 7);
    for (const r of waiting) {
      assert.equal(r.state, 'queued');
      assert.equal(r.attempts, 0);
      assert.deepEqual(r.history, []);
      assert.deepEqual(r.nextAttemptAt, new Date(windowEnd));
    }

    now = windowEnd;
    await settled(() => delivered.length + deferred.length === 10 && store.postponed === 9);
    assert.equal(sent.length, 10, 'five more in the next minute');
    assert.equal(deferred.length, 0);
    assert.deepEqual(await store.nextDueAt(), new Date(windowEnd + 60_000));
  } finally {
    await scheduler.stop();
    await store.close();
  }
});
