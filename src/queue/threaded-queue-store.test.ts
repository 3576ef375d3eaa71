import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newMessageId } from '../core/index.js';
import { runQueueStoreContract } from './queue-store-contract.js';
import { ThreadedQueueStore } from './threaded-queue-store.js';
import type { QueueStore } from './types.js';

// The same contract as the in-thread store: the writer thread must be invisible to callers.
runQueueStoreContract('ThreadedQueueStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-threaded-'));
  const file = join(dir, 'herald.db');
  const opened: QueueStore[] = [await ThreadedQueueStore.open(file)];
  return {
    store: opened[0],
    async openAnother() {
      const another = await ThreadedQueueStore.open(file);
      opened.push(another);
      return another;
    },
    async cleanup() {
      for (const s of opened) await s.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
});

test('calls after close are refused with a clear error, not left hanging', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-threaded-'));
  const store = await ThreadedQueueStore.open(join(dir, 'herald.db'));
  await store.close();
  const now = new Date();
  await assert.rejects(
    store.enqueue({ id: newMessageId(), accountId: 'default', source: 'api', mailFrom: 'a@b.example', recipients: ['c@d.example'], body: Buffer.from('x'), createdAt: now, expiresAt: now, meta: {} }),
    /queue writer thread exited/,
  );
  await rm(dir, { recursive: true, force: true });
});

test('a client attached from another port shares the store and hears every commit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-threaded-'));
  const owner = await ThreadedQueueStore.open(join(dir, 'herald.db'));
  const attached = await ThreadedQueueStore.attach(owner.connectPort());
  const heardByOwner: string[] = [];
  owner.onCommit((events) => heardByOwner.push(...events.map((e) => e.type)));
  const now = new Date();
  const id = newMessageId();
  await attached.enqueue({ id, accountId: 'default', source: 'api', mailFrom: 'a@b.example', recipients: ['c@d.example'], body: Buffer.from('x'), createdAt: now, expiresAt: new Date(now.getTime() + 60_000), meta: {} });
  assert.equal((await owner.get(id))?.id, id);
  // The owner's next answer comes after the commit event it heard.
  await owner.countByState();
  assert.deepEqual(heardByOwner, ['accepted']);
  await attached.close();
  assert.equal((await owner.get(id))?.id, id, 'closing an attached client leaves the store open');
  await owner.close();
  await rm(dir, { recursive: true, force: true });
});
