import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newMessageId, type MailEvent } from '../core/index.js';
import { migrate, openSqlite, type SqliteDatabase } from '../storage/index.js';
import { runQueueStoreContract, type QueueStoreFixture } from './queue-store-contract.js';
import { T0, twoRecipientMessage } from './store-test-fixtures.js';
import { SqliteQueueStore, type SqliteQueueStoreOptions } from './sqlite-queue-store.js';
import { HOT_QUERIES, MIGRATIONS } from './sqlite-schema.js';
import type { NewMessage, QueueStore } from './types.js';

/** A store on a fresh database file in a temporary directory (real SQLite, WAL, synchronous=FULL). */
async function openFixture(options: SqliteQueueStoreOptions = {}): Promise<QueueStoreFixture & { db: SqliteDatabase; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-queue-'));
  const file = join(dir, 'herald.db');
  const db = openSqlite(file);
  const store = new SqliteQueueStore(db, options);
  const opened: SqliteQueueStore[] = [store];
  return {
    db,
    file,
    store,
    async openAnother() {
      const another = new SqliteQueueStore(openSqlite(file), options);
      opened.push(another);
      return another;
    },
    async cleanup() {
      for (const s of opened) await s.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

runQueueStoreContract('SqliteQueueStore', () => openFixture());

const message = twoRecipientMessage;

function tableCounts(db: SqliteDatabase): Record<string, number> {
  const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return Object.fromEntries(['messages', 'bodies', 'recipients', 'attempts', 'events'].map((t) => [t, count(t)]));
}

describe('SqliteQueueStore group commit', () => {
  test('enqueues made in one turn share one transaction, at most 500 messages each', async () => {
    const f = await openFixture();
    try {
      const commits: MailEvent[][] = [];
      f.store.onCommit((events) => commits.push(events));
      await Promise.all(Array.from({ length: 1200 }, () => f.store.enqueue(message())));
      assert.deepEqual(commits.map((c) => c.length), [500, 500, 200]);
      assert.equal(tableCounts(f.db).messages, 1200);
    } finally {
      await f.cleanup();
    }
  });

  test('attempts recorded in one turn share one transaction too; a failing one is refused alone', async () => {
    const f = await openFixture();
    try {
      for (let i = 0; i < 50; i++) await f.store.enqueue(message({ recipients: [`r${i}@a.example`] }));
      const batches = await f.store.claimDue({ owner: 'w', now: new Date(T0), limit: 100, leaseMs: 60_000 });
      assert.equal(batches.length, 50);
      const commits: MailEvent[][] = [];
      f.store.onCommit((events) => commits.push(events));
      const clash = message({ id: batches[0].messageId }); // a DSN whose id is taken fails inside the transaction
      const results = await Promise.allSettled(
        batches.map((batch, i) =>
          f.store.recordAttempt({
            batch,
            at: new Date(T0 + 1000),
            results: [{ recipientId: batch.recipients[0].id, state: 'delivered', outcome: { kind: 'delivered', host: 'mx', reply: { code: 250, text: 'ok' } } }],
            dsns: i === 7 ? [clash] : [],
          }),
        ),
      );
      assert.deepEqual(results.map((r, i) => (i === 7 ? r.status === 'rejected' : r.status === 'fulfilled')), batches.map(() => true));
      assert.equal(commits.length, 1);
      assert.equal(commits[0].length, 49);
      assert.equal((await f.store.countByState()).delivered, 49);
      assert.equal((await f.store.countByState()).delivering, 1);
    } finally {
      await f.cleanup();
    }
  });

  test('a transaction stops short of the byte bound (but always takes one message)', async () => {
    const f = await openFixture({ maxBatchBytes: 1_000_000 });
    try {
      const commits: MailEvent[][] = [];
      f.store.onCommit((events) => commits.push(events));
      const big = () => message({ body: Buffer.alloc(400_000, 0x61) });
      await Promise.all([big(), big(), big(), big(), big(), message({ body: Buffer.alloc(2_000_000, 0x62) })].map((m) => f.store.enqueue(m)));
      assert.deepEqual(commits.map((c) => c.length), [2, 2, 1, 1]);
    } finally {
      await f.cleanup();
    }
  });

  test('a failed commit rejects every enqueue of the batch and leaves nothing half-written', async () => {
    const f = await openFixture();
    try {
      const first = message();
      await f.store.enqueue(first);
      const before = tableCounts(f.db);
      // RAISE(ROLLBACK) ends the whole transaction, as a full disk or an I/O error would.
      f.db.exec(`CREATE TRIGGER fail_body BEFORE INSERT ON bodies WHEN NEW.data = X'6661696C'
                 BEGIN SELECT RAISE(ROLLBACK, 'simulated write failure'); END`);
      const commits: MailEvent[][] = [];
      f.store.onCommit((events) => commits.push(events));
      const batch = [message(), message(), message({ body: Buffer.from('fail') }), message(), message()];
      const results = await Promise.allSettled(batch.map((m) => f.store.enqueue(m)));
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.match(String((r as PromiseRejectedResult).reason), /simulated write failure/);
      }
      assert.deepEqual(tableCounts(f.db), before);
      assert.deepEqual(commits, []);
      assert.equal(f.db.inTransaction, false);

      // The store carries on once the fault is gone.
      f.db.exec('DROP TRIGGER fail_body');
      const after = message();
      await f.store.enqueue(after);
      assert.ok(await f.store.get(after.id));
      assert.ok(await f.store.get(first.id));
    } finally {
      await f.cleanup();
    }
  });

  test('enqueues reject when the database is gone underneath', async () => {
    const f = await openFixture();
    try {
      f.db.close();
      const results = await Promise.allSettled([f.store.enqueue(message()), f.store.enqueue(message())]);
      assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    } finally {
      await f.cleanup();
    }
  });

  test('reopening an existing database does not re-apply migrations or lose data', async () => {
    const f = await openFixture();
    try {
      const m = message();
      await f.store.enqueue(m);
      await f.store.close();
      const again = await f.openAnother();
      assert.equal((await again.get(m.id))?.recipientCount, 2);
      assert.equal((await again.readEvents(0, 10)).length, 1);
      const check = openSqlite(f.file, { readonly: true });
      assert.deepEqual(check.prepare("SELECT version FROM schema_migrations WHERE room = 'queue'").all(), MIGRATIONS.map((m) => ({ version: m.version })));
      check.close();
    } finally {
      await f.cleanup();
    }
  });

  test('claimDue, nextDueAt and reaping read the partial indexes, not the table', async () => {
    const f = await openFixture();
    try {
      const plan = (sql: string, ...params: unknown[]) =>
        (f.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('\n');
      assert.match(plan(HOT_QUERIES.dueKeys, 0, '[]'), /USING COVERING INDEX recipients_due/);
      assert.match(plan(HOT_QUERIES.nextDue), /recipients_due/);
      assert.match(plan(HOT_QUERIES.reap, { now: 0 }), /recipients_leased/);
    } finally {
      await f.cleanup();
    }
  });
});

describe('SqliteQueueStore subject search index (written in bulk, caught up before each search)', () => {
  const bySubject = async (store: QueueStore, subject: string) => (await store.list({ limit: 10, subject })).map((m) => m.id);

  test('a message is found the moment it is stored, whichever process stored it', async () => {
    const f = await openFixture();
    try {
      const a = message({ meta: { subject: 'Your receipt #1' } });
      await f.store.enqueue(a);
      assert.deepEqual(await bySubject(f.store, 'receipt'), [a.id]);
      // Another process (the CLI) on the same file: the server's search sees its message too.
      const cli = await f.openAnother();
      const b = message({ meta: { subject: 'Your receipt #2' } });
      await cli.enqueue(b);
      assert.deepEqual(await bySubject(f.store, 'receipt'), [b.id, a.id]);
    } finally {
      await f.cleanup();
    }
  });

  test('removing the newest indexed message never lets a later one be skipped', async () => {
    const f = await openFixture();
    try {
      const first = message({ meta: { subject: 'alpha one' } });
      await f.store.enqueue(first);
      assert.deepEqual(await bySubject(f.store, 'alpha'), [first.id]);
      await f.store.remove(first.id, new Date(T0));
      // Removed before it was indexed, then one after it.
      const unindexed = message({ meta: { subject: 'alpha two' } });
      await f.store.enqueue(unindexed);
      await f.store.remove(unindexed.id, new Date(T0));
      const last = message({ meta: { subject: 'alpha three' } });
      await f.store.enqueue(last);
      assert.deepEqual(await bySubject(f.store, 'alpha'), [last.id]);
      assert.deepEqual(await bySubject(f.store, 'two'), []);
    } finally {
      await f.cleanup();
    }
  });

  test('a database from before the bulk index keeps every subject searchable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-queue-'));
    const file = join(dir, 'herald.db');
    try {
      // Queue schema 5: the trigger indexed each subject as its message was stored.
      const old = openSqlite(file);
      migrate(old, 'queue', MIGRATIONS.filter((m) => m.version <= 5));
      const before = message({ meta: { subject: 'Invoice 41' } });
      old.prepare("INSERT INTO messages (id, account_id, source, mail_from, size, created_at, expires_at, meta) VALUES (?, 'acct-1', 'smtp', '', 1, ?, ?, ?)")
        .run(before.id, T0, T0 + 86_400_000, JSON.stringify(before.meta));
      old.close();
      const store = new SqliteQueueStore(openSqlite(file));
      try {
        const after = message({ meta: { subject: 'Invoice 42' } });
        await store.enqueue(after);
        assert.deepEqual(await bySubject(store, 'invoice'), [after.id, before.id]);
        await store.remove(before.id, new Date(T0));
        assert.deepEqual(await bySubject(store, 'invoice'), [after.id]);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
