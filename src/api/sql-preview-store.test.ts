import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PREVIEWS_PER_ACCOUNT, PREVIEW_TTL_MS, SqlPreviewStore } from './sql-preview-store.js';
import { HandlebarsTemplateRenderer, SqlTemplateStore } from '../templates/index.js';
import type { SqlDatabase } from '../storage/index.js';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { startApiEdge } from '../../test/support/api-edge.js';

const T0 = Date.parse('2025-03-01T12:00:00Z');

describeEachBackend('SqlPreviewStore', ({ fresh, another }) => {
  async function setup() {
    const db = await fresh();
    let now = T0;
    const clock = { now: () => new Date(now), set: (ms: number) => (now = T0 + ms) };
    /** A store on `connection` (default: the first one). */
    return { db, open: (connection: SqlDatabase = db) => SqlPreviewStore.open(connection, { clock }), clock };
  }

  test('a preview kept through one connection is found through another sharing the file', async () => {
    const { db, open } = await setup();
    const one = await open();
    const two = await open(await another(db));
    const token = await one.keep('acc', '<p>Hi</p>');
    assert.match(token, /^[0-9a-f]{32}$/);
    assert.equal(await two.get('acc', token), '<p>Hi</p>');
    assert.equal(await two.get('acc', 'nothere'), null);
  });

  test("a preview is another account's to see not at all", async () => {
    const store = await (await setup()).open();
    const token = await store.keep('a', '<p>A</p>');
    assert.equal(await store.get('b', token), null);
    assert.equal(await store.get('a', token), '<p>A</p>');
  });

  test('a NUL the sample data put in the HTML is kept as U+FFFD, as a browser shows it, on either engine', async () => {
    const store = await (await setup()).open();
    const token = await store.keep('acc', '<p>a\0b</p>');
    assert.equal(await store.get('acc', token), '<p>a\uFFFDb</p>');
  });

  test('a preview answers for ten minutes, then is gone and swept', async () => {
    const { open, clock } = await setup();
    const store = await open();
    const token = await store.keep('acc', '<p>Hi</p>');
    clock.set(PREVIEW_TTL_MS - 1);
    assert.equal(await store.get('acc', token), '<p>Hi</p>');
    clock.set(PREVIEW_TTL_MS);
    assert.equal(await store.get('acc', token), null);
    // The look-up above removed it already.
    assert.equal(await store.purge(), 0);
    await store.keep('acc', '<p>later</p>');
    clock.set(3 * PREVIEW_TTL_MS);
    assert.equal(await store.purge(), 1);
  });

  test("an account keeps its newest previews only; others' are untouched", async () => {
    const { open, clock } = await setup();
    const store = await open();
    const other = await store.keep('b', '<p>B</p>');
    const tokens: string[] = [];
    for (let i = 0; i <= MAX_PREVIEWS_PER_ACCOUNT; i++) {
      clock.set(i);
      tokens.push(await store.keep('a', `<p>${i}</p>`));
    }
    assert.equal(await store.get('a', tokens[0]!), null);
    assert.equal(await store.get('a', tokens[1]!), '<p>1</p>');
    assert.equal(await store.get('a', tokens.at(-1)!), `<p>${MAX_PREVIEWS_PER_ACCOUNT}</p>`);
    assert.equal(await store.get('b', other), '<p>B</p>');
  });

  test('a preview made through one API process is served, inert, by another sharing the database', async (t) => {
    const first = await fresh();
    const edge = async (db: SqlDatabase) => {
      const templates = await SqlTemplateStore.open(db);
      const previews = await SqlPreviewStore.open(db);
      return startApiEdge(t, () => ({ templates, renderer: new HandlebarsTemplateRenderer(templates), previews }));
    };
    const [a, b] = [await edge(first), await edge(await another(first))];
    const keyA = (await a.accounts.createApiKey({ accountId: 'default', name: 'a', scope: 'read' })).key;
    const keyB = (await b.accounts.createApiKey({ accountId: 'default', name: 'b', scope: 'read' })).key;
    const made = await a.server.app.inject({
      method: 'POST',
      url: '/api/v1/templates/preview',
      headers: { authorization: `Bearer ${keyA}` },
      payload: { template: { html: '<p>Hi {{name}}</p>' }, data: { name: 'Ann' } },
    });
    assert.equal(made.statusCode, 200, made.body);
    const url = JSON.parse(made.body).html_url as string;
    assert.match(url, /^\/api\/v1\/templates\/previews\/[0-9a-f]{32}$/);
    const served = await b.server.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${keyB}` } });
    assert.equal(served.statusCode, 200);
    assert.equal(served.body, '<p>Hi Ann</p>');
    assert.match(String(served.headers['content-security-policy']), /default-src 'none'.*sandbox/);
    const missing = await b.server.app.inject({ method: 'GET', url: '/api/v1/templates/previews/nothere', headers: { authorization: `Bearer ${keyB}` } });
    assert.equal(missing.statusCode, 404);
    assert.equal(JSON.parse(missing.body).error.code, 'not_found');
  });
});
