import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newMessageId, type EventType, type MailEvent, type Resolver } from '../core/index.js';
import { openSqlite, SqliteSqlDatabase } from '../storage/index.js';
import { SqliteQueueStore } from '../queue/index.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/support/webhook-receiver.js';
import { RETRY_SCHEDULE_MS, startWebhookDispatcher, type DispatcherOptions, type WebhookDispatcher } from './dispatcher.js';
import { SqlWebhookStore } from './sql-webhook-store.js';
import { createWebhook, updateWebhook, type WebhookInput } from './webhook-admin.js';

/**
 * The dispatcher against a real SQLite queue (its outbox is what is read) and real HTTP
 * receivers on 127.0.0.1 that verify every signature with the standardwebhooks library. Time is
 * an injected clock, moved by the test; the dispatcher is driven with runDue() — no sleeping.
 */

const noDns: Resolver = {
  resolve4: () => Promise.reject(Object.assign(new Error('no DNS in this test'), { code: 'ENOTFOUND' })),
  resolve6: () => Promise.reject(Object.assign(new Error('no DNS in this test'), { code: 'ENOTFOUND' })),
  resolveMx: () => Promise.reject(new Error('unused')),
  resolveTxt: () => Promise.reject(new Error('unused')),
  resolveCname: () => Promise.reject(new Error('unused')),
};

