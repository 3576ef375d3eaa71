import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { SqlDestinationSlots } from './index.js';

const at = (ms: number) => new Date(ms);
const TTL = 60_000;
const sorted = (slots: (number | null)[]) => slots.filter((s) => s !== null).sort((a, b) => a - b);

describeEachBackend('destination slots', ({ fresh, another }) => {
  test('nodes racing on their own connections never hold more than the limit together', async () => {
    const db = await fresh();
    await SqlDestinationSlots.open(db);
    const nodes = await Promise.all(['a', 'b', 'c', 'd'].map(async () => SqlDestinationSlots.open(await another(db))));
    // Every node asks three times at once: twelve requests for two slots.
    const asks = nodes.flatMap((slots, i) => [0, 1, 2].map(() => slots.acquire('busy.example', 2, `node-${i}`, at(1_000), TTL)));
    assert.deepEqual(sorted(await Promise.all(asks)), [0, 1]);
    assert.equal(await nodes[0].acquire('busy.example', 2, 'node-0', at(1_000), TTL), null, 'still full');
    assert.equal(await nodes[0].acquire('other.example', 2, 'node-0', at(1_000), TTL), 0, 'another domain has its own slots');
  });

  test('one node asking for every slot at once gets every slot', async () => {
    const slots = await SqlDestinationSlots.open(await fresh());
    const got = await Promise.all([0, 1, 2].map(() => slots.acquire('one.example', 3, 'node-a', at(0), TTL)));
    assert.deepEqual(sorted(got), [0, 1, 2]);
    assert.equal(await slots.acquire('one.example', 3, 'node-a', at(0), TTL), null, 'the limit holds');
  });

  test('two nodes asking at once fill exactly the limit between them', async () => {
    const db = await fresh();
    const a = await SqlDestinationSlots.open(db);
    const b = await SqlDestinationSlots.open(await another(db));
    for (let round = 0; round < 10; round++) {
      const domain = `round${round}.example`;
      const asks = [a, b].flatMap((slots, i) => [0, 1, 2].map(() => slots.acquire(domain, 3, `node-${i}`, at(0), TTL)));
      assert.deepEqual(sorted(await Promise.all(asks)), [0, 1, 2], `round ${round}: every slot taken once, none left over`);
    }
  });

  test('releases at once give back every slot they name', async () => {
    const db = await fresh();
    const slots = await SqlDestinationSlots.open(db);
    const other = await SqlDestinationSlots.open(await another(db));
    for (let round = 0; round < 10; round++) {
      const got = sorted(await Promise.all([0, 1, 2].map(() => slots.acquire('cycle.example', 3, 'node-a', at(round), TTL))));
      assert.deepEqual(got, [0, 1, 2], `round ${round}: nothing left held by the releases before`);
      await Promise.all(got.map((slot) => slots.release('cycle.example', slot, 'node-a')));
    }
    const taken = await Promise.all([0, 1, 2].map(() => other.acquire('cycle.example', 3, 'node-b', at(10), TTL)));
    assert.deepEqual(sorted(taken), [0, 1, 2]);
  });

  test('a slot whose lease has expired is taken over; a live one is not', async () => {
    const db = await fresh();
    const a = await SqlDestinationSlots.open(db);
    const b = await SqlDestinationSlots.open(await another(db));
    assert.equal(await a.acquire('x.example', 2, 'dead-node', at(0), 10_000), 0);
    assert.equal(await a.acquire('x.example', 2, 'dead-node', at(5_000), 10_000), 1);
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(9_999), 10_000), null, 'both leases live');
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(10_000), 10_000), 0, 'the first lease ran out');
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(10_000), 10_000), null, 'the second is still live');
    // The dead node's late release cannot free the slot node-b took over, only its own live one.
    await a.release('x.example', 0, 'dead-node');
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(10_001), 10_000), null, 'slot 0 is node-b’s still');
    await a.release('x.example', 1, 'dead-node');
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(10_001), 10_000), 1);
    assert.equal(await b.acquire('x.example', 2, 'node-b', at(10_001), 10_000), null, 'node-b holds both now');
  });

  test('release frees the named slot of its owner only, releaseAll all of the owner’s', async () => {
    const db = await fresh();
    const a = await SqlDestinationSlots.open(db);
    const b = await SqlDestinationSlots.open(await another(db));
    for (const slot of [0, 1, 2]) assert.equal(await a.acquire('y.example', 3, 'node-a', at(0), TTL), slot);
    assert.equal(await a.acquire('z.example', 1, 'node-a', at(0), TTL), 0);
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(1), TTL), null);

    await a.release('y.example', 1, 'node-b'); // not node-b's to give back: nothing changes
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(1), TTL), null);
    await a.release('y.example', 1, 'node-a');
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(1), TTL), 1, 'the slot named came free');
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(1), TTL), null, 'only that one');

    await a.releaseAll('node-a');
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(2), TTL), 0);
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(2), TTL), 2);
    assert.equal(await b.acquire('y.example', 3, 'node-b', at(2), TTL), null, 'node-b’s slot survived node-a’s releaseAll');
    assert.equal(await b.acquire('z.example', 1, 'node-b', at(2), TTL), 0);
  });

  test('a lowered limit counts the slots still held above it', async () => {
    const db = await fresh();
    const slots = await SqlDestinationSlots.open(db);
    for (const slot of [0, 1, 2, 3]) assert.equal(await slots.acquire('w.example', 4, 'old-config', at(0), TTL), slot);
    for (const slot of [0, 1, 2]) await slots.release('w.example', slot, 'old-config');
    // One connection is left, numbered past the new limit: a limit of 2 allows one more.
    assert.equal(await slots.acquire('w.example', 2, 'new-config', at(1), TTL), 0);
    assert.equal(await slots.acquire('w.example', 2, 'new-config', at(1), TTL), null);
  });
});
