// Herald's queue store on its own, without SMTP: `writers` loops each enqueue a message, wait
// for its durable commit (the moment Herald would answer 250) and enqueue the next, as the
// sessions of an accept run do. The store is the one Herald runs (ThreadedQueueStore: SQLite on
// its writer thread, group commit), on a fresh database in the temporary directory where the
// servers' queues live. Nothing else runs, so its rate bounds Herald's durable accept rate.
//
//   node --import tsx bench/queue-store.ts SIZE WRITERS COUNT   prints {"seconds":…,"cpuSeconds":…}
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newMessageId } from '../src/core/index.js';
import { ThreadedQueueStore, type NewMessage } from '../src/queue/index.js';

const [size, writers, count] = process.argv.slice(2).map(Number);
if (!size || !writers || !count) {
  console.error('usage: bench/queue-store.ts SIZE WRITERS COUNT');
  process.exit(2);
}

// What an accepted 1-recipient message looks like by the time it reaches the store.
const header = 'Received: from client.example ([127.0.0.1]) by herald.bench.test with ESMTP; Sun, 29 Nov 2026 12:00:00 +0000\r\nFrom: sender@client.example\r\nTo: rcpt@dest.example\r\nSubject: bench\r\nMessage-ID: <bench@client.example>\r\n\r\n';
const body = Buffer.from(header + 'x'.repeat(Math.max(0, size - header.length - 2)) + '\r\n');
const message = (): NewMessage => {
  const now = new Date();
  return {
    id: newMessageId(),
    accountId: 'default',
    source: 'smtp',
    mailFrom: 'sender@client.example',
    recipients: ['rcpt@dest.example'],
    body,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 5 * 86_400_000),
    meta: { clientIp: '127.0.0.1', helo: 'client.example', credential: 'local', messageIdHeader: '<bench@client.example>', subject: 'bench' },
  };
};

const dir = mkdtempSync(join(tmpdir(), 'herald-bench-store-'));
const store = await ThreadedQueueStore.open(join(dir, 'herald.db'));
const run = async (total: number) => {
  let left = total;
  const writer = async () => {
    while (left > 0) {
      left--;
      await store.enqueue(message());
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
};
try {
  // Untimed warm-up, as before every accept run.
  await run(Math.min(1000, Math.ceil(count / 5)));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await run(count);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
