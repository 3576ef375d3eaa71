import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newMessageId, type InboundKind } from '../core/index.js';
import { tempDatabase } from '../../test/support/sqlite.js';
import { SqliteInboundStore, startInboundJanitor, type NewInboundRecord } from './sqlite-inbound-store.js';

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

test('the table is made once per database; a record reads back as written, raw bytes apart', (t) => {
  const open = tempDatabase(t, 'herald-inbound-');
  const db = open();
  const store = new SqliteInboundStore(db);
  const written = record(T0, 'arf', { messageId: '01jz0000000000000000000000', accountId: 'shop', recipient: 'ann@a.example', from: 'Feedback <fbl@mail.example>' });
  store.add(written);
  // A second store on the same file (the CLI while the server runs) finds the migration done.
  const again = new SqliteInboundStore(open());
  const got = again.get(written.id)!;
  assert.deepEqual(got, {
    id: written.id, receivedAt: new Date(T0), clientIp: '192.0.2.9', helo: 'mx.a.example', mailFrom: '', recipients: ['b+x@bounces.s.example'],
    kind: 'arf', messageId: '01jz0000000000000000000000', accountId: 'shop', recipient: 'ann@a.example', subject: 'Undelivered Mail', from: 'Feedback <fbl@mail.example>',
    authentication: { spf: 'pass', dkim: 'none', dmarc: 'pass', arc: 'none' }, size: written.raw.length,
  });
  assert.deepEqual(again.getRaw(written.id), written.raw);
  assert.equal(again.get(newMessageId(T0)), null);
  assert.equal(again.getRaw(newMessageId(T0)), null);
  assert.equal((db.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE room = 'feedback-inbound'").get() as { n: number }).n, 1);
});

test('listing: newest first, paged with the last id, filtered by kind, message and account', (t) => {
  const store = new SqliteInboundStore(tempDatabase(t, 'herald-inbound-')());
  const all = Array.from({ length: 7 }, (_, i) => record(T0 + i * 1000, i % 2 ? 'arf' : 'dsn', i === 3 ? { messageId: '01jz0000000000000000000000', accountId: 'shop' } : i === 5 ? { accountId: 'other' } : {}));
  for (const r of all) store.add(r);
  const ids = all.map((r) => r.id).reverse();
  const first = store.list({ limit: 3 });
  assert.deepEqual(first.map((r) => r.id), ids.slice(0, 3));
  const second = store.list({ limit: 3, before: first[2].id });
  assert.deepEqual(second.map((r) => r.id), ids.slice(3, 6));
  assert.deepEqual(store.list({ limit: 3, before: second[2].id }).map((r) => r.id), ids.slice(6));
  assert.deepEqual(store.list({ limit: 10, kind: 'arf' }).map((r) => r.kind), ['arf', 'arf', 'arf']);
  assert.deepEqual(store.list({ limit: 10, messageId: '01jz0000000000000000000000' }).map((r) => r.id), [all[3].id]);
  assert.deepEqual(store.list({ limit: 10, accountId: 'shop' }).map((r) => r.id), [all[3].id]);
  assert.equal(store.list({ limit: 10, accountId: 'shop', includeUnlinked: true }).length, 6, 'not the other account’s');
});

test('records past retention are removed by the janitor, newer ones kept', (t) => {
  const store = new SqliteInboundStore(tempDatabase(t, 'herald-inbound-')());
  const old = Array.from({ length: 1200 }, (_, i) => record(T0 + i)); // more than one purge batch
  for (const r of old) store.add(r);
  const fresh = record(T0 + 48 * HOUR);
  store.add(fresh);
  const janitor = startInboundJanitor(store, { retentionMs: 24 * HOUR, clock: { now: () => new Date(T0 + 48 * HOUR) }, intervalMs: 3_600_000 });
  t.after(() => janitor.stop());
  // The first sweep runs on a timer at start; this one finds whatever it left (nothing, or all of it).
  janitor.sweep();
  assert.deepEqual(store.list({ limit: 10 }).map((r) => r.id), [fresh.id]);
  assert.equal(store.purgeOlderThan(new Date(T0 + 49 * HOUR), 1000), 1);
});
