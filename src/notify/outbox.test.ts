import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MailEvent } from '../core/index.js';
import { outboxHead, OutboxReader } from './outbox.js';
import { readFeed } from './event-feed.js';
import { EventPresenter } from './public-events.js';

const ev = (seq: number, accountId = 'acct', type: MailEvent['type'] = 'delivered'): MailEvent => ({ seq, type, messageId: 'm', accountId, recipient: 'r@x.example', at: new Date(0), data: {} });

/** An outbox of these seqs, counting reads. */
function outbox(seqs: number[], accountOf: (seq: number) => string = () => 'acct') {
  const events = seqs.map((s) => ev(s, accountOf(s), s % 5 === 0 ? 'bounced' : 'delivered'));
  const o = {
    reads: 0,
    events,
    read: async (after: number, limit: number) => {
      o.reads++;
      return o.events.filter((e) => e.seq! > after).slice(0, limit);
    },
  };
  return o;
}

test('outboxHead finds the newest seq with reads alone, gaps and all', async () => {
  assert.equal(await outboxHead(outbox([]).read), 0);
  assert.equal(await outboxHead(outbox([1]).read), 1);
  assert.equal(await outboxHead(outbox([1, 2, 3]).read), 3);
  // Retention removed the old ones; sequence gaps.
  assert.equal(await outboxHead(outbox([500, 501, 777, 1024]).read), 1024);
  assert.equal(await outboxHead(outbox([1025]).read), 1025);
  const big = outbox([3, 9_999_991, 12_345_678]);
  assert.equal(await outboxHead(big.read), 12_345_678);
  assert.ok(big.reads < 60, `${big.reads} reads`);
  for (let n = 1; n < 70; n++) assert.equal(await outboxHead(outbox(Array.from({ length: n }, (_, i) => i + 1)).read), n);
});

test('OutboxReader: readers at the head share reads, and what it serves is what the outbox holds', async () => {
  const o = outbox(Array.from({ length: 50 }, (_, i) => i + 1));
  const reader = new OutboxReader(o.read, 30);
  assert.deepEqual((await reader.read(0, 10)).map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const before = o.reads;
  assert.deepEqual((await reader.read(3, 4)).map((e) => e.seq), [4, 5, 6, 7]);
  assert.deepEqual((await reader.read(9, 10)).map((e) => e.seq), [10]);
  assert.equal(o.reads, before, 'served from memory');
  assert.deepEqual((await reader.read(10, 25)).map((e) => e.seq), Array.from({ length: 25 }, (_, i) => i + 11));
  // The window holds at most 30 events: the oldest went.
  const reads = o.reads;
  assert.deepEqual((await reader.read(5, 2)).map((e) => e.seq), [6, 7]);
  assert.equal(o.reads, reads, 'still in the window');
  assert.deepEqual((await reader.read(4, 2)).map((e) => e.seq), [5, 6]);
  assert.equal(o.reads, reads + 1, 'an older read goes to the outbox');
  assert.deepEqual((await reader.read(34, 100)).map((e) => e.seq), [35]);
  // New events arrive: a read from the end of the window goes to the outbox and grows the window.
  o.events.push(ev(51), ev(52));
  assert.deepEqual((await reader.read(35, 100)).map((e) => e.seq), Array.from({ length: 17 }, (_, i) => i + 36));
  assert.deepEqual((await reader.read(50, 100)).map((e) => e.seq), [51, 52]);
});

test('the pull feed: one account, in order, type filter, limit, and a cursor that moves past what it looked at', async () => {
  const o = outbox(Array.from({ length: 40 }, (_, i) => i + 1), (s) => (s % 2 ? 'acct' : 'other'));
  const presenter = new EventPresenter({ eventTag: 't', messageLabels: async () => new Map() });
  const first = await readFeed(o.read, presenter, { accountId: 'acct', after: 0, limit: 5 });
  assert.deepEqual(first.events.map((e) => e.cursor), ['1', '3', '5', '7', '9']);
  assert.equal(first.events[2].type, 'message.bounced');
  assert.equal(first.events[0].data.event_id, 'evt_t_1');
  assert.deepEqual([first.nextCursor, first.hasMore], [9, true]);
  const rest = await readFeed(o.read, presenter, { accountId: 'acct', after: first.nextCursor, limit: 100 });
  assert.equal(rest.events.length, 15);
  assert.deepEqual([rest.nextCursor, rest.hasMore], [40, false]);
  const bounces = await readFeed(o.read, presenter, { accountId: 'acct', after: 0, limit: 100, types: ['message.bounced'] });
  assert.deepEqual(bounces.events.map((e) => e.cursor), ['5', '15', '25', '35']);
  // A sparse account: the scan budget ends the call, the cursor still moves on.
  const sparse = await readFeed(o.read, presenter, { accountId: 'nobody', after: 0, limit: 10, maxScan: 12 });
  assert.deepEqual([sparse.events.length, sparse.nextCursor, sparse.hasMore], [0, 12, true]);
  const end = await readFeed(o.read, presenter, { accountId: 'acct', after: 40, limit: 10 });
  assert.deepEqual([end.events.length, end.nextCursor, end.hasMore], [0, 40, false]);
});
