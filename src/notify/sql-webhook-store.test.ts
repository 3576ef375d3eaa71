import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../storage/index.js';
import { ATTEMPTS_PER_ENDPOINT, isWebhookId, PREVIOUS_SECRET_GRACE_MS, SqliteWebhookStore, type NewAttempt } from './sqlite-webhook-store.js';

const T0 = Date.parse('2030-03-01T10:00:00Z');

function setup(t: { after(fn: () => void): void }, db: SqliteDatabase = openSqlite(':memory:')) {
  t.after(() => db.close());
  const clock = { ms: T0, now: () => new Date(clock.ms) };
  return { store: new SqliteWebhookStore(db, { clock }), clock, db };
}

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

test('create: an id, a Standard Webhooks secret shown once, the start cursor; scoped by account', (t) => {
  const { store, clock } = setup(t);
  const created = store.create('acct', { url: 'https://h.example/hook', events: ['message.bounced'], description: 'bounces', cursor: 42 });
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
  assert.deepEqual(store.get('acct', created.endpoint.id), created.endpoint);
  assert.equal(store.get('other', created.endpoint.id), null);
  assert.equal(store.find(created.endpoint.id)?.accountId, 'acct');
  clock.ms += 1;
  const all = store.create('acct', { url: 'https://h.example/all', events: null, description: null, cursor: 0 });
  assert.equal(all.endpoint.events, null);
  assert.deepEqual(store.list('acct').map((w) => w.id), [all.endpoint.id, created.endpoint.id]);
  assert.deepEqual(store.list('other'), []);
  assert.equal(store.count('acct'), 2);
  assert.equal(store.list().length, 2);
  assert.match(store.eventId(9), /^evt_[0-9a-f]{8}_9$/);
});

test('the event id tag belongs to the installation: the same after reopening', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-webhooks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = openSqlite(join(dir, 'herald.db'));
  const tag = new SqliteWebhookStore(first).eventTag;
  first.close();
  const again = openSqlite(join(dir, 'herald.db'));
  t.after(() => again.close());
  assert.equal(new SqliteWebhookStore(again).eventTag, tag);
  const { store: elsewhere } = setup(t);
  assert.notEqual(elsewhere.eventTag, tag);
});

test('update: fields left out stay; disabling records why; enabling again keeps the cursor and forgets the retry', (t) => {
  const { store, clock } = setup(t);
  const { endpoint } = store.create('acct', { url: 'https://h.example/a', events: null, description: 'x', cursor: 10 });
  clock.ms += 1000;
  const changed = store.update('acct', endpoint.id, { events: ['message.delivered'] })!;
  assert.deepEqual([changed.url, changed.description, changed.events, changed.version], ['https://h.example/a', 'x', ['message.delivered'], 2]);
  assert.equal(changed.updatedAt.getTime(), T0 + 1000);

  // The dispatcher's progress: a retry pending.
  const retry = { seq: 11, attempts: 3, at: new Date(T0 + 60_000), since: new Date(T0) };
  assert.equal(store.saveProgress(endpoint.id, changed.version, { cursor: 10, retry }), true);
  assert.deepEqual(store.get('acct', endpoint.id)!.retry, retry);
  // A result computed before a user's change is dropped.
  assert.equal(store.saveProgress(endpoint.id, changed.version - 1, { cursor: 99, retry: null }), false);
  assert.equal(store.get('acct', endpoint.id)!.cursor, 10);

  const off = store.update('acct', endpoint.id, { enabled: false })!;
  assert.deepEqual([off.enabled, off.disabledReason, off.disabledAt?.getTime(), off.retry], [false, 'disabled by a user', T0 + 1000, null]);
  const on = store.update('acct', endpoint.id, { enabled: true })!;
  assert.deepEqual([on.enabled, on.disabledReason, on.disabledAt, on.cursor], [true, null, null, 10]);

  // A new URL retries now.
  store.saveProgress(endpoint.id, on.version, { cursor: 10, retry });
  const moved = store.update('acct', endpoint.id, { url: 'https://h.example/b' })!;
  assert.equal(moved.retry, null);
  assert.equal(store.update('other', endpoint.id, { enabled: false }), null);
});

test('disable by the dispatcher: only at the version it saw, only once', (t) => {
  const { store } = setup(t);
  const { endpoint } = store.create('acct', { url: 'https://h.example/a', events: null, description: null, cursor: 5 });
  assert.equal(store.disable(endpoint.id, endpoint.version + 1, 'stale', 7), false);
  assert.equal(store.disable(endpoint.id, endpoint.version, '9 attempts failed', 7), true);
  assert.equal(store.disable(endpoint.id, endpoint.version, 'again', 7), false);
  const off = store.get('acct', endpoint.id)!;
  assert.deepEqual([off.enabled, off.disabledReason, off.cursor], [false, '9 attempts failed', 7]);
  assert.deepEqual(store.enabledEndpoints(), []);
});

test('rotating the secret: the new one is returned; the old one still signs for the grace period', (t) => {
  const { store, clock } = setup(t);
  const created = store.create('acct', { url: 'https://h.example/a', events: null, description: null, cursor: 0 });
  assert.deepEqual(store.signingSecrets(created.endpoint.id), [created.secret]);
  const rotated = store.rotateSecret('acct', created.endpoint.id)!;
  assert.notEqual(rotated.secret, created.secret);
  assert.deepEqual(store.signingSecrets(created.endpoint.id), [rotated.secret, created.secret]);
  clock.ms += PREVIOUS_SECRET_GRACE_MS;
  assert.deepEqual(store.signingSecrets(created.endpoint.id), [rotated.secret]);
  assert.equal(store.rotateSecret('other', created.endpoint.id), null);
});

test('attempts: newest first with paging; kept 30 days and at most 1000 per endpoint; deleted with the endpoint', (t) => {
  const { store, clock } = setup(t);
  const a = store.create('acct', { url: 'https://h.example/a', events: null, description: null, cursor: 0 }).endpoint;
  const b = store.create('acct', { url: 'https://h.example/b', events: null, description: null, cursor: 0 }).endpoint;
  store.recordAttempt(attempt(a.id, { seq: 1, at: new Date(T0 - 31 * 86_400_000) }));
  for (let i = 0; i < ATTEMPTS_PER_ENDPOINT + 5; i++) store.recordAttempt(attempt(a.id, { seq: i + 2, status: 500, error: 'HTTP 500', nextRetryAt: new Date(T0 + 5000) }));
  store.recordAttempt(attempt(b.id));
  const page = store.attempts(a.id, { limit: 2 });
  assert.deepEqual(page.map((x) => x.seq), [ATTEMPTS_PER_ENDPOINT + 6, ATTEMPTS_PER_ENDPOINT + 5]);
  assert.deepEqual([page[0].status, page[0].error, page[0].latencyMs, page[0].nextRetryAt?.getTime()], [500, 'HTTP 500', 12, T0 + 5000]);
  assert.deepEqual(store.attempts(a.id, { limit: 1, before: page[1].id }).map((x) => x.seq), [ATTEMPTS_PER_ENDPOINT + 4]);

  clock.ms += 1;
  assert.equal(store.pruneAttempts(), 1 + 5);
  assert.equal(store.attempts(a.id, { limit: 2000 }).length, ATTEMPTS_PER_ENDPOINT);
  assert.equal(store.attempts(b.id, { limit: 10 }).length, 1);

  assert.equal(store.delete('acct', a.id), true);
  assert.equal(store.delete('acct', a.id), false);
  assert.deepEqual(store.attempts(a.id, { limit: 10 }), []);
});
