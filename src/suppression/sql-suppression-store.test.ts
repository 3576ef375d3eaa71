import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqlite } from '../storage/index.js';
import { rejectionOf } from '../../test/support/rejections.js';
import { tempDatabase } from '../../test/support/sqlite.js';
import { SqliteSuppressionStore } from './sqlite-suppression-store.js';

/** The store refuses with an SmtpRejection naming the field, which the API turns into a 422. */
function refused(fn: () => unknown, field: string, text?: RegExp): void {
  const err = rejectionOf(fn);
  assert.equal(err.field, field);
  if (text) assert.match(err.reply.text, text);
}

const DAY = 86_400_000;

function manualClock(start = Date.parse('2030-03-01T10:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

function setup(t: { after(fn: () => void): void }) {
  const db = openSqlite(':memory:');
  t.after(() => db.close());
  const clock = manualClock();
  return { db, clock, store: new SqliteSuppressionStore(db, { clock }) };
}

test('check: many addresses in one call, only the suppressed ones come back, keyed as given', (t) => {
  const { store, clock } = setup(t);
  const suppressed = Array.from({ length: 500 }, (_, i) => ({ address: `user${i * 2}@example.com`, reason: 'hard_bounce' as const }));
  assert.deepEqual(store.add('acme', suppressed), { added: 1000, updated: 0, unchanged: 0 });
  const asked = Array.from({ length: 1000 }, (_, i) => `user${i}@example.com`);
  const hits = store.check('acme', 'transactional', asked);
  assert.equal(hits.size, 500);
  assert.ok(hits.has('user998@example.com'));
  assert.ok(!hits.has('user999@example.com'));
  assert.deepEqual(hits.get('user0@example.com'), { reason: 'hard_bounce', createdAt: clock.now() });
  assert.equal(store.check('acme', 'transactional', []).size, 0);
});

test('addresses: the domain is compared case-insensitively, the local part exactly', (t) => {
  const { store } = setup(t);
  store.add('acme', [{ address: ' Ann@Example.COM ', reason: 'manual' }]);
  assert.deepEqual(store.get('acme', 'Ann@example.com').map((e) => e.address), ['Ann@example.com', 'Ann@example.com']);
  const hits = store.check('acme', 'broadcast', ['Ann@EXAMPLE.com', 'Ann@example.com', 'ann@example.com', 'ANN@example.com']);
  assert.deepEqual([...hits.keys()], ['Ann@EXAMPLE.com', 'Ann@example.com'], 'the local part is the receiving host’s business (RFC 5321 §2.4)');
  // Internationalised domains are stored in their A-label form and match either spelling.
  store.add('acme', [{ address: 'ann@Bücher.example', reason: 'manual' }]);
  assert.ok(store.check('acme', 'broadcast', ['ann@xn--bcher-kva.example']).has('ann@xn--bcher-kva.example'));
  assert.ok(store.check('acme', 'broadcast', ['ann@bücher.example']).has('ann@bücher.example'));
});

test('streams: one stream, or both as two entries that are removed one at a time', (t) => {
  const { store } = setup(t);
  store.add('acme', [
    { address: 'news@example.com', stream: 'broadcast', reason: 'unsubscribe' },
    { address: 'both@example.com', reason: 'manual' },
    { address: 'all@example.com', stream: 'all', reason: 'manual' },
  ]);
  assert.ok(store.check('acme', 'broadcast', ['news@example.com']).has('news@example.com'));
  assert.equal(store.check('acme', 'transactional', ['news@example.com']).size, 0);
  assert.equal(store.check('acme', 'transactional', ['both@example.com', 'all@example.com']).size, 2);
  assert.equal(store.remove('acme', 'both@example.com', 'broadcast'), 1);
  assert.equal(store.check('acme', 'broadcast', ['both@example.com']).size, 0);
  assert.equal(store.check('acme', 'transactional', ['both@example.com']).size, 1);
  assert.equal(store.remove('acme', 'both@example.com', 'broadcast'), 0, 'nothing left there');
  assert.equal(store.remove('acme', 'ALL@EXAMPLE.COM'), 0, 'the local part differs');
  assert.equal(store.remove('acme', 'all@EXAMPLE.COM'), 2);
  assert.equal(store.count('acme'), 2);
  assert.equal(store.count('acme', 'broadcast'), 1);
});

test('accounts are isolated: another account’s entries are neither checked, listed nor removed', (t) => {
  const { store } = setup(t);
  store.add('acme', [{ address: 'ann@example.com', reason: 'complaint' }]);
  assert.equal(store.check('globex', 'transactional', ['ann@example.com']).size, 0);
  assert.deepEqual(store.get('globex', 'ann@example.com'), []);
  assert.deepEqual(store.list('globex', { limit: 10 }).entries, []);
  assert.equal(store.remove('globex', 'ann@example.com'), 0);
  assert.equal(store.count('globex'), 0);
  assert.equal(store.check('acme', 'transactional', ['ann@example.com']).size, 1);
});

test('add is idempotent; a stronger reason replaces a weaker one, never the other way', (t) => {
  const { store, clock } = setup(t);
  const first = clock.now();
  store.add('acme', [{ address: 'ann@example.com', stream: 'broadcast', reason: 'unsubscribe', messageId: 'm1' }]);
  clock.advance(1000);
  assert.deepEqual(store.add('acme', [{ address: 'ann@example.com', stream: 'broadcast', reason: 'manual' }]), { added: 0, updated: 0, unchanged: 1 });
  assert.deepEqual(store.add('acme', [{ address: 'ann@example.com', stream: 'broadcast', reason: 'unsubscribe', messageId: 'm2' }]), { added: 0, updated: 0, unchanged: 1 });
  let [entry] = store.get('acme', 'ann@example.com');
  assert.equal(entry.messageId, 'm1', 'the first cause stays');
  assert.deepEqual(entry.createdAt, first);

  clock.advance(1000);
  assert.deepEqual(store.add('acme', [{ address: 'ann@example.com', reason: 'hard_bounce', messageId: 'm3', detail: '550 5.1.1 User unknown' }]), { added: 1, updated: 1, unchanged: 0 });
  [entry] = store.get('acme', 'ann@example.com', 'broadcast');
  assert.equal(entry.reason, 'hard_bounce');
  assert.equal(entry.messageId, 'm3');
  assert.equal(entry.detail, '550 5.1.1 User unknown');
  assert.deepEqual(entry.createdAt, clock.now(), 'created_at is when the entry got its current reason');
});

test('manual entries may expire; re-adding only lengthens them and a bounce makes them permanent', (t) => {
  const { store, clock } = setup(t);
  const inAWeek = new Date(clock.now().getTime() + 7 * DAY);
  store.add('acme', [{ address: 'ann@example.com', stream: 'transactional', reason: 'manual', expiresAt: inAWeek }]);
  assert.deepEqual(store.get('acme', 'ann@example.com')[0].expiresAt, inAWeek);
  assert.deepEqual(
    store.add('acme', [{ address: 'ann@example.com', stream: 'transactional', reason: 'manual', expiresAt: new Date(clock.now().getTime() + DAY) }]),
    { added: 0, updated: 0, unchanged: 1 },
    'a shorter expiry does not shorten it',
  );
  clock.advance(8 * DAY);
  assert.equal(store.check('acme', 'transactional', ['ann@example.com']).size, 0, 'expired: sent to again');
  assert.deepEqual(store.list('acme', { limit: 10 }).entries, []);
  assert.equal(store.remove('acme', 'ann@example.com'), 0, 'an expired entry is not there to remove');
  assert.equal(store.add('acme', [{ address: 'ann@example.com', stream: 'transactional', reason: 'manual', expiresAt: new Date(clock.now().getTime() + DAY) }]).added, 1);
  clock.advance(2 * DAY);
  assert.equal(store.purgeExpired(), 1);

  store.add('acme', [{ address: 'bob@example.com', reason: 'manual', expiresAt: new Date(clock.now().getTime() + DAY) }]);
  assert.deepEqual(store.add('acme', [{ address: 'bob@example.com', stream: 'broadcast', reason: 'manual' }]), { added: 0, updated: 1, unchanged: 0 }, 'no expiry is longer than any');
  assert.deepEqual(store.add('acme', [{ address: 'bob@example.com', stream: 'transactional', reason: 'hard_bounce' }]), { added: 0, updated: 1, unchanged: 0 });
  clock.advance(2 * DAY);
  assert.equal(store.check('acme', 'transactional', ['bob@example.com']).size, 1);
  assert.equal(store.check('acme', 'broadcast', ['bob@example.com']).size, 1);
  assert.equal(store.purgeExpired(), 0, 'neither of bob’s entries expires any more');
});

test('bad input is refused naming the field, and nothing of the batch is written', (t) => {
  const { store, clock } = setup(t);
  refused(() => store.add('acme', [{ address: 'good@example.com', reason: 'manual' }, { address: 'not-an-address', reason: 'manual' }]), 'address', /entry 2: "not-an-address" is not an email address/);
  assert.equal(store.count('acme'), 0);
  refused(() => store.add('acme', [{ address: 'a@example.com', stream: 'weekly' as never, reason: 'manual' }]), 'stream');
  refused(() => store.add('acme', [{ address: 'a@example.com', reason: 'bored' as never }]), 'reason');
  refused(() => store.add('acme', [{ address: 'a@example.com', reason: 'hard_bounce', expiresAt: new Date(clock.now().getTime() + DAY) }]), 'expires_at', /only manual entries expire/);
  refused(() => store.add('acme', [{ address: 'a@example.com', reason: 'manual', expiresAt: new Date(0) }]), 'expires_at', /past/);
});

test('list pages through by address with filters, and a cursor not ours is refused', (t) => {
  const { store } = setup(t);
  const names = ['dave', 'ann', 'carol', 'bob', 'erin'];
  store.add('acme', names.map((n) => ({ address: `${n}@example.com`, reason: 'manual' as const })));
  store.add('acme', [{ address: 'frank@other.example', stream: 'broadcast', reason: 'unsubscribe' }]);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = store.list('acme', { limit: 3, cursor });
    seen.push(...page.entries.map((e) => `${e.address} ${e.stream}`));
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 4);
  assert.equal(seen.length, 11);
  assert.deepEqual(seen.slice(0, 3), ['ann@example.com broadcast', 'ann@example.com transactional', 'bob@example.com broadcast']);
  assert.deepEqual([...seen].sort(), seen, 'ordered, nothing twice');

  assert.deepEqual(store.list('acme', { limit: 10, reason: 'unsubscribe' }).entries.map((e) => e.address), ['frank@other.example']);
  assert.deepEqual(store.list('acme', { limit: 10, stream: 'transactional', search: 'AR' }).entries.map((e) => e.address), ['carol@example.com']);
  assert.deepEqual(store.list('acme', { limit: 10, search: '%' }).entries, [], '% is matched literally');
  assert.equal(store.list('acme', { limit: 2, stream: 'broadcast' }).entries.length, 2);
  refused(() => store.list('acme', { limit: 10, cursor: 'nonsense' }), 'cursor');
  refused(() => store.list('acme', { limit: 0 }), 'limit');
});

test('remove forgets the address’s soft bounces, so it starts afresh', (t) => {
  const { store, clock } = setup(t);
  const policy = { limit: 2, windowMs: DAY };
  const soft = (seq: number) => ({ kind: 'soft_bounce' as const, accountId: 'acme', address: 'ann@example.com', seq, at: clock.now(), messageId: null, detail: null });
  store.applyFeed(0, 1, [soft(1)], policy);
  assert.ok(store.hasSoftBounces('acme', 'ann@example.com'));
  store.add('acme', [{ address: 'ann@example.com', stream: 'broadcast', reason: 'manual' }]);
  store.remove('acme', 'ann@example.com');
  assert.equal(store.hasSoftBounces('acme', 'ann@example.com'), false);
  store.applyFeed(1, 2, [soft(2)], policy);
  assert.equal(store.check('acme', 'transactional', ['ann@example.com']).size, 0, 'one soft bounce since the removal, not two');
});

test('check: one, two and more addresses (each a different statement) answer alike, duplicates and spellings included', (t) => {
  const { store } = setup(t);
  store.add('acme', [
    { address: 'a@example.com', reason: 'hard_bounce' },
    { address: 'b@example.com', reason: 'complaint', stream: 'transactional' },
  ]);
  const ask = (addresses: string[]) =>
    [...store.check('acme', 'transactional', addresses)].map(([address, hit]) => [address, hit.reason]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  assert.deepEqual(ask(['a@example.com']), [['a@example.com', 'hard_bounce']]);
  assert.deepEqual(ask(['c@example.com']), []);
  assert.deepEqual(ask(['a@example.com', 'a@EXAMPLE.com']), [['a@EXAMPLE.com', 'hard_bounce'], ['a@example.com', 'hard_bounce']], 'one address in two spellings');
  assert.deepEqual(ask(['c@example.com', 'b@example.com']), [['b@example.com', 'complaint']]);
  assert.deepEqual(ask(['b@example.com', 'c@example.com', 'a@example.com']), [['a@example.com', 'hard_bounce'], ['b@example.com', 'complaint']]);
  assert.deepEqual([...store.check('acme', 'broadcast', ['a@example.com', 'b@example.com']).keys()], ['a@example.com']);
  assert.equal(store.check('globex', 'transactional', ['a@example.com']).size, 0);
});

test('an address added or removed through another connection (the CLI) counts for the very next check', (t) => {
  const open = tempDatabase(t, 'herald-suppression-');
  const clock = manualClock();
  const server = new SqliteSuppressionStore(open(), { clock });
  const cli = new SqliteSuppressionStore(open(), { clock });
  assert.equal(server.check('acme', 'transactional', ['a@example.com']).size, 0);
  cli.add('acme', [{ address: 'a@example.com', reason: 'manual', expiresAt: new Date(clock.now().getTime() + DAY) }]);
  assert.equal(server.check('acme', 'transactional', ['a@example.com']).get('a@example.com')?.reason, 'manual');
  assert.equal(server.check('acme', 'transactional', ['a@example.com', 'b@example.com']).size, 1);
  clock.advance(DAY);
  assert.equal(server.check('acme', 'transactional', ['a@example.com']).size, 0, 'expired');
  clock.advance(-DAY);
  cli.remove('acme', 'a@example.com');
  assert.equal(server.check('acme', 'transactional', ['a@example.com']).size, 0);
});
