import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { ATTEMPTS_PER_ENDPOINT, isWebhookId, PREVIOUS_SECRET_GRACE_MS, SqlWebhookStore, type NewAttempt } from './sql-webhook-store.js';

const T0 = Date.parse('2030-03-01T10:00:00Z');

const attempt = (endpointId: string, over: Partial<NewAttempt> = {}): NewAttempt => ({
  endpointId,
  eventId: 'evt_x_1',
  eventType: 'message.delivered',
  seq: 1,
  attempt: 1,
  at: new Date(T0),
  status: 200,
  error: null,
  latencyMs: 12.4,
  response: 'ok',
  nextRetryAt: null,
  ...over,
});

describeEachBackend('the webhook store', ({ engine, fresh, another }) => {
  const setup = async () => {
    const db = await fresh();
    const clock = { ms: T0, now: () => new Date(clock.ms) };
    return { store: await SqlWebhookStore.open(db, { clock }), clock, db };
  };

  test('create: an id, a Standard Webhooks secret shown once, the start cursor; scoped by account', async () => {
    const { store, clock } = await setup();
    const created = await store.create('acct', { url: 'https://h.example/hook', events: ['message.bounced'], description: 'bounces', cursor: 42 });
    assert.ok(isWebhookId(created.endpoint.id), created.endpoint.id);
    assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(created.secret.slice(6), 'base64').length, 32);
    assert.deepEqual(created.endpoint, {
      id: created.endpoint.id,
      accountId: 'acct',
      url: 'https://h.example/hook',
      events: ['message.bounced'],
      description: 'bounces',
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      cursor: 42,
      retry: null,
      version: 1,
      createdAt: new Date(T0),
      updatedAt: new Date(T0),
    });
    assert.equal(JSON.stringify(created.endpoint).includes(created.secret), false, 'the endpoint view never carries the secret');
    assert.deepEqual(await store.get('acct', created.endpoint.id), created.endpoint);
    assert.equal(await store.get('other', created.endpoint.id), null);
    assert.equal((await store.find(created.endpoint.id))?.accountId, 'acct');
    clock.ms += 1;
    const all = await store.create('acct', { url: 'https://h.example/all', events: null, description: null, cursor: 0 });
    assert.equal(all.endpoint.events, null);
    assert.deepEqual((await store.list('acct')).map((w) => w.id), [all.endpoint.id, created.endpoint.id]);
    assert.deepEqual(await store.list('other'), []);
    assert.equal(await store.count('acct'), 2);
    assert.equal((await store.list()).length, 2);
    assert.match(store.eventId(9), /^evt_[0-9a-f]{8}_9$/);

    const off = await store.create('acct', { url: 'https://h.example/off', events: null, description: null, enabled: false, cursor: 0 });
    assert.deepEqual([off.endpoint.enabled, off.endpoint.disabledReason, off.endpoint.disabledAt], [false, null, new Date(T0 + 1)]);
    assert.deepEqual((await store.enabledEndpoints()).map((w) => w.id).sort(), [all.endpoint.id, created.endpoint.id].sort());
  });

  test('the event id tag belongs to the installation: the same after reopening, and on another connection', async () => {
    const { db, store } = await setup();
    assert.equal((await SqlWebhookStore.open(db)).eventTag, store.eventTag);
    assert.equal((await SqlWebhookStore.open(await another(db))).eventTag, store.eventTag);
    const { store: elsewhere } = await setup();
    assert.notEqual(elsewhere.eventTag, store.eventTag);
  });

  test('update: fields left out stay; disabling records why; enabling again keeps the cursor and forgets the retry', async () => {
    const { store, clock } = await setup();
    const { endpoint } = await store.create('acct', { url: 'https://h.example/a', events: null, description: 'x', cursor: 10 });
    clock.ms += 1000;
    const changed = (await store.update('acct', endpoint.id, { events: ['message.delivered'] }))!;
    assert.deepEqual([changed.url, changed.description, changed.events, changed.version], ['https://h.example/a', 'x', ['message.delivered'], 2]);
    assert.equal(changed.updatedAt.getTime(), T0 + 1000);

    // The dispatcher's progress: a retry pending.
    const retry = { seq: 11, attempts: 3, at: new Date(T0 + 60_000), since: new Date(T0) };
    assert.equal(await store.saveProgress(endpoint.id, changed.version, { cursor: 10, retry }), true);
    assert.deepEqual((await store.get('acct', endpoint.id))!.retry, retry);
    // A result computed before a user's change is dropped.
    assert.equal(await store.saveProgress(endpoint.id, changed.version - 1, { cursor: 99, retry: null }), false);
    assert.equal((await store.get('acct', endpoint.id))!.cursor, 10);

    const off = (await store.update('acct', endpoint.id, { enabled: false }))!;
    assert.deepEqual([off.enabled, off.disabledReason, off.disabledAt?.getTime(), off.retry], [false, 'disabled by a user', T0 + 1000, null]);
    const on = (await store.update('acct', endpoint.id, { enabled: true }))!;
    assert.deepEqual([on.enabled, on.disabledReason, on.disabledAt, on.cursor], [true, null, null, 10]);

    // A new URL retries now.
    await store.saveProgress(endpoint.id, on.version, { cursor: 10, retry });
    const moved = (await store.update('acct', endpoint.id, { url: 'https://h.example/b' }))!;
    assert.equal(moved.retry, null);
    assert.equal(await store.update('other', endpoint.id, { enabled: false }), null);
  });

  test('disable by the dispatcher: only at the version it saw, only once', async () => {
    const { store } = await setup();
    const { endpoint } = await store.create('acct', { url: 'https://h.example/a', events: null, description: null, cursor: 5 });
    assert.equal(await store.disable(endpoint.id, endpoint.version + 1, 'stale', 7), false);
    assert.equal(await store.disable(endpoint.id, endpoint.version, '9 attempts failed', 7), true);
    assert.equal(await store.disable(endpoint.id, endpoint.version, 'again', 7), false);
    const off = (await store.get('acct', endpoint.id))!;
    assert.deepEqual([off.enabled, off.disabledReason, off.cursor], [false, '9 attempts failed', 7]);
    assert.deepEqual(await store.enabledEndpoints(), []);
  });

  test('rotating the secret: the new one is returned; the old one still signs for the grace period', async () => {
    const { store, clock } = await setup();
    const created = await store.create('acct', { url: 'https://h.example/a', events: null, description: null, cursor: 0 });
    assert.deepEqual(await store.signingSecrets(created.endpoint.id), [created.secret]);
    const rotated = (await store.rotateSecret('acct', created.endpoint.id))!;
    assert.notEqual(rotated.secret, created.secret);
    assert.deepEqual(await store.signingSecrets(created.endpoint.id), [rotated.secret, created.secret]);
    clock.ms += PREVIOUS_SECRET_GRACE_MS;
    assert.deepEqual(await store.signingSecrets(created.endpoint.id), [rotated.secret]);
    assert.equal(await store.rotateSecret('other', created.endpoint.id), null);
    assert.deepEqual(await store.signingSecrets('wh_nothing'), []);
  });

  test('attempts: newest first with paging; kept 30 days and at most 1000 per endpoint; deleted with the endpoint', async () => {
    const { store, clock } = await setup();
    const a = (await store.create('acct', { url: 'https://h.example/a', events: null, description: null, cursor: 0 })).endpoint;
    const b = (await store.create('acct', { url: 'https://h.example/b', events: null, description: null, cursor: 0 })).endpoint;
    await store.recordAttempt(attempt(a.id, { seq: 1, at: new Date(T0 - 31 * 86_400_000) }));
    // Written as the dispatcher writes them: many in one commit with its progress.
    const failures = Array.from({ length: ATTEMPTS_PER_ENDPOINT + 5 }, (_, i) => attempt(a.id, { seq: i + 2, status: 500, error: 'HTTP 500', nextRetryAt: new Date(T0 + 5000) }));
    assert.equal(await store.commitProgress(a.id, a.version, { cursor: 0, retry: null }, failures), true);
    await store.recordAttempt(attempt(b.id));
    const page = await store.attempts(a.id, { limit: 2 });
    assert.deepEqual(page.map((x) => x.seq), [ATTEMPTS_PER_ENDPOINT + 6, ATTEMPTS_PER_ENDPOINT + 5]);
    assert.deepEqual([page[0].status, page[0].error, page[0].latencyMs, page[0].nextRetryAt?.getTime()], [500, 'HTTP 500', 12, T0 + 5000]);
    assert.deepEqual((await store.attempts(a.id, { limit: 1, before: page[1].id })).map((x) => x.seq), [ATTEMPTS_PER_ENDPOINT + 4]);

    clock.ms += 1;
    assert.equal(await store.pruneAttempts(), 1 + 5);
    assert.equal((await store.attempts(a.id, { limit: 2000 })).length, ATTEMPTS_PER_ENDPOINT);
    assert.equal((await store.attempts(b.id, { limit: 10 })).length, 1);

    assert.equal(await store.delete('acct', a.id), true);
    assert.equal(await store.delete('acct', a.id), false);
    assert.deepEqual(await store.attempts(a.id, { limit: 10 }), []);
  });

  test('progress dropped for a stale version still keeps the attempts that came with it', async () => {
    const { store } = await setup();
    const { endpoint } = await store.create('acct', { url: 'https://h.example/a', events: null, description: null, cursor: 3 });
    await store.update('acct', endpoint.id, { description: 'changed meanwhile' });
    assert.equal(await store.commitProgress(endpoint.id, endpoint.version, { cursor: 9, retry: null }, [attempt(endpoint.id, { seq: 9 })]), false);
    assert.equal((await store.get('acct', endpoint.id))!.cursor, 3);
    assert.deepEqual((await store.attempts(endpoint.id, { limit: 10 })).map((a) => a.seq), [9]);
  });

  test('two connections changing one endpoint at once: both changes apply, one after the other', async () => {
    const { db, store: one, clock } = await setup();
    const two = await SqlWebhookStore.open(await another(db), { clock });
    const { endpoint } = await one.create('acct', { url: 'https://h.example/a', events: null, description: null, cursor: 0 });
    const first = () => one.update('acct', endpoint.id, { description: 'from one' });
    const second = () => two.update('acct', endpoint.id, { events: ['message.bounced'] });
    // Truly at once on PostgreSQL; on SQLite two connections of one process write in turn.
    if (engine === 'postgres') await Promise.all([first(), second()]);
    else await first().then(second);
    const after = (await one.get('acct', endpoint.id))!;
    assert.deepEqual([after.description, after.events, after.version], ['from one', ['message.bounced'], 3]);
  });
});
