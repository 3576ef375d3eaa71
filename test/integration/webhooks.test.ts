/**
 * Webhooks end to end: endpoints managed over the API, mail sent through Herald and delivered
 * (or bounced) by SMTP sinks, and its events arriving signed at a receiver on loopback that
 * verifies them with the standardwebhooks library — the same events, with the same ids, the pull
 * API serves. HERALD_WEBHOOK_ALLOW_PRIVATE=true lets the receiver be on 127.0.0.1; a second
 * Herald without it refuses internal URLs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlWebhookStore } from '../../src/notify/index.js';
import { call, startApiWorld, type ApiWorld } from '../support/api.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/** The running Herald's webhook store (wired by the composition root). */
const webhooksOf = (herald: TestHerald) => (herald as TestHerald & { webhooks: SqlWebhookStore }).webhooks;

describe('webhooks', () => {
  let w: ApiWorld;
  let receiver: WebhookReceiver;
  let sendKey: string;
  let readKey: string;
  const admin = (method: string, path: string, body?: unknown) => call(w.base, method, `/api/v1${path}`, { key: w.adminKey, body });

  before(async () => {
    w = await startApiWorld({ HERALD_WEBHOOK_ALLOW_PRIVATE: 'true' });
    receiver = await startWebhookReceiver();
    sendKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'app', scope: 'send' })).key;
    readKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'reader', scope: 'read' })).key;
  });
  after(async () => {
    await receiver.close();
    await w.close();
  });

  test('create, read, change, rotate and delete an endpoint; the secret is shown only on create and rotate', async () => {
    const created = await admin('POST', '/webhooks', { url: receiver.url('/crud'), events: ['message.bounced'], description: 'bounces' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.id, /^wh_/);
    assert.match(created.body.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.deepEqual([created.body.events, created.body.status, created.body.enabled], [['message.bounced'], 'active', true]);
    assert.ok(await webhooksOf(w.herald).get('default', created.body.id), 'stored');

    const shown = await admin('GET', `/webhooks/${created.body.id}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.secret, undefined);
    const listed = await admin('GET', '/webhooks');
    assert.ok(listed.body.webhooks.some((x: { id: string }) => x.id === created.body.id));
    assert.ok(listed.body.webhooks.every((x: { secret?: string }) => x.secret === undefined));

    const changed = await admin('PATCH', `/webhooks/${created.body.id}`, { events: ['*'], enabled: false });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.deepEqual([changed.body.events, changed.body.status, changed.body.disabled_reason], [['*'], 'disabled', 'disabled by a user']);
    assert.equal((await admin('PATCH', `/webhooks/${created.body.id}`, { enabled: true })).body.status, 'active');

    const rotated = await admin('POST', `/webhooks/${created.body.id}/rotate-secret`);
    assert.equal(rotated.status, 200);
    assert.match(rotated.body.secret, /^whsec_/);
    assert.notEqual(rotated.body.secret, created.body.secret);

    assert.equal((await admin('DELETE', `/webhooks/${created.body.id}`)).status, 204);
    assert.equal((await admin('GET', `/webhooks/${created.body.id}`)).status, 404);
    assert.equal((await admin('DELETE', `/webhooks/${created.body.id}`)).status, 404);
  });

  test('what is refused: unknown fields (400), unknown event types (422 naming the item), scopes', async () => {
    const typo = await admin('POST', '/webhooks', { url: receiver.url(), event: ['message.bounced'] });
    assert.equal(typo.status, 400);
    assert.equal(typo.body.error.field, 'event');
    const missing = await admin('POST', '/webhooks', { events: ['*'] });
    assert.deepEqual([missing.status, missing.body.error.field], [400, 'url']);
    const badType = await admin('POST', '/webhooks', { url: receiver.url(), events: ['message.bounced', 'delivered'] });
    assert.equal(badType.status, 422);
    assert.equal(badType.body.error.field, 'events[1]');
    assert.match(badType.body.error.message, /"delivered" is not an event type; use one of: message\.accepted/);
    assert.equal((await admin('PATCH', '/webhooks/wh_nothing', { enabled: true })).status, 404);
    assert.equal((await admin('PATCH', '/webhooks/wh_nothing', {})).status, 400, 'an empty change is a mistake');

    assert.equal((await call(w.base, 'POST', '/api/v1/webhooks', { key: readKey, body: { url: receiver.url() } })).status, 403);
    assert.equal((await call(w.base, 'GET', '/api/v1/webhooks', { key: readKey })).status, 403);
    assert.equal((await call(w.base, 'GET', '/api/v1/events', { key: sendKey })).status, 403);
    const badFilter = await call(w.base, 'GET', '/api/v1/events?type=message.nothing', { key: readKey });
    assert.deepEqual([badFilter.status, badFilter.body.error.field], [400, 'type']);
  });

  test('sent mail: accepted and delivered arrive signed with the message labels; a bounce is explained; the pull API has the same events', async () => {
    const created = await admin('POST', '/webhooks', { url: receiver.url('/events'), events: ['message.accepted', 'message.delivered', 'message.bounced'] });
    assert.equal(created.status, 201);
    receiver.secret = created.body.secret;
    const before = receiver.requests.length;

    w.a.setRecipientReply('nobody@a.test', { code: 550, text: '5.1.1 User unknown' });
    const sent = await call(w.base, 'POST', '/api/v1/messages', {
      key: sendKey,
      body: { from: 'shop@sender.test', to: ['ann@a.test', 'nobody@a.test'], subject: 'Receipt', text: 'Thanks', tags: ['receipt'], metadata: { order: '1234' } },
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    await w.events.finished(sent.body.id, 2);
    await receiver.waitFor(before + 3);
    const mine = receiver.requests.slice(before).filter((r) => r.json?.data?.message_id === sent.body.id);
    assert.equal(mine.length, 3);
    for (const r of mine) {
      assert.equal(r.verified, true, String(r.verified));
      assert.equal(r.path, '/events');
      assert.deepEqual([r.json.data.tags, r.json.data.metadata, r.json.data.stream], [['receipt'], { order: '1234' }, 'transactional']);
      assert.equal(r.headers['webhook-id'], r.json.data.event_id);
    }
    assert.equal(mine[0].json.type, 'message.accepted');
    assert.deepEqual(mine[0].json.data.recipients, ['ann@a.test', 'nobody@a.test']);
    const delivered = mine.find((r) => r.json.type === 'message.delivered')!;
    assert.equal(delivered.json.data.recipient, 'ann@a.test');
    assert.equal(delivered.json.data.reply.code, 250);
    const bounced = mine.find((r) => r.json.type === 'message.bounced')!;
    assert.equal(bounced.json.data.recipient, 'nobody@a.test');
    assert.deepEqual(bounced.json.data.bounce, { type: 'hard', class: 'mailbox_unknown', diagnostic: 'User unknown' });

    // The pull API: the same events, ids and bodies, in order, from a cursor.
    const pulled = await call(w.base, 'GET', `/api/v1/events?type=message.accepted,message.delivered,message.bounced&limit=1000`, { key: readKey });
    assert.equal(pulled.status, 200);
    const ofMessage = pulled.body.events.filter((e: { data: { message_id: string } }) => e.data.message_id === sent.body.id);
    assert.deepEqual(
      ofMessage.map((e: { data: { event_id: string } }) => e.data.event_id),
      mine.map((r) => r.json.data.event_id).sort((a, b) => Number(a.split('_').at(-1)) - Number(b.split('_').at(-1))),
    );
    assert.deepEqual(
      ofMessage.find((e: { type: string }) => e.type === 'message.bounced').data,
      bounced.json.data,
    );
    const cursors = pulled.body.events.map((e: { cursor: string }) => Number(e.cursor));
    assert.deepEqual(cursors, [...cursors].sort((a, b) => a - b));
    const next = await call(w.base, 'GET', `/api/v1/events?after=${pulled.body.next_cursor}`, { key: readKey });
    assert.equal(next.status, 200);
    assert.equal(next.body.has_more, false);
    const page = await call(w.base, 'GET', '/api/v1/events?limit=1', { key: readKey });
    assert.deepEqual([page.body.events.length, page.body.has_more], [1, true]);

    // Another account sees none of it.
    const other = await w.herald.accounts.create({ name: 'other' });
    const otherKey = (await w.herald.accounts.createApiKey({ accountId: other.id, name: 'r', scope: 'read' })).key;
    const theirs = await call(w.base, 'GET', '/api/v1/events', { key: otherKey });
    assert.deepEqual(theirs.body.events, []);
    assert.equal((await call(w.base, 'GET', `/api/v1/webhooks/${created.body.id}/attempts`, { key: otherKey })).status, 404);

    // The attempts log.
    const attempts = await call(w.base, 'GET', `/api/v1/webhooks/${created.body.id}/attempts`, { key: readKey });
    assert.equal(attempts.status, 200);
    assert.ok(attempts.body.attempts.length >= 3);
    assert.ok(attempts.body.attempts.every((a: { status: number; error: null }) => a.status === 200 && a.error === null));
    await admin('DELETE', `/webhooks/${created.body.id}`);
  });

  test('the test event is signed and reports what the endpoint answered', async () => {
    const created = await admin('POST', '/webhooks', { url: receiver.url('/ping') });
    receiver.secret = created.body.secret;
    const ok = await admin('POST', `/webhooks/${created.body.id}/test`);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual([ok.body.ok, ok.body.status, ok.body.response], [true, 200, 'ok']);
    const ping = receiver.requests.find((r) => r.headers['webhook-id'] === ok.body.event_id)!;
    assert.equal(ping.verified, true);
    assert.deepEqual([ping.json.type, ping.json.data.webhook_id], ['webhook.test', created.body.id]);

    receiver.answer = () => ({ status: 410, body: 'gone' });
    const refused = await admin('POST', `/webhooks/${created.body.id}/test`);
    receiver.answer = () => ({ status: 200, body: 'ok' });
    assert.deepEqual([refused.body.ok, refused.body.status, refused.body.error, refused.body.response], [false, 410, 'HTTP 410', 'gone']);
    await admin('DELETE', `/webhooks/${created.body.id}`);
  });
});

describe('webhooks without HERALD_WEBHOOK_ALLOW_PRIVATE', () => {
  let herald: TestHerald;
  let base: string;
  before(async () => {
    herald = await startTestHerald();
    base = `http://127.0.0.1:${herald.port('http')}`;
  });
  after(() => herald.close());

  test('internal and plain-http URLs are refused with 422 naming url', async () => {
    const key = herald.bootstrapKey!.key;
    for (const [url, why] of [
      ['https://127.0.0.1/hook', /loopback/],
      ['https://2130706433/hook', /loopback/],
      ['https://[::ffff:169.254.169.254]/', /link-local/],
      ['https://10.0.0.8/', /private/],
      ['https://localhost:8443/', /loopback/],
      ['http://93.184.216.34/hook', /must use https/],
    ] as const) {
      const res = await call(base, 'POST', '/api/v1/webhooks', { key, body: { url } });
      assert.equal(res.status, 422, `${url}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.field, 'url');
      assert.match(res.body.error.message, why);
    }
    assert.deepEqual(await webhooksOf(herald).list('default'), []);
  });
});
