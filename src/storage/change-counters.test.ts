import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDatabase } from '../../test/support/sqlite.js';
import { changeCounterSql, migrate, SqliteChangeCounter } from './index.js';

const MIGRATIONS = [
  {
    version: 1,
    sql: `
      CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL, seen_at INTEGER);
      ${changeCounterSql('things', [{ table: 'things', updateOf: ['id', 'name'] }])}
    `,
  },
];

test('a counter moves on every insert, update and delete, made by this or another connection (another process)', (t) => {
  const open = tempDatabase(t, 'herald-counters-');
  const server = open();
  migrate(server, 'test', MIGRATIONS);
  const cli = open();
  const counter = new SqliteChangeCounter(server, 'things');

  assert.equal(counter.moved(), true, 'the first look: nothing was kept before it');
  assert.equal(counter.moved(), false);

  cli.prepare("INSERT INTO things (name) VALUES ('a')").run();
  assert.equal(counter.moved(), true, 'an insert by the other connection');
  assert.equal(counter.moved(), false, 'and only once');

  cli.prepare("UPDATE things SET name = 'b'").run();
  assert.equal(counter.moved(), true, 'an update of a watched column');

  server.prepare('DELETE FROM things').run();
  assert.equal(counter.moved(), true, 'a delete by this connection');

  // Several rows in one statement or one transaction: moved once seen, whatever the count.
  cli.transaction(() => {
    for (const name of ['c', 'd', 'e']) cli.prepare('INSERT INTO things (name) VALUES (?)').run(name);
  })();
  assert.equal(counter.moved(), true);
  assert.equal(counter.moved(), false);
});

test('an update of only a column left out of updateOf (bookkeeping) moves nothing', (t) => {
  const open = tempDatabase(t, 'herald-counters-');
  const db = open();
  migrate(db, 'test', MIGRATIONS);
  db.prepare("INSERT INTO things (name) VALUES ('a')").run();
  const counter = new SqliteChangeCounter(open(), 'things');
  counter.moved();
  db.prepare('UPDATE things SET seen_at = 1').run();
  assert.equal(counter.moved(), false);
  db.prepare("UPDATE things SET seen_at = 2, name = 'z'").run();
  assert.equal(counter.moved(), true);
});

test('a counter without its row never lets anything be kept; names are checked before they reach the SQL', (t) => {
  const db = tempDatabase(t, 'herald-counters-')();
  migrate(db, 'test', MIGRATIONS);
  const missing = new SqliteChangeCounter(db, 'nothing');
  assert.equal(missing.moved(), true);
  assert.equal(missing.moved(), true);
  assert.throws(() => changeCounterSql("x'; DROP TABLE things; --", ['things']), /not a plain table/);
  assert.throws(() => changeCounterSql('x', [{ table: 'things', updateOf: ['name; --'] }]), /not a plain table/);
});

test('two rooms share the table, each with its own counter', (t) => {
  const db = tempDatabase(t, 'herald-counters-')();
  migrate(db, 'test', MIGRATIONS);
  migrate(db, 'other', [{ version: 1, sql: `CREATE TABLE others (id INTEGER PRIMARY KEY); ${changeCounterSql('others', ['others'])}` }]);
  const things = new SqliteChangeCounter(db, 'things');
  const others = new SqliteChangeCounter(db, 'others');
  things.moved();
  others.moved();
  db.prepare('INSERT INTO others DEFAULT VALUES').run();
  assert.equal(things.moved(), false);
  assert.equal(others.moved(), true);
});
