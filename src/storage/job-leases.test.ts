import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { runWhileLeased, SqlJobLeases } from './index.js';

describeEachBackend('job leases', ({ fresh, another }) => {
  test('one node holds a job until its lease expires or it lets go; then another takes it', async () => {
    const db = await fresh();
    let now = 1_000;
    const a = await SqlJobLeases.open(db, 'node-a', () => now);
    const b = await SqlJobLeases.open(await another(db), 'node-b', () => now);
    assert.equal(await a.hold('retention', 10_000), true);
    assert.equal(await b.hold('retention', 10_000), false, 'a holds it');
    assert.equal(await b.hold('stats', 10_000), true, 'another job is free');
    now += 5_000;
    assert.equal(await a.hold('retention', 10_000), true, 'a renews its own lease');
    now += 9_999;
    assert.equal(await b.hold('retention', 10_000), false, 'renewed: not yet expired');
    now += 1;
    assert.equal(await b.hold('retention', 10_000), true, 'a stopped renewing: b takes over');
    assert.equal(await a.hold('retention', 10_000), false);
    await b.releaseAll();
    assert.equal(await a.hold('retention', 10_000), true, 'released leases are free at once');
    assert.equal(await a.hold('stats', 10_000), true);
  });

  test('two nodes asking at the same moment: exactly one gets the job', async () => {
    const db = await fresh();
    const nodes = await Promise.all(['a', 'b', 'c'].map(async (n) => SqlJobLeases.open(await another(db), n, () => 5_000)));
    const got = await Promise.all(nodes.map((n) => n.hold('webhooks', 30_000)));
    assert.equal(got.filter(Boolean).length, 1);
  });
});

describeEachBackend('jobs that run while leased', ({ fresh, another }) => {
  test('a job runs on one node; when that node stops, the other starts it', async () => {
    const db = await fresh();
    const a = await SqlJobLeases.open(db, 'node-a');
    const b = await SqlJobLeases.open(await another(db), 'node-b');
    const started: string[] = [];
    let startedOnA!: () => void;
    const aStarted = new Promise<void>((resolve) => (startedOnA = resolve));
    let startedOnB!: () => void;
    const bStarted = new Promise<void>((resolve) => (startedOnB = resolve));
    const job = (node: string, onStart?: () => void) => () => {
      started.push(node);
      onStart?.();
      return { stop: () => void started.push(`${node} stopped`) };
    };
    const onA = runWhileLeased({ leases: a, job: 'dispatch', start: job('a', startedOnA), ttlMs: 600 });
    await aStarted;
    const onB = runWhileLeased({ leases: b, job: 'dispatch', start: job('b', startedOnB), ttlMs: 600 });
    await onB.checked();
    assert.equal(onB.current(), null, 'b waits while a holds the lease');
    await onA.stop();
    await a.releaseAll();
    await bStarted;
    assert.deepEqual(started, ['a', 'a stopped', 'b']);
    await onB.stop();
    assert.deepEqual(started, ['a', 'a stopped', 'b', 'b stopped']);
  });
});
