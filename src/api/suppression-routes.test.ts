import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlSuppressionStore } from '../suppression/index.js';
import { startApiEdge } from '../../test/support/api-edge.js';

/** The suppression routes behind Herald's real HTTP edge, on an in-memory database. */
async function setup(t: { after(fn: () => Promise<void> | void): void }) {
  let suppressions!: SqlSuppressionStore;
  const { server, accounts } = await startApiEdge(t, async (db) => {
    suppressions = await SqlSuppressionStore.open(db);
    return { suppressions };
  });
  const key = async (scope: 'admin' | 'read' | 'send', accountId = 'default') => (await accounts.createApiKey({ accountId, name: `${scope}-${accountId}`, scope })).key;
  const admin = await key('admin');
  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, as = admin) => {
    const res = await server.app.inject({ method, url, headers: { authorization: `Bearer ${as}` }, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  };
  return { server, accounts, suppressions, key, admin, call };
}

test('add one, look it up, list, remove', async (t) => {
  const { call } = await setup(t);
  const added = await call('POST', '/api/v1/suppressions', { address: 'Ann@Example.COM', stream: 'broadcast' });
  assert.equal(added.status, 200);
  assert.deepEqual({ ...added.body, suppressions: undefined }, { added: 1, updated: 0, unchanged: 0, suppressions: undefined });
  assert.equal(added.body.suppressions[0].address, 'Ann@example.com');
  assert.equal(added.body.suppressions[0].reason, 'manual');
  assert.equal(added.body.suppressions[0].expires_at, null);

  await call('POST', '/api/v1/suppressions', { address: 'ann+news@example.com' });
  assert.equal((await call('GET', '/api/v1/suppressions/ann+news@example.com')).status, 200, 'a + in the path is itself');
  assert.equal((await call('DELETE', '/api/v1/suppressions/ann%2Bnews%40example.com')).status, 204, 'and so is %2B');

  const found = await call('GET', `/api/v1/suppressions/${encodeURIComponent('Ann@EXAMPLE.com')}`);
  assert.equal(found.status, 200);
  assert.deepEqual(found.body.suppressions.map((s: { stream: string }) => s.stream), ['broadcast']);
  assert.equal((await call('GET', '/api/v1/suppressions/Ann@example.com?stream=transactional')).status, 404);
  const missing = await call('GET', '/api/v1/suppressions/bob@example.com');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'not_found');

  const list = await call('GET', '/api/v1/suppressions?search=ann&limit=10');
  assert.equal(list.status, 200);
  assert.equal(list.body.suppressions.length, 1);
  assert.equal(list.body.next_cursor, null);

  assert.equal((await call('DELETE', '/api/v1/suppressions/Ann@example.com?stream=transactional')).status, 404, 'not on that stream');
  assert.equal((await call('DELETE', '/api/v1/suppressions/Ann@example.com')).status, 204);
  assert.equal((await call('GET', '/api/v1/suppressions/Ann@example.com')).status, 404);
});

test('the routes are described in /openapi.json', async (t) => {
  const { server } = await setup(t);
  const doc = JSON.parse((await server.app.inject({ method: 'GET', url: '/openapi.json' })).body);
  assert.deepEqual(Object.keys(doc.paths).filter((p) => p.includes('suppressions')), ['/api/v1/suppressions', '/api/v1/suppressions/{address}']);
  assert.deepEqual(Object.keys(doc.paths['/api/v1/suppressions/{address}']).sort(), ['delete', 'get']);
});

