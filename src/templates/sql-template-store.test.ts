import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../storage/index.js';
import { SqliteTemplateStore } from './sqlite-template-store.js';
import type { TemplateInput } from './types.js';
import { rejectionOf } from '../../test/support/rejections.js';

const T0 = Date.parse('2025-03-01T10:00:00Z');

function setup(t: { after(fn: () => void): void }, db: SqliteDatabase = openSqlite(':memory:')) {
  t.after(() => db.close());
  const clock = { ms: T0, now: () => new Date(clock.ms) };
  return { store: new SqliteTemplateStore(db, { clock }), clock, db };
}

const thrown = rejectionOf;

test('create, then get by id or by alias (any case)', (t) => {
  const { store } = setup(t);
  const created = store.create('acct', { alias: 'Welcome-Email', name: ' Welcome ', subject: 'Hi {{name}}', html: '<p>Hi</p>', required: ['name'] });
  assert.match(created.id, /^tpl_[0-9a-z]{26}$/);
  assert.deepEqual(created, {
    id: created.id,
    alias: 'welcome-email',
    name: 'Welcome',
    version: 1,
    subject: 'Hi {{name}}',
    html: '<p>Hi</p>',
    text: null,
    required: ['name'],
    createdAt: new Date(T0),
    updatedAt: new Date(T0),
  });
  assert.deepEqual(store.get('acct', created.id), created);
  assert.deepEqual(store.get('acct', 'WELCOME-email'), created);
  assert.deepEqual(store.head('acct', 'welcome-email'), { id: created.id, alias: 'welcome-email', version: 1 });
  assert.equal(store.get('acct', 'nothing'), null);
  assert.equal(store.get('acct', ''), null);
  // Without an alias or name.
  const bare = store.create('acct', { text: 'plain' });
  assert.equal(bare.alias, null);
  assert.equal(bare.name, null);
});

test('inputs are checked with plain words and the field they are about', (t) => {
  const { store } = setup(t);
  const cases: [TemplateInput, string, RegExp][] = [
    [{}, 'html', /^a template needs at least one of subject, html or text$/],
    [{ subject: '', html: null, text: '' }, 'html', /at least one of subject, html or text/],
    [{ alias: 'has space', text: 'x' }, 'alias', /^"has space" is not a valid alias: use 1 to 64 letters/],
    [{ alias: '-x', text: 'x' }, 'alias', /not a valid alias/],
    [{ alias: 'a'.repeat(65), text: 'x' }, 'alias', /not a valid alias/],
    [{ alias: 'tpl_mine', text: 'x' }, 'alias', /may not start with "tpl_"/],
    [{ name: 'x'.repeat(201), text: 'x' }, 'name', /at most 200 characters/],
    [{ name: 'two\nlines', text: 'x' }, 'name', /one line/],
    [{ text: 'x', required: ['ok', 'not ok'] }, 'required[1]', /"not ok" is not a variable path/],
    [{ html: 5 as unknown as string }, 'html', /^html must be text$/],
    [{ subject: 'x'.repeat(512 * 1024 + 1) }, 'subject', /a template part may be at most 524288 bytes/],
  ];
  for (const [input, field, text] of cases) {
    const err = thrown(() => store.create('acct', input));
    assert.equal(err.field, field, JSON.stringify(input).slice(0, 80));
    assert.match(err.reply.text, text);
  }
  assert.equal(store.list('acct', { limit: 10 }).templates.length, 0);
});

test('a broken template is refused with its part, line and column', (t) => {
  const { store } = setup(t);
  const cases: [TemplateInput, string, number, number, string][] = [
    [{ html: '<h1>Hi</h1>\n<p>\n  {{#if user}}Hello{{/each}}</p>' }, 'html', 3, 3, '{{#if}} is closed by {{/each}}; close it with {{/if}}'],
    [{ subject: 'ok', text: 'Dear {{name}},\n\n{{#each items}}- {{this}}\n' }, 'text', 3, 1, '{{#each}} is never closed; add {{/each}}'],
    [{ subject: 'Order {{{id}}' }, 'subject', 1, 12, '{{{ must be closed with }}}, not }}'],
    [{ html: '<p>\n{{> footer}}' }, 'html', 2, 1, 'partials ({{> name}}) are not supported; put the shared content in the template itself'],
  ];
  for (const [input, field, line, column, text] of cases) {
    const err = thrown(() => store.create('acct', input));
    assert.equal(err.field, field);
    assert.equal(err.reply.text, `${field}: line ${line}, column ${column}: ${text}`);
    assert.equal(err.line, line);
    assert.equal(err.column, column);
  }
});

