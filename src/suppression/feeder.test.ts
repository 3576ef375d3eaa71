import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MailEvent } from '../core/index.js';
import { SqliteQueueStore } from '../queue/index.js';
import { SqliteSqlDatabase, type SqliteDatabase } from '../storage/index.js';
import { tempDatabase } from '../../test/support/sqlite.js';
import { startSuppressionFeeder, suppressionFromEvent, type SuppressionFeeder } from './feeder.js';
import { SqlSuppressionStore } from './sql-suppression-store.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MESSAGE = '01jz0000000000000000000000';

function manualClock(start = Date.parse('2030-03-01T10:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

/**
 * The real pieces on one database file: the queue store's outbox (events written with
 * recordEvent, as the rooms that record them do) and the suppression store and feeder reading it.
 */
async function world(t: { after(fn: () => void | Promise<void>): void }, config = { softBounceLimit: 3, softBounceWindow: DAY }) {
  const clock = manualClock();
  const open: { db: SqliteDatabase; queue: SqliteQueueStore; feeder: SuppressionFeeder }[] = [];
  // Registered before the database's own clean-up, so feeders stop while it is still open.
  t.after(async () => {
    for (const o of open) {
      await o.feeder.stop();
      if (o.db.open) await o.queue.close();
    }
  });
  const openDatabase = tempDatabase(t, 'herald-suppression-');
  /** Opens the file and starts a feeder, as a Herald process does on start. */
  const start = async () => {
    const db = openDatabase();
    const queue = new SqliteQueueStore(db, { clock });
    const store = await SqlSuppressionStore.open(new SqliteSqlDatabase(db), { clock });
    const feeder = startSuppressionFeeder({ store, readEvents: (after, limit) => queue.readEvents(after, limit), clock, config, intervalMs: 0, pageSize: 4 });
    open.push({ db, queue, feeder });
    return { db, queue, store, feeder };
  };
  const first = await start();
  const record = (type: MailEvent['type'], recipient: string, data: Record<string, unknown> = {}, account = 'acme') =>
    first.queue.recordEvent({ type, messageId: MESSAGE, accountId: account, recipient, at: clock.now(), data });
  return { ...first, clock, start, record };
}

const hard = { reply: { code: 550, enhanced: '5.1.1', text: 'The email account that you tried to reach does not exist.' }, scope: 'recipient', reason: 'rejected' };
const full = { reply: { code: 552, enhanced: '5.2.2', text: 'The email account that you tried to reach is over quota.' }, scope: 'recipient', reason: 'rejected' };

test('a hard bounce suppresses the address on both streams, with the message and the reply', async (t) => {
  const w = await world(t);
  await w.record('bounced', 'Ann@Example.COM', hard);
  await w.record('bounced', 'bob@example.com', full);
  await w.feeder.runOnce();
  const entries = await w.store.get('acme', 'Ann@example.com');
  assert.deepEqual(entries.map((e) => [e.stream, e.reason]), [['broadcast', 'hard_bounce'], ['transactional', 'hard_bounce']]);
  assert.equal(entries[0].messageId, MESSAGE);
  assert.equal(entries[0].detail, '550 5.1.1 The email account that you tried to reach does not exist.');
  assert.deepEqual(await w.store.get('acme', 'bob@example.com'), [], 'one soft bounce (mailbox full) is not enough');
});

test('a late bounce (a DSN, its reply as text, no scope) is classified the same way', () => {
  const action = suppressionFromEvent({ type: 'bounced', messageId: MESSAGE, accountId: 'acme', recipient: 'ann@example.com', at: new Date(), seq: 9, data: { reply: '550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown', late: true } });
  assert.equal(action?.kind, 'suppress');
  assert.equal(action?.kind === 'suppress' && action.reason, 'hard_bounce');
  const soft = suppressionFromEvent({ type: 'bounced', messageId: MESSAGE, accountId: 'acme', recipient: 'ann@example.com', at: new Date(), seq: 10, data: { reply: '552 5.2.2 Mailbox full', late: true } });
  assert.equal(soft?.kind, 'soft_bounce');
});

test('soft bounces and expiries suppress only once the limit is reached within the window', async (t) => {
  const w = await world(t);
  await w.record('bounced', 'ann@example.com', full);
  w.clock.advance(2 * HOUR);
  await w.record('expired', 'ann@example.com', { reply: { code: 451, enhanced: '4.4.1', text: 'Connection timed out' } });
  await w.feeder.runOnce();
  assert.equal((await w.store.check('acme', 'transactional', ['ann@example.com'])).size, 0, 'two of three');

  // A refusal of the message's content or size, or of the sender's standing (x.7.x), says
  // nothing about the address: not counted.
  await w.record('bounced', 'ann@example.com', { reply: { code: 552, enhanced: '5.3.4', text: 'Message too big' }, scope: 'message', reason: 'rejected' });
  await w.record('bounced', 'ann@example.com', { reply: { code: 554, enhanced: '5.7.1', text: 'Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org' }, scope: 'recipient', reason: 'rejected' });
  await w.record('expired', 'ann@example.com', { reply: { code: 421, enhanced: '4.7.0', text: 'Messages temporarily deferred due to unexpected volume or user complaints' } });
  await w.feeder.runOnce();
  assert.equal((await w.store.check('acme', 'transactional', ['ann@example.com'])).size, 0);

  w.clock.advance(2 * HOUR);
  await w.record('bounced', 'ann@example.com', full);
  await w.feeder.runOnce();
  const [entry] = await w.store.get('acme', 'ann@example.com', 'broadcast');
  assert.equal(entry?.reason, 'soft_bounces');
  assert.match(entry.detail ?? '', /^3 soft bounces within 1d; the last: 552 5\.2\.2/);
  assert.equal((await w.store.check('acme', 'transactional', ['ann@example.com'])).size, 1, 'both streams');
  assert.equal(await w.store.hasSoftBounces('acme', 'ann@example.com'), false, 'the count starts afresh');
});

test('soft bounces further apart than the window, or with a delivery between them, do not add up', async (t) => {
  const w = await world(t);
  for (let i = 0; i < 5; i++) {
    await w.record('bounced', 'far@example.com', full);
    w.clock.advance(13 * HOUR);
  }
  for (const type of ['bounced', 'bounced', 'delivered', 'bounced', 'bounced'] as const) {
    await w.record(type, 'flaky@example.com', type === 'delivered' ? {} : full);
  }
  await w.feeder.runOnce();
  assert.equal((await w.store.check('acme', 'transactional', ['far@example.com', 'flaky@example.com'])).size, 0);
  // Another account's soft bounces of the same address count for that account alone.
  await w.record('bounced', 'flaky@example.com', full, 'globex');
  await w.record('bounced', 'flaky@example.com', full);
  await w.feeder.runOnce();
  assert.equal((await w.store.check('acme', 'transactional', ['flaky@example.com'])).size, 1, 'three since the delivery');
  assert.equal((await w.store.check('globex', 'transactional', ['flaky@example.com'])).size, 0);
});

test('a limit of 0 turns soft-bounce suppression off', async (t) => {
  const w = await world(t, { softBounceLimit: 0, softBounceWindow: DAY });
  for (let i = 0; i < 5; i++) await w.record('expired', 'ann@example.com');
  await w.feeder.runOnce();
  assert.equal(await w.store.count('acme'), 0);
  assert.equal(await w.store.hasSoftBounces('acme', 'ann@example.com'), false, 'nothing counted either');
});

test('feedback reports that are no complaint (not-spam, auth-failure) are recorded but suppress nothing', () => {
  const event = (feedbackType?: string): MailEvent => ({ type: 'complained', messageId: MESSAGE, accountId: 'acme', recipient: 'ann@example.com', at: new Date(), data: feedbackType ? { feedbackType } : {} });
  assert.equal(suppressionFromEvent(event('not-spam')), null);
  assert.equal(suppressionFromEvent(event('Auth-Failure')), null);
  for (const type of ['abuse', 'fraud', 'virus', 'other', undefined]) {
    assert.equal(suppressionFromEvent(event(type))?.kind, 'suppress', `feedback type ${type ?? '(none)'}`);
  }
});

test('a complaint suppresses both streams; an unsubscribe the broadcast stream only', async (t) => {
  const w = await world(t);
  await w.record('complained', 'ann@example.com', { feedbackType: 'abuse' });
  await w.record('unsubscribed', 'bob@example.com', { stream: 'broadcast', method: 'one-click' });
  await w.record('unsubscribed', 'carol@example.com', { stream: 'transactional' });
  await w.feeder.runOnce();
  assert.deepEqual((await w.store.get('acme', 'ann@example.com')).map((e) => `${e.stream} ${e.reason} ${e.detail}`), ['broadcast complaint abuse', 'transactional complaint abuse']);
  assert.deepEqual((await w.store.get('acme', 'bob@example.com')).map((e) => `${e.stream} ${e.reason} ${e.detail}`), ['broadcast unsubscribe one-click']);
  assert.deepEqual(
    (await w.store.get('acme', 'carol@example.com')).map((e) => `${e.stream} ${e.reason} ${e.detail}`),
    ['broadcast unsubscribe unsubscribed (from a transactional message)'],
    'her receipts and password resets still reach her',
  );
  // A hard bounce later strengthens bob's broadcast entry and adds the transactional one.
  await w.record('bounced', 'bob@example.com', hard);
  await w.feeder.runOnce();
  assert.deepEqual((await w.store.get('acme', 'bob@example.com')).map((e) => `${e.stream} ${e.reason}`), ['broadcast hard_bounce', 'transactional hard_bounce']);
});

test('after a restart the feeder resumes from its cursor and counts nothing twice', async (t) => {
  const w = await world(t);
  await w.record('accepted', '');
  await w.record('bounced', 'ann@example.com', full);
  await w.record('bounced', 'ann@example.com', full);
  for (let i = 0; i < 5; i++) await w.record('delivered', `other${i}@example.com`);
  assert.equal(await w.feeder.runOnce(), 8);
  const lastSeq = (await w.queue.readEvents(0, 100)).at(-1)!.seq!;
  await w.feeder.stop();
  assert.equal(await w.store.feedCursor(), lastSeq, 'stopping saves the place reached over events that wrote nothing');

  const again = await w.start();
  assert.equal(await again.feeder.runOnce(), 0, 'nothing is read twice');
  await again.queue.recordEvent({ type: 'bounced', messageId: MESSAGE, accountId: 'acme', recipient: 'ann@example.com', at: w.clock.now(), data: full });
  assert.equal(await again.feeder.runOnce(), 1);
  assert.equal((await again.store.get('acme', 'ann@example.com'))[0]?.reason, 'soft_bounces', 'the two counted before the restart and this one');
});

test('a crash loses no suppression: what was written is kept with its cursor, the rest is read again', async (t) => {
  const w = await world(t);
  await w.record('bounced', 'ann@example.com', full);
  await w.record('bounced', 'ann@example.com', full);
  await w.feeder.runOnce();
  await w.record('delivered', 'bob@example.com');
  await w.feeder.runOnce();
  const savedAt = await w.store.feedCursor();
  const lastSeq = (await w.queue.readEvents(0, 100)).at(-1)!.seq!;
  assert.ok(savedAt < lastSeq, 'the delivery to bob needed no write, so the cursor was not saved past it');
  // The process dies without stop(): the database is all that is left.
  w.db.close();

  const after = await w.start();
  assert.equal(await after.store.feedCursor(), savedAt);
  await after.queue.recordEvent({ type: 'expired', messageId: MESSAGE, accountId: 'acme', recipient: 'ann@example.com', at: w.clock.now(), data: {} });
  await after.feeder.runOnce();
  assert.equal((await after.store.get('acme', 'ann@example.com', 'transactional'))[0]?.reason, 'soft_bounces');
  assert.equal(await after.store.count('acme'), 1);
});

test('runOnce called while a run is going waits for the events committed before it', async (t) => {
  const w = await world(t);
  const first = w.feeder.runOnce();
  await w.record('complained', 'ann@example.com');
  const second = w.feeder.runOnce();
  await Promise.all([first, second]);
  assert.equal(await w.store.count('acme'), 1);
});
