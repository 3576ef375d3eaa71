import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlDatabase } from '../storage/index.js';
import { isValidIdempotencyKey, SqlIdempotencyStore, startIdempotencyJanitor } from './sql-idempotency-store.js';
import { describeEachBackend } from '../../test/support/sql-backends.js';

const T0 = Date.parse('2025-03-01T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms);
const MIN = 60_000;
const HOUR = 3_600_000;

describeEachBackend('SqlIdempotencyStore', ({ engine, fresh, another }) => {
  async function setup() {
    const db = await fresh();
    let now = T0;
    const clock = { now: () => new Date(now), set: (ms: number) => (now = T0 + ms) };
    /** A store on `connection` (default: the first one). */
    return { db, open: (connection: SqlDatabase = db) => SqlIdempotencyStore.open(connection, { clock }), clock };
  }

  test('a new key runs once; a retry with the same request gets the stored answer', async () => {
    const store = await (await setup()).open();
    assert.deepEqual(await store.begin('acc', 'k1', 'h1', at(0)), { kind: 'new' });
    assert.deepEqual(await store.begin('acc', 'k1', 'h1', at(1000)), { kind: 'in_progress' });
    assert.equal(await store.complete('acc', 'k1', 202, '{"id":"m1"}'), true);
    assert.deepEqual(await store.begin('acc', 'k1', 'h1', at(2000)), { kind: 'replay', status: 202, body: '{"id":"m1"}' });
    assert.deepEqual(await store.begin('acc', 'k1', 'h1', at(23 * HOUR)), { kind: 'replay', status: 202, body: '{"id":"m1"}' });
  });

  test('the same key with a different request is a conflict, running or done', async () => {
    const store = await (await setup()).open();
    await store.begin('acc', 'k1', 'h1', at(0));
    assert.deepEqual(await store.begin('acc', 'k1', 'h2', at(1000)), { kind: 'conflict' });
    await store.complete('acc', 'k1', 400, '{"error":"bad"}');
    assert.deepEqual(await store.begin('acc', 'k1', 'h2', at(2000)), { kind: 'conflict' });
    // Also once the pending request would count as abandoned: the key stays bound to its request.
    await store.begin('acc', 'k2', 'h1', at(0));
    assert.deepEqual(await store.begin('acc', 'k2', 'h2', at(11 * MIN)), { kind: 'conflict' });
  });

  test('keys are per account', async () => {
    const store = await (await setup()).open();
    assert.deepEqual(await store.begin('a', 'k', 'h1', at(0)), { kind: 'new' });
    assert.deepEqual(await store.begin('b', 'k', 'h2', at(0)), { kind: 'new' });
    await store.complete('a', 'k', 202, 'A');
    await store.complete('b', 'k', 202, 'B');
    assert.deepEqual(await store.begin('a', 'k', 'h1', at(1)), { kind: 'replay', status: 202, body: 'A' });
    assert.deepEqual(await store.begin('b', 'k', 'h2', at(1)), { kind: 'replay', status: 202, body: 'B' });
  });

  test('an abandoned request frees its key for the retry; a completed one is not undone', async () => {
    const store = await (await setup()).open();
    await store.begin('acc', 'k', 'h1', at(0));
    assert.equal(await store.abandon('acc', 'k'), true);
    assert.deepEqual(await store.begin('acc', 'k', 'h2', at(1000)), { kind: 'new' }); // any request may use it now
    await store.complete('acc', 'k', 202, 'ok');
    assert.equal(await store.abandon('acc', 'k'), false);
    assert.deepEqual(await store.begin('acc', 'k', 'h2', at(2000)), { kind: 'replay', status: 202, body: 'ok' });
  });

  test('a request pending for ten minutes is taken to be dead, and its retry takes the key over', async () => {
    const store = await (await setup()).open();
    await store.begin('acc', 'k', 'h1', at(0));
    assert.deepEqual(await store.begin('acc', 'k', 'h1', at(10 * MIN - 1)), { kind: 'in_progress' });
    assert.deepEqual(await store.begin('acc', 'k', 'h1', at(10 * MIN)), { kind: 'new' });
    // The takeover restarts the clock: a third attempt right after waits for the second.
    assert.deepEqual(await store.begin('acc', 'k', 'h1', at(10 * MIN + 1)), { kind: 'in_progress' });
    assert.equal(await store.complete('acc', 'k', 202, 'second'), true);
    // The first attempt finishing late changes nothing.
    assert.equal(await store.complete('acc', 'k', 202, 'first'), false);
    assert.deepEqual(await store.begin('acc', 'k', 'h1', at(11 * MIN)), { kind: 'replay', status: 202, body: 'second' });
  });

  test('two connections (two processes) racing on one key: exactly one runs', async () => {
    const { db, open } = await setup();
    const a = await open();
    const b = await open(await another(db));
    assert.deepEqual(await a.begin('acc', 'k', 'h1', at(0)), { kind: 'new' });
    assert.deepEqual(await b.begin('acc', 'k', 'h1', at(0)), { kind: 'in_progress' });
    await a.complete('acc', 'k', 201, 'x');
    assert.deepEqual(await b.begin('acc', 'k', 'h1', at(1)), { kind: 'replay', status: 201, body: 'x' });
  });

  test('purge removes keys older than asked, but never one younger than 24 hours', async () => {
    const { open, clock } = await setup();
    const store = await open();
    await store.begin('acc', 'old', 'h', at(0));
    await store.complete('acc', 'old', 202, 'x');
    (await store.begin('acc', 'stuck', 'h', at(1000))); // pending and never finished
    await store.begin('acc', 'young', 'h', at(20 * HOUR));
    clock.set(25 * HOUR);
    // Asking for everything older than now still keeps the last 24 hours.
    assert.equal(await store.purge(at(25 * HOUR)), 2);
    assert.deepEqual(await store.begin('acc', 'old', 'other', at(25 * HOUR)), { kind: 'new' });
    assert.deepEqual(await store.begin('acc', 'young', 'other', at(25 * HOUR)), { kind: 'conflict' });
    clock.set(50 * HOUR);
    assert.equal(await store.purge(at(0)), 0); // nothing is older than asked
    assert.equal(await store.purge(at(26 * HOUR)), 2);
  });

  test('keys are 1 to 255 visible ASCII characters', async () => {
    const store = await (await setup()).open();
    assert.equal(isValidIdempotencyKey('a'), true);
    assert.equal(isValidIdempotencyKey('x'.repeat(255)), true);
    assert.equal(isValidIdempotencyKey('!~{}"'), true);
    for (const bad of ['', 'x'.repeat(256), 'has space', 'tab\t', 'é', 'nul\0']) {
      assert.equal(isValidIdempotencyKey(bad), false, JSON.stringify(bad));
      await assert.rejects(store.begin('acc', bad, 'h', at(0)), RangeError);
    }
    await assert.rejects(store.begin('acc', 'k', '', at(0)), RangeError);
  });

  test('the janitor sweeps keys past 24 hours and stops', async () => {
    const { open, clock } = await setup();
    const store = await open();
    await store.begin('acc', 'old', 'h', at(0));
    await store.begin('acc', 'new', 'h', at(2 * HOUR));
    clock.set(25 * HOUR);
    // Stopped before its first timer fires: only the sweeps called below run.
    const janitor = startIdempotencyJanitor(store, { clock, intervalMs: HOUR });
    await janitor.stop();
    assert.equal(await janitor.sweep(), 1);
    assert.deepEqual(await store.begin('acc', 'new', 'other', at(25 * HOUR)), { kind: 'conflict' });
    assert.equal(await janitor.sweep(), 0);
  });

  test('retries arriving at the same moment through several connections: exactly one runs, and one takes over a dead request', async () => {
    const { db, open } = await setup();
    // On PostgreSQL separate nodes; SQLite has one connection per process (two in one thread
    // would wait on each other's write lock), so there they share it.
    const stores = [await open(), await open(engine === 'postgres' ? await another(db) : db), await open(engine === 'postgres' ? await another(db) : db)];
    const begun = await Promise.all(stores.flatMap((store) => [store.begin('acc', 'k', 'h1', at(0)), store.begin('acc', 'k', 'h1', at(0))]));
    assert.deepEqual(begun.map((b) => b.kind).sort(), ['in_progress', 'in_progress', 'in_progress', 'in_progress', 'in_progress', 'new']);
    const takeovers = await Promise.all(stores.map((store) => store.begin('acc', 'k', 'h1', at(10 * MIN))));
    assert.deepEqual(takeovers.map((b) => b.kind).sort(), ['in_progress', 'in_progress', 'new']);
  });
});
