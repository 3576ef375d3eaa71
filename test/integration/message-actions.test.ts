/**
 * Operator actions over the API: retry, hold, release and cancel one message or many, against
 * Herald delivering to an SMTP sink; only the caller's account, only with the admin scope.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startApiWorld, type ApiWorld } from '../support/api.js';

describe('message actions', () => {
  let w: ApiWorld;
  let readKey: string;

  before(async () => {
    w = await startApiWorld();
    readKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'reader', scope: 'read' })).key;
  });
  after(() => w.close());

  /** A message scheduled an hour ahead: queued, untouched by delivery until acted on. */
  const scheduled = async (to = 'later@a.test'): Promise<string> => {
    const res = await call(w.base, 'POST', '/api/v1/messages', {
      key: w.adminKey,
      body: { from: 'ops@sender.test', to, subject: 'later', text: 'x', send_at: new Date(Date.now() + 3_600_000).toISOString() },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.id;
  };
  const act = (id: string, action: string, key = w.adminKey) => call(w.base, 'POST', `/api/v1/messages/${id}/${action}`, { key });

  test('hold pauses a message, release sends it now; retry sends a scheduled one now', async () => {
    const id = await scheduled();
    const held = await act(id, 'hold');
    assert.equal(held.status, 200, JSON.stringify(held.body));
    assert.deepEqual(held.body, { id, action: 'hold', recipients: 1, status: 'held' });

    const again = await act(id, 'hold');
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'conflict');
    assert.match(again.body.error.message, /no queued or deferred recipients to hold \(its status is held\)/);
    assert.equal((await act(id, 'retry')).status, 409, 'a held message is not retried');

    const released = await act(id, 'release');
    assert.equal(released.status, 200);
    assert.equal(released.body.recipients, 1);
    // Released means due now, ahead of its scheduled time.
    const [done] = await w.events.finished(id, 1);
    assert.equal(done.type, 'delivered');
    assert.equal((await act(id, 'release')).body.error.message, `message ${id} has no held recipients to release (its status is delivered)`);
    assert.equal((await act(id, 'cancel')).body.error.message, `message ${id} has no recipients waiting for delivery to cancel (its status is delivered)`);

    const later = await scheduled('retry@a.test');
    const retried = await act(later, 'retry');
    assert.equal(retried.status, 200);
    assert.equal(retried.body.recipients, 1);
    assert.equal((await w.events.finished(later, 1))[0].type, 'delivered');
  });

  test('cancel removes a waiting message: it is never delivered and its page is gone', async () => {
    const id = await scheduled('never@a.test');
    const cancelled = await act(id, 'cancel');
    assert.deepEqual(cancelled.body, { id, action: 'cancel', recipients: 1, status: null });
    assert.equal((await call(w.base, 'GET', `/api/v1/messages/${id}`, { key: w.adminKey })).status, 404);
    assert.equal((await act(id, 'cancel')).status, 404);
    const deleted = await w.events.waitFor((e) => e.messageId === id && e.type === 'deleted');
    assert.deepEqual(deleted.data.recipients, [{ address: 'never@a.test', state: 'queued' }]);
  });

  test('unknown ids, other accounts’ messages and read keys are refused, naming the problem', async () => {
    const missing = await act('01jz000000000000000000000a', 'hold');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.message, 'message 01jz000000000000000000000a was not found');
    assert.equal((await act('not-an-id', 'retry')).status, 404);

    const other = await w.herald.accounts.create({ name: 'actions-other' });
    await w.herald.domains.setDevelopmentMode(other.id, true);
    const otherKey = (await w.herald.accounts.createApiKey({ accountId: other.id, name: 'admin', scope: 'admin' })).key;
    const mine = await scheduled();
    assert.equal((await act(mine, 'hold', otherKey)).status, 404, 'another account’s message is not found');

    const viewer = await act(mine, 'hold', readKey);
    assert.equal(viewer.status, 403);
    assert.match(viewer.body.error.message, /"read" scope; this call needs "admin"/);
    assert.equal((await act(mine, 'cancel')).status, 200);
  });

  test('bulk: each message judged on its own, in order; at most 1000 ids', async () => {
    const [a, b] = [await scheduled('bulk1@a.test'), await scheduled('bulk2@b.test')];
    assert.equal((await act(b, 'hold')).status, 200);
    const res = await call(w.base, 'POST', '/api/v1/messages/actions', { key: w.adminKey, body: { action: 'hold', ids: [a, b, '01jz000000000000000000000a', a] } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.action, 'hold');
    assert.equal(res.body.succeeded, 2);
    assert.equal(res.body.failed, 2);
    assert.deepEqual(res.body.results[0], { id: a, ok: true, recipients: 1, status: 'held' });
    assert.equal(res.body.results[1].ok, false);
    assert.equal(res.body.results[1].error.code, 'conflict');
    assert.equal(res.body.results[2].error.code, 'not_found');
    assert.deepEqual(res.body.results[3], res.body.results[0], 'a repeated id is acted on once');

    const cancel = await call(w.base, 'POST', '/api/v1/messages/actions', { key: w.adminKey, body: { action: 'cancel', ids: [a, b] } });
    assert.equal(cancel.body.succeeded, 2);

    const bad = await call(w.base, 'POST', '/api/v1/messages/actions', { key: w.adminKey, body: { action: 'delete', ids: [a] } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'action');
    const many = await call(w.base, 'POST', '/api/v1/messages/actions', { key: w.adminKey, body: { action: 'retry', ids: Array.from({ length: 1001 }, () => a) } });
    assert.equal(many.status, 400);
    assert.equal(many.body.error.field, 'ids');
    assert.match(many.body.error.message, /1000/);
    const viewer = await call(w.base, 'POST', '/api/v1/messages/actions', { key: readKey, body: { action: 'retry', ids: [a] } });
    assert.equal(viewer.status, 403);
  });

  test('the actions are described in /openapi.json', async () => {
    const spec = (await call(w.base, 'GET', '/openapi.json')).body;
    for (const action of ['retry', 'hold', 'release', 'cancel']) assert.ok(spec.paths[`/api/v1/messages/{id}/${action}`]?.post, action);
    assert.ok(spec.paths['/api/v1/messages/actions'].post.requestBody);
  });
});
