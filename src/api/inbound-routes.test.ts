import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newMessageId } from '../core/index.js';
import { SqlInboundStore } from '../feedback/index.js';
import { startApiEdge } from '../../test/support/api-edge.js';

/** The inbound routes behind Herald's real HTTP edge, on an in-memory database. */
async function setup(t: { after(fn: () => Promise<void> | void): void }) {
  let inbound!: SqlInboundStore;
  const { server, accounts } = await startApiEdge(t, async (db, accounts) => {
    await accounts.create({ name: 'shop' });
    inbound = await SqlInboundStore.open(db);
    return { inbound };
  });
  const shop = (await accounts.get('shop'))!.id;
  const key = async (scope: 'admin' | 'read', accountId = 'default') => (await accounts.createApiKey({ accountId, name: `${scope}-${accountId}`, scope })).key;
  const call = async (url: string, as: string) => {
    const res = await server.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${as}` } });
    const type = String(res.headers['content-type'] ?? '');
    return { status: res.statusCode, type, text: res.body, body: type.startsWith('application/json') ? JSON.parse(res.body) : undefined };
  };
  const add = async (accountId?: string) => {
    const id = newMessageId();
    await inbound.add({
      id, receivedAt: new Date(), clientIp: '192.0.2.9', mailFrom: '', recipients: ['fbl@bounces.shop.example'], kind: 'arf', accountId,
      authentication: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' }, raw: Buffer.from('Authentication-Results: herald.test; spf=pass\r\nSubject: x\r\n\r\nx\r\n'),
    });
    return id;
  };
  return { server, shop, key, call, add };
}

test('an account’s admin reads its own records; the default admin also those of no account', async (t) => {
  const { shop, key, call, add } = await setup(t);
  const theirs = await add(shop);
  const nobodys = await add();
  const shopAdmin = await key('admin', shop);
  const operator = await key('admin');

  const listed = await call('/api/v1/inbound', shopAdmin);
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.inbound.map((r: { id: string }) => r.id), [theirs]);
  assert.equal(listed.body.next_cursor, null);
  assert.deepEqual((await call('/api/v1/inbound?limit=1', operator)).body, { inbound: [(await call(`/api/v1/inbound/${nobodys}`, operator)).body], next_cursor: nobodys });

  const one = await call(`/api/v1/inbound/${theirs}`, shopAdmin);
  assert.equal(one.body.kind, 'arf');
  assert.deepEqual(one.body.authentication, { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
  const raw = await call(`/api/v1/inbound/${theirs}/raw`, shopAdmin);
  assert.equal(raw.type, 'message/rfc822');
  assert.match(raw.text, /^Authentication-Results: herald\.test; spf=pass\r\n/);

  assert.equal((await call(`/api/v1/inbound/${nobodys}`, shopAdmin)).status, 404, 'not another’s');
  assert.equal((await call(`/api/v1/inbound/${nobodys}/raw`, shopAdmin)).status, 404);
});

test('bad input is a 400 naming the field; a read key is not enough', async (t) => {
  const { key, call } = await setup(t);
  const admin = await key('admin');
  const bad = async (url: string, field: string) => {
    const res = await call(url, admin);
    assert.equal(res.status, 400, url);
    assert.equal(res.body.error.field, field, url);
  };
  await bad('/api/v1/inbound?cursor=nope', 'cursor');
  await bad('/api/v1/inbound?limit=0', 'limit');
  await bad('/api/v1/inbound?limit=501', 'limit');
  await bad('/api/v1/inbound?kind=spam', 'kind');
  await bad('/api/v1/inbound?message_id=x', 'message_id');
  await bad('/api/v1/inbound/not-an-id', 'id');
  assert.equal((await call(`/api/v1/inbound/${newMessageId()}`, admin)).status, 404);
  assert.equal((await call('/api/v1/inbound', await key('read'))).status, 403);
});

test('the routes and their response schemas are in /openapi.json', async (t) => {
  const { server } = await setup(t);
  const spec = JSON.parse((await server.app.inject({ method: 'GET', url: '/openapi.json' })).body);
  assert.ok(spec.paths['/api/v1/inbound'].get);
  assert.ok(spec.paths['/api/v1/inbound/{id}'].get.responses['200']);
  assert.ok(spec.paths['/api/v1/inbound/{id}/raw'].get.responses['200'].content['message/rfc822']);
  assert.ok(spec.components.schemas.InboundRecord.properties.authentication);
});
