import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newMessageId, silentLogger, type MessageId } from '../core/index.js';
import { openSqlite } from '../storage/index.js';
import { startRetention, type Retention, type RetentionOptions } from './retention.js';
import { SqliteQueueStore } from './sqlite-queue-store.js';
import type { QueueStore } from './types.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2030, 0, 1);

/** A store on a fresh file, a clock the test moves, and `count` messages delivered at T0 (two events each). */
async function world(t: TestContext, count = 1) {
  const dir = await mkdtemp(join(tmpdir(), 'herald-retention-'));
  const store = new SqliteQueueStore(openSqlite(join(dir, 'herald.db')));
  const retentions: Retention[] = [];
  t.after(async () => {
    for (const retention of retentions) await retention.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const clock = { time: T0, now: () => new Date(clock.time) };
  const ids: MessageId[] = [];
  for (let i = 0; i < count; i++) {
    const id = newMessageId(T0 + i);
    ids.push(id);
    await store.enqueue({ id, accountId: 'default', source: 'smtp', mailFrom: 'a@b.example', recipients: ['c@d.example'], body: Buffer.from('x\r\n'), createdAt: new Date(T0), expiresAt: new Date(T0 + DAY), meta: {} });
  }
  for (const batch of await store.claimDue({ owner: 'w', now: new Date(T0), limit: count, leaseMs: 60_000 })) {
    const outcome = { kind: 'delivered', host: 'mx.d.example', reply: { code: 250, text: 'ok' } } as const;
    await store.recordAttempt({ batch, at: new Date(T0), results: [{ recipientId: batch.recipients[0].id, state: 'delivered', outcome }] });
  }
  const retain = (over: Partial<RetentionOptions> & Pick<RetentionOptions, 'retentionMs' | 'eventRetentionMs'>, on: QueueStore = store) => {
    const retention = startRetention(on, { clock, logger: silentLogger, intervalMs: 3_600_000, ...over });
    retentions.push(retention);
    return retention;
  };
  return { store, clock, ids, retain };
}

test('finished messages go after HERALD_RETENTION, their events stay until HERALD_EVENT_RETENTION', async (t) => {
  const { store, clock, ids, retain } = await world(t);
  const [id] = ids;
  const retention = retain({ retentionMs: 30 * DAY, eventRetentionMs: 90 * DAY });
  clock.time = T0 + 29 * DAY;
  assert.equal(await retention.sweep(), 0, 'kept within the retention');
  assert.ok(await store.get(id));
  clock.time = T0 + 31 * DAY;
  assert.equal(await retention.sweep(), 1);
  assert.equal(await store.get(id), null);
  assert.deepEqual((await store.eventsOf(id, 10)).map((e) => e.type), ['accepted', 'delivered'], 'the timeline outlives the message');
  clock.time = T0 + 91 * DAY;
  assert.equal(await retention.sweep(), 2);
  assert.deepEqual(await store.eventsOf(id, 10), []);
});

test('events go after HERALD_EVENT_RETENTION while their message is kept', async (t) => {
  const { store, clock, ids, retain } = await world(t);
  const [id] = ids;
  const retention = retain({ retentionMs: 30 * DAY, eventRetentionMs: 7 * DAY });
  clock.time = T0 + 6 * DAY;
  assert.equal(await retention.sweep(), 0);
  clock.time = T0 + 8 * DAY;
  assert.equal(await retention.sweep(), 2);
  assert.deepEqual(await store.eventsOf(id, 10), [], 'a shorter timeline');
  assert.equal((await store.get(id))?.status, 'delivered', 'the message itself is still kept');
  clock.time = T0 + 31 * DAY;
  assert.equal(await retention.sweep(), 1);
  assert.equal(await store.get(id), null);
});

/** The store, with each purge call written down as it is made. */
function watchPurges(store: QueueStore, onCall: (method: 'purgeFinished' | 'purgeEvents') => void): QueueStore {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop !== 'purgeFinished' && prop !== 'purgeEvents') return typeof value === 'function' ? value.bind(target) : value;
      return (olderThan: Date, limit: number) => {
        onCall(prop);
        return target[prop](olderThan, limit);
      };
    },
  });
}

test('a sweep purges in batches until none are left, letting other work take its turn between them', async (t) => {
  const { store, clock, retain } = await world(t, 5);
  const calls: string[] = [];
  let turned = false;
  const watched = watchPurges(store, (method) => {
    calls.push(turned ? `${method} after a turn` : method);
    turned = false;
    setImmediate(() => (turned = true));
  });
  const retention = retain({ retentionMs: DAY, eventRetentionMs: DAY, batch: 4 }, watched);
  clock.time = T0 + 2 * DAY;
  // Called before the start timer can fire, so this is the first sweep.
  assert.equal(await retention.sweep(), 5 + 10);
  assert.deepEqual(calls.slice(0, 5), ['purgeFinished', 'purgeFinished after a turn', 'purgeEvents', 'purgeEvents after a turn', 'purgeEvents after a turn']);
  assert.deepEqual(await store.list({ limit: 10 }), []);
  assert.deepEqual(await store.readEvents(0, 100), []);
});

test('stop ends a sweep after the batch in hand', async (t) => {
  const { store, clock, retain } = await world(t, 5);
  let stopping: Promise<void> | undefined;
  const watched = watchPurges(store, () => {
    stopping ??= retention.stop();
  });
  const retention = retain({ retentionMs: DAY, eventRetentionMs: DAY, batch: 4 }, watched);
  clock.time = T0 + 2 * DAY;
  assert.equal(await retention.sweep(), 4);
  await stopping;
  assert.equal((await store.list({ limit: 10 })).length, 1);
  assert.equal((await store.readEvents(0, 100)).length, 10, 'no events removed after the stop');
});
