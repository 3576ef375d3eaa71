// DeliveryScheduler end to end with real parts: SqliteQueueStore on a temp file, NodeDnsResolver
// against the loopback DNS server, SmtpMxTransport to smtp-server sinks. Tests wait on store
// events (onCommit), never on sleeps.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { newMessageId, type MailEvent } from '../core/index.js';
import { SqlDestinationSlots, SqliteQueueStore, type DeliveryBatch, type NewMessage } from '../queue/index.js';
import { openSqlite, SqliteSqlDatabase } from '../storage/index.js';
import { startDnsServer, type DnsServer } from '../../test/support/dns-server.js';
import { PostponeCountingStore } from '../../test/support/postpone-counting-store.js';
import { startSmtpSink, type SmtpSink } from '../../test/support/smtp-sink.js';
import { NodeDnsResolver } from './dns-resolver.js';
import { DeliveryScheduler } from './scheduler.js';
import { SmtpMxTransport, type Transport, type TransportResult } from './smtp-transport.js';

let dns: DnsServer;
let sink: SmtpSink;
const dirs: string[] = [];

before(async () => {
  dns = await startDnsServer({ host: '127.0.0.1' });
  sink = await startSmtpSink({ host: '127.0.0.10' });
  dns.setZone({
    'mx.sched.test': { A: ['127.0.0.10'] },
    'dead.sched.test': { A: ['127.0.0.11'] }, // nothing listens there: connection refused
    'ok.test': { MX: [{ preference: 10, exchange: 'mx.sched.test' }] },
    'senders.test': { MX: [{ preference: 10, exchange: 'mx.sched.test' }] },
    'down.test': { MX: [{ preference: 10, exchange: 'dead.sched.test' }] },
  });
});

