import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newMessageId, type InboundKind } from '../core/index.js';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { SqlInboundStore, startInboundJanitor, type NewInboundRecord } from './sql-inbound-store.js';

const T0 = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;

function record(at: number, kind: InboundKind = 'dsn', extra: Partial<NewInboundRecord> = {}): NewInboundRecord {
  return {
    id: newMessageId(at),
    receivedAt: new Date(at),
    clientIp: '192.0.2.9',
    helo: 'mx.a.example',
    mailFrom: '',
    recipients: ['b+x@bounces.s.example'],
    kind,
    subject: '  Undelivered\r\n Mail  ',
    authentication: { spf: 'pass', dkim: 'none', dmarc: 'pass', arc: 'none' },
    raw: Buffer.from('Authentication-Results: herald.test; spf=pass\r\nSubject: x\r\n\r\nbody\r\n'),
    ...extra,
  };
}

describeEachBackend('inbound records', ({ fresh, another }) => {
  test('the table is made once per database; a record reads back as written, raw bytes apart', async () => {
    const db = await fresh();
    const store = await SqlInboundStore.open(db);
    const written = record(T0, 'arf', { messageId: '01jz0000000000000000000000', accountId: 'shop', recipient: 'ann@a.example', from: 'Feedback <fbl@mail.example>' });
    await store.add(written);
    // A second store on another connection (the CLI while the server runs) finds the migration done.
    const again = await SqlInboundStore.open(await another(db));
    const got = (await again.get(written.id))!;
    assert.deepEqual(got, {
      id: written.id, receivedAt: new Date(T0), clientIp: '192.0.2.9', helo: 'mx.a.example', mailFrom: '', recipients: ['b+x@bounces.s.example'],
      kind: 'arf', messageId: '01jz0000000000000000000000', accountId: 'shop', recipient: 'ann@a.example', subject: 'Undelivered Mail', from: 'Feedback <fbl@mail.example>',
      authentication: { spf: 'pass', dkim: 'none', dmarc: 'pass', arc: 'none' }, size: written.raw.length,
    });
    assert.deepEqual(await again.getRaw(written.id), written.raw);
    assert.equal(await again.get(newMessageId(T0)), null);
    assert.equal(await again.getRaw(newMessageId(T0)), null);
    assert.equal((await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM schema_migrations WHERE room = 'feedback-inbound'"))!.n, 1);
  });

  test('listing: newest first, paged with the last id, filtered by kind, message and account', async () => {
    const store = await SqlInboundStore.open(await fresh());
    const all = Array.from({ length: 7 }, (_, i) => record(T0 + i * 1000, i % 2 ? 'arf' : 'dsn', i === 3 ? { messageId: '01jz0000000000000000000000', accountId: 'shop' } : i === 5 ? { accountId: 'other' } : {}));
    for (const r of all) await store.add(r);
    const ids = all.map((r) => r.id).reverse();
    const first = await store.list({ limit: 3 });
    assert.deepEqual(first.map((r) => r.id), ids.slice(0, 3));
    const second = await store.list({ limit: 3, before: first[2].id });
    assert.deepEqual(second.map((r) => r.id), ids.slice(3, 6));
    assert.deepEqual((await store.list({ limit: 3, before: second[2].id })).map((r) => r.id), ids.slice(6));
    assert.deepEqual((await store.list({ limit: 10, kind: 'arf' })).map((r) => r.kind), ['arf', 'arf', 'arf']);
    assert.deepEqual((await store.list({ limit: 10, messageId: '01jz0000000000000000000000' })).map((r) => r.id), [all[3].id]);
    assert.deepEqual((await store.list({ limit: 10, accountId: 'shop' })).map((r) => r.id), [all[3].id]);
    assert.equal((await store.list({ limit: 10, accountId: 'shop', includeUnlinked: true })).length, 6, 'not the other account’s');
  });

  test('a NUL in what the sender controls is kept as U+FFFD (PostgreSQL text cannot hold it)', async () => {
    const store = await SqlInboundStore.open(await fresh());
    const written = record(T0, 'other', { helo: 'mx\0.a.example', mailFrom: 'ann\0@a.example', recipients: ['b\0@bounces.s.example'], subject: 'Un\0delivered', from: 'Ann\0 <ann@a.example>' });
    await store.add(written);
    const got = (await store.get(written.id))!;
    assert.deepEqual([got.helo, got.mailFrom, got.recipients, got.subject, got.from], [
      'mx\uFFFD.a.example', 'ann\uFFFD@a.example', ['b\0@bounces.s.example'], 'Un\uFFFDdelivered', 'Ann\uFFFD <ann@a.example>',
    ]);
    assert.deepEqual(await store.getRaw(written.id), written.raw);
  });

  test('records from two connections at once are all kept', async () => {
    const db = await fresh();
    const one = await SqlInboundStore.open(db);
    const two = await SqlInboundStore.open(await another(db));
    const written = Array.from({ length: 20 }, (_, i) => record(T0 + i));
    await Promise.all(written.map((r, i) => (i % 2 ? one : two).add(r)));
    assert.deepEqual((await one.list({ limit: 50 })).map((r) => r.id), written.map((r) => r.id).reverse());
    await assert.rejects(two.add(written[0]), 'an id is kept once');
  });

  test('records past retention are removed by the janitor, newer ones kept', async (t) => {
    const store = await SqlInboundStore.open(await fresh());
    const old = Array.from({ length: 1200 }, (_, i) => record(T0 + i)); // more than one purge batch
    for (const r of old) await store.add(r);
    const kept = record(T0 + 48 * HOUR);
    await store.add(kept);
    const janitor = startInboundJanitor(store, { retentionMs: 24 * HOUR, clock: { now: () => new Date(T0 + 48 * HOUR) }, intervalMs: 3_600_000 });
    t.after(() => janitor.stop());
    // The first sweep runs on a timer at start; this one runs after it and finds whatever it left.
    await janitor.sweep();
    assert.deepEqual((await store.list({ limit: 10 })).map((r) => r.id), [kept.id]);
    assert.equal(await store.purgeOlderThan(new Date(T0 + 49 * HOUR), 1000), 1);
  });
});
