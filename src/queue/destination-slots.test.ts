import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { SqlDestinationSlots } from './index.js';

const at = (ms: number) => new Date(ms);
const TTL = 60_000;

describeEachBackend('destination slots', ({ fresh, another }) => {
  test('nodes racing on their own connections never hold more than the limit together', async () => {
    const db = await fresh();
    await SqlDestinationSlots.open(db);
    const nodes = await Promise.all(['a', 'b', 'c', 'd'].map(async () => SqlDestinationSlots.open(await another(db))));
    // Every node asks three times at once: twelve requests for two slots.
    const asks = nodes.flatMap((slots, i) => [0, 1, 2].map(() => slots.acquire('busy.example', 2, `node-${i}`, at(1_000), TTL)));
    const got = await Promise.all(asks);
    assert.equal(got.filter(Boolean).length, 2);
    assert.equal(await nodes[0].acquire('busy.example', 2, 'node-0', at(1_000), TTL), false, 'still full');
    assert.equal(await nodes[0].acquire('other.example', 2, 'node-0', at(1_000), TTL), true, 'another domain has its own slots');
  });

  test('a slot whose lease has expired is taken over; a live one is not', async () => {
    const db = await fresh();
    const a = await SqlDestinationSlots.open(db);
    const b = await SqlDestinationSlots.open(await another(db));
    assert.equal(await a.acquire('x.example', 2, 'dead-node', at(0), 10_000), true);
    assert.equal(await a.acquire('x.example', 2, 'dead-node', at(5_000), 10_000), true);
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(9_999), 10_000), false, 'both leases live');
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(10_000), 10_000), true, 'the first lease ran out');
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(10_000), 10_000), false, 'the second is still live');
    // The dead node's late release cannot free the slot node-b took over, only its own live one.
    await a.release('x.example', 'dead-node');
    await a.release('x.example', 'dead-node');
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(10_001), 10_000), true);
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(10_001), 10_000), false, 'node-b holds both now');
  });

  test('release frees one of the owner’s slots, releaseAll all of them and only theirs', async () => {
    const db = await fresh();
    const a = await SqlDestinationSlots.open(db);
    const b = await SqlDestinationSlots.open(await another(db));
    for (let i = 0; i < 3; i++) assert.equal(await a.acquire('y.example', 3, 'node-a', at(0), TTL), true);
    assert.equal(await a.acquire('z.example', 1, 'node-a', at(0), TTL), true);
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(1), TTL), false);

    await a.release('y.example', 'node-b'); // not node-b's to give back: nothing changes
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(1), TTL), false);
    await a.release('y.example', 'node-a');
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(1), TTL), true, 'one slot came free');
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(1), TTL), false, 'only one');

    await a.releaseAll('node-a');
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(2), TTL), true);
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(2), TTL), true);
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(2), TTL), false, 'node-b’s slots survived node-a’s releaseAll');
    assert.equal(await b.acquire('z.example', 1, 'node-b', at(2), TTL), true);
  });

  test('a lowered limit counts the slots still held above it', async () => {
    const db = await fresh();
    const slots = await SqlDestinationSlots.open(db);
    for (let i = 0; i < 4; i++) assert.equal(await slots.acquire('w.example', 4, 'old-config', at(0), TTL), true);
    await slots.release('w.example', 'old-config');
    await slots.release('w.example', 'old-config');
    await slots.release('w.example', 'old-config');
    // One connection is left, wherever its number: a limit of 2 allows one more.
    assert.equal(await slots.acquire('w.example', 2, 'new-config', at(1), TTL), true);
    assert.equal(await slots.acquire('w.example', 2, 'new-config', at(1), TTL), false);
  });
});