test('update makes a new version from the latest; earlier versions stay', (t) => {
  const { store, clock } = setup(t);
  const v1 = store.create('acct', { alias: 'order', name: 'Order', subject: 'Order {{id}}', html: '<p>{{id}}</p>', required: ['id'] });
  clock.ms += 60_000;
  const v2 = store.update('acct', 'order', { html: '<p>Order {{id}}</p>', text: 'Order {{id}}' })!;
  assert.equal(v2.version, 2);
  assert.equal(v2.id, v1.id);
  // Left-out fields carry over.
  assert.equal(v2.subject, 'Order {{id}}');
  assert.equal(v2.name, 'Order');
  assert.deepEqual(v2.required, ['id']);
  assert.equal(v2.text, 'Order {{id}}');
  assert.deepEqual(v2.createdAt, new Date(T0));
  assert.deepEqual(v2.updatedAt, new Date(T0 + 60_000));
  assert.deepEqual(store.get('acct', v1.id), v2);

  clock.ms += 60_000;
  // null clears a field; alias and name can change.
  const v3 = store.update('acct', v1.id, { html: null, required: null, alias: 'order-v3', name: null })!;
  assert.equal(v3.version, 3);
  assert.equal(v3.html, null);
  assert.deepEqual(v3.required, []);
  assert.equal(v3.alias, 'order-v3');
  assert.equal(v3.name, null);
  assert.equal(store.get('acct', 'order'), null);
  assert.equal(store.get('acct', 'order-v3')?.version, 3);

  // Older versions, as they were.
  const old = store.get('acct', v1.id, 1)!;
  assert.equal(old.html, '<p>{{id}}</p>');
  assert.equal(old.text, null);
  assert.deepEqual(old.updatedAt, new Date(T0));
  assert.equal(store.get('acct', v1.id, 4), null);
  assert.equal(store.get('acct', v1.id, 0), null);
  assert.deepEqual(
    store.versions('acct', 'order-v3')!.map((v) => [v.version, v.html]),
    [
      [3, null],
      [2, '<p>Order {{id}}</p>'],
      [1, '<p>{{id}}</p>'],
    ],
  );

  assert.equal(store.update('acct', 'nope', { text: 'x' }), null);
  assert.equal(store.versions('acct', 'nope'), null);
});

test('a refused update changes nothing', (t) => {
  const { store } = setup(t);
  const v1 = store.create('acct', { alias: 'a', html: '<p>ok</p>' });
  store.create('acct', { alias: 'b', text: 'b' });
  const broken = thrown(() => store.update('acct', 'a', { html: 'line 1\n{{#if x}}' }));
  assert.equal(broken.field, 'html');
  assert.equal(broken.line, 2);
  // Clearing the only part leaves nothing to send.
  assert.match(thrown(() => store.update('acct', 'a', { html: null })).reply.text, /at least one of subject, html or text/);
  const taken = thrown(() => store.update('acct', 'a', { alias: 'B' }));
  assert.equal(taken.field, 'alias');
  assert.equal(taken.reply.text, 'a template with the alias "b" already exists; pick another alias or update that template');
  assert.deepEqual(store.get('acct', 'a'), v1);
  assert.equal(store.versions('acct', 'a')!.length, 1);
  // Keeping its own alias is fine.
  assert.equal(store.update('acct', 'a', { alias: 'A', text: 't' })!.version, 2);
});

test('aliases are unique per account among live templates; a deleted one frees its alias', (t) => {
  const { store } = setup(t);
  const first = store.create('acct', { alias: 'welcome', text: 'one' });
  const dup = thrown(() => store.create('acct', { alias: 'WELCOME', text: 'two' }));
  assert.equal(dup.field, 'alias');
  assert.match(dup.reply.text, /already exists/);
  // Another account may use the same alias.
  const theirs = store.create('other', { alias: 'welcome', text: 'theirs' });

  assert.equal(store.delete('acct', 'welcome'), true);
  assert.equal(store.get('acct', 'welcome'), null);
  assert.equal(store.get('acct', first.id), null);
  assert.equal(store.get('acct', first.id, 1), null);
  assert.equal(store.versions('acct', first.id), null);
  assert.equal(store.update('acct', first.id, { text: 'again' }), null);
  assert.equal(store.delete('acct', first.id), false);

  const second = store.create('acct', { alias: 'welcome', text: 'new' });
  assert.notEqual(second.id, first.id);
  assert.equal(store.get('acct', 'welcome')?.text, 'new');
  assert.equal(store.get('other', 'welcome')?.id, theirs.id);
});