async function setup(t: TestContext, options: DispatcherOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-dispatch-'));
  const file = join(dir, 'herald.db');
  const db = openSqlite(file);
  const queue = new SqliteQueueStore(db);
  // Starts at the real time so signatures verify; the test moves it on.
  const clock = { ms: Date.now(), now: () => new Date(clock.ms) };
  const records = new SqliteSqlDatabase(db);
  const webhooks = await SqlWebhookStore.open(records, { clock });
  const receivers: WebhookReceiver[] = [];
  const dispatchers: WebhookDispatcher[] = [];
  /** Every label lookup, with the ids it asked about; `failing` makes them fail. */
  const lookups = { calls: [] as string[][], failing: false };
  const deps = {
    readEvents: (after: number, limit: number) => queue.readEvents(after, limit),
    messageMeta: async (ids: readonly string[]) => {
      lookups.calls.push([...ids]);
      if (lookups.failing) throw new Error('the queue store is busy');
      return queue.metaOf(ids);
    },
    resolver: noDns,
    config: { webhookAllowPrivate: 'true' },
    recordEvent: (event: MailEvent) => queue.recordEvent(event),
    clock,
  };
  const w = {
    db,
    queue,
    clock,
    lookups,
    webhooks,
    dispatcher: startWebhookDispatcher({ ...deps, store: webhooks, options: { pollMs: 0, timeoutMs: 2000, ...options } }),
    /** A second dispatcher on the same database, as after a restart. */
    async restart(more: DispatcherOptions = {}) {
      const store = await SqlWebhookStore.open(records, { clock });
      const d = startWebhookDispatcher({ ...deps, store, options: { pollMs: 0, timeoutMs: 2000, ...options, ...more } });
      dispatchers.push(d);
      return d;
    },
    async receiver() {
      const r = await startWebhookReceiver({ now: () => clock.ms });
      receivers.push(r);
      return r;
    },
    /** An endpoint made the way the API makes one; the receiver learns its secret. */
    async endpoint(receiver: WebhookReceiver, input: WebhookInput = {}, accountId = 'acct') {
      const created = await createWebhook({ store: webhooks, resolver: noDns, config: deps.config, readEvents: deps.readEvents }, accountId, { url: receiver.url(), ...input });
      receiver.secret = created.secret;
      return created.endpoint;
    },
    async message(accountId = 'acct', meta: Record<string, unknown> = { tags: ['receipt'], metadata: { order: '1234' }, stream: 'transactional' }) {
      const id = newMessageId(clock.ms);
      await queue.enqueue({
        id,
        accountId,
        source: 'api',
        mailFrom: 'shop@s.example',
        recipients: ['ann@a.example'],
        body: Buffer.from('Subject: x\r\n\r\nx\r\n'),
        createdAt: clock.now(),
        expiresAt: new Date(clock.ms + 86_400_000),
        meta,
      });
      return id;
    },
    async emit(type: EventType, messageId: string, data: Record<string, unknown> = {}, accountId = 'acct') {
      await queue.recordEvent({ type, messageId, accountId, recipient: 'ann@a.example', at: clock.now(), data });
      return (await queue.readEvents(0, 100_000)).at(-1)!.seq!;
    },
  };
  dispatchers.push(w.dispatcher);
  t.after(async () => {
    for (const d of dispatchers) await d.stop();
    for (const r of receivers) await r.close();
    await queue.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return w;
}

const types = (r: WebhookReceiver) => r.requests.map((q) => q.json.type as string);

test('events are POSTed signed, in order, only the account\'s and the subscribed types; history is not sent', async (t) => {
  const w = await setup(t);
  const old = await w.message();
  await w.emit('delivered', old);
  const all = await w.receiver();
  const bounces = await w.receiver();
  const allEndpoint = await w.endpoint(all);
  await w.endpoint(bounces, { events: ['message.bounced'] });
  assert.equal(allEndpoint.cursor, 2, 'a new endpoint starts after the newest event');

  const id = await w.message();
  await w.emit('deferred', id, { host: 'mx.a.example', reply: { code: 451, enhanced: '4.7.1', text: 'Greylisted' }, reason: 'greylisted', scope: 'recipient', attempt: 1, nextAttemptAt: '2030-01-01T00:00:00.000Z' });
  await w.emit('held', id);
  await w.emit('bounced', id, { host: 'mx.a.example', reply: { code: 550, enhanced: '5.1.1', text: 'User unknown' }, reason: 'rejected', scope: 'recipient', attempt: 2 });
  await w.emit('delivered', await w.message('other-account'), {}, 'other-account');
  await w.dispatcher.runDue();

  assert.deepEqual(types(all), ['message.accepted', 'message.deferred', 'message.bounced']);
  assert.deepEqual(types(bounces), ['message.bounced']);
  for (const req of [...all.requests, ...bounces.requests]) {
    assert.equal(req.verified, true, req.verified.toString());
    assert.equal(req.headers['content-type'], 'application/json');
    assert.match(req.headers['user-agent'], /^Herald-Webhooks\//);
    assert.equal(req.headers['webhook-id'], req.json.data.event_id);
    assert.equal(req.headers['webhook-timestamp'], String(Math.floor(w.clock.ms / 1000)));
  }
  const bounce = bounces.requests[0].json;
  assert.deepEqual(bounce, {
    type: 'message.bounced',
    timestamp: new Date(w.clock.ms).toISOString(),
    data: {
      event_id: w.webhooks.eventId(6),
      message_id: id,
      recipient: 'ann@a.example',
      tags: ['receipt'],
      metadata: { order: '1234' },
      stream: 'transactional',
      host: 'mx.a.example',
      reply: { code: 550, enhanced: '5.1.1', text: 'User unknown' },
      bounce: { type: 'hard', class: 'mailbox_unknown', diagnostic: 'User unknown' },
      attempt: 2,
    },
  });
  assert.equal(all.requests[2].headers['webhook-id'], bounces.requests[0].headers['webhook-id'], 'one event, one id, whichever endpoint');

  // Both cursors moved past everything, including what was not for them.
  for (const e of await w.webhooks.list('acct')) assert.equal(e.cursor, 8);
  const attempts = await w.webhooks.attempts(allEndpoint.id, { limit: 10 });
  assert.deepEqual(attempts.map((a) => [a.eventType, a.status, a.attempt, a.response]).reverse(), [
    ['message.accepted', 200, 1, 'ok'],
    ['message.deferred', 200, 1, 'ok'],
    ['message.bounced', 200, 1, 'ok'],
  ]);

  // Nothing new: nothing sent again.
  await w.dispatcher.runDue();
  assert.equal(all.requests.length, 3);
});

test('wake() after a commit delivers without a poll', async (t) => {
  const w = await setup(t, { wakeDelayMs: 1 });
  const r = await w.receiver();
  await w.endpoint(r);
  await w.emit('delivered', await w.message());
  w.dispatcher.wake();
  await r.waitFor(2);
  assert.deepEqual(types(r), ['message.accepted', 'message.delivered']);
});

test('a page of new messages costs one label lookup, shared by every endpoint; a failed lookup is asked again', async (t) => {
  const w = await setup(t);
  const a = await w.receiver();
  const b = await w.receiver();
  await w.endpoint(a);
  await w.endpoint(b, { events: ['message.delivered'] });
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push(await w.message('acct', { tags: [`t${i}`] }));
  for (const id of ids) await w.emit('delivered', id);
  w.lookups.calls.length = 0;
  await w.dispatcher.runDue();
  assert.equal(a.requests.length, 60);
  assert.equal(b.requests.length, 30);
  // Several in flight: they may arrive in any order.
  assert.deepEqual(new Set(b.requests.map((q) => `${q.json.data.message_id} ${q.json.data.tags}`)), new Set(ids.map((id, i) => `${id} t${i}`)));
  assert.deepEqual(w.lookups.calls, [ids]);

  // The lookup fails: nothing is sent, and the next run asks again.
  const late = [await w.message('acct', { tags: ['late'] })];
  await w.emit('delivered', late[0]);
  w.lookups.failing = true;
  await w.dispatcher.runDue();
  assert.deepEqual([a.requests.length, b.requests.length], [60, 30]);
  assert.ok(w.lookups.calls.length > 1);
  for (const call of w.lookups.calls.slice(1)) assert.deepEqual(call, late);
  const failedCalls = w.lookups.calls.length;
  w.lookups.failing = false;
  await w.dispatcher.runDue();
  assert.deepEqual([a.requests.length, b.requests.length], [62, 31]);
  assert.deepEqual(b.requests.at(-1)!.json.data.tags, ['late']);
  assert.deepEqual(w.lookups.calls.slice(failedCalls), [late]);
});

test('ordering: one at a time they arrive in outbox order; with several in flight each arrives once', async (t) => {
  const w = await setup(t, { maxInFlight: 1 });
  const r = await w.receiver();
  await w.endpoint(r, { events: ['message.delivered'] });
  const id = await w.message();
  const seqs: number[] = [];
  for (let i = 0; i < 25; i++) seqs.push(await w.emit('delivered', id, { attempt: i }));
  // Answers of varying speed must not reorder anything.
  r.answer = (_req, i) => ({ status: 200, delayMs: (i * 7) % 15 });
  await w.dispatcher.runDue();
  assert.deepEqual(r.requests.map((q) => q.json.data.attempt), Array.from({ length: 25 }, (_, i) => i));

  const w4 = await setup(t, { maxInFlight: 4 });
  const r4 = await w4.receiver();
  const e4 = await w4.endpoint(r4, { events: ['message.delivered'] });
  const id4 = await w4.message();
  for (let i = 0; i < 25; i++) await w4.emit('delivered', id4, { attempt: i });
  r4.answer = (_req, i) => ({ status: 200, delayMs: (i * 7) % 15 });
  await w4.dispatcher.runDue();
  assert.deepEqual(r4.requests.map((q) => q.json.data.attempt).sort((a, b) => a - b), Array.from({ length: 25 }, (_, i) => i));
  assert.ok(r4.mostInFlight <= 4, `at most 4 in flight, saw ${r4.mostInFlight}`);
  assert.ok(r4.mostInFlight > 1, 'several were in flight at once');
  assert.equal((await w4.webhooks.find(e4.id))!.cursor, (await w4.queue.readEvents(0, 1000)).at(-1)!.seq);
});

test('a failing event is retried on the schedule with the same webhook-id, holding back the events after it', async (t) => {
  const w = await setup(t, { maxInFlight: 1 });
  const r = await w.receiver();
  const endpoint = await w.endpoint(r, { events: ['message.delivered', 'message.bounced'] });
  const id = await w.message();
  const first = await w.emit('delivered', id);
  await w.emit('bounced', id, { reply: { code: 550, enhanced: '5.1.1', text: 'User unknown' } });
  await w.emit('delivered', id);
  let failures = 3;
  r.answer = () => (failures-- > 0 ? { status: 500, body: 'x'.repeat(2000) } : { status: 204 });

  const t0 = w.clock.ms;
  await w.dispatcher.runDue();
  // The first failed; it is retried alone before anything else goes.
  const probes = () => r.requests.filter((q) => q.headers['webhook-id'] === w.webhooks.eventId(first)).length;
  for (const [i, wait] of RETRY_SCHEDULE_MS.slice(0, 3).entries()) {
    const state = (await w.webhooks.find(endpoint.id))!;
    assert.deepEqual([state.retry?.seq, state.retry?.attempts, state.retry?.at.getTime()], [first, i + 1, w.clock.ms + wait]);
    assert.equal(state.cursor, first - 1);
    w.clock.ms += wait - 1;
    await w.dispatcher.runDue();
    assert.equal(probes(), i + 1, 'not before it is due');
    w.clock.ms += 1;
    await w.dispatcher.runDue();
  }
  assert.equal(probes(), 4);
  assert.equal(w.clock.ms - t0, 5_000 + 60_000 + 5 * 60_000);
  const ids = r.requests.map((q) => q.headers['webhook-id']);
  assert.deepEqual(ids.slice(0, 4), Array(4).fill(w.webhooks.eventId(first)), 'the same id on every retry');
  assert.deepEqual(types(r).slice(4), ['message.bounced', 'message.delivered'], 'the events held back follow, in order');
  for (const req of r.requests) assert.equal(req.verified, true);
  const state = (await w.webhooks.find(endpoint.id))!;
  assert.equal(state.retry, null);

  const log = (await w.webhooks.attempts(endpoint.id, { limit: 10 })).reverse();
  assert.deepEqual(
    log.map((a) => [a.attempt, a.status, a.error, a.nextRetryAt === null ? null : a.nextRetryAt.getTime() - a.at.getTime()]),
    [
      [1, 500, 'HTTP 500', 5_000],
      [2, 500, 'HTTP 500', 60_000],
      [3, 500, 'HTTP 500', 300_000],
      [4, 204, null, null],
      [1, 204, null, null],
      [1, 204, null, null],
    ],
  );
  assert.equal(Buffer.byteLength(log[0].response!), 500, 'the first 500 bytes of the answer are kept');

  // Several in flight: events after the failed one may already be through; they are not sent again.
  const w4 = await setup(t, { maxInFlight: 4 });
  const r4 = await w4.receiver();
  const e4 = await w4.endpoint(r4, { events: ['message.delivered'] });
  const id4 = await w4.message();
  const head = await w4.emit('delivered', id4, { attempt: 1 });
  await w4.emit('delivered', id4, { attempt: 2 });
  await w4.emit('delivered', id4, { attempt: 3 });
  let once = true;
  r4.answer = (req) => (req.headers['webhook-id'] === w4.webhooks.eventId(head) && once ? ((once = false), { status: 500 }) : { status: 200 });
  await w4.dispatcher.runDue();
  assert.equal(r4.requests.length, 3);
  assert.equal((await w4.webhooks.find(e4.id))!.cursor, head - 1);
  w4.clock.ms += RETRY_SCHEDULE_MS[0];
  await w4.dispatcher.runDue();
  assert.deepEqual(r4.requests.map((q) => q.json.data.attempt), [1, 2, 3, 1]);
  assert.equal((await w4.webhooks.find(e4.id))!.cursor, head + 2);
});

test('after the last retry the endpoint is disabled with webhook.disabled; enabling it again replays what it missed', async (t) => {
  const w = await setup(t);
  const failing = await w.receiver();
  const watcher = await w.receiver();
  const endpoint = await w.endpoint(failing, { events: ['message.delivered', 'webhook.disabled'] });
  await w.endpoint(watcher, { events: ['webhook.disabled'] });
  const id = await w.message();
  const missed = [await w.emit('delivered', id, { attempt: 1 })];
  failing.answer = () => ({ status: 503, body: 'down for maintenance' });

  const t0 = w.clock.ms;
  await w.dispatcher.runDue();
  for (const wait of RETRY_SCHEDULE_MS) {
    assert.equal((await w.webhooks.find(endpoint.id))!.enabled, true);
    w.clock.ms += wait;
    await w.dispatcher.runDue();
  }
  assert.equal(failing.requests.length, RETRY_SCHEDULE_MS.length + 1);
  assert.ok(w.clock.ms - t0 >= 24 * 3600_000, 'retries span at least a day');
  const off = (await w.webhooks.find(endpoint.id))!;
  assert.equal(off.enabled, false);
  assert.equal(off.disabledReason, '9 attempts over 27 h 36 min failed; the last: HTTP 503');
  assert.equal(off.cursor, missed[0] - 1);

  // webhook.disabled is in the outbox, and another endpoint of the account hears it.
  const disabled = (await w.queue.readEvents(0, 1000)).find((e) => e.type === 'webhook.disabled')!;
  assert.deepEqual(disabled.data, { webhookId: endpoint.id, url: endpoint.url, reason: off.disabledReason });
  await w.dispatcher.runDue();
  assert.deepEqual(watcher.requests.map((q) => [q.json.type, q.json.data.webhook_id, q.verified]), [['webhook.disabled', endpoint.id, true]]);

  // While disabled nothing is sent; events keep coming.
  missed.push(await w.emit('delivered', id, { attempt: 2 }), await w.emit('delivered', id, { attempt: 3 }));
  w.clock.ms += 3600_000;
  await w.dispatcher.runDue();
  assert.equal(failing.requests.length, 9);

  failing.answer = () => ({ status: 200 });
  const on = await updateWebhook({ store: w.webhooks, resolver: noDns, config: { webhookAllowPrivate: 'true' }, readEvents: (a, l) => w.queue.readEvents(a, l) }, 'acct', endpoint.id, { enabled: true });
  assert.deepEqual([on?.enabled, on?.disabledReason, on?.retry], [true, null, null]);
  await w.dispatcher.runDue();
  const replayed = failing.requests.slice(9);
  assert.deepEqual(
    replayed.map((q) => [q.json.type, q.headers['webhook-id']]),
    [
      ['message.delivered', w.webhooks.eventId(missed[0])],
      ['webhook.disabled', w.webhooks.eventId(disabled.seq!)],
      ['message.delivered', w.webhooks.eventId(missed[1])],
      ['message.delivered', w.webhooks.eventId(missed[2])],
    ],
  );
  for (const q of replayed) assert.equal(q.verified, true);
});

test('timeouts, redirects and refused connections are failures; a slow endpoint does not hold up the others', async (t) => {
  const w = await setup(t, { timeoutMs: 300 });
  const slow = await w.receiver();
  const fast = await w.receiver();
  const redirecting = await w.receiver();
  const slowEndpoint = await w.endpoint(slow);
  await w.endpoint(fast);
  const redirectEndpoint = await w.endpoint(redirecting);
  slow.answer = () => ({ status: 200, hang: true });
  redirecting.answer = () => ({ status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } });
  await w.emit('delivered', await w.message());

  const round = w.dispatcher.runDue();
  await fast.waitFor(2);
  assert.equal((await w.webhooks.find(slowEndpoint.id))!.retry, null, 'the slow endpoint is still waiting for its answer');
  await round;
  assert.equal(fast.requests.length, 2);
  assert.match((await w.webhooks.attempts(slowEndpoint.id, { limit: 1 }))[0].error!, /no answer within 0\.3 s/);
  const redirect = (await w.webhooks.attempts(redirectEndpoint.id, { limit: 1 }))[0];
  assert.equal(redirect.status, 302);
  assert.match(redirect.error!, /redirects are not followed \(to http:\/\/169\.254\.169\.254/);
  assert.equal(redirecting.requests.length, 2, 'accepted and delivered, each once: the redirect was not followed');
  assert.ok(redirecting.requests.every((q) => q.path === '/hook'));

  const gone = await w.receiver();
  const goneEndpoint = await w.endpoint(gone);
  await gone.close();
  await w.emit('delivered', await w.message());
  await w.dispatcher.runDue();
  assert.equal((await w.webhooks.attempts(goneEndpoint.id, { limit: 1 }))[0].error, 'connection refused');
  assert.equal((await w.webhooks.find(goneEndpoint.id))!.retry?.attempts, 1);
});

test('restart-safe: the cursor and the retry state survive; nothing delivered is sent again', async (t) => {
  const w = await setup(t);
  const r = await w.receiver();
  const endpoint = await w.endpoint(r, { events: ['message.delivered'] });
  const id = await w.message();
  await w.emit('delivered', id, { attempt: 1 });
  await w.dispatcher.runDue();
  assert.equal(r.requests.length, 1);
  await w.dispatcher.stop();

  const second = await w.emit('delivered', id, { attempt: 2 });
  r.answer = () => ({ status: 500 });
  const again = await w.restart();
  await again.runDue();
  assert.deepEqual(r.requests.map((q) => q.json.data.attempt), [1, 2]);
  await again.stop();

  // A third process: the retry is not due yet, then it is.
  r.answer = () => ({ status: 200 });
  const third = await w.restart();
  await third.runDue();
  assert.equal(r.requests.length, 2);
  w.clock.ms += RETRY_SCHEDULE_MS[0];
  await third.runDue();
  assert.deepEqual(r.requests.map((q) => q.json.data.attempt), [1, 2, 2]);
  assert.equal(r.requests[2].headers['webhook-id'], w.webhooks.eventId(second));
  assert.equal((await w.webhooks.find(endpoint.id))!.cursor, second);
});

test('after a secret rotation requests carry both signatures for a day', async (t) => {
  const w = await setup(t);
  const r = await w.receiver();
  const endpoint = await w.endpoint(r, { events: ['message.delivered'] });
  const oldSecret = r.secret!;
  const rotated = (await w.webhooks.rotateSecret('acct', endpoint.id))!;
  const id = await w.message();
  await w.emit('delivered', id);
  await w.dispatcher.runDue();
  assert.equal(r.requests[0].headers['webhook-signature'].split(' ').length, 2);
  assert.equal(r.requests[0].verified, true, 'the old secret still verifies');
  r.secret = rotated.secret;
  await w.emit('delivered', id);
  await w.dispatcher.runDue();
  assert.equal(r.requests[1].verified, true, 'so does the new one');

  r.secret = oldSecret;
  w.clock.ms += 24 * 3600_000;
  await w.emit('delivered', id);
  await w.dispatcher.runDue();
  assert.equal(r.requests[2].headers['webhook-signature'].split(' ').length, 1);
  assert.equal(r.requests[2].verified, 'No matching signature found');
});
