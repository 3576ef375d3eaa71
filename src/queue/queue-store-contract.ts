import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newMessageId, type MailEvent, type MessageId } from '../core/index.js';
import type { DeliveryBatch, NewMessage, QueueStore, RecipientResult, RecipientState } from './types.js';

/**
 * What a backend hands the contract suite: a store on fresh, empty storage, and a way to open a
 * second store on the same storage — as a restarted or second process would — to prove that what
 * a call promised is really committed.
 */
export interface QueueStoreFixture {
  store: QueueStore;
  /** A new store on the same storage; the first one stays open (as if its process had died). */
  openAnother(): Promise<QueueStore>;
  /** Closes every store opened and removes the storage. */
  cleanup(): Promise<void>;
}

// A fixed clock far from now: the suite passes explicit times, so nothing depends on the wall clock.
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const at = (ms: number) => new Date(T0 + ms);
const MINUTE = 60_000;

let sequence = 0;
/** A message with a time-ordered id (ids made in one millisecond would not sort by creation). */
function message(over: Partial<NewMessage> = {}): NewMessage {
  const n = ++sequence;
  return {
    id: newMessageId(T0 + n),
    accountId: 'acct-1',
    source: 'smtp',
    mailFrom: 'sender@s.example',
    recipients: ['rcpt@a.example'],
    body: Buffer.from(`Subject: message ${n}\r\n\r\nHello ${n}\r\n`),
    createdAt: at(0),
    expiresAt: at(5 * 24 * 60 * MINUTE),
    meta: { subject: `message ${n}`, clientIp: '192.0.2.1' },
    ...over,
  };
}

const OK = { code: 250, enhanced: '2.0.0', text: 'OK queued as 42' };
const GREYLISTED = { code: 451, enhanced: '4.7.1', text: 'Greylisted, try again later' };
const UNKNOWN = { code: 550, enhanced: '5.1.1', text: 'User unknown' };

function delivered(recipientId: number, host = 'mx.a.example'): RecipientResult {
  return { recipientId, state: 'delivered', outcome: { kind: 'delivered', host, reply: OK } };
}
function deferred(recipientId: number, nextAttemptAt: Date): RecipientResult {
  return {
    recipientId,
    state: 'deferred',
    nextAttemptAt,
    outcome: { kind: 'deferred', failure: { scope: 'recipient', reply: GREYLISTED, reason: 'greylisted', host: 'mx.a.example' } },
  };
}
function bounced(recipientId: number): RecipientResult {
  return {
    recipientId,
    state: 'bounced',
    outcome: { kind: 'bounced', failure: { scope: 'recipient', reply: UNKNOWN, reason: 'the recipient does not exist', host: 'mx.a.example' } },
  };
}
/** A connection failure past the message's expiry: no host, no reply, only our reason. */
function expired(recipientId: number): RecipientResult {
  return { recipientId, state: 'expired', outcome: { kind: 'deferred', failure: { scope: 'connection', reason: 'connect ECONNREFUSED 192.0.2.25:25' } } };
}

/** Records every onCommit call, so tests check notifications after awaiting the call that made them. */
function listen(store: QueueStore): MailEvent[][] {
  const calls: MailEvent[][] = [];
  store.onCommit((events) => calls.push(events));
  return calls;
}

function claim(store: QueueStore, now: Date, over: { owner?: string; limit?: number; leaseMs?: number; skipDomains?: string[] } = {}) {
  return store.claimDue({ owner: over.owner ?? 'worker-1', now, limit: over.limit ?? 100, leaseMs: over.leaseMs ?? MINUTE, skipDomains: over.skipDomains });
}

function only<T>(items: T[]): T {
  assert.equal(items.length, 1, `expected exactly one item, got ${items.length}`);
  return items[0];
}

async function states(store: QueueStore, id: MessageId): Promise<Record<string, RecipientState>> {
  const m = await store.get(id);
  assert.ok(m, `message ${id} exists`);
  return Object.fromEntries(m.recipients.map((r) => [r.address, r.state]));
}

