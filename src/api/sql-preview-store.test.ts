import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PREVIEWS_PER_ACCOUNT, PREVIEW_TTL_MS, SqlitePreviewStore } from './sqlite-preview-store.js';
import { HandlebarsTemplateRenderer, SqliteTemplateStore } from '../templates/index.js';
import { tempDatabase } from '../../test/support/sqlite.js';
import { startApiEdge } from '../../test/support/api-edge.js';

const T0 = Date.parse('2025-03-01T12:00:00Z');

function setup(t: { after(fn: () => void): void }) {
  const database = tempDatabase(t, 'herald-previews-');
  let now = T0;
  const clock = { now: () => new Date(now), set: (ms: number) => (now = T0 + ms) };
  return { open: () => new SqlitePreviewStore(database(), { clock }), clock, database };
}

test('a preview kept through one connection is found through another sharing the file', (t) => {
  const { open } = setup(t);
  const one = open();
  const two = open();
  const token = one.keep('acc', '<p>Hi</p>');
  assert.match(token, /^[0-9a-f]{32}$/);
  assert.equal(two.get('acc', token), '<p>Hi</p>');
  assert.equal(two.get('acc', 'nothere'), null);
});

test("a preview is another account's to see not at all", (t) => {
  const store = setup(t).open();
  const token = store.keep('a', '<p>A</p>');
  assert.equal(store.get('b', token), null);
  assert.equal(store.get('a', token), '<p>A</p>');
});

test('a preview answers for ten minutes, then is gone and swept', (t) => {
  const { open, clock } = setup(t);
  const store = open();
  const token = store.keep('acc', '<p>Hi</p>');
  clock.set(PREVIEW_TTL_MS - 1);
  assert.equal(store.get('acc', token), '<p>Hi</p>');
  clock.set(PREVIEW_TTL_MS);
  assert.equal(store.get('acc', token), null);
  // The look-up above removed it already.
  assert.equal(store.purge(), 0);
  store.keep('acc', '<p>later</p>');
  clock.set(3 * PREVIEW_TTL_MS);
  assert.equal(store.purge(), 1);
});

test("an account keeps its newest previews only; others' are untouched", (t) => {
  const { open, clock } = setup(t);
  const store = open();
  const other = store.keep('b', '<p>B</p>');
  const tokens: string[] = [];
  for (let i = 0; i <= MAX_PREVIEWS_PER_ACCOUNT; i++) {
    clock.set(i);
    tokens.push(store.keep('a', `<p>${i}</p>`));
  }
  assert.equal(store.get('a', tokens[0]!), null);
  assert.equal(store.get('a', tokens[1]!), '<p>1</p>');
  assert.equal(store.get('a', tokens.at(-1)!), `<p>${MAX_PREVIEWS_PER_ACCOUNT}</p>`);
  assert.equal(store.get('b', other), '<p>B</p>');
});

test('a preview made through one API process is served, inert, by another sharing the database', async (t) => {
  const database = tempDatabase(t, 'herald-previews-http-');
  const edge = () =>
    startApiEdge(t, () => {
      const db = database();
      const templates = new SqliteTemplateStore(db);
      return { templates, renderer: new HandlebarsTemplateRenderer(templates), previews: new SqlitePreviewStore(db) };
    });
  const [a, b] = [await edge(), await edge()];
  const keyA = a.accounts.createApiKey({ accountId: 'default', name: 'a', scope: 'read' }).key;
  const keyB = b.accounts.createApiKey({ accountId: 'default', name: 'b', scope: 'read' }).key;
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
