import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpRejection } from '../core/index.js';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { SqlSuppressionStore } from './sql-suppression-store.js';

/** The store refuses with an SmtpRejection naming the field, which the API turns into a 422. */
async function refused(work: Promise<unknown>, field: string, text?: RegExp): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof SmtpRejection, `expected an SmtpRejection, got ${String(err)}`);
    assert.equal(err.field, field);
    if (text) assert.match(err.reply.text, text);
    return true;
  });
}

const DAY = 86_400_000;

function manualClock(start = Date.parse('2030-03-01T10:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

describeEachBackend('the suppression store', ({ engine, fresh, another }) => {
  const setup = async () => {
    const db = await fresh();
    const clock = manualClock();
    return { db, clock, store: await SqlSuppressionStore.open(db, { clock }) };
  };

  test('check: many addresses in one call, only the suppressed ones come back, keyed as given', async () => {
    const { store, clock } = await setup();
    const suppressed = Array.from({ length: 500 }, (_, i) => ({ address: `user${i * 2}@example.com`, reason: 'hard_bounce' as const }));
    assert.deepEqual(await store.add('acme', suppressed), { added: 1000, updated: 0, unchanged: 0 });
    const asked = Array.from({ length: 1000 }, (_, i) => `user${i}@example.com`);
    const hits = await store.check('acme', 'transactional', asked);
    assert.equal(hits.size, 500);
    assert.ok(hits.has('user998@example.com'));
    assert.ok(!hits.has('user999@example.com'));
    assert.deepEqual(hits.get('user0@example.com'), { reason: 'hard_bounce', createdAt: clock.now() });
    assert.equal((await store.check('acme', 'transactional', [])).size, 0);
  });

  test('addresses: the domain is compared case-insensitively, the local part exactly', async () => {
    const { store } = await setup();
    await store.add('acme', [{ address: ' Ann@Example.COM ', reason: 'manual' }]);
    assert.deepEqual((await store.get('acme', 'Ann@example.com')).map((e) => e.address), ['Ann@example.com', 'Ann@example.com']);
    const hits = await store.check('acme', 'broadcast', ['Ann@EXAMPLE.com', 'Ann@example.com', 'ann@example.com', 'ANN@example.com']);
    assert.deepEqual([...hits.keys()], ['Ann@EXAMPLE.com', 'Ann@example.com'], 'the local part is the receiving host’s business (RFC 5321 §2.4)');
    // Internationalised domains are stored in their A-label form and match either spelling.
    await store.add('acme', [{ address: 'ann@Bücher.example', reason: 'manual' }]);
    assert.ok((await store.check('acme', 'broadcast', ['ann@xn--bcher-kva.example'])).has('ann@xn--bcher-kva.example'));
    assert.ok((await store.check('acme', 'broadcast', ['ann@bücher.example'])).has('ann@bücher.example'));
  });

  test('streams: one stream, or both as two entries that are removed one at a time', async () => {
    const { store } = await setup();
    await store.add('acme', [
      { address: 'news@example.com', stream: 'broadcast', reason: 'unsubscribe' },
      { address: 'both@example.com', reason: 'manual' },
      { address: 'all@example.com', stream: 'all', reason: 'manual' },
    ]);
    assert.ok((await store.check('acme', 'broadcast', ['news@example.com'])).has('news@example.com'));
    assert.equal((await store.check('acme', 'transactional', ['news@example.com'])).size, 0);
    assert.equal((await store.check('acme', 'transactional', ['both@example.com', 'all@example.com'])).size, 2);
    assert.equal(await store.remove('acme', 'both@example.com', 'broadcast'), 1);
    assert.equal((await store.check('acme', 'broadcast', ['both@example.com'])).size, 0);
    assert.equal((await store.check('acme', 'transactional', ['both@example.com'])).size, 1);
    assert.equal(await store.remove('acme', 'both@example.com', 'broadcast'), 0, 'nothing left there');
    assert.equal(await store.remove('acme', 'ALL@EXAMPLE.COM'), 0, 'the local part differs');
    assert.equal(await store.remove('acme', 'all@EXAMPLE.COM'), 2);
    assert.equal(await store.count('acme'), 2);
    assert.equal(await store.count('acme', 'broadcast'), 1);
    await refused(store.remove('acme', 'all@example.com', 'weekly' as never), 'stream');
  });

  test('accounts are isolated: another account’s entries are neither checked, listed nor removed', async () => {
    const { store } = await setup();
    await store.add('acme', [{ address: 'ann@example.com', reason: 'complaint' }]);
    assert.equal((await store.check('globex', 'transactional', ['ann@example.com'])).size, 0);
    assert.deepEqual(await store.get('globex', 'ann@example.com'), []);
    assert.deepEqual((await store.list('globex', { limit: 10 })).entries, []);
    assert.equal(await store.remove('globex', 'ann@example.com'), 0);
    assert.equal(await store.count('globex'), 0);
    assert.equal((await store.check('acme', 'transactional', ['ann@example.com'])).size, 1);
  });

  test('add is idempotent; a stronger reason replaces a weaker one, never the other way', async () => {
    const { store, clock } = await setup();
    const first = clock.now();
    await store.add('acme', [{ address: 'ann@example.com', stream: 'broadcast', reason: 'unsubscribe', messageId: 'm1' }]);
    clock.advance(1000);
    assert.deepEqual(await store.add('acme', [{ address: 'ann@example.com', stream: 'broadcast', reason: 'manual' }]), { added: 0, updated: 0, unchanged: 1 });
    assert.deepEqual(await store.add('acme', [{ address: 'ann@example.com', stream: 'broadcast', reason: 'unsubscribe', messageId: 'm2' }]), { added: 0, updated: 0, unchanged: 1 });
    let [entry] = await store.get('acme', 'ann@example.com');
    assert.equal(entry.messageId, 'm1', 'the first cause stays');
    assert.deepEqual(entry.createdAt, first);

    clock.advance(1000);
    assert.deepEqual(await store.add('acme', [{ address: 'ann@example.com', reason: 'hard_bounce', messageId: 'm3', detail: '550 5.1.1 User unknown' }]), {
      added: 1,
      updated: 1,
      unchanged: 0,
    });
    [entry] = await store.get('acme', 'ann@example.com', 'broadcast');
    assert.equal(entry.reason, 'hard_bounce');
    assert.equal(entry.messageId, 'm3');
    assert.equal(entry.detail, '550 5.1.1 User unknown');
    assert.deepEqual(entry.createdAt, clock.now(), 'created_at is when the entry got its current reason');
  });

  test('manual entries may expire; re-adding only lengthens them and a bounce makes them permanent', async () => {
    const { store, clock } = await setup();
    const inAWeek = new Date(clock.now().getTime() + 7 * DAY);
    await store.add('acme', [{ address: 'ann@example.com', stream: 'transactional', reason: 'manual', expiresAt: inAWeek }]);
    assert.deepEqual((await store.get('acme', 'ann@example.com'))[0].expiresAt, inAWeek);
    assert.deepEqual(
      await store.add('acme', [{ address: 'ann@example.com', stream: 'transactional', reason: 'manual', expiresAt: new Date(clock.now().getTime() + DAY) }]),
      { added: 0, updated: 0, unchanged: 1 },
      'a shorter expiry does not shorten it',
    );
    clock.advance(8 * DAY);
    assert.equal((await store.check('acme', 'transactional', ['ann@example.com'])).size, 0, 'expired: sent to again');
    assert.deepEqual((await store.list('acme', { limit: 10 })).entries, []);
    assert.equal(await store.remove('acme', 'ann@example.com'), 0, 'an expired entry is not there to remove');
    assert.equal((await store.add('acme', [{ address: 'ann@example.com', stream: 'transactional', reason: 'manual', expiresAt: new Date(clock.now().getTime() + DAY) }])).added, 1);
    clock.advance(2 * DAY);
    assert.equal(await store.purgeExpired(), 1);

    await store.add('acme', [{ address: 'bob@example.com', reason: 'manual', expiresAt: new Date(clock.now().getTime() + DAY) }]);
    assert.deepEqual(await store.add('acme', [{ address: 'bob@example.com', stream: 'broadcast', reason: 'manual' }]), { added: 0, updated: 1, unchanged: 0 }, 'no expiry is longer than any');
    assert.deepEqual(await store.add('acme', [{ address: 'bob@example.com', stream: 'transactional', reason: 'hard_bounce' }]), { added: 0, updated: 1, unchanged: 0 });
    clock.advance(2 * DAY);
    assert.equal((await store.check('acme', 'transactional', ['bob@example.com'])).size, 1);
    assert.equal((await store.check('acme', 'broadcast', ['bob@example.com'])).size, 1);
    assert.equal(await store.purgeExpired(), 0, 'neither of bob’s entries expires any more');
  });

  test('bad input is refused naming the field, and nothing of the batch is written', async () => {
    const { store, clock } = await setup();
    await refused(
      store.add('acme', [
        { address: 'good@example.com', reason: 'manual' },
        { address: 'not-an-address', reason: 'manual' },
      ]),
      'address',
      /entry 2: "not-an-address" is not an email address/,
    );
    assert.equal(await store.count('acme'), 0);
    await refused(store.add('acme', [{ address: 'a@example.com', stream: 'weekly' as never, reason: 'manual' }]), 'stream');
    await refused(store.add('acme', [{ address: 'a@example.com', reason: 'bored' as never }]), 'reason');
    await refused(store.add('acme', [{ address: 'a@example.com', reason: 'hard_bounce', expiresAt: new Date(clock.now().getTime() + DAY) }]), 'expires_at', /only manual entries expire/);
    await refused(store.add('acme', [{ address: 'a@example.com', reason: 'manual', expiresAt: new Date(0) }]), 'expires_at', /past/);
    assert.equal(await store.count('acme'), 0);
  });

  test('list pages through by address with filters, and a cursor not ours is refused', async () => {
    const { store } = await setup();
    const names = ['dave', 'ann', 'carol', 'bob', 'erin'];
    await store.add('acme', names.map((n) => ({ address: `${n}@example.com`, reason: 'manual' as const })));
    await store.add('acme', [{ address: 'frank@other.example', stream: 'broadcast', reason: 'unsubscribe' }]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof store.list>> = await store.list('acme', { limit: 3, cursor });
      seen.push(...page.entries.map((e) => `${e.address} ${e.stream}`));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 4);
    assert.equal(seen.length, 11);
    assert.deepEqual(seen.slice(0, 3), ['ann@example.com broadcast', 'ann@example.com transactional', 'bob@example.com broadcast']);
    assert.deepEqual([...seen].sort(), seen, 'ordered, nothing twice');

    assert.deepEqual((await store.list('acme', { limit: 10, reason: 'unsubscribe' })).entries.map((e) => e.address), ['frank@other.example']);
    assert.deepEqual((await store.list('acme', { limit: 10, stream: 'transactional', search: 'AR' })).entries.map((e) => e.address), ['carol@example.com']);
    assert.deepEqual((await store.list('acme', { limit: 10, search: '%' })).entries, [], '% is matched literally');
    assert.equal((await store.list('acme', { limit: 2, stream: 'broadcast' })).entries.length, 2);
    await refused(store.list('acme', { limit: 10, cursor: 'nonsense' }), 'cursor');
    await refused(store.list('acme', { limit: 0 }), 'limit');
  });

  test(`search ignores the case of letters on ${engine} too, where LIKE itself does not; upper-case local parts sort by byte`, async () => {
    const { store } = await setup();
    await store.add('acme', [
      { address: 'Carol.Smith@example.com', stream: 'broadcast', reason: 'manual' },
      { address: 'bob@example.com', stream: 'broadcast', reason: 'manual' },
      { address: 'under_score@example.com', stream: 'broadcast', reason: 'manual' },
      { address: 'underXscore@example.com', stream: 'broadcast', reason: 'manual' },
    ]);
    const found = async (search: string) => (await store.list('acme', { limit: 10, search })).entries.map((e) => e.address);
    assert.deepEqual(await found('carol.s'), ['Carol.Smith@example.com']);
    assert.deepEqual(await found('SMITH@EXAMPLE'), ['Carol.Smith@example.com']);
    assert.deepEqual(await found('Bob'), ['bob@example.com']);
    assert.deepEqual(await found('r_s'), ['under_score@example.com'], '_ is matched literally');
    // Byte order, as SQLite compares: upper case before lower case, whatever the server's locale.
    assert.deepEqual(await found('@'), ['Carol.Smith@example.com', 'bob@example.com', 'underXscore@example.com', 'under_score@example.com']);
  });

  test('remove forgets the address’s soft bounces, so it starts afresh', async () => {
    const { store, clock } = await setup();
    const policy = { limit: 2, windowMs: DAY };
    const soft = (seq: number) => ({ kind: 'soft_bounce' as const, accountId: 'acme', address: 'ann@example.com', seq, at: clock.now(), messageId: null, detail: null });
    await store.applyFeed(0, 1, [soft(1)], policy);
    assert.ok(await store.hasSoftBounces('acme', 'ann@example.com'));
    await store.add('acme', [{ address: 'ann@example.com', stream: 'broadcast', reason: 'manual' }]);
    await store.remove('acme', 'ann@example.com');
    assert.equal(await store.hasSoftBounces('acme', 'ann@example.com'), false);
    await store.applyFeed(1, 2, [soft(2)], policy);
    assert.equal((await store.check('acme', 'transactional', ['ann@example.com'])).size, 0, 'one soft bounce since the removal, not two');
  });

  test('the feed applies a page only from where its cursor is, and a replayed soft bounce counts once', async () => {
    const { store, clock } = await setup();
    const policy = { limit: 2, windowMs: DAY };
    const soft = (seq: number) => ({ kind: 'soft_bounce' as const, accountId: 'acme', address: 'ann@example.com', seq, at: clock.now(), messageId: null, detail: '452 4.2.2 Mailbox full' });
    assert.equal(await store.feedCursor(), 0);
    assert.deepEqual(await store.applyFeed(0, 5, [soft(5)], policy), { applied: true, suppressed: [] });
    assert.equal(await store.feedCursor(), 5);
    assert.deepEqual(await store.applyFeed(0, 5, [soft(5)], policy), { applied: false, suppressed: [] }, 'the cursor is no longer at 0');
    assert.deepEqual(await store.applyFeed(3, 9, [soft(9)], policy), { applied: false, suppressed: [] });
    assert.equal(await store.feedCursor(), 5);
    // The same event again (the feeder read it twice) is one soft bounce, not a second.
    assert.equal((await store.applyFeed(5, 6, [soft(5)], policy)).suppressed.length, 0);
    const { suppressed } = await store.applyFeed(6, 9, [soft(9)], policy);
    assert.deepEqual(suppressed, [{ accountId: 'acme', address: 'ann@example.com', streams: ['transactional', 'broadcast'], reason: 'soft_bounces', messageId: null }]);
    assert.match((await store.get('acme', 'ann@example.com'))[0].detail ?? '', /^2 soft bounces within 1d; the last: 452 4\.2\.2 Mailbox full$/);
    assert.equal(await store.feedCursor(), 9);
  });

  test('check: one, two and more addresses (each a different statement) answer alike, duplicates and spellings included', async () => {
    const { store } = await setup();
    await store.add('acme', [
      { address: 'a@example.com', reason: 'hard_bounce' },
      { address: 'b@example.com', reason: 'complaint', stream: 'transactional' },
    ]);
    const ask = async (addresses: string[]) =>
      [...(await store.check('acme', 'transactional', addresses))].map(([address, hit]) => [address, hit.reason]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    assert.deepEqual(await ask(['a@example.com']), [['a@example.com', 'hard_bounce']]);
    assert.deepEqual(await ask(['c@example.com']), []);
    assert.deepEqual(await ask(['a@example.com', 'a@EXAMPLE.com']), [['a@EXAMPLE.com', 'hard_bounce'], ['a@example.com', 'hard_bounce']], 'one address in two spellings');
    assert.deepEqual(await ask(['c@example.com', 'b@example.com']), [['b@example.com', 'complaint']]);
    assert.deepEqual(await ask(['b@example.com', 'c@example.com', 'a@example.com']), [['a@example.com', 'hard_bounce'], ['b@example.com', 'complaint']]);
    assert.deepEqual([...(await store.check('acme', 'broadcast', ['a@example.com', 'b@example.com'])).keys()], ['a@example.com']);
    assert.equal((await store.check('globex', 'transactional', ['a@example.com'])).size, 0);
  });

  test('an address added or removed through another connection (the CLI, another node) counts for the very next check', async () => {
    const { db, clock, store: server } = await setup();
    const cli = await SqlSuppressionStore.open(await another(db), { clock });
    assert.equal((await server.check('acme', 'transactional', ['a@example.com'])).size, 0);
    await cli.add('acme', [{ address: 'a@example.com', reason: 'manual', expiresAt: new Date(clock.now().getTime() + DAY) }]);
    assert.equal((await server.check('acme', 'transactional', ['a@example.com'])).get('a@example.com')?.reason, 'manual');
    assert.equal((await server.check('acme', 'transactional', ['a@example.com', 'b@example.com'])).size, 1);
    clock.advance(DAY);
    assert.equal((await server.check('acme', 'transactional', ['a@example.com'])).size, 0, 'expired');
    clock.advance(-DAY);
    await cli.remove('acme', 'a@example.com');
    assert.equal((await server.check('acme', 'transactional', ['a@example.com'])).size, 0);
  });

  test('two connections writing at once: one feeder applies a page, and a weaker reason never replaces a stronger one', async () => {
    const { db, clock, store: one } = await setup();
    const two = await SqlSuppressionStore.open(await another(db), { clock });
    const policy = { limit: 3, windowMs: DAY };
    // On SQLite the second connection's writer waits for the first's transaction (one process,
    // one thread: in turn); on PostgreSQL they truly overlap.
    const together = <T>(a: () => Promise<T>, b: () => Promise<T>): Promise<T[]> => (engine === 'postgres' ? Promise.all([a(), b()]) : a().then(async (x) => [x, await b()]));
    const hard = { kind: 'suppress' as const, accountId: 'acme', address: 'ann@example.com', streams: ['transactional' as const, 'broadcast' as const], reason: 'hard_bounce' as const, messageId: 'm1', detail: null };
    const pages = await together(
      () => one.applyFeed(0, 10, [hard], policy),
      () => two.applyFeed(0, 10, [hard], policy),
    );
    assert.deepEqual(pages.map((p) => p.applied).sort(), [false, true], 'exactly one of them');
    assert.equal(await one.feedCursor(), 10);

    const addresses = Array.from({ length: 20 }, (_, i) => `user${i}@example.com`);
    await together(
      () => one.add('acme', addresses.map((address) => ({ address, reason: 'complaint' as const }))),
      () => two.add('acme', [...addresses].reverse().map((address) => ({ address, reason: 'manual' as const }))),
    );
    const hits = await one.check('acme', 'broadcast', addresses);
    assert.deepEqual(new Set([...hits.values()].map((h) => h.reason)), new Set(['complaint']));
    assert.equal(hits.size, 20);
  });
});
