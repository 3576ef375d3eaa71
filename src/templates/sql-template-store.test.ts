import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlDatabase } from '../storage/index.js';
import { SqlTemplateStore } from './sql-template-store.js';
import type { TemplateInput } from './types.js';
import { rejectionFrom } from '../../test/support/rejections.js';
import { describeEachBackend } from '../../test/support/sql-backends.js';

const T0 = Date.parse('2025-03-01T10:00:00Z');

const rejected = rejectionFrom;

describeEachBackend('SqlTemplateStore', ({ engine, fresh, another }) => {
  async function setup(db?: SqlDatabase) {
    db ??= await fresh();
    const clock = { ms: T0, now: () => new Date(clock.ms) };
    return { store: await SqlTemplateStore.open(db, { clock }), clock, db };
  }

  test('create, then get by id or by alias (any case)', async () => {
    const { store } = await setup();
    const created = await store.create('acct', { alias: 'Welcome-Email', name: ' Welcome ', subject: 'Hi {{name}}', html: '<p>Hi</p>', required: ['name'] });
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
    assert.deepEqual(await store.get('acct', created.id), created);
    assert.deepEqual(await store.get('acct', 'WELCOME-email'), created);
    assert.deepEqual(await store.head('acct', 'welcome-email'), { id: created.id, alias: 'welcome-email', version: 1 });
    assert.equal(await store.get('acct', 'nothing'), null);
    assert.equal(await store.get('acct', ''), null);
    // Without an alias or name.
    const bare = await store.create('acct', { text: 'plain' });
    assert.equal(bare.alias, null);
    assert.equal(bare.name, null);
  });

  test('inputs are checked with plain words and the field they are about', async () => {
    const { store } = await setup();
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
      const err = await rejected(store.create('acct', input));
      assert.equal(err.field, field, JSON.stringify(input).slice(0, 80));
      assert.match(err.reply.text, text);
    }
    assert.equal((await store.list('acct', { limit: 10 })).templates.length, 0);
  });

  test('a broken template is refused with its part, line and column', async () => {
    const { store } = await setup();
    const cases: [TemplateInput, string, number, number, string][] = [
      [{ html: '<h1>Hi</h1>\n<p>\n  {{#if user}}Hello{{/each}}</p>' }, 'html', 3, 3, '{{#if}} is closed by {{/each}}; close it with {{/if}}'],
      [{ subject: 'ok', text: 'Dear {{name}},\n\n{{#each items}}- {{this}}\n' }, 'text', 3, 1, '{{#each}} is never closed; add {{/each}}'],
      [{ subject: 'Order {{{id}}' }, 'subject', 1, 12, '{{{ must be closed with }}}, not }}'],
      [{ html: '<p>\n{{> footer}}' }, 'html', 2, 1, 'partials ({{> name}}) are not supported; put the shared content in the template itself'],
    ];
    for (const [input, field, line, column, text] of cases) {
      const err = await rejected(store.create('acct', input));
      assert.equal(err.field, field);
      assert.equal(err.reply.text, `${field}: line ${line}, column ${column}: ${text}`);
      assert.equal(err.line, line);
      assert.equal(err.column, column);
    }
  });

  test('update makes a new version from the latest; earlier versions stay', async () => {
    const { store, clock } = await setup();
    const v1 = await store.create('acct', { alias: 'order', name: 'Order', subject: 'Order {{id}}', html: '<p>{{id}}</p>', required: ['id'] });
    clock.ms += 60_000;
    const v2 = (await store.update('acct', 'order', { html: '<p>Order {{id}}</p>', text: 'Order {{id}}' }))!;
    assert.equal(v2.version, 2);
    assert.equal(v2.id, v1.id);
    // Left-out fields carry over.
    assert.equal(v2.subject, 'Order {{id}}');
    assert.equal(v2.name, 'Order');
    assert.deepEqual(v2.required, ['id']);
    assert.equal(v2.text, 'Order {{id}}');
    assert.deepEqual(v2.createdAt, new Date(T0));
    assert.deepEqual(v2.updatedAt, new Date(T0 + 60_000));
    assert.deepEqual(await store.get('acct', v1.id), v2);

    clock.ms += 60_000;
    // null clears a field; alias and name can change.
    const v3 = (await store.update('acct', v1.id, { html: null, required: null, alias: 'order-v3', name: null }))!;
    assert.equal(v3.version, 3);
    assert.equal(v3.html, null);
    assert.deepEqual(v3.required, []);
    assert.equal(v3.alias, 'order-v3');
    assert.equal(v3.name, null);
    assert.equal(await store.get('acct', 'order'), null);
    assert.equal((await store.get('acct', 'order-v3'))?.version, 3);

    // Older versions, as they were.
    const old = (await store.get('acct', v1.id, 1))!;
    assert.equal(old.html, '<p>{{id}}</p>');
    assert.equal(old.text, null);
    assert.deepEqual(old.updatedAt, new Date(T0));
    assert.equal(await store.get('acct', v1.id, 4), null);
    assert.equal(await store.get('acct', v1.id, 0), null);
    assert.deepEqual(
      (await store.versions('acct', 'order-v3'))!.map((v) => [v.version, v.html]),
      [
        [3, null],
        [2, '<p>Order {{id}}</p>'],
        [1, '<p>{{id}}</p>'],
      ],
    );

    assert.equal(await store.update('acct', 'nope', { text: 'x' }), null);
    assert.equal(await store.versions('acct', 'nope'), null);
  });

  test('a refused update changes nothing', async () => {
    const { store } = await setup();
    const v1 = await store.create('acct', { alias: 'a', html: '<p>ok</p>' });
    await store.create('acct', { alias: 'b', text: 'b' });
    const broken = await rejected(store.update('acct', 'a', { html: 'line 1\n{{#if x}}' }));
    assert.equal(broken.field, 'html');
    assert.equal(broken.line, 2);
    // Clearing the only part leaves nothing to send.
    assert.match((await rejected(store.update('acct', 'a', { html: null }))).reply.text, /at least one of subject, html or text/);
    const taken = await rejected(store.update('acct', 'a', { alias: 'B' }));
    assert.equal(taken.field, 'alias');
    assert.equal(taken.reply.text, 'a template with the alias "b" already exists; pick another alias or update that template');
    assert.deepEqual(await store.get('acct', 'a'), v1);
    assert.equal((await store.versions('acct', 'a'))!.length, 1);
    // Keeping its own alias is fine.
    assert.equal((await store.update('acct', 'a', { alias: 'A', text: 't' }))!.version, 2);
  });

  test('aliases are unique per account among live templates; a deleted one frees its alias', async () => {
    const { store } = await setup();
    const first = await store.create('acct', { alias: 'welcome', text: 'one' });
    const dup = await rejected(store.create('acct', { alias: 'WELCOME', text: 'two' }));
    assert.equal(dup.field, 'alias');
    assert.match(dup.reply.text, /already exists/);
    // Another account may use the same alias.
    const theirs = await store.create('other', { alias: 'welcome', text: 'theirs' });

    assert.equal(await store.delete('acct', 'welcome'), true);
    assert.equal(await store.get('acct', 'welcome'), null);
    assert.equal(await store.get('acct', first.id), null);
    assert.equal(await store.get('acct', first.id, 1), null);
    assert.equal(await store.versions('acct', first.id), null);
    assert.equal(await store.update('acct', first.id, { text: 'again' }), null);
    assert.equal(await store.delete('acct', first.id), false);

    const second = await store.create('acct', { alias: 'welcome', text: 'new' });
    assert.notEqual(second.id, first.id);
    assert.equal((await store.get('acct', 'welcome'))?.text, 'new');
    assert.equal((await store.get('other', 'welcome'))?.id, theirs.id);
  });

  test('an account never sees, changes or deletes another account’s templates', async () => {
    const { store } = await setup();
    const mine = await store.create('alice', { alias: 'secret', subject: 'Alice only' });
    for (const ref of [mine.id, 'secret']) {
      assert.equal(await store.get('bob', ref), null);
      assert.equal(await store.get('bob', ref, 1), null);
      assert.equal(await store.head('bob', ref), null);
      assert.equal(await store.versions('bob', ref), null);
      assert.equal(await store.update('bob', ref, { subject: 'Bob was here' }), null);
      assert.equal(await store.delete('bob', ref), false);
    }
    assert.deepEqual(await store.list('bob', { limit: 100 }), { templates: [], nextCursor: null });
    assert.deepEqual(await store.get('alice', mine.id), mine);
    assert.equal((await store.list('alice', { limit: 100 })).templates.length, 1);
  });

  test('list pages newest first with a cursor, skipping deleted templates', async () => {
    const { store, clock } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.ms += 1000;
      ids.push((await store.create('acct', { alias: `t${i}`, text: `${i}` })).id);
    }
    await store.create('other', { text: 'not listed' });
    await store.delete('acct', ids[2]);
    await store.update('acct', ids[0], { text: 'zero v2' });

    const page1 = await store.list('acct', { limit: 2 });
    assert.deepEqual(page1.templates.map((v) => v.alias), ['t4', 't3']);
    assert.equal(page1.nextCursor, ids[3]);
    const page2 = await store.list('acct', { limit: 2, cursor: page1.nextCursor });
    assert.deepEqual(page2.templates.map((v) => v.alias), ['t1', 't0']);
    // Listed at their latest version.
    assert.equal(page2.templates[1].text, 'zero v2');
    assert.equal(page2.templates[1].version, 2);
    assert.equal(page2.nextCursor, null);
    // Exactly a full last page has no next cursor either.
    assert.equal((await store.list('acct', { limit: 4 })).nextCursor, null);

    assert.equal((await rejected(store.list('acct', { limit: 0 }))).field, 'limit');
    assert.equal((await rejected(store.list('acct', { limit: 101 }))).field, 'limit');
    assert.equal((await rejected(store.list('acct', { limit: 1.5 }))).field, 'limit');
    assert.equal((await rejected(store.list('acct', { limit: 2, cursor: 'garbage' }))).field, 'cursor');
  });

  test('another connection (the CLI, a second process) sees the same templates and versions', async () => {
    const db = await fresh();
    const a = (await setup(db)).store;
    const b = (await setup(await another(db))).store;
    const created = await a.create('acct', { alias: 'shared', text: 'v1' });
    assert.equal((await b.update('acct', 'shared', { text: 'v2' }))!.version, 2);
    assert.equal((await a.update('acct', created.id, { text: 'v3' }))!.version, 3);
    assert.deepEqual(
      (await b.versions('acct', 'shared'))!.map((v) => v.text),
      ['v3', 'v2', 'v1'],
    );
    // The migration ran once; opening again is a no-op.
    const again = await another(db);
    assert.equal((await (await SqlTemplateStore.open(again)).get('acct', 'shared'))?.version, 3);
    const applied = await again.all<{ version: number }>("SELECT version FROM schema_migrations WHERE room = 'templates'");
    assert.deepEqual(
      applied.map((r) => r.version),
      [1],
    );
  });

  test('an update that races another one is redone on top of it, losing neither', async () => {
    const db = await fresh();
    let race: (() => Promise<unknown>) | undefined;
    // The other writer gets in between the update's read and its write transaction.
    const racing = new Proxy(db, {
      get(target, key) {
        if (key === 'transaction') {
          return async (work: Parameters<SqlDatabase['transaction']>[0]) => {
            const run = race;
            race = undefined;
            await run?.();
            return target.transaction(work);
          };
        }
        const value: unknown = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const a = await SqlTemplateStore.open(racing, { clock: { now: () => new Date(T0) } });
    const b = await SqlTemplateStore.open(await another(db));
    const created = await a.create('acct', { subject: 's1', text: 't1' });
    race = () => b.update('acct', created.id, { subject: 's2' });
    const saved = (await a.update('acct', created.id, { text: 't2' }))!;
    assert.equal(saved.version, 3);
    assert.equal(saved.subject, 's2');
    assert.equal(saved.text, 't2');
    assert.deepEqual(
      (await a.versions('acct', created.id))!.map((v) => [v.version, v.subject, v.text]),
      [
        [3, 's2', 't2'],
        [2, 's2', 't1'],
        [1, 's1', 't1'],
      ],
    );

    // A delete in between: the update finds nothing.
    race = () => b.delete('acct', created.id);
    assert.equal(await a.update('acct', created.id, { text: 't3' }), null);
  });

  test('updates of one template through two connections at the same moment all land, one version after another', async () => {
    const db = await fresh();
    // On PostgreSQL two nodes; SQLite has one connection per process (two in one thread would
    // wait on each other's write lock), so there both go through one.
    const other = engine === 'postgres' ? await another(db) : db;
    const stores = [await SqlTemplateStore.open(db), await SqlTemplateStore.open(other)];
    const created = await stores[0].create('acct', { alias: 'busy', text: 't0' });
    const saved = await Promise.all([1, 2, 3, 4].map((i) => stores[i % 2].update('acct', 'busy', { text: `t${i}` })));
    assert.deepEqual(saved.map((v) => v!.version).sort(), [2, 3, 4, 5]);
    const versions = (await stores[1].versions('acct', created.id))!;
    assert.deepEqual(
      versions.map((v) => v.version),
      [5, 4, 3, 2, 1],
    );
    assert.deepEqual(new Set(versions.map((v) => v.text)), new Set(['t0', 't1', 't2', 't3', 't4']));
  });
});
