import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { ChangeCounter, changeCounterSql, isUniqueViolation, numberPlaceholders, postgresChangeCounterSql } from './index.js';

test('placeholders are numbered for PostgreSQL outside strings, quoted names and comments', () => {
  assert.equal(numberPlaceholders("SELECT ? , '?', \"a?\" -- ?\n, ?"), "SELECT $1 , '?', \"a?\" -- ?\n, $2");
  assert.equal(numberPlaceholders('INSERT INTO t VALUES (?, ?, ?)'), 'INSERT INTO t VALUES ($1, $2, $3)');
});

const ROOM = {
  sqlite: [
    { version: 1, sql: 'CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, flag INTEGER NOT NULL, at INTEGER NOT NULL, data BLOB)' },
    { version: 2, sql: changeCounterSql('notes', ['notes']) },
  ],
  postgres: [
    { version: 1, sql: 'CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, flag INTEGER NOT NULL, at BIGINT NOT NULL, data BYTEA)' },
    { version: 2, sql: postgresChangeCounterSql('notes', ['notes']) },
  ],
};

describeEachBackend('the SQL layer', ({ fresh, another }) => {
  test('values come back as they went in: numbers, flags, buffers, nulls', async () => {
    const db = await fresh();
    await db.migrate('notes', ROOM);
    const at = Date.UTC(2030, 0, 1);
    await db.run('INSERT INTO notes (id, body, flag, at, data) VALUES (?, ?, ?, ?, ?)', ['a', "it's ?", true, at, Buffer.from([0, 1, 2])]);
    await db.run('INSERT INTO notes (id, body, flag, at, data) VALUES (?, ?, ?, ?, ?)', ['b', 'two', false, at + 1, undefined]);
    const rows = await db.all<{ id: string; body: string; flag: number; at: number; data: Buffer | null }>('SELECT id, body, flag, at, data FROM notes ORDER BY id');
    assert.deepEqual(rows, [
      { id: 'a', body: "it's ?", flag: 1, at, data: Buffer.from([0, 1, 2]) },
      { id: 'b', body: 'two', flag: 0, at: at + 1, data: null },
    ]);
    assert.deepEqual(await db.get('SELECT COUNT(*) AS n, SUM(at) AS total FROM notes'), { n: 2, total: 2 * at + 1 });
    assert.equal(await db.get('SELECT id FROM notes WHERE id = ?', ['zzz']), undefined);
    assert.deepEqual(await db.run('UPDATE notes SET flag = ? WHERE at >= ?', [1, at]), { changes: 2 });
    assert.deepEqual(await db.all('INSERT INTO notes (id, body, flag, at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id', ['a', 'again', 0, 0]), []);
  });

  test('a transaction commits as a whole or not at all, and others wait for it', async () => {
    const db = await fresh();
    await db.migrate('notes', ROOM);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO notes (id, body, flag, at) VALUES (?, ?, ?, ?)', ['x', 'one', 0, 1]);
        await tx.run('INSERT INTO notes (id, body, flag, at) VALUES (?, ?, ?, ?)', ['x', 'dup', 0, 1]);
      }),
    );
    assert.deepEqual(await db.all('SELECT id FROM notes'), []);
    // A statement issued while a transaction is open sees the state before or after it, never half.
    let outside: Promise<unknown> | undefined;
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO notes (id, body, flag, at) VALUES (?, ?, ?, ?)', ['y', 'one', 0, 1]);
      outside = db.all('SELECT id FROM notes');
      await tx.run('INSERT INTO notes (id, body, flag, at) VALUES (?, ?, ?, ?)', ['z', 'two', 0, 1]);
    });
    const seen = ((await outside) as { id: string }[]).map((r) => r.id).sort();
    assert.ok(seen.length === 0 || seen.length === 2, `saw ${seen.join(',')}`);
    assert.equal((await db.all('SELECT id FROM notes')).length, 2);
  });

  test('migrations apply once, also from two connections at once, and readiness reports the ledger', async () => {
    const db = await fresh();
    const other = await another(db);
    await Promise.all([db.migrate('notes', ROOM), other.migrate('notes', ROOM)]);
    assert.equal((await db.appliedMigrations()).get('notes'), 2);
    assert.deepEqual(await db.migrationProblems(), []);
    db.expectMigration('queue', 3);
    assert.deepEqual(await db.migrationProblems(), ['queue is at migration 0, this Herald needs 3']);
  });

  test('a change counter moves with every change a connection commits, and only then', async () => {
    const db = await fresh();
    await db.migrate('notes', ROOM);
    const other = await another(db);
    const counter = new ChangeCounter(db, 'notes');
    assert.equal(await counter.moved(), true, 'the first look');
    assert.equal(await counter.moved(), false);
    await other.run('INSERT INTO notes (id, body, flag, at) VALUES (?, ?, ?, ?)', ['n', 'one', 0, 1]);
    assert.equal(await counter.moved(), true, 'an insert on another connection');
    assert.equal(await counter.moved(), false);
    await other.run('DELETE FROM notes');
    assert.equal(await counter.moved(), true, 'a delete');
  });

  test('an installation secret is made once and kept', async () => {
    const db = await fresh();
    const other = await another(db);
    const [a, b] = await Promise.all([db.installationSecret('tracking'), other.installationSecret('tracking')]);
    assert.equal(a.length, 32);
    assert.deepEqual(a, b);
    assert.notDeepEqual(await db.installationSecret('webhooks'), a);
  });
});

describeEachBackend('unique keys', ({ fresh }) => {
  test('a duplicate key is recognised on either engine', async () => {
    const db = await fresh();
    await db.migrate('notes', ROOM);
    await db.run('INSERT INTO notes (id, body, flag, at) VALUES (?, ?, ?, ?)', ['k', 'one', 0, 1]);
    const err = await db.run('INSERT INTO notes (id, body, flag, at) VALUES (?, ?, ?, ?)', ['k', 'two', 0, 1]).catch((e: unknown) => e);
    assert.equal(isUniqueViolation(err), true);
    assert.equal(isUniqueViolation(new Error('other')), false);
  });
});