test('add many at once, idempotently, and page through them', async (t) => {
  const { call } = await setup(t);
  const suppressions = Array.from({ length: 30 }, (_, i) => ({ address: `user${String(i).padStart(2, '0')}@example.com`, reason: 'hard_bounce' }));
  const first = await call('POST', '/api/v1/suppressions', { suppressions });
  assert.equal(first.status, 200);
  assert.equal(first.body.added, 60, 'both streams each');
  assert.equal(first.body.suppressions.length, 60);
  const again = await call('POST', '/api/v1/suppressions', { suppressions: [{ address: 'user00@example.com', reason: 'manual' }] });
  assert.equal(again.body.unchanged, 2);
  assert.equal(again.body.suppressions[0].reason, 'hard_bounce', 'the stronger first reason stays');

  const addresses: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { suppressions: { address: string }[]; next_cursor: string | null } } = await call('GET', `/api/v1/suppressions?stream=transactional&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    addresses.push(...page.body.suppressions.map((s) => s.address));
    cursor = page.body.next_cursor;
  } while (cursor);
  assert.deepEqual(addresses, suppressions.map((s) => s.address));
});

test('bad input: 422 naming the field, 400 for the shape, nothing written', async (t) => {
  const { call, suppressions } = await setup(t);
  const bad = await call('POST', '/api/v1/suppressions', { suppressions: [{ address: 'ok@example.com' }, { address: 'nope' }] });
  assert.equal(bad.status, 422);
  assert.deepEqual(bad.body.error, { code: 'invalid', message: '"nope" is not an email address', field: 'suppressions[1].address' });
  assert.equal(await suppressions.count('default'), 0);

  const path = await call('GET', '/api/v1/suppressions/not-an-address');
  assert.equal(path.status, 422);
  assert.equal(path.body.error.field, 'address');

  const expiring = await call('POST', '/api/v1/suppressions', { address: 'a@example.com', reason: 'complaint', expires_at: '2099-01-01T00:00:00Z' });
  assert.equal(expiring.status, 422);
  assert.equal(expiring.body.error.field, 'expires_at');
  const past = await call('POST', '/api/v1/suppressions', { address: 'a@example.com', expires_at: '2001-01-01T00:00:00Z' });
  assert.equal(past.status, 422);
  const fine = await call('POST', '/api/v1/suppressions', { address: 'a@example.com', expires_at: '2099-01-01T00:00:00Z' });
  assert.equal(fine.body.suppressions[0].expires_at, '2099-01-01T00:00:00.000Z');

  assert.equal((await call('POST', '/api/v1/suppressions', { address: 'a@example.com', suppressions: [{ address: 'b@example.com' }] })).status, 400);
  assert.equal((await call('POST', '/api/v1/suppressions', { stream: 'broadcast' })).body.error.field, 'address');
  const typo = await call('POST', '/api/v1/suppressions', { adress: 'a@example.com' });
  assert.equal(typo.status, 400);
  assert.match(typo.body.error.message, /unknown field "adress"/);
  assert.equal((await call('POST', '/api/v1/suppressions', { address: 'a@example.com', stream: 'weekly' })).status, 400);
  const tooMany = await call('POST', '/api/v1/suppressions', { suppressions: Array.from({ length: 1001 }, (_, i) => ({ address: `u${i}@example.com` })) });
  assert.equal(tooMany.status, 400);
  assert.equal((await call('GET', '/api/v1/suppressions?cursor=nonsense')).body.error.field, 'cursor');
});

test('scopes: read keys read, only admin keys change; accounts see only their own list', async (t) => {
  const { call, key, accounts } = await setup(t);
  const read = await key('read');
  assert.equal((await call('POST', '/api/v1/suppressions', { address: 'a@example.com' }, read)).status, 403);
  assert.equal((await call('POST', '/api/v1/suppressions', { address: 'a@example.com' })).status, 200);
  assert.equal((await call('GET', '/api/v1/suppressions', undefined, read)).status, 200);
  assert.equal((await call('GET', '/api/v1/suppressions/a@example.com', undefined, await key('send'))).status, 403);
  assert.equal((await call('DELETE', '/api/v1/suppressions/a@example.com', undefined, read)).status, 403);

  const other = await accounts.create({ name: 'globex' });
  const otherAdmin = await key('admin', other.id);
  assert.equal((await call('GET', '/api/v1/suppressions/a@example.com', undefined, otherAdmin)).status, 404);
  assert.deepEqual((await call('GET', '/api/v1/suppressions', undefined, otherAdmin)).body.suppressions, []);
  assert.equal((await call('DELETE', '/api/v1/suppressions/a@example.com', undefined, otherAdmin)).status, 404);
  assert.equal((await call('GET', '/api/v1/suppressions/a@example.com')).status, 200);
});
