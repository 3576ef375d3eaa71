/**
 * SMTP credentials over the API: create (password shown once), list, revoke — and the password
 * works for SMTP AUTH on the submission port until it is revoked.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startApiWorld, type ApiWorld } from '../support/api.js';

describe('SMTP credentials API', () => {
  let w: ApiWorld;
  let readKey: string;

  before(async () => {
    w = await startApiWorld();
    readKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'reader', scope: 'read' })).key;
  });
  after(() => w.close());

  test('create shows the password once; list never does; revoke by name ends it', async () => {
    const created = await call(w.base, 'POST', '/api/v1/credentials', { key: w.adminKey, body: { name: 'billing-app' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.kind, 'password');
    assert.match(created.body.username, /^herald-/);
    assert.match(created.body.password, /^[A-Za-z0-9]{32}$/);
    assert.ok(await w.herald.credentials.verifyPassword(created.body.username, created.body.password), 'the password works for AUTH');

    const listed = await call(w.base, 'GET', '/api/v1/credentials', { key: w.adminKey });
    const entry = listed.body.credentials.find((c: { id: string }) => c.id === created.body.id);
    assert.deepEqual(entry, { id: created.body.id, name: 'billing-app', kind: 'password', username: created.body.username, networks: [], created_at: created.body.created_at });
    assert.equal(JSON.stringify(listed.body).includes(created.body.password), false);

    const again = await call(w.base, 'POST', '/api/v1/credentials', { key: w.adminKey, body: { name: 'billing-app' } });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.field, 'name');
    const bad = await call(w.base, 'POST', '/api/v1/credentials', { key: w.adminKey, body: { name: 'no spaces please' } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.field, 'name');
    const network = await call(w.base, 'POST', '/api/v1/credentials', { key: w.adminKey, body: { name: 'relay', networks: ['0.0.0.0/0'] } });
    assert.equal(network.status, 400, 'no network credentials over the API');
    assert.equal(network.body.error.field, 'networks');

    assert.equal((await call(w.base, 'DELETE', '/api/v1/credentials/billing-app', { key: w.adminKey })).status, 204);
    assert.equal(await w.herald.credentials.verifyPassword(created.body.username, created.body.password), null);
    assert.equal((await call(w.base, 'DELETE', '/api/v1/credentials/billing-app', { key: w.adminKey })).status, 404);
  });

  test('admin scope only; another account neither sees nor revokes them', async () => {
    assert.equal((await call(w.base, 'GET', '/api/v1/credentials', { key: readKey })).status, 403);
    const mine = await call(w.base, 'POST', '/api/v1/credentials', { key: w.adminKey, body: { name: 'mine' } });
    const other = await w.herald.accounts.create({ name: 'cred-other' });
    const otherKey = (await w.herald.accounts.createApiKey({ accountId: other.id, name: 'admin', scope: 'admin' })).key;
    assert.deepEqual((await call(w.base, 'GET', '/api/v1/credentials', { key: otherKey })).body, { credentials: [] });
    assert.equal((await call(w.base, 'DELETE', `/api/v1/credentials/mine`, { key: otherKey })).status, 404);
    assert.equal((await call(w.base, 'DELETE', `/api/v1/credentials/${mine.body.id}`, { key: otherKey })).status, 404, 'not by id either');
    assert.ok(await w.herald.credentials.verifyPassword(mine.body.username, mine.body.password));
  });
});
