import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidIdempotencyKey, SqliteIdempotencyStore, startIdempotencyJanitor } from './sqlite-idempotency-store.js';
import { tempDatabase } from '../../test/support/sqlite.js';

const T0 = Date.parse('2025-03-01T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms);
const MIN = 60_000;
const HOUR = 3_600_000;

function setup(t: { after(fn: () => void): void }) {
  const database = tempDatabase(t, 'herald-idem-');
  let now = T0;
  const clock = { now: () => new Date(now), set: (ms: number) => (now = T0 + ms) };
  return { open: () => new SqliteIdempotencyStore(database(), { clock }), clock };
}

test('a new key runs once; a retry with the same request gets the stored answer', (t) => {
  const store = setup(t).open();
  assert.deepEqual(store.begin('acc', 'k1', 'h1', at(0)), { kind: 'new' });
  assert.deepEqual(store.begin('acc', 'k1', 'h1', at(1000)), { kind: 'in_progress' });
  assert.equal(store.complete('acc', 'k1', 202, '{"id":"m1"}'), true);
  assert.deepEqual(store.begin('acc', 'k1', 'h1', at(2000)), { kind: 'replay', status: 202, body: '{"id":"m1"}' });
  assert.deepEqual(store.begin('acc', 'k1', 'h1', at(23 * HOUR)), { kind: 'replay', status: 202, body: '{"id":"m1"}' });
});

test('the same key with a different request is a conflict, running or done', (t) => {
  const store = setup(t).open();
  store.begin('acc', 'k1', 'h1', at(0));
  assert.deepEqual(store.begin('acc', 'k1', 'h2', at(1000)), { kind: 'conflict' });
  store.complete('acc', 'k1', 400, '{"error":"bad"}');
  assert.deepEqual(store.begin('acc', 'k1', 'h2', at(2000)), { kind: 'conflict' });
  // Also once the pending request would count as abandoned: the key stays bound to its request.
  store.begin('acc', 'k2', 'h1', at(0));
  assert.deepEqual(store.begin('acc', 'k2', 'h2', at(11 * MIN)), { kind: 'conflict' });
});

test('keys are per account', (t) => {
  const store = setup(t).open();
  assert.deepEqual(store.begin('a', 'k', 'h1', at(0)), { kind: 'new' });
  assert.deepEqual(store.begin('b', 'k', 'h2', at(0)), { kind: 'new' });
  store.complete('a', 'k', 202, 'A');
  store.complete('b', 'k', 202, 'B');
  assert.deepEqual(store.begin('a', 'k', 'h1', at(1)), { kind: 'replay', status: 202, body: 'A' });
  assert.deepEqual(store.begin('b', 'k', 'h2', at(1)), { kind: 'replay', status: 202, body: 'B' });
});

test('an abandoned request frees its key for the retry; a completed one is not undone', (t) => {
  const store = setup(t).open();
  store.begin('acc', 'k', 'h1', at(0));
  assert.equal(store.abandon('acc', 'k'), true);
  assert.deepEqual(store.begin('acc', 'k', 'h2', at(1000)), { kind: 'new' }); // any request may use it now
  store.complete('acc', 'k', 202, 'ok');
  assert.equal(store.abandon('acc', 'k'), false);
  assert.deepEqual(store.begin('acc', 'k', 'h2', at(2000)), { kind: 'replay', status: 202, body: 'ok' });
});

test('a request pending for ten minutes is taken to be dead, and its retry takes the key over', (t) => {
  const store = setup(t).open();
  store.begin('acc', 'k', 'h1', at(0));
  assert.deepEqual(store.begin('acc', 'k', 'h1', at(10 * MIN - 1)), { kind: 'in_progress' });
  assert.deepEqual(store.begin('acc', 'k', 'h1', at(10 * MIN)), { kind: 'new' });
  // The takeover restarts the clock: a third attempt right after waits for the second.
  assert.deepEqual(store.begin('acc', 'k', 'h1', at(10 * MIN + 1)), { kind: 'in_progress' });
  assert.equal(store.complete('acc', 'k', 202, 'second'), true);
  // The first attempt finishing late changes nothing.
  assert.equal(store.complete('acc', 'k', 202, 'first'), false);
  assert.deepEqual(store.begin('acc', 'k', 'h1', at(11 * MIN)), { kind: 'replay', status: 202, body: 'second' });
});

test('two connections (two processes) racing on one key: exactly one runs', (t) => {
  const { open } = setup(t);
  const a = open();
  const b = open();
  assert.deepEqual(a.begin('acc', 'k', 'h1', at(0)), { kind: 'new' });
  assert.deepEqual(b.begin('acc', 'k', 'h1', at(0)), { kind: 'in_progress' });
  a.complete('acc', 'k', 201, 'x');
  assert.deepEqual(b.begin('acc', 'k', 'h1', at(1)), { kind: 'replay', status: 201, body: 'x' });
});

test('purge removes keys older than asked, but never one younger than 24 hours', (t) => {
  const { open, clock } = setup(t);
  const store = open();
  store.begin('acc', 'old', 'h', at(0));
  store.complete('acc', 'old', 202, 'x');
  store.begin('acc', 'stuck', 'h', at(1000)); // pending and never finished
  store.begin('acc', 'young', 'h', at(20 * HOUR));
  clock.set(25 * HOUR);
  // Asking for everything older than now still keeps the last 24 hours.
  assert.equal(store.purge(at(25 * HOUR)), 2);
  assert.deepEqual(store.begin('acc', 'old', 'other', at(25 * HOUR)), { kind: 'new' });
  assert.deepEqual(store.begin('acc', 'young', 'other', at(25 * HOUR)), { kind: 'conflict' });
  clock.set(50 * HOUR);
  assert.equal(store.purge(at(0)), 0); // nothing is older than asked
  assert.equal(store.purge(at(26 * HOUR)), 2);
});

test('keys are 1 to 255 visible ASCII characters', (t) => {
  const store = setup(t).open();
  assert.equal(isValidIdempotencyKey('a'), true);
  assert.equal(isValidIdempotencyKey('x'.repeat(255)), true);
  assert.equal(isValidIdempotencyKey('!~{}"'), true);
  for (const bad of ['', 'x'.repeat(256), 'has space', 'tab\t', 'é', 'nul\0']) {
    assert.equal(isValidIdempotencyKey(bad), false, JSON.stringify(bad));
    assert.throws(() => store.begin('acc', bad, 'h', at(0)), RangeError);
  }
  assert.throws(() => store.begin('acc', 'k', '', at(0)), RangeError);
});

test('the janitor sweeps keys past 24 hours and stops', (t) => {
  const { open, clock } = setup(t);
  const store = open();
  store.begin('acc', 'old', 'h', at(0));
  store.begin('acc', 'new', 'h', at(2 * HOUR));
  clock.set(25 * HOUR);
  // Stopped before its first timer fires: only the sweeps called below run.
  const janitor = startIdempotencyJanitor(store, { clock, intervalMs: HOUR });
  janitor.stop();
  assert.equal(janitor.sweep(), 1);
  assert.deepEqual(store.begin('acc', 'new', 'other', at(25 * HOUR)), { kind: 'conflict' });
  assert.equal(janitor.sweep(), 0);
});