test('an account never sees, changes or deletes another account’s templates', (t) => {
  const { store } = setup(t);
  const mine = store.create('alice', { alias: 'secret', subject: 'Alice only' });
  for (const ref of [mine.id, 'secret']) {
    assert.equal(store.get('bob', ref), null);
    assert.equal(store.get('bob', ref, 1), null);
    assert.equal(store.head('bob', ref), null);
    assert.equal(store.versions('bob', ref), null);
    assert.equal(store.update('bob', ref, { subject: 'Bob was here' }), null);
    assert.equal(store.delete('bob', ref), false);
  }
  assert.deepEqual(store.list('bob', { limit: 100 }), { templates: [], nextCursor: null });
  assert.deepEqual(store.get('alice', mine.id), mine);
  assert.equal(store.list('alice', { limit: 100 }).templates.length, 1);
});

test('list pages newest first with a cursor, skipping deleted templates', (t) => {
  const { store, clock } = setup(t);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    clock.ms += 1000;
    ids.push(store.create('acct', { alias: `t${i}`, text: `${i}` }).id);
  }
  store.create('other', { text: 'not listed' });
  store.delete('acct', ids[2]);
  store.update('acct', ids[0], { text: 'zero v2' });

  const page1 = store.list('acct', { limit: 2 });
  assert.deepEqual(page1.templates.map((v) => v.alias), ['t4', 't3']);
  assert.equal(page1.nextCursor, ids[3]);
  const page2 = store.list('acct', { limit: 2, cursor: page1.nextCursor });
  assert.deepEqual(page2.templates.map((v) => v.alias), ['t1', 't0']);
  // Listed at their latest version.
  assert.equal(page2.templates[1].text, 'zero v2');
  assert.equal(page2.templates[1].version, 2);
  assert.equal(page2.nextCursor, null);
  // Exactly a full last page has no next cursor either.
  assert.equal(store.list('acct', { limit: 4 }).nextCursor, null);

  assert.equal(thrown(() => store.list('acct', { limit: 0 })).field, 'limit');
  assert.equal(thrown(() => store.list('acct', { limit: 101 })).field, 'limit');
  assert.equal(thrown(() => store.list('acct', { limit: 1.5 })).field, 'limit');
  assert.equal(thrown(() => store.list('acct', { limit: 2, cursor: 'garbage' })).field, 'cursor');
});

test('another connection (the CLI, a second process) sees the same templates and versions', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-templates-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'herald.db');
  const a = setup(t, openSqlite(file)).store;
  const b = setup(t, openSqlite(file)).store;
  const created = a.create('acct', { alias: 'shared', text: 'v1' });
  assert.equal(b.update('acct', 'shared', { text: 'v2' })!.version, 2);
  assert.equal(a.update('acct', created.id, { text: 'v3' })!.version, 3);
  assert.deepEqual(
    b.versions('acct', 'shared')!.map((v) => v.text),
    ['v3', 'v2', 'v1'],
  );
  // The migration ran once; opening again is a no-op.
  const again = openSqlite(file);
  t.after(() => again.close());
  assert.equal(new SqliteTemplateStore(again).get('acct', 'shared')?.version, 3);
  const applied = again.prepare("SELECT version FROM schema_migrations WHERE room = 'templates'").pluck().all();
  assert.deepEqual(applied, [1]);
});

test('an update that races another one is redone on top of it, losing neither', (t) => {
  const db = openSqlite(':memory:');
  t.after(() => db.close());
  let race: (() => void) | undefined;
  // The clock is read between the update's read and its write: the other writer gets in there.
  const clock = {
    now: () => {
      const run = race;
      race = undefined;
      run?.();
      return new Date(T0);
    },
  };
  const a = new SqliteTemplateStore(db, { clock });
  const b = new SqliteTemplateStore(db);
  const created = a.create('acct', { subject: 's1', text: 't1' });
  race = () => b.update('acct', created.id, { subject: 's2' });
  const saved = a.update('acct', created.id, { text: 't2' })!;
  assert.equal(saved.version, 3);
  assert.equal(saved.subject, 's2');
  assert.equal(saved.text, 't2');
  assert.deepEqual(
    a.versions('acct', created.id)!.map((v) => [v.version, v.subject, v.text]),
    [
      [3, 's2', 't2'],
      [2, 's2', 't1'],
      [1, 's1', 't1'],
    ],
  );

  // A delete in between: the update finds nothing.
  race = () => b.delete('acct', created.id);
  assert.equal(a.update('acct', created.id, { text: 't3' }), null);
});
