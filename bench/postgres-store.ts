// The PostgreSQL queue store on its own, without SMTP or HTTP: how fast 50 concurrent callers
// enqueue 2 KB messages (each call resolving after its synchronous commit), and how many
// claim + record cycles delivery workers get through. SqliteQueueStore (in-thread, WAL,
// synchronous=FULL) runs the same steps for comparison.
//
//   node --import tsx bench/postgres-store.ts [--messages 10000] [--workers 8]
//
// PostgreSQL: HERALD_TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test; the run
// uses a schema of its own and drops it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { newMessageId } from '../src/core/index.js';
import { PostgresQueueStore, SqliteQueueStore, type NewMessage, type QueueStore } from '../src/queue/index.js';
import { openSqlite } from '../src/storage/index.js';
import { postgresUnavailable, testSchema, TEST_DATABASE_URL } from '../test/support/postgres.js';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '10000' },
    callers: { type: 'string', default: '50' },
    workers: { type: 'string', default: '8' },
    limit: { type: 'string', default: '10' },
  },
});
const MESSAGES = Number(args.messages);
const CALLERS = Number(args.callers);
const WORKERS = Number(args.workers);
const LIMIT = Number(args.limit);
const BODY = Buffer.from(`Subject: bench\r\n\r\n${'x'.repeat(2048 - 20)}\r\n`);

function message(i: number): NewMessage {
  const now = Date.now();
  return {
    id: newMessageId(now),
    accountId: 'bench',
    source: 'api',
    mailFrom: 'sender@s.example',
    recipients: [`rcpt${i}@d${i % 100}.example`],
    body: BODY,
    createdAt: new Date(now),
    expiresAt: new Date(now + 86_400_000),
    meta: { subject: 'bench' },
  };
}

async function measure(name: string, store: QueueStore): Promise<void> {
  let next = 0;
  let commits = 0;
  store.onCommit((events) => (commits += events.length > 0 ? 1 : 0));
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < MESSAGES) await store.enqueue(message(next++));
    }),
  );
  const enqueueSeconds = (performance.now() - t0) / 1000;
  const enqueueCommits = commits;

  let batches = 0;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (;;) {
        const claimed = await store.claimDue({ owner: `worker-${w}`, now: new Date(), limit: LIMIT, leaseMs: 300_000 });
        if (claimed.length === 0) return;
        await Promise.all(
          claimed.map((batch) =>
            store.recordAttempt({
              batch,
              at: new Date(),
              results: batch.recipients.map((r) => ({ recipientId: r.id, state: 'delivered' as const, outcome: { kind: 'delivered' as const, host: 'mx', reply: { code: 250, text: 'ok' } } })),
            }),
          ),
        );
        batches += claimed.length;
      }
    }),
  );
  const deliverSeconds = (performance.now() - t1) / 1000;
  const counts = await store.countByState();
  if (counts.delivered !== MESSAGES) throw new Error(`${name}: ${counts.delivered} delivered of ${MESSAGES}`);
  console.log(
    `${name.padEnd(20)} enqueue ${Math.round(MESSAGES / enqueueSeconds)
      .toString()
      .padStart(6)} msg/s (${CALLERS} callers, ${(MESSAGES / enqueueCommits).toFixed(1)} per commit)   ` +
      `claim+record ${Math.round(batches / deliverSeconds)
        .toString()
        .padStart(6)} batches/s (${WORKERS} workers, limit ${LIMIT})`,
  );
}

console.log(`${MESSAGES} messages of ${BODY.length} bytes, one recipient each`);
if (await postgresUnavailable()) process.exit(1);
const schema = testSchema();
const pgStore = await PostgresQueueStore.open({ connection: { connectionString: TEST_DATABASE_URL, max: 10 }, schema: schema.name });
try {
  await measure('PostgresQueueStore', pgStore);
} finally {
  await pgStore.close();
  await schema.drop();
}

const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
const sqliteStore = new SqliteQueueStore(openSqlite(join(dir, 'herald.db')));
try {
  await measure('SqliteQueueStore', sqliteStore);
} finally {
  await sqliteStore.close();
  rmSync(dir, { recursive: true, force: true });
}
