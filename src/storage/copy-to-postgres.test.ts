import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { postgresUnavailable, TEST_DATABASE_URL, testSchema } from '../../test/support/postgres.js';
import { copySqliteToPostgres, CopyError, openSqlite, PostgresSqlDatabase, type CopyProgress } from './index.js';

const skip = await postgresUnavailable();

const SQLITE = `
  CREATE TABLE parents (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, meta TEXT NOT NULL);
  CREATE TABLE children (id INTEGER PRIMARY KEY AUTOINCREMENT, parent_id TEXT NOT NULL REFERENCES parents(id), data BLOB, flag INTEGER NOT NULL);
  CREATE TABLE message_tags (tag TEXT, message_id TEXT);
  CREATE TABLE schema_migrations (room TEXT, version INTEGER);
`;
const POSTGRES = `
  CREATE TABLE children (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parents(id), data BYTEA, flag INTEGER NOT NULL);
`;

test('copies rows in foreign-key order, converts types, moves identities on, and checks counts', { skip: skip || undefined }, async () => {
  const schema = testSchema();
  const target = await PostgresSqlDatabase.open({ connection: TEST_DATABASE_URL, schema: schema.name });
  after(async () => {
    await target.close();
    await schema.drop();
  });
  await target.migrate('test', {
    sqlite: [],
    postgres: [{ version: 1, sql: `CREATE TABLE parents (id TEXT PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL, meta JSON NOT NULL);${POSTGRES}INSERT INTO parents VALUES ('seed', now(), '{}');` }],
  });
  const source = openSqlite(':memory:');
  source.exec(SQLITE);
  const at = Date.UTC(2030, 1, 2, 3, 4, 5);
  for (let i = 0; i < 7; i++) source.prepare('INSERT INTO parents VALUES (?, ?, ?)').run(`p${i}`, at + i, JSON.stringify({ n: i }));
  for (let i = 0; i < 1200; i++) source.prepare('INSERT INTO children (parent_id, data, flag) VALUES (?, ?, ?)').run(`p${i % 7}`, Buffer.from([i % 256, 0]), i % 2);
  source.prepare('INSERT INTO message_tags VALUES (?, ?)').run('t', 'p1');

  const seen: CopyProgress[] = [];
  const copied = await copySqliteToPostgres(source, target, { batchRows: 500, onProgress: (p) => seen.push(p) });
  assert.deepEqual(copied, [
    { table: 'parents', rows: 7 },
    { table: 'children', rows: 1200 },
  ]);
  assert.equal(seen.at(-1)!.allDone, 1207);
  assert.equal(seen.at(-1)!.allTotal, 1207);
  const parent = await target.get<{ created_at: Date; meta: unknown }>('SELECT created_at, meta FROM parents WHERE id = ?', ['p3']);
  assert.equal(parent!.created_at.getTime(), at + 3);
  assert.deepEqual(parent!.meta, { n: 3 });
  assert.equal(await target.get('SELECT id FROM parents WHERE id = ?', ['seed']), undefined, 'the seed row gave way');
  assert.deepEqual(await target.get('SELECT data, flag FROM children WHERE id = ?', [258]), { data: Buffer.from([1, 0]), flag: 1 });
  // The identity continues after the copied ids.
  const next = await target.get<{ id: number }>('INSERT INTO children (parent_id, flag) VALUES (?, ?) RETURNING id', ['p0', 0]);
  assert.equal(next!.id, 1201);
});

test('refuses a target without the tables, naming them', { skip: skip || undefined }, async () => {
  const schema = testSchema();
  const target = await PostgresSqlDatabase.open({ connection: TEST_DATABASE_URL, schema: schema.name });
  after(async () => {
    await target.close();
    await schema.drop();
  });
  await target.migrate('test', { sqlite: [], postgres: [{ version: 1, sql: 'CREATE TABLE parents (id TEXT PRIMARY KEY)' }] });
  const source = openSqlite(':memory:');
  source.exec(SQLITE);
  await assert.rejects(copySqliteToPostgres(source, target), (err: CopyError) => err.code === 'target_not_migrated' && /children/.test(err.message));
});
