import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newMessageId, silentLogger } from '../core/index.js';
import { openSqlite } from '../storage/index.js';
import { startRetention } from './retention.js';
import { SqliteQueueStore } from './sqlite-queue-store.js';

test('retention removes finished messages once they are older than HERALD_RETENTION', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-retention-'));
  const store = new SqliteQueueStore(openSqlite(join(dir, 'herald.db')));
  const DAY = 86_400_000;
  const t0 = Date.UTC(2030, 0, 1);
  let now = t0;
  const clock = { now: () => new Date(now) };
  const id = newMessageId(t0);
  await store.enqueue({ id, accountId: 'default', source: 'smtp', mailFrom: 'a@b.example', recipients: ['c@d.example'], body: Buffer.from('x\r\n'), createdAt: new Date(t0), expiresAt: new Date(t0 + DAY), meta: {} });
  const [batch] = await store.claimDue({ owner: 'w', now: new Date(t0), limit: 10, leaseMs: 60_000 });
  await store.recordAttempt({ batch, at: new Date(t0), results: [{ recipientId: batch.recipients[0].id, state: 'delivered', outcome: { kind: 'delivered', host: 'mx.d.example', reply: { code: 250, text: 'ok' } } }] });

  const retention = startRetention(store, { retentionMs: 30 * DAY, clock, logger: silentLogger, intervalMs: 3_600_000 });
  try {
    now = t0 + 29 * DAY;
    assert.equal(await retention.sweep(), 0, 'kept within the retention');
    assert.ok(await store.get(id));
    now = t0 + 31 * DAY;
    assert.equal(await retention.sweep(), 1);
    assert.equal(await store.get(id), null);
  } finally {
    await retention.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
