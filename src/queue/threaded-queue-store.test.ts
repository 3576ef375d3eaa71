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