/** The behaviour every QueueStore backend must have. Each test gets fresh storage from `open`. */
export function runQueueStoreContract(name: string, open: () => Promise<QueueStoreFixture>): void {
  async function withStore(fn: (f: QueueStoreFixture) => Promise<void>): Promise<void> {
    const f = await open();
    try {
      await fn(f);
    } finally {
      await f.cleanup();
    }
  }
  const it = (title: string, fn: (f: QueueStoreFixture) => Promise<void>) => test(title, () => withStore(fn));

  describe(`QueueStore contract: ${name}`, () => {
    describe('enqueue', () => {
      it('is committed when it resolves: another store on the same storage sees all of it', async ({ store, openAnother }) => {
        const msg = message({ recipients: ['one@a.example', 'two@b.example'], meta: { subject: 'Hi', helo: 'client.example' } });
        await store.enqueue(msg);
        const other = await openAnother();
        const got = await other.get(msg.id);
        assert.ok(got);
        assert.equal(got.accountId, 'acct-1');
        assert.equal(got.source, 'smtp');
        assert.equal(got.mailFrom, 'sender@s.example');
        assert.equal(got.size, msg.body.length);
        assert.deepEqual(got.createdAt, msg.createdAt);
        assert.deepEqual(got.expiresAt, msg.expiresAt);
        assert.deepEqual(got.meta, { subject: 'Hi', helo: 'client.example' });
        assert.equal(got.status, 'queued');
        assert.equal(got.recipientCount, 2);
        assert.deepEqual(got.nextAttemptAt, msg.createdAt);
        assert.deepEqual(
          got.recipients.map((r) => [r.address, r.state, r.attempts, r.lastReply, r.history.length]),
          [
            ['one@a.example', 'queued', 0, null, 0],
            ['two@b.example', 'queued', 0, null, 0],
          ],
        );
        assert.deepEqual(await other.getBody(msg.id), msg.body);
        const events = await other.readEvents(0, 10);
        const accepted = only(events);
        assert.equal(accepted.type, 'accepted');
        assert.equal(accepted.messageId, msg.id);
        assert.equal(accepted.accountId, 'acct-1');
        assert.equal(accepted.recipient, undefined);
        assert.deepEqual(accepted.at, msg.createdAt);
        assert.deepEqual(accepted.data, { recipients: msg.recipients, size: msg.body.length, source: 'smtp', mailFrom: 'sender@s.example' });
        assert.equal(typeof accepted.seq, 'number');
      });

      it('stores a binary (8-bit) body byte for byte, and keeps the null sender', async ({ store }) => {
        const body = Buffer.concat([Buffer.from('Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\n'), Buffer.from([0xc3, 0xa9, 0x00, 0xff, 0x0d, 0x0a])]);
        const msg = message({ body, mailFrom: '' });
        await store.enqueue(msg);
        assert.deepEqual(await store.getBody(msg.id), body);
        assert.equal((await store.get(msg.id))?.mailFrom, '');
        assert.equal(await store.getBody(newMessageId(T0)), null);
        assert.equal(await store.get(newMessageId(T0)), null);
      });

      it('many concurrent enqueues all resolve and are all present, with one accepted event each', async ({ store, openAnother }) => {
        const msgs = Array.from({ length: 300 }, (_, i) => message({ recipients: [`r${i}@a.example`, `r${i}@b.example`] }));
        // 30 callers, each enqueueing its share one after another, as SMTP sessions do.
        await Promise.all(
          Array.from({ length: 30 }, async (_, caller) => {
            for (let i = caller; i < msgs.length; i += 30) await store.enqueue(msgs[i]);
          }),
        );
        const other = await openAnother();
        assert.equal((await other.countByState()).queued, 600);
        const events = await other.readEvents(0, 1000);
        assert.equal(events.length, 300);
        assert.deepEqual(new Set(events.map((e) => e.messageId)), new Set(msgs.map((m) => m.id)));
        for (const m of msgs) assert.ok(await other.get(m.id));
      });

      it('refuses a bad message alone; the others in the same turn are committed', async ({ store }) => {
        const existing = message();
        await store.enqueue(existing);
        const good1 = message();
        const good2 = message();
        const results = await Promise.allSettled([
          store.enqueue(good1),
          store.enqueue({ ...message(), id: existing.id }), // duplicate id
          store.enqueue(message({ recipients: [] })),
          store.enqueue(message({ recipients: ['x@a.example', 'x@a.example'] })),
          store.enqueue(message({ recipients: ['no-domain'] })),
          store.enqueue(good2),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected', 'fulfilled'],
        );
        assert.ok(await store.get(good1.id));
        assert.ok(await store.get(good2.id));
        assert.equal((await store.get(existing.id))?.recipientCount, 1);
        assert.deepEqual((await store.readEvents(0, 10)).map((e) => e.messageId), [existing.id, good1.id, good2.id]);
      });

      it('schedules a recipient for notBefore when that is after creation', async ({ store }) => {
        const later = message({ notBefore: at(10 * MINUTE) });
        await store.enqueue(later);
        assert.deepEqual(await store.nextDueAt(), at(10 * MINUTE));
        assert.deepEqual(await claim(store, at(10 * MINUTE - 1)), []);
        assert.equal((await claim(store, at(10 * MINUTE))).length, 1);
      });

      it('close() commits what is still waiting for a group commit', async ({ store, openAnother }) => {
        const msg = message();
        const pending = store.enqueue(msg);
        await store.close();
        await pending;
        await store.close(); // a second close is harmless
        await assert.rejects(store.enqueue(message()));
        const other = await openAnother();
        assert.ok(await other.get(msg.id));
      });
    });

    describe('claimDue', () => {
      it('claims one batch per message and domain, under a lease', async ({ store }) => {
        const m1 = message({ recipients: ['x@a.example', 'y@a.example', 'z@b.example'], meta: { subject: 'one' } });
        const m2 = message({ recipients: ['w@a.example'], source: 'api', accountId: 'acct-2' });
        await store.enqueue(m1);
        await store.enqueue(m2);
        const batches = await claim(store, at(1000), { owner: 'worker-9', leaseMs: 30_000 });
        assert.equal(batches.length, 3);
        const key = (b: DeliveryBatch) => `${b.messageId === m1.id ? 'm1' : 'm2'}/${b.domain}`;
        assert.deepEqual(batches.map(key).sort(), ['m1/a.example', 'm1/b.example', 'm2/a.example']);
        const m1a = batches.find((b) => key(b) === 'm1/a.example')!;
        assert.deepEqual(m1a.recipients.map((r) => [r.address, r.attempts]), [['x@a.example', 0], ['y@a.example', 0]]);
        assert.equal(m1a.accountId, 'acct-1');
        assert.equal(m1a.source, 'smtp');
        assert.equal(m1a.mailFrom, 'sender@s.example');
        assert.deepEqual(m1a.createdAt, m1.createdAt);
        assert.deepEqual(m1a.expiresAt, m1.expiresAt);
        assert.equal(m1a.size, m1.body.length);
        assert.deepEqual(m1a.meta, { subject: 'one' });
        assert.equal(m1a.leaseOwner, 'worker-9');
        assert.deepEqual(m1a.leaseExpiresAt, at(31_000));
        const m2a = batches.find((b) => key(b) === 'm2/a.example')!;
        assert.equal(m2a.accountId, 'acct-2');
        assert.equal(m2a.source, 'api');

        assert.deepEqual(await claim(store, at(2000), { owner: 'worker-2' }), [], 'leased recipients are not claimed twice');
        assert.equal((await store.countByState()).delivering, 4);
        assert.equal((await store.get(m1.id))?.status, 'delivering');
        assert.equal(await store.nextDueAt(), null);
      });

      it('two stores claiming at once never share a recipient', async ({ store, openAnother }) => {
        for (let i = 0; i < 20; i++) await store.enqueue(message({ recipients: [`a${i}@a.example`, `b${i}@b.example`] }));
        const other = await openAnother();
        const [mine, theirs] = await Promise.all([claim(store, at(0), { owner: 'one', limit: 25 }), claim(other, at(0), { owner: 'two', limit: 25 })]);
        const ids = [...mine, ...theirs].flatMap((b) => b.recipients.map((r) => r.id));
        assert.equal(ids.length, 40);
        assert.equal(new Set(ids).size, 40);
      });

      it('respects the limit and takes the earliest due first', async ({ store }) => {
        const late = message({ notBefore: at(30_000) });
        const early = message({ notBefore: at(10_000) });
        const middle = message({ notBefore: at(20_000) });
        for (const m of [late, early, middle]) await store.enqueue(m);
        assert.deepEqual(await store.nextDueAt(), at(10_000));
        const first = await claim(store, at(60_000), { limit: 2 });
        assert.deepEqual(first.map((b) => b.messageId), [early.id, middle.id]);
        assert.deepEqual(await store.nextDueAt(), at(30_000));
        assert.deepEqual((await claim(store, at(60_000), { limit: 2 })).map((b) => b.messageId), [late.id]);
        assert.deepEqual(await claim(store, at(60_000), { limit: 0 }), []);
      });

      it('takes only the recipients that are due, even of a message and domain being claimed', async ({ store }) => {
        const m = message({ recipients: ['soon@a.example', 'later@a.example'] });
        await store.enqueue(m);
        const batch = only(await claim(store, at(0)));
        const [soon, later] = batch.recipients.map((r) => r.id);
        await store.recordAttempt({ batch, at: at(0), results: [deferred(soon, at(MINUTE)), deferred(later, at(10 * MINUTE))] });
        const retry = only(await claim(store, at(MINUTE)));
        assert.deepEqual(retry.recipients.map((r) => r.address), ['soon@a.example']);
        assert.deepEqual(await states(store, m.id), { 'soon@a.example': 'delivering', 'later@a.example': 'deferred' });
        assert.deepEqual(await store.nextDueAt(), at(10 * MINUTE));
      });

      it('skips the domains it is told to skip, and leaves them due', async ({ store }) => {
        const m = message({ recipients: ['x@a.example', 'y@b.example', 'z@c.example'] });
        await store.enqueue(m);
        const batches = await claim(store, at(0), { skipDomains: ['a.example', 'c.example'] });
        assert.deepEqual(batches.map((b) => b.domain), ['b.example']);
        assert.deepEqual(await store.nextDueAt(), at(0));
        assert.deepEqual((await claim(store, at(0))).map((b) => b.domain).sort(), ['a.example', 'c.example']);
      });
    });

    describe('leases', () => {
      it('expired leases go back to due, and a stale worker cannot overwrite the new lease holder', async ({ store }) => {
        const m = message({ recipients: ['x@a.example', 'y@a.example'] });
        await store.enqueue(m);
        const stale = only(await claim(store, at(0), { owner: 'worker-1', leaseMs: 1000 }));
        assert.equal(await store.reapExpiredLeases(at(999)), 0);
        assert.equal(await store.reapExpiredLeases(at(1000)), 2);
        assert.deepEqual(await states(store, m.id), { 'x@a.example': 'queued', 'y@a.example': 'queued' });
        assert.deepEqual(await store.nextDueAt(), at(1000));

        const fresh = only(await claim(store, at(1000), { owner: 'worker-2' }));
        assert.deepEqual(fresh.recipients.map((r) => r.id), stale.recipients.map((r) => r.id));
        // The first worker comes back late with a result: it must be dropped.
        await store.recordAttempt({ batch: stale, at: at(1500), results: stale.recipients.map((r) => delivered(r.id)) });
        let got = await store.get(m.id);
        assert.deepEqual(got?.recipients.map((r) => [r.state, r.attempts, r.history.length]), [['delivering', 0, 0], ['delivering', 0, 0]]);
        assert.deepEqual((await store.readEvents(0, 10)).map((e) => e.type), ['accepted']);

        await store.recordAttempt({ batch: fresh, at: at(2000), results: fresh.recipients.map((r) => bounced(r.id)) });
        got = await store.get(m.id);
        assert.deepEqual(got?.recipients.map((r) => [r.state, r.attempts, r.history.length]), [['bounced', 1, 1], ['bounced', 1, 1]]);
      });

      it('at start-up every lease can be returned at once, due now', async ({ store }) => {
        const m = message({ recipients: ['x@a.example'] });
        await store.enqueue(m);
        only(await claim(store, at(0), { owner: 'dead-process', leaseMs: 600_000 }));
        assert.equal(await store.reapExpiredLeases(at(5)), 0, 'the lease has not expired');
        assert.equal(await store.reapExpiredLeases(at(5), { all: true }), 1);
        assert.deepEqual(await states(store, m.id), { 'x@a.example': 'queued' });
        assert.deepEqual(await store.nextDueAt(), at(5));
      });

      it('the same owner re-claiming after a reap does not revive its old lease', async ({ store }) => {
        const m = message();
        await store.enqueue(m);
        const old = only(await claim(store, at(0), { owner: 'worker-1', leaseMs: 1000 }));
        await store.reapExpiredLeases(at(1000));
        const current = only(await claim(store, at(1000), { owner: 'worker-1', leaseMs: 1000 }));
        await store.recordAttempt({ batch: old, at: at(1100), results: [bounced(old.recipients[0].id)] });
        assert.equal((await store.get(m.id))?.status, 'delivering');
        await store.recordAttempt({ batch: current, at: at(1200), results: [delivered(current.recipients[0].id)] });
        assert.equal((await store.get(m.id))?.status, 'delivered');
      });

      it('a reaped recipient that was tried before goes back as deferred', async ({ store }) => {
        const m = message();
        await store.enqueue(m);
        const first = only(await claim(store, at(0)));
        await store.recordAttempt({ batch: first, at: at(0), results: [deferred(first.recipients[0].id, at(MINUTE))] });
        const second = only(await claim(store, at(MINUTE), { leaseMs: 1000 }));
        assert.equal(second.recipients[0].attempts, 1);
        assert.equal(await store.reapExpiredLeases(at(MINUTE + 1000)), 1);
        assert.deepEqual(await states(store, m.id), { 'rcpt@a.example': 'deferred' });
        assert.deepEqual(await store.nextDueAt(), at(MINUTE + 1000));
      });

      it('a stopping worker releases only its own leases, due now, and says so to listeners', async ({ store }) => {
        const mine = message({ recipients: ['x@a.example', 'y@a.example'] });
        const theirs = message({ recipients: ['z@b.example'] });
        await store.enqueue(mine);
        await store.enqueue(theirs);
        only(await claim(store, at(0), { owner: 'stopping', limit: 1, leaseMs: 600_000 }));
        only(await claim(store, at(0), { owner: 'other', limit: 1, leaseMs: 600_000 }));
        const calls = listen(store);
        assert.equal(await store.releaseLeases('nobody', at(10)), 0);
        assert.equal(calls.length, 0, 'nothing released, nothing to wake');
        assert.equal(await store.releaseLeases('stopping', at(10)), 2);
        assert.deepEqual(await states(store, mine.id), { 'x@a.example': 'queued', 'y@a.example': 'queued' });
        assert.deepEqual(await states(store, theirs.id), { 'z@b.example': 'delivering' });
        assert.deepEqual(await store.nextDueAt(), at(10));
        assert.ok(calls.length >= 1, 'listeners hear that work became due');
      });
      it('a postponed batch is due again at the given time, untried: no attempt, no event, and a stale lease changes nothing', async ({ store }) => {
        const m = message({ recipients: ['x@a.example', 'y@a.example'] });
        await store.enqueue(m);
        const batch = only(await claim(store, at(0)));
        assert.equal(await store.postpone(batch, at(MINUTE), at(10)), 2);
        assert.deepEqual(await states(store, m.id), { 'x@a.example': 'queued', 'y@a.example': 'queued' });
        assert.deepEqual(await store.nextDueAt(), at(MINUTE));
        const got = await store.get(m.id);
        assert.deepEqual(got?.recipients.map((r) => [r.attempts, r.history.length]), [[0, 0], [0, 0]]);
        assert.deepEqual((await store.readEvents(0, 10)).map((e) => e.type), ['accepted']);
        // The same lease again (already given back) changes nothing.
        assert.equal(await store.postpone(batch, at(2 * MINUTE), at(20)), 0);
        assert.deepEqual(await store.nextDueAt(), at(MINUTE));
        assert.deepEqual(await claim(store, at(MINUTE - 1)), []);
        const again = only(await claim(store, at(MINUTE)));
        assert.deepEqual(again.recipients.map((r) => r.attempts), [0, 0]);

        // A recipient tried before goes back deferred, its attempts as they were.
        await store.recordAttempt({ batch: again, at: at(MINUTE), results: again.recipients.map((r) => deferred(r.id, at(2 * MINUTE))) });
        const third = only(await claim(store, at(2 * MINUTE)));
        assert.equal(await store.postpone(third, at(3 * MINUTE), at(2 * MINUTE)), 2);
        assert.deepEqual(await states(store, m.id), { 'x@a.example': 'deferred', 'y@a.example': 'deferred' });
        assert.deepEqual((await store.get(m.id))?.recipients.map((r) => r.attempts), [1, 1]);
        assert.deepEqual((await store.readEvents(0, 10)).map((e) => e.type), ['accepted', 'deferred', 'deferred']);
      });
    });

    describe('gauges', () => {
      it('counts pending recipients per state with their oldest acceptance time, and the outbox head', async ({ store }) => {
        const empty = await store.gauges();
        assert.deepEqual(empty.pending.queued, { count: 0, oldestCreatedAt: null });
        assert.equal(empty.lastEventSeq, 0);
        const old = message({ recipients: ['a@a.example', 'b@b.example'], createdAt: at(-5 * MINUTE) });
        const young = message({ recipients: ['c@a.example'], createdAt: at(0) });
        await store.enqueue(old);
        await store.enqueue(young);
        const batch = (await claim(store, at(0), { limit: 1 }))[0];
        await store.recordAttempt({ batch, at: at(1000), results: batch.recipients.map((r) => delivered(r.id)) });
        await store.hold(young.id, at(2000));
        const g = await store.gauges();
        assert.deepEqual(g.pending.queued, { count: 1, oldestCreatedAt: at(-5 * MINUTE) });
        assert.deepEqual(g.pending.held, { count: 1, oldestCreatedAt: at(0) });
        assert.deepEqual(g.pending.delivering, { count: 0, oldestCreatedAt: null });
        assert.deepEqual(g.pending.deferred, { count: 0, oldestCreatedAt: null });
        const events = await store.readEvents(0, 100);
        assert.equal(g.lastEventSeq, events[events.length - 1].seq);
      });
    });

    describe('recordAttempt', () => {
      it('records each recipient outcome, its history and when it is next due', async ({ store }) => {
        const m = message({ recipients: ['ok@a.example', 'grey@a.example', 'gone@a.example', 'late@a.example'] });
        await store.enqueue(m);
        const batch = only(await claim(store, at(0)));
        const [ok, grey, gone, late] = batch.recipients.map((r) => r.id);
        await store.recordAttempt({
          batch,
          at: at(1000),
          results: [delivered(ok), deferred(grey, at(5 * MINUTE)), bounced(gone), expired(late)],
        });

        let got = await store.get(m.id);
        assert.ok(got);
        assert.equal(got.status, 'deferred');
        assert.deepEqual(got.nextAttemptAt, at(5 * MINUTE));
        assert.deepEqual(
          got.recipients.map((r) => ({ address: r.address, state: r.state, attempts: r.attempts, next: r.nextAttemptAt, last: r.lastReply, history: r.history })),
          [
            { address: 'ok@a.example', state: 'delivered', attempts: 1, next: null, last: '250 2.0.0 OK queued as 42', history: [{ at: at(1000), host: 'mx.a.example', state: 'delivered', reply: '250 2.0.0 OK queued as 42' }] },
            { address: 'grey@a.example', state: 'deferred', attempts: 1, next: at(5 * MINUTE), last: '451 4.7.1 Greylisted, try again later', history: [{ at: at(1000), host: 'mx.a.example', state: 'deferred', reply: '451 4.7.1 Greylisted, try again later' }] },
            { address: 'gone@a.example', state: 'bounced', attempts: 1, next: null, last: '550 5.1.1 User unknown', history: [{ at: at(1000), host: 'mx.a.example', state: 'bounced', reply: '550 5.1.1 User unknown' }] },
            { address: 'late@a.example', state: 'expired', attempts: 1, next: null, last: 'connect ECONNREFUSED 192.0.2.25:25', history: [{ at: at(1000), state: 'expired', reply: 'connect ECONNREFUSED 192.0.2.25:25' }] },
          ],
        );
        assert.deepEqual(await store.nextDueAt(), at(5 * MINUTE));

        const events = (await store.readEvents(0, 10)).slice(1);
        assert.deepEqual(
          events.map((e) => [e.type, e.recipient, e.messageId, e.accountId, e.at.getTime()]),
          [
            ['delivered', 'ok@a.example', m.id, 'acct-1', at(1000).getTime()],
            ['deferred', 'grey@a.example', m.id, 'acct-1', at(1000).getTime()],
            ['bounced', 'gone@a.example', m.id, 'acct-1', at(1000).getTime()],
            ['expired', 'late@a.example', m.id, 'acct-1', at(1000).getTime()],
          ],
        );
        assert.deepEqual(events[0].data, { host: 'mx.a.example', reply: OK, attempt: 1 });
        assert.deepEqual(events[1].data, {
          host: 'mx.a.example',
          reply: GREYLISTED,
          reason: 'greylisted',
          scope: 'recipient',
          attempt: 1,
          nextAttemptAt: at(5 * MINUTE).toISOString(),
        });
        assert.deepEqual(events[2].data, { host: 'mx.a.example', reply: UNKNOWN, reason: 'the recipient does not exist', scope: 'recipient', attempt: 1 });
        assert.deepEqual(events[3].data, { reason: 'connect ECONNREFUSED 192.0.2.25:25', scope: 'connection', attempt: 1 });

        // Nothing is due before the deferral ends; then only the deferred recipient is.
        assert.deepEqual(await claim(store, at(5 * MINUTE - 1)), []);
        const retry = only(await claim(store, at(5 * MINUTE)));
        assert.deepEqual(retry.recipients, [{ id: grey, address: 'grey@a.example', attempts: 1 }]);
        await store.recordAttempt({ batch: retry, at: at(5 * MINUTE), results: [delivered(grey, 'mx2.a.example')] });
        got = await store.get(m.id);
        assert.equal(got?.status, 'partial');
        assert.equal(got?.nextAttemptAt, null);
        assert.deepEqual(
          got?.recipients[1].history.map((h) => [h.state, h.host, h.at.getTime()]),
          [
            ['deferred', 'mx.a.example', at(1000).getTime()],
            ['delivered', 'mx2.a.example', at(5 * MINUTE).getTime()],
          ],
        );
        assert.equal((await store.readEvents(0, 10)).at(-1)?.data.attempt, 2);
        const counts = await store.countByState();
        assert.deepEqual([counts.delivered, counts.bounced, counts.expired, counts.deferred, counts.delivering], [2, 1, 1, 0, 0]);
      });

      it('queues DSNs in the same commit as the attempt', async ({ store }) => {
        const calls = listen(store);
        const m = message({ recipients: ['gone@a.example'] });
        await store.enqueue(m);
        const batch = only(await claim(store, at(0)));
        const dsn = message({ source: 'dsn', mailFrom: '', recipients: ['sender@s.example'], meta: { dsnFor: m.id }, createdAt: at(1000) });
        await store.recordAttempt({ batch, at: at(1000), results: [bounced(batch.recipients[0].id)], dsns: [dsn] });
        const commit = calls.at(-1)!;
        assert.deepEqual(commit.map((e) => [e.type, e.messageId]), [['bounced', m.id], ['accepted', dsn.id]]);
        const got = await store.get(dsn.id);
        assert.equal(got?.source, 'dsn');
        assert.equal(got?.mailFrom, '');
        assert.deepEqual(got?.meta, { dsnFor: m.id });
        assert.equal(got?.status, 'queued');
        assert.deepEqual(await store.getBody(dsn.id), dsn.body);
        assert.deepEqual((await claim(store, at(1000))).map((b) => [b.messageId, b.domain]), [[dsn.id, 's.example']]);
      });

      it('is all or nothing: a failing DSN insert leaves the attempt unrecorded', async ({ store }) => {
        const m = message({ recipients: ['gone@a.example'] });
        await store.enqueue(m);
        const batch = only(await claim(store, at(0)));
        const clash = message({ id: m.id, source: 'dsn', mailFrom: '', recipients: ['sender@s.example'] });
        await assert.rejects(store.recordAttempt({ batch, at: at(1000), results: [bounced(batch.recipients[0].id)], dsns: [clash] }));
        const got = await store.get(m.id);
        assert.deepEqual(got?.recipients.map((r) => [r.state, r.attempts, r.history.length]), [['delivering', 0, 0]]);
        assert.deepEqual((await store.readEvents(0, 10)).map((e) => e.type), ['accepted']);
        // The lease still holds, so the worker can record the attempt properly.
        await store.recordAttempt({ batch, at: at(1000), results: [bounced(batch.recipients[0].id)] });
        assert.equal((await store.get(m.id))?.status, 'bounced');
      });

      it('drops the DSNs of a stale worker whose results were all dropped', async ({ store }) => {
        const m = message();
        await store.enqueue(m);
        const stale = only(await claim(store, at(0), { leaseMs: 1000 }));
        await store.reapExpiredLeases(at(1000));
        const dsn = message({ source: 'dsn', mailFrom: '', recipients: ['sender@s.example'] });
        await store.recordAttempt({ batch: stale, at: at(1100), results: [bounced(stale.recipients[0].id)], dsns: [dsn] });
        assert.equal(await store.get(dsn.id), null);
      });
    });

    describe('operator actions', () => {
      it('retryNow makes pending, unleased, unheld recipients due now', async ({ store }) => {
        const calls = listen(store);
        const waiting = message({ recipients: ['a@a.example', 'b@b.example'] });
        const scheduled = message({ notBefore: at(60 * MINUTE) });
        const held = message();
        const leased = message({ recipients: ['c@c.example'] });
        for (const m of [waiting, scheduled, held, leased]) await store.enqueue(m);
        await store.hold(held.id, at(0));
        const batches = await claim(store, at(0), { skipDomains: ['c.example'] });
        const a = batches.find((b) => b.domain === 'a.example')!;
        await store.recordAttempt({ batch: a, at: at(0), results: [deferred(a.recipients[0].id, at(30 * MINUTE))] });
        const b = batches.find((x) => x.domain === 'b.example')!;
        await store.recordAttempt({ batch: b, at: at(0), results: [deferred(b.recipients[0].id, at(30 * MINUTE))] });
        only(await claim(store, at(0), { owner: 'other' })); // leases `leased`
        assert.deepEqual(await store.nextDueAt(), at(30 * MINUTE));

        const before = calls.length;
        assert.equal(await store.retryNow(waiting.id, at(MINUTE)), 2);
        assert.ok(calls.length > before, 'retryNow wakes onCommit listeners');
        assert.deepEqual(await store.nextDueAt(), at(MINUTE));
        assert.equal((await store.get(waiting.id))?.recipients.every((r) => r.nextAttemptAt?.getTime() === at(MINUTE).getTime()), true);
        assert.equal(await store.retryNow(held.id, at(MINUTE)), 0);
        assert.equal(await store.retryNow(leased.id, at(MINUTE)), 0);
        assert.equal(await store.retryNow(newMessageId(T0), at(MINUTE)), 0);

        assert.equal(await store.retryNow('all', at(2 * MINUTE)), 3); // waiting's two and scheduled
        assert.deepEqual((await store.get(scheduled.id))?.nextAttemptAt, at(2 * MINUTE));
        assert.equal((await store.get(held.id))?.status, 'held');
        assert.equal((await store.get(leased.id))?.status, 'delivering');
      });

      it('hold pauses waiting recipients, release brings them back due now', async ({ store }) => {
        const calls = listen(store);
        const m = message({ recipients: ['x@a.example', 'y@b.example', 'z@c.example'] });
        await store.enqueue(m);
        // y is tried once and deferred; z is on the wire while the operator holds the message.
        const y = only(await claim(store, at(0), { skipDomains: ['a.example', 'c.example'] }));
        await store.recordAttempt({ batch: y, at: at(0), results: [deferred(y.recipients[0].id, at(10 * MINUTE))] });
        const z = only(await claim(store, at(0), { skipDomains: ['a.example', 'b.example'] }));

        assert.equal(await store.hold(m.id, at(1000)), 2);
        let commit = only(calls.at(-1)!);
        assert.equal(commit.type, 'held');
        assert.equal(commit.messageId, m.id);
        assert.deepEqual(commit.at, at(1000));
        assert.deepEqual(commit.data, { recipients: ['x@a.example', 'y@b.example'] });
        assert.deepEqual(await states(store, m.id), { 'x@a.example': 'held', 'y@b.example': 'held', 'z@c.example': 'delivering' });
        assert.deepEqual(await claim(store, at(60 * MINUTE)), []);
        assert.equal(await store.nextDueAt(), null);
        assert.equal(await store.hold(m.id, at(1000)), 0, 'nothing left to hold');

        await store.recordAttempt({ batch: z, at: at(2000), results: [delivered(z.recipients[0].id)] });
        assert.equal((await store.get(m.id))?.status, 'held');

        assert.equal(await store.release(m.id, at(3000)), 2);
        commit = only(calls.at(-1)!);
        assert.equal(commit.type, 'released');
        assert.deepEqual(commit.data, { recipients: ['x@a.example', 'y@b.example'] });
        assert.deepEqual(await states(store, m.id), { 'x@a.example': 'queued', 'y@b.example': 'deferred', 'z@c.example': 'delivered' });
        assert.deepEqual(await store.nextDueAt(), at(3000));
        assert.equal(await store.release(m.id, at(3000)), 0);
        assert.equal(await store.hold(newMessageId(T0), at(0)), 0);
        assert.equal(await store.release(newMessageId(T0), at(0)), 0);
      });

      it('remove deletes message, body, recipients and history, and records it', async ({ store }) => {
        const calls = listen(store);
        const m = message({ recipients: ['x@a.example', 'y@b.example'] });
        const kept = message();
        await store.enqueue(m);
        await store.enqueue(kept);
        const batches = await claim(store, at(0));
        const x = batches.find((b) => b.messageId === m.id && b.domain === 'a.example')!;
        await store.recordAttempt({ batch: x, at: at(0), results: [deferred(x.recipients[0].id, at(MINUTE))] });
        const y = batches.find((b) => b.messageId === m.id && b.domain === 'b.example')!;

        assert.equal(await store.remove(m.id, at(1000)), true);
        const event = only(calls.at(-1)!);
        assert.equal(event.type, 'deleted');
        assert.equal(event.messageId, m.id);
        assert.deepEqual(event.at, at(1000));
        assert.equal(await store.get(m.id), null);
        assert.equal(await store.getBody(m.id), null);
        assert.deepEqual((await store.list({ limit: 10 })).map((s) => s.id), [kept.id]);
        assert.equal(await store.remove(m.id, at(1000)), false);
        assert.equal(await store.remove(newMessageId(T0), at(1000)), false);

        // A worker still holding a lease on the removed message finishes into nothing.
        await store.recordAttempt({ batch: y, at: at(2000), results: [delivered(y.recipients[0].id)] });
        assert.equal(await store.get(m.id), null);
        const counts = await store.countByState();
        assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 1);
        assert.equal(counts.delivering, 1); // kept's recipient, still leased
        assert.deepEqual((await store.readEvents(0, 10)).map((e) => e.type), ['accepted', 'accepted', 'deferred', 'deleted']);
      });
    });

    describe('views', () => {
      it('list is newest first, filters by state and pages with a cursor', async ({ store }) => {
        // Distinct creation times make the due order, and so the claim below, deterministic.
        const msgs = Array.from({ length: 5 }, (_, i) => message({ recipients: ['x@a.example', 'y@b.example'], createdAt: at(i) }));
        for (const m of msgs) await store.enqueue(m);
        const ids = msgs.map((m) => m.id);
        await store.hold(ids[1], at(0));
        const batch = only(await claim(store, at(0), { skipDomains: ['b.example'], limit: 1 }));
        assert.equal(batch.messageId, ids[0]);
        await store.recordAttempt({ batch, at: at(0), results: [delivered(batch.recipients[0].id)] });

        assert.deepEqual((await store.list({ limit: 10 })).map((s) => s.id), [...ids].reverse());
        const page1 = await store.list({ limit: 2 });
        assert.deepEqual(page1.map((s) => s.id), [ids[4], ids[3]]);
        const page2 = await store.list({ limit: 2, before: page1.at(-1)!.id });
        assert.deepEqual(page2.map((s) => s.id), [ids[2], ids[1]]);
        const page3 = await store.list({ limit: 2, before: page2.at(-1)!.id });
        assert.deepEqual(page3.map((s) => s.id), [ids[0]]);
        assert.deepEqual(await store.list({ limit: 2, before: ids[0] }), []);

        assert.deepEqual((await store.list({ limit: 10, states: ['held'] })).map((s) => s.id), [ids[1]]);
        assert.deepEqual((await store.list({ limit: 10, states: ['delivered', 'held'] })).map((s) => s.id), [ids[1], ids[0]]);
        assert.deepEqual((await store.list({ limit: 10, states: ['queued'], before: ids[3] })).map((s) => s.id), [ids[2], ids[0]]);
        assert.deepEqual(await store.list({ limit: 10, states: ['bounced'] }), []);

        const [first] = (await store.list({ limit: 10 })).slice(-1);
        assert.equal(first.id, ids[0]);
        assert.equal(first.status, 'queued'); // one delivered, one still queued: pending wins
        assert.equal(first.recipientCount, 2);
        assert.deepEqual(first.nextAttemptAt, at(0));
        assert.deepEqual(first.meta, msgs[0].meta);
        assert.equal(first.size, msgs[0].body.length);
        const held = (await store.list({ limit: 1, before: ids[2] }))[0];
        assert.equal(held.status, 'held');
        assert.equal(held.nextAttemptAt, null);
      });

      it('list filters by account, recipient, tag and creation time, combined with the cursor', async ({ store }) => {
        // message() ids are minted at T0 + sequence, so creation times are given to match them.
        const mk = (over: Partial<NewMessage>) => {
          const m = message(over);
          return { ...m, createdAt: new Date(T0 + sequence) };
        };
        const a1 = mk({ accountId: 'acct-a', recipients: ['Ann@a.example'], meta: { tags: ['welcome', 'eu'] } });
        const a2 = mk({ accountId: 'acct-a', recipients: ['bob@b.example', 'ann@a.example'], meta: { tags: ['receipt'] } });
        const b1 = mk({ accountId: 'acct-b', recipients: ['Ann@a.example'], meta: { tags: ['welcome'] } });
        for (const m of [a1, a2, b1]) await store.enqueue(m);
        const ids = async (req: Parameters<QueueStore['list']>[0]) => (await store.list(req)).map((s) => s.id);

        assert.deepEqual(await ids({ limit: 10, accountId: 'acct-a' }), [a2.id, a1.id]);
        assert.deepEqual(await ids({ limit: 10, accountId: 'acct-c' }), []);
        // The domain is case-insensitive, the local part is not (RFC 5321 §2.4).
        assert.deepEqual(await ids({ limit: 10, recipient: 'Ann@a.EXAMPLE' }), [b1.id, a1.id]);
        assert.deepEqual(await ids({ limit: 10, recipient: 'ann@a.example' }), [a2.id]);
        assert.deepEqual(await ids({ limit: 10, tag: 'welcome' }), [b1.id, a1.id]);
        assert.deepEqual(await ids({ limit: 10, tag: 'welcome', accountId: 'acct-a' }), [a1.id]);
        assert.deepEqual(await ids({ limit: 10, tag: 'nope' }), []);
        assert.deepEqual(await ids({ limit: 10, since: a2.createdAt }), [b1.id, a2.id]);
        assert.deepEqual(await ids({ limit: 10, until: a2.createdAt }), [a1.id]);
        assert.deepEqual(await ids({ limit: 10, since: a2.createdAt, until: b1.createdAt }), [a2.id]);
        assert.deepEqual(await ids({ limit: 1, accountId: 'acct-a', before: a2.id }), [a1.id]);
      });

      it('list filters by sender (address or whole domain) and by subject text, with the other filters and the cursor', async ({ store }) => {
        // Senders as the accept pipeline stores them: the domain normalised, the local part as given.
        const a = message({ mailFrom: 'News@shop.example', meta: { subject: 'Your Receipt #100', tags: ['receipt'] } });
        const b = message({ mailFrom: 'billing@shop.example', meta: { subject: 'Invoice 7: "paid" 100% (ünïcode)' } });
        const c = message({ mailFrom: 'news@other.example', meta: { subject: 'your receipt #101', tags: ['receipt'] } });
        const cCreated = new Date(T0 + sequence); // c's id was minted at this time
        const d = message({ mailFrom: 'News@shop.example', meta: { tags: ['receipt'] } }); // no subject
        const e = message({ mailFrom: '', meta: { subject: 'Delivery Status Notification (Failure)' } }); // a DSN: null sender
        for (const m of [a, b, c, d, e]) await store.enqueue(m);
        const ids = async (req: Parameters<QueueStore['list']>[0]) => (await store.list(req)).map((s) => s.id);

        // The search's domain is normalised like the stored ones; the local part is compared as is.
        assert.deepEqual(await ids({ limit: 10, sender: 'News@SHOP.example' }), [d.id, a.id]);
        assert.deepEqual(await ids({ limit: 10, sender: 'news@shop.example' }), []);
        assert.deepEqual(await ids({ limit: 10, sender: '@Shop.Example' }), [d.id, b.id, a.id]);
        assert.deepEqual(await ids({ limit: 10, sender: '@example' }), []);
        assert.deepEqual(await ids({ limit: 1, sender: '@shop.example', before: d.id }), [b.id]);
        assert.deepEqual(await ids({ limit: 10, sender: '@shop.example', tag: 'receipt' }), [d.id, a.id]);

        assert.deepEqual(await ids({ limit: 10, subject: 'RECEIPT #10' }), [c.id, a.id]);
        assert.deepEqual(await ids({ limit: 10, subject: 'ceipt #100' }), [a.id]);
        assert.deepEqual(await ids({ limit: 10, subject: '"paid" 100%' }), [b.id]);
        assert.deepEqual(await ids({ limit: 10, subject: '(ÜNÏ' }), [b.id]);
        assert.deepEqual(await ids({ limit: 10, subject: '100_' }), []);
        assert.deepEqual(await ids({ limit: 10, subject: 'status notification' }), [e.id]);
        assert.deepEqual(await ids({ limit: 1, subject: 'receipt' }), [c.id]);
        assert.deepEqual(await ids({ limit: 1, subject: 'receipt', before: c.id }), [a.id]);
        assert.deepEqual(await ids({ limit: 10, subject: 'receipt', sender: '@shop.example' }), [a.id]);
        assert.deepEqual(await ids({ limit: 10, subject: 'receipt', tag: 'receipt', until: cCreated }), [a.id]);
        assert.deepEqual(await ids({ limit: 10, subject: 'receipt', accountId: 'acct-2' }), []);

        // Removing a message takes it out of the subject search too.
        assert.equal(await store.remove(a.id, at(1000)), true);
        assert.deepEqual(await ids({ limit: 10, subject: 'receipt' }), [c.id]);
      });

      it('eventsOf returns one message’s timeline in order', async ({ store }) => {
        const msg = message({ recipients: ['x@a.example', 'y@b.example'] });
        const other = message();
        await store.enqueue(msg);
        await store.enqueue(other);
        const batch = only(await claim(store, at(0), { skipDomains: ['b.example'], limit: 1 }));
        await store.recordAttempt({ batch, at: at(1000), results: [delivered(batch.recipients[0].id)] });
        const timeline = await store.eventsOf(msg.id, 100);
        assert.deepEqual(timeline.map((e) => [e.type, e.recipient]), [['accepted', undefined], ['delivered', 'x@a.example']]);
        assert.ok(timeline.every((e) => e.messageId === msg.id && typeof e.seq === 'number'));
        assert.equal((await store.eventsOf(msg.id, 1)).length, 1);
        assert.deepEqual(await store.eventsOf(newMessageId(T0), 10), []);
      });

      it('metaOf gives the meta of the messages that exist, each once, in one call', async ({ store, openAnother }) => {
        const labelled = message({ meta: { subject: 'Receipt', tags: ['receipt', 'eu'], metadata: { order: '1234' }, stream: 'broadcast', template: { id: 'tpl', version: 2 } } });
        const plain = message({ meta: {} });
        await store.enqueue(labelled);
        await store.enqueue(plain);
        const missing = newMessageId(T0);
        assert.deepEqual(await store.metaOf([]), new Map());
        assert.deepEqual(await store.metaOf([missing]), new Map());
        const found = await store.metaOf([labelled.id, missing, plain.id, labelled.id, plain.id]);
        assert.deepEqual(
          found,
          new Map([
            [labelled.id, labelled.meta],
            [plain.id, {}],
          ]),
        );
        // Committed: another store on the same storage reads the same.
        assert.deepEqual(await (await openAnother()).metaOf([plain.id, labelled.id]), found);
        assert.equal(await store.remove(plain.id, at(1000)), true);
        assert.deepEqual([...(await store.metaOf([labelled.id, plain.id])).keys()], [labelled.id]);
      });

      it('metaOf answers a list longer than one query takes, found ones at the edges of its parts', async ({ store }) => {
        const stored = [message({ meta: { tags: ['a'] } }), message({ meta: { tags: ['b'] } }), message({ meta: { tags: ['c'] } }), message({ meta: { tags: ['d'] } })];
        for (const m of stored) await store.enqueue(m);
        const ids = Array.from({ length: 2500 }, (_, i) => newMessageId(T0 - 1 - i));
        [ids[0], ids[999], ids[1000], ids[2499]] = stored.map((m) => m.id);
        // Repeated far apart: still one entry.
        ids.splice(1500, 0, stored[1].id);
        const found = await store.metaOf(ids);
        assert.equal(found.size, 4);
        for (const m of stored) assert.deepEqual(found.get(m.id), m.meta);
      });

      it('a late bounce turns a delivered recipient into bounced once, with an event and an attempt', async ({ store, openAnother }) => {
        const msg = message({ recipients: ['x@a.example', 'y@a.example'] });
        await store.enqueue(msg);
        const batch = only(await claim(store, at(0)));
        await store.recordAttempt({ batch, at: at(1000), results: batch.recipients.map((r) => delivered(r.id)) });
        const calls = listen(store);
        const x = batch.recipients.find((r) => r.address === 'x@a.example')!;

        const got = await store.recordLateBounce({ messageId: msg.id, recipientId: x.id, at: at(60_000), reply: '550 5.1.1 User unknown', host: 'mx.a.example' });
        assert.deepEqual(got, { accountId: msg.accountId, address: 'x@a.example' });
        const events = calls.flat();
        assert.deepEqual(events.map((e) => [e.type, e.recipient, e.data.late]), [['bounced', 'x@a.example', true]]);
        assert.deepEqual(await states(await openAnother(), msg.id), { 'x@a.example': 'bounced', 'y@a.example': 'delivered' });
        const detail = (await store.get(msg.id))!;
        const xView = detail.recipients.find((r) => r.address === 'x@a.example')!;
        assert.equal(xView.lastReply, '550 5.1.1 User unknown');
        assert.deepEqual(xView.history.at(-1), { at: at(60_000), host: 'mx.a.example', state: 'bounced', reply: '550 5.1.1 User unknown' });

        assert.equal(await store.recordLateBounce({ messageId: msg.id, recipientId: x.id, at: at(61_000), reply: 'again' }), null, 'a repeated report changes nothing');
        assert.equal(await store.recordLateBounce({ messageId: msg.id, recipientId: 999_999, at: at(61_000), reply: 'x' }), null);
        const other = message();
        await store.enqueue(other);
        assert.equal(await store.recordLateBounce({ messageId: other.id, recipientId: x.id, at: at(61_000), reply: 'x' }), null, 'the recipient must belong to the message');
      });

      it('recordEvent puts an account-level event in the outbox, heard by onCommit', async ({ store }) => {
        const calls = listen(store);
        const event: MailEvent = { type: 'domain.verification_changed', messageId: '', accountId: 'acct-1', at: at(5), data: { domain: 'example.com', after: 'verified' } };
        await store.recordEvent(event);
        const [heard] = calls.flat();
        assert.equal(heard.type, 'domain.verification_changed');
        assert.equal(typeof heard.seq, 'number');
        const [read] = await store.readEvents(heard.seq! - 1, 10);
        assert.deepEqual({ ...read, seq: undefined }, { ...event, seq: undefined });
      });

      it('countByState has every state, zero when none', async ({ store }) => {
        assert.deepEqual(await store.countByState(), { queued: 0, deferred: 0, delivering: 0, held: 0, delivered: 0, bounced: 0, expired: 0 });
        await store.enqueue(message({ recipients: ['a@a.example', 'b@b.example', 'c@c.example'] }));
        const held = message();
        await store.enqueue(held);
        await store.hold(held.id, at(0));
        const batch = only(await claim(store, at(0), { limit: 1, skipDomains: ['b.example', 'c.example'] }));
        await store.recordAttempt({ batch, at: at(0), results: [bounced(batch.recipients[0].id)] });
        only(await claim(store, at(0), { limit: 1, skipDomains: ['c.example'] }));
        assert.deepEqual(await store.countByState(), { queued: 1, deferred: 0, delivering: 1, held: 1, delivered: 0, bounced: 1, expired: 0 });
      });
    });

    describe('retention', () => {
      const DAY = 24 * 60 * MINUTE;
      /** Claims everything due at `now` and finishes it: delivered, or deferred for `pending`. */
      async function finish(store: QueueStore, now: Date, pending: MessageId[] = []) {
        for (const b of await claim(store, now)) {
          const results = b.recipients.map((r) => (pending.includes(b.messageId) ? deferred(r.id, new Date(now.getTime() + DAY)) : delivered(r.id)));
          await store.recordAttempt({ batch: b, at: now, results });
        }
      }

      it('purges finished messages older than the cutoff, never pending ones; their events stay', async ({ store }) => {
        const old = message({ createdAt: at(0) });
        const oldPending = message({ createdAt: at(0) });
        const young = message({ createdAt: at(10 * DAY) });
        for (const m of [old, oldPending, young]) await store.enqueue(m);
        await finish(store, at(10 * DAY), [oldPending.id]);
        const events = await store.readEvents(0, 100);

        assert.equal(await store.purgeFinished(at(5 * DAY), 100), 1);
        assert.equal(await store.get(old.id), null);
        assert.equal(await store.getBody(old.id), null);
        assert.equal((await store.get(oldPending.id))?.status, 'deferred', 'a pending message is kept however old');
        assert.equal((await store.get(young.id))?.status, 'delivered');
        assert.deepEqual(await store.readEvents(0, 100), events, 'events have their own retention (purgeEvents)');
        assert.deepEqual((await store.eventsOf(old.id, 10)).map((e) => e.type), ['accepted', 'delivered'], 'a removed message keeps its timeline');
        assert.equal(await store.purgeFinished(at(5 * DAY), 100), 0);
      });

      it('removes at most `limit` messages per call', async ({ store }) => {
        for (let i = 0; i < 3; i++) await store.enqueue(message({ createdAt: at(0) }));
        await finish(store, at(MINUTE));
        assert.equal(await store.purgeFinished(at(DAY), 2), 2);
        assert.equal(await store.purgeFinished(at(DAY), 2), 1);
        assert.deepEqual(await store.list({ limit: 10 }), []);
      });

      it('purgeEvents removes events older than the cutoff, oldest first, at most `limit` per call; messages stay', async ({ store }) => {
        const done = message({ createdAt: at(0) });
        const pending = message({ createdAt: at(0) });
        const young = message({ createdAt: at(10 * DAY) });
        for (const m of [done, pending, young]) await store.enqueue(m);
        await finish(store, at(DAY), [pending.id]);
        const cutoff = at(5 * DAY);
        const kinds = (events: MailEvent[]) => events.map((e) => [e.messageId, e.type, e.at.getTime() - T0]);
        assert.deepEqual(kinds((await store.readEvents(0, 100)).filter((e) => e.at < cutoff)).sort(), [
          [done.id, 'accepted', 0],
          [done.id, 'delivered', DAY],
          [pending.id, 'accepted', 0],
          [pending.id, 'deferred', DAY],
        ].sort());

        assert.equal(await store.purgeEvents(cutoff, 0), 0);
        assert.equal(await store.purgeEvents(cutoff, 2), 2);
        assert.deepEqual(
          (await store.readEvents(0, 100)).filter((e) => e.at < cutoff).map((e) => e.at.getTime() - T0),
          [DAY, DAY],
          'the oldest went first',
        );
        assert.equal(await store.purgeEvents(cutoff, 2), 2);
        assert.equal(await store.purgeEvents(cutoff, 2), 0);
        assert.deepEqual(kinds(await store.readEvents(0, 100)), [[young.id, 'accepted', 10 * DAY]], 'events at or after the cutoff are kept');

        assert.equal((await store.get(done.id))?.status, 'delivered', 'a message may outlive its events');
        assert.deepEqual(await store.eventsOf(done.id, 10), []);
        // The timeline is history; the recipients hold the state, and delivery goes on from them.
        assert.equal((await store.get(pending.id))?.status, 'deferred');
        assert.deepEqual(await store.eventsOf(pending.id, 10), []);
        const batch = only(await claim(store, at(3 * DAY)));
        await store.recordAttempt({ batch, at: at(3 * DAY), results: [delivered(batch.recipients[0].id)] });
        assert.deepEqual(kinds(await store.eventsOf(pending.id, 10)), [[pending.id, 'delivered', 3 * DAY]]);
      });

      it('purgeEvents never hands a removed seq out again: readers keep their place', async ({ store }) => {
        await store.enqueue(message({ createdAt: at(0) }));
        await store.enqueue(message({ createdAt: at(0) }));
        const head = (await store.gauges()).lastEventSeq;
        assert.equal(await store.purgeEvents(at(DAY), 100), 2);
        assert.deepEqual(await store.readEvents(0, 100), []);
        assert.equal((await store.gauges()).lastEventSeq, head);
        const later = message({ createdAt: at(2 * DAY) });
        await store.enqueue(later);
        const [event] = await store.readEvents(head, 100);
        assert.equal(event.messageId, later.id);
        assert.ok((event.seq ?? 0) > head);
      });
    });

    describe('events', () => {
      it('are read in commit order with increasing seq, and match what onCommit announced', async ({ store }) => {
        const calls = listen(store);
        const m1 = message({ recipients: ['x@a.example', 'y@a.example'] });
        const m2 = message({ notBefore: at(5) });
        await Promise.all([store.enqueue(m1), store.enqueue(m2)]);
        const batch = only(await claim(store, at(0), { limit: 1 }));
        await store.recordAttempt({ batch, at: at(10), results: [delivered(batch.recipients[0].id), bounced(batch.recipients[1].id)] });
        await store.hold(m2.id, at(20));
        await store.release(m2.id, at(30));
        await store.remove(m2.id, at(40));

        const announced = calls.flat();
        const read = await store.readEvents(0, 100);
        assert.deepEqual(read, announced);
        assert.deepEqual(read.map((e) => e.type), ['accepted', 'accepted', 'delivered', 'bounced', 'held', 'released', 'deleted']);
        const seqs = read.map((e) => e.seq!);
        for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], 'seq increases');

        assert.deepEqual(await store.readEvents(seqs[1], 2), read.slice(2, 4));
        assert.deepEqual(await store.readEvents(seqs.at(-1)!, 10), []);
      });

      it('a claim alone wakes no listener, found or not (a scheduler woken by its own claims would claim for ever)', async ({ store }) => {
        await store.enqueue(message());
        const calls = listen(store);
        only(await claim(store, at(0), { leaseMs: 1000 }));
        assert.deepEqual(await claim(store, at(0)), []);
        assert.equal(calls.length, 0);
      });

      it('onCommit hears every commit before the committing call resolves', async ({ store }) => {
        const calls = listen(store);
        const m = message();
        await store.enqueue(m);
        assert.deepEqual(calls.at(-1)?.map((e) => e.type), ['accepted']);
        assert.equal(typeof calls.at(-1)?.[0].seq, 'number');
        const batch = only(await claim(store, at(0), { leaseMs: 1000 }));
        const afterClaim = calls.length;
        await store.reapExpiredLeases(at(1000));
        assert.ok(calls.length > afterClaim, 'a reap that made work due wakes listeners');
        const again = only(await claim(store, at(1000)));
        assert.equal(again.messageId, batch.messageId);
        await store.recordAttempt({ batch: again, at: at(1000), results: [deferred(again.recipients[0].id, at(MINUTE))] });
        assert.deepEqual(calls.at(-1)?.map((e) => [e.type, e.recipient]), [['deferred', 'rcpt@a.example']]);
      });
    });
  });
}