after(async () => {
  await Promise.all([dns?.close(), sink?.close()]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Rig {
  store: SqliteQueueStore;
  scheduler: DeliveryScheduler;
  events: MailEvent[];
  until(pred: (e: MailEvent) => boolean): Promise<MailEvent>;
  close(): Promise<void>;
}

/** A fresh store and scheduler; `until` resolves with the first event (past or future) matching. */
function rig(over: { maxQueueAge?: number; start?: boolean } = {}): Rig {
  const dir = mkdtempSync(join(tmpdir(), 'herald-deliver-'));
  dirs.push(dir);
  const store = new SqliteQueueStore(openSqlite(join(dir, 'queue.db')));
  const events: MailEvent[] = [];
  const waiters: { pred: (e: MailEvent) => boolean; resolve(e: MailEvent): void }[] = [];
  store.onCommit((committed) => {
    events.push(...committed);
    for (const w of [...waiters]) {
      const hit = committed.find(w.pred);
      if (hit) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  });
  const config = {
    hostname: 'herald.test',
    connectTimeout: 5000,
    outboundPort: sink.port,
    smartHost: undefined,
    retrySchedule: [50],
    maxQueueAge: over.maxQueueAge ?? 86_400_000,
    deliveryConcurrency: 10,
    destinationConcurrency: 2,
  };
  const transport = new SmtpMxTransport({ config, resolver: new NodeDnsResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }) });
  const scheduler = new DeliveryScheduler({ store, transport, config, stopGraceMs: 5000 });
  return {
    store,
    scheduler,
    events,
    until(pred) {
      const seen = events.find(pred);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    async close() {
      await scheduler.stop();
      await store.close();
    },
  };
}

function message(recipients: string[], over: Partial<NewMessage> = {}): NewMessage {
  const now = new Date();
  const id = newMessageId();
  return {
    id,
    accountId: 'acct',
    source: 'smtp',
    mailFrom: 'alice@senders.test',
    recipients,
    body: Buffer.from(`From: alice@senders.test\r\nSubject: test ${id}\r\nMessage-ID: <${id}@senders.test>\r\n\r\nHello.\r\n`),
    createdAt: now,
    expiresAt: new Date(now.getTime() + 86_400_000),
    meta: { subject: `test ${id}` },
    ...over,
  };
}

const is = (type: MailEvent['type'], messageId: string, recipient?: string) => (e: MailEvent) =>
  e.type === type && e.messageId === messageId && (recipient === undefined || e.recipient === recipient);

test('new mail is delivered as soon as it is accepted', async () => {
  const r = rig();
  try {
    await r.scheduler.start();
    const m = message(['fast@ok.test']);
    await r.store.enqueue(m);
    const delivered = await r.until(is('delivered', m.id, 'fast@ok.test'));
    assert.equal(delivered.data.host, 'mx.sched.test');
    const detail = await r.store.get(m.id);
    assert.equal(detail?.recipients[0].state, 'delivered');
  } finally {
    await r.close();
  }
});

test('a deferral is retried on the schedule and then delivered', async () => {
  const r = rig();
  sink.setRecipientReply('grey@ok.test', { code: 451, text: '4.7.1 Greylisted, come back later' }, { times: 1 });
  try {
    await r.scheduler.start();
    const m = message(['grey@ok.test']);
    await r.store.enqueue(m);
    const deferred = await r.until(is('deferred', m.id, 'grey@ok.test'));
    assert.equal((deferred.data.reply as { code: number }).code, 451);
    await r.until(is('delivered', m.id, 'grey@ok.test'));
    const detail = await r.store.get(m.id);
    assert.deepEqual(detail?.recipients[0].history.map((h) => h.state), ['deferred', 'delivered']);
  } finally {
    sink.setRecipientReply('grey@ok.test', null);
    await r.close();
  }
});

test('mixed recipients in one message: one failure does not affect the others', async () => {
  const r = rig();
  sink.setRecipientReply('nobody@ok.test', { code: 550, text: '5.1.1 User unknown' });
  try {
    await r.scheduler.start();
    const m = message(['someone@ok.test', 'nobody@ok.test', 'x@down.test']);
    await r.store.enqueue(m);
    await r.until(is('delivered', m.id, 'someone@ok.test'));
    await r.until(is('bounced', m.id, 'nobody@ok.test'));
    const down = await r.until(is('deferred', m.id, 'x@down.test'));
    assert.equal(down.data.scope, 'connection');
  } finally {
    sink.setRecipientReply('nobody@ok.test', null);
    await r.close();
  }
});

test('expiry: a recipient still failing at the max queue age expires and the sender gets a DSN', async () => {
  const r = rig({ maxQueueAge: 60_000 });
  try {
    await r.scheduler.start();
    const now = new Date();
    const m = message(['late@down.test'], { createdAt: now, expiresAt: new Date(now.getTime() + 300) });
    await r.store.enqueue(m);
    const expired = await r.until(is('expired', m.id, 'late@down.test'));
    // The DSN was queued in the same commit as the expiry.
    const accepted = r.events.filter((e) => e.type === 'accepted' && e.messageId !== m.id && e.seq! > 0);
    const dsns = [];
    for (const e of accepted) {
      const d = await r.store.get(e.messageId);
      if (d?.meta.dsnFor === m.id) dsns.push(d);
    }
    assert.equal(dsns.length, 1);
    assert.equal(dsns[0].source, 'dsn');
    assert.equal(dsns[0].mailFrom, '');
    assert.ok(expired.at.getTime() >= m.expiresAt.getTime());
    // …and it is delivered to the sender's MX with the null reverse-path.
    await r.until(is('delivered', dsns[0].id, 'alice@senders.test'));
    const got = sink.messages.find((msg) => msg.rcptTo.includes('alice@senders.test') && msg.raw.includes(m.id));
    assert.ok(got, 'the DSN reached the sender');
    assert.equal(got.mailFrom, '');
    assert.match(got.raw.toString(), /Content-Type: multipart\/report; report-type=delivery-status/);
    assert.match(got.raw.toString(), /Final-Recipient: rfc822; late@down.test\r\nAction: failed\r\nStatus: 4\.4\.7/);
  } finally {
    await r.close();
  }
});

test('a bounce sends a DSN for SMTP mail, none for API mail, the null sender or a DSN', async () => {
  const r = rig();
  sink.setRecipientReply('bad@ok.test', { code: 550, text: '5.1.1 User unknown' });
  try {
    await r.scheduler.start();
    const smtp = message(['bad@ok.test']);
    const api = message(['bad@ok.test'], { source: 'api' });
    const nullSender = message(['bad@ok.test'], { mailFrom: '' });
    const dsn = message(['bad@ok.test'], { source: 'dsn', mailFrom: '' });
    for (const m of [smtp, api, nullSender, dsn]) await r.store.enqueue(m);
    for (const m of [smtp, api, nullSender, dsn]) await r.until(is('bounced', m.id, 'bad@ok.test'));
    const ours = new Set([smtp.id, api.id, nullSender.id, dsn.id]);
    const reports = [];
    for (const e of r.events.filter((e) => e.type === 'accepted' && !ours.has(e.messageId))) reports.push(await r.store.get(e.messageId));
    assert.equal(reports.length, 1);
    assert.equal(reports[0]?.meta.dsnFor, smtp.id);
    assert.equal(reports[0]?.source, 'dsn');
    await r.until(is('delivered', reports[0]!.id, 'alice@senders.test'));
    const got = sink.messages.find((msg) => msg.mailFrom === '' && msg.raw.includes(`X-Herald-Queue-ID: ${smtp.id}`));
    assert.ok(got);
    assert.match(got.raw.toString(), /Diagnostic-Code: smtp; 550 5\.1\.1 User unknown/);
  } finally {
    sink.setRecipientReply('bad@ok.test', null);
    await r.close();
  }
});

test('crash recovery: work leased by a dead worker is delivered by the next scheduler', async () => {
  const r = rig();
  try {
    const m = message(['recover@ok.test'], { createdAt: new Date(Date.now() - 120_000) });
    await r.store.enqueue(m);
    // A worker claims the batch and "dies": its lease (taken in the past) has already run out.
    const claimed = await r.store.claimDue({ owner: 'crashed-worker', now: new Date(Date.now() - 60_000), limit: 10, leaseMs: 1000 });
    assert.equal(claimed.length, 1);
    assert.equal((await r.store.get(m.id))?.recipients[0].state, 'delivering');
    await r.scheduler.start();
    await r.until(is('delivered', m.id, 'recover@ok.test'));
  } finally {
    await r.close();
  }
});

test('per-destination concurrency bounds the connections to one domain, and they are reused', async () => {
  const r = rig();
  try {
    const connectionsBefore = sink.connections;
    const ms = Array.from({ length: 8 }, (_, i) => message([`bulk${i}@ok.test`]));
    await Promise.all(ms.map((m) => r.store.enqueue(m)));
    await r.scheduler.start();
    for (const m of ms) await r.until(is('delivered', m.id));
    // destinationConcurrency is 2: never more than two sessions, each carrying several messages.
    const opened = sink.connections - connectionsBefore;
    assert.ok(opened >= 1 && opened <= 2, `opened ${opened} connections`);
  } finally {
    await r.close();
  }
});

/**
 * A transport shared by schedulers that keeps every attempt open until the test finishes it, so
 * the test sees how many run at once. `opened(n)` resolves when n are open together.
 */
function holdingTransport() {
  const open: { owner: string; finish(): void }[] = [];
  const owners: string[] = [];
  let most = 0;
  let check = () => {};
  const transport: Transport = {
    async deliver(batch: DeliveryBatch): Promise<TransportResult> {
      owners.push(batch.leaseOwner);
      await new Promise<void>((finish) => {
        open.push({ owner: batch.leaseOwner, finish });
        most = Math.max(most, open.length);
        check();
      });
      const reply = { code: 250, enhanced: '2.0.0', text: 'Ok' };
      return { host: 'mx.held.test', outcomes: new Map(batch.recipients.map((r) => [r.id, { kind: 'delivered' as const, host: 'mx.held.test', reply }])) };
    },
    close: async () => {},
  };
  return {
    transport,
    owners,
    get most() {
      return most;
    },
    opened(n: number): Promise<void> {
      return new Promise((resolve) => {
        check = () => {
          if (open.length >= n) resolve();
        };
        check();
      });
    },
    finishOldest(): void {
      open.shift()!.finish();
    },
    /** Lets everything still open finish (a failed test must not leave stop() waiting on it). */
    finishAll(): void {
      for (const attempt of open.splice(0)) attempt.finish();
    },
  };
}

const clusterConfig = {
  hostname: 'herald.test',
  retrySchedule: [50],
  maxQueueAge: 86_400_000,
  deliveryConcurrency: 3,
  destinationConcurrency: 2,
};

/** A node of a cluster on one SQLite file: its own queue connection and its own slot table connection. */
async function clusterNode(file: string, owner: string, transport: Transport, over: { slotWaitMs?: number } = {}) {
  const store = new PostponeCountingStore(openSqlite(file));
  const slotDb = SqliteSqlDatabase.open(file);
  const slots = await SqlDestinationSlots.open(slotDb);
  const scheduler = new DeliveryScheduler({ store, transport, config: clusterConfig, slots, owner, rescanMs: 20, stopGraceMs: 5000, ...over });
  const delivered = new Set<string>();
  const deferred: MailEvent[] = [];
  const waiters: (() => void)[] = [];
  store.onCommit((events) => {
    for (const e of events) {
      if (e.type === 'delivered') delivered.add(e.messageId);
      if (e.type === 'deferred') deferred.push(e);
    }
    for (const w of waiters.splice(0)) w();
  });
  return {
    store,
    slots,
    scheduler,
    delivered,
    deferred,
    /** Resolves at the first commit of this node's store after now. */
    nextCommit: () => new Promise<void>((resolve) => waiters.push(resolve)),
    async close() {
      await scheduler.stop();
      await store.close();
      await slotDb.close();
    },
  };
}

function clusterFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cluster-'));
  dirs.push(dir);
  return join(dir, 'herald.db');
}

test('two schedulers on one database keep the destination limit between them, and deliver everything', async () => {
  const file = clusterFile();
  const held = holdingTransport();
  const nodes = [await clusterNode(file, 'node-a', held.transport), await clusterNode(file, 'node-b', held.transport)];
  try {
    const ms = Array.from({ length: 8 }, (_, i) => message([`spread${i}@ok.test`]));
    for (const m of ms) await nodes[0].store.enqueue(m);
    // Each node claims up to three batches (deliveryConcurrency) and may run two to ok.test on
    // its own: together they would open four connections without the shared slots.
    await Promise.all(nodes.map((n) => n.scheduler.start()));
    for (let finished = 0; finished < ms.length; finished++) {
      await held.opened(Math.min(2, ms.length - finished));
      assert.ok(held.most <= 2, `${held.most} attempts at once`);
      held.finishOldest();
    }
    const all = () => ms.every((m) => nodes.some((n) => n.delivered.has(m.id)));
    while (!all()) await Promise.race(nodes.map((n) => n.nextCommit()));
    assert.equal(held.most, 2);
    assert.equal(held.owners.length, ms.length, 'one attempt per message');
    assert.deepEqual(new Set(held.owners), new Set(['node-a', 'node-b']), 'both nodes delivered');
  } finally {
    held.finishAll();
    for (const n of nodes) await n.close();
  }
  // Every slot was given back: a newcomer gets both at once.
  const db = SqliteSqlDatabase.open(file);
  try {
    const slots = await SqlDestinationSlots.open(db);
    assert.equal(await slots.acquire('ok.test', 2, 'newcomer', new Date(), 60_000), 0);
    assert.equal(await slots.acquire('ok.test', 2, 'newcomer', new Date(), 60_000), 1);
  } finally {
    await db.close();
  }
});

test('a batch that waits too long for a cluster slot goes back to the queue untried (not an attempt), then is delivered', async () => {
  const file = clusterFile();
  const held = holdingTransport();
  const node = await clusterNode(file, 'node-a', held.transport, { slotWaitMs: 0 });
  try {
    // Another node holds both of ok.test's slots.
    assert.equal(await node.slots.acquire('ok.test', 2, 'node-b', new Date(), 600_000), 0);
    assert.equal(await node.slots.acquire('ok.test', 2, 'node-b', new Date(), 600_000), 1);
    await node.scheduler.start();
    const m = message(['patient@ok.test']);
    await node.store.enqueue(m);
    await node.store.givenBack(1);
    const waiting = (await node.store.get(m.id))!.recipients[0];
    assert.equal(waiting.attempts, 0, 'waiting for a slot is not an attempt');
    assert.deepEqual(waiting.history, []);
    assert.equal(node.deferred.length, 0, 'and makes no deferred event');
    assert.equal(held.owners.length, 0, 'no connection was attempted');

    await node.slots.releaseAll('node-b');
    await held.opened(1);
    held.finishOldest();
    while (!node.delivered.has(m.id)) await node.nextCommit();
    assert.equal(held.owners.length, 1);
  } finally {
    held.finishAll();
    await node.close();
  }
});

test('work that comes due between a claim and setting the timer is claimed then, not a rescan later', { timeout: 30_000 }, async () => {
  const dueAt = new Date(Date.now() + 60_000);
  let now = new Date(dueAt.getTime() - 1);
  // The claim runs just before the due time; the clock reaches it while the next due time is read
  // (as when every batch a backoff suspended comes due at its end). Commits without events (this
  // store's claims) wake no one, as on PostgreSQL: only the scheduler's timer can.
  class DueWhileArming extends SqliteQueueStore {
    override async nextDueAt(): Promise<Date | null> {
      now = dueAt;
      return super.nextDueAt();
    }

    override onCommit(listener: (events: MailEvent[]) => void): void {
      super.onCommit((events) => events.length > 0 && listener(events));
    }
  }
  const store = new DueWhileArming(openSqlite(clusterFile()));
  const held = holdingTransport();
  // No rescan for ten minutes: only the due time can wake the scheduler.
  const scheduler = new DeliveryScheduler({ store, transport: held.transport, config: clusterConfig, clock: { now: () => now }, rescanMs: 600_000, stopGraceMs: 5000 });
  const m = message(['timely@ok.test'], { notBefore: dueAt });
  const seen = (type: MailEvent['type']) => new Promise<void>((resolve) => store.onCommit((events) => events.some((e) => e.type === type && e.messageId === m.id) && resolve()));
  const accepted = seen('accepted');
  const delivered = seen('delivered');
  try {
    await store.enqueue(m);
    await accepted;
    await scheduler.start();
    await held.opened(1);
    held.finishOldest();
    await delivered;
    assert.equal(held.owners.length, 1);
  } finally {
    held.finishAll();
    await scheduler.stop();
    await store.close();
  }
});
