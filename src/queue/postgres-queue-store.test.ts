import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { newMessageId, type MailEvent } from '../core/index.js';
import { postgresUnavailable, testSchema, TEST_DATABASE_URL } from '../../test/support/postgres.js';
import { runQueueStoreContract, type QueueStoreFixture } from './queue-store-contract.js';
import { T0, twoRecipientMessage } from './store-test-fixtures.js';
import { PostgresQueueStore, type PostgresQueueStoreOptions } from './postgres-queue-store.js';
import { HOT_QUERIES, MIGRATIONS } from './postgres-schema.js';
import type { DeliveryBatch, NewMessage, QueueStore, RecipientResult } from './types.js';

/**
 * A store on a fresh schema of the test database (real PostgreSQL), dropped afterwards.
 * `sql` runs a statement in that schema on a connection of its own, as an operator would.
 */
async function openFixture(options: Partial<PostgresQueueStoreOptions> = {}): Promise<
  QueueStoreFixture & { store: PostgresQueueStore; openAnother(over?: Partial<PostgresQueueStoreOptions>): Promise<PostgresQueueStore>; sql<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> }
> {
  const schema = testSchema();
  const open = (over: Partial<PostgresQueueStoreOptions> = {}) =>
    PostgresQueueStore.open({ connection: { connectionString: TEST_DATABASE_URL, max: 4 }, schema: schema.name, ...options, ...over });
  const store = await open();
  const opened: QueueStore[] = [store];
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema.name}` });
  await admin.connect();
  return {
    store,
    async openAnother(over: Partial<PostgresQueueStoreOptions> = {}) {
      const another = await open(over);
      opened.push(another);
      return another;
    },
    async sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      return (await admin.query<R>(text, values)).rows;
    },
    async cleanup() {
      for (const s of opened) await s.close().catch(() => {});
      await admin.end();
      await schema.drop();
    },
  };
}

const message = twoRecipientMessage;

function delivered(recipientId: number, text = 'ok'): RecipientResult {
  return { recipientId, state: 'delivered', outcome: { kind: 'delivered', host: 'mx.a.example', reply: { code: 250, text } } };
}

async function withFixture(fn: (f: Awaited<ReturnType<typeof openFixture>>) => Promise<void>, options: Partial<PostgresQueueStoreOptions> = {}): Promise<void> {
  const f = await openFixture(options);
  try {
    await fn(f);
  } finally {
    await f.cleanup();
  }
}

async function tableCounts(f: Awaited<ReturnType<typeof openFixture>>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['messages', 'bodies', 'recipients', 'attempts', 'events']) out[t] = Number((await f.sql<{ n: string }>(`SELECT count(*) AS n FROM ${t}`))[0].n);
  return out;
}

const unavailable = await postgresUnavailable();

if (unavailable) {
  test('PostgresQueueStore', { skip: unavailable }, () => {});
} else {
  runQueueStoreContract('PostgresQueueStore', () => openFixture());

  describe('PostgresQueueStore group commit', () => {
    test('enqueues made in one turn share one transaction, at most 500 messages each', () =>
      withFixture(async (f) => {
        const commits: MailEvent[][] = [];
        f.store.onCommit((events) => commits.push(events));
        await Promise.all(Array.from({ length: 1200 }, () => f.store.enqueue(message())));
        assert.deepEqual(commits.map((c) => c.length), [500, 500, 200]);
        assert.equal((await tableCounts(f)).messages, 1200);
        assert.equal((await tableCounts(f)).recipients, 2400);
      }));

    test('writes arriving while a commit is in flight share the next one', () =>
      withFixture(async (f) => {
        const commits: MailEvent[][] = [];
        f.store.onCommit((events) => commits.push(events));
        const first = f.store.enqueue(message());
        // The first transaction is under way once the turn ends; these wait for it, together.
        await new Promise((resolve) => setImmediate(resolve));
        const rest = Array.from({ length: 40 }, () => f.store.enqueue(message()));
        await Promise.all([first, ...rest]);
        assert.deepEqual(commits.map((c) => c.length), [1, 40]);
      }));

    test('attempts recorded in one turn share one transaction too; a failing one is refused alone', () =>
      withFixture(async (f) => {
        for (let i = 0; i < 50; i++) await f.store.enqueue(message({ recipients: [`r${i}@a.example`] }));
        const batches = await f.store.claimDue({ owner: 'w', now: new Date(T0), limit: 100, leaseMs: 60_000 });
        assert.equal(batches.length, 50);
        const commits: MailEvent[][] = [];
        f.store.onCommit((events) => commits.push(events));
        const clash = message({ id: batches[0].messageId }); // a DSN whose id is taken
        const results = await Promise.allSettled(
          batches.map((batch, i) =>
            f.store.recordAttempt({ batch, at: new Date(T0 + 1000), results: [delivered(batch.recipients[0].id)], dsns: i === 7 ? [clash] : [] }),
          ),
        );
        assert.deepEqual(results.map((r, i) => (i === 7 ? r.status === 'rejected' : r.status === 'fulfilled')), batches.map(() => true));
        assert.match(String((results[7] as PromiseRejectedResult).reason), /id is already taken/);
        assert.equal(commits.length, 1);
        assert.equal(commits[0].length, 49);
        assert.equal((await f.store.countByState()).delivered, 49);
        assert.equal((await f.store.countByState()).delivering, 1);
        assert.equal((await tableCounts(f)).attempts, 49);
      }));

    test('a transaction stops short of the byte bound (but always takes one message)', () =>
      withFixture(
        async (f) => {
          const commits: MailEvent[][] = [];
          f.store.onCommit((events) => commits.push(events));
          const big = () => message({ body: Buffer.alloc(400_000, 0x61) });
          await Promise.all([big(), big(), big(), big(), big(), message({ body: Buffer.alloc(2_000_000, 0x62) })].map((m) => f.store.enqueue(m)));
          assert.deepEqual(commits.map((c) => c.length), [2, 2, 1, 1]);
        },
        { maxBatchBytes: 1_000_000 },
      ));

    test('a failed commit rejects every enqueue of the batch and leaves nothing half-written', () =>
      withFixture(async (f) => {
        const first = message();
        await f.store.enqueue(first);
        const before = await tableCounts(f);
        // An error that is no fault of one message's data (as a full disk would be) ends the
        // whole transaction.
        await f.sql(`CREATE FUNCTION fail_body() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN IF NEW.data = 'fail'::bytea THEN RAISE EXCEPTION 'simulated write failure'; END IF; RETURN NEW; END $$`);
        await f.sql('CREATE TRIGGER fail_body BEFORE INSERT ON bodies FOR EACH ROW EXECUTE FUNCTION fail_body()');
        const commits: MailEvent[][] = [];
        f.store.onCommit((events) => commits.push(events));
        const batch = [message(), message(), message({ body: Buffer.from('fail') }), message(), message()];
        const results = await Promise.allSettled(batch.map((m) => f.store.enqueue(m)));
        for (const r of results) {
          assert.equal(r.status, 'rejected');
          assert.match(String((r as PromiseRejectedResult).reason), /simulated write failure/);
        }
        assert.deepEqual(await tableCounts(f), before);
        assert.deepEqual(commits, []);

        // The store carries on once the fault is gone.
        await f.sql('DROP TRIGGER fail_body ON bodies');
        const after = message();
        await f.store.enqueue(after);
        assert.ok(await f.store.get(after.id));
        assert.ok(await f.store.get(first.id));
      }));

    test('bad data in one message (a NUL byte PostgreSQL text cannot hold) is refused alone', () =>
      withFixture(async (f) => {
        const good = [message(), message()];
        const bad = message({ recipients: ['nul\0byte@a.example'] });
        const results = await Promise.allSettled([f.store.enqueue(good[0]), f.store.enqueue(bad), f.store.enqueue(good[1])]);
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
        assert.equal(await f.store.get(bad.id), null);
        assert.deepEqual((await f.store.readEvents(0, 10)).map((e) => e.messageId), good.map((m) => m.id));
      }));

    test('a remote reply with a NUL byte is still recorded (the byte replaced)', () =>
      withFixture(async (f) => {
        const m = message({ recipients: ['x@a.example'] });
        await f.store.enqueue(m);
        const [batch] = await f.store.claimDue({ owner: 'w', now: new Date(T0), limit: 1, leaseMs: 60_000 });
        await f.store.recordAttempt({ batch, at: new Date(T0 + 1), results: [delivered(batch.recipients[0].id, 'queued\0as 1')] });
        const got = await f.store.get(m.id);
        assert.equal(got?.recipients[0].state, 'delivered');
        assert.equal(got?.recipients[0].lastReply, '250 queued\uFFFDas 1');
        assert.equal((await f.store.readEvents(0, 10)).at(-1)?.type, 'delivered');
      }));
  });

  describe('PostgresQueueStore migrations', () => {
    test('nodes starting together on an empty schema apply each migration once', () =>
      withFixture(async (f) => {
        // The fixture's store created the schema; these start together on it, and on a new one.
        const fresh = testSchema();
        try {
          const open = () => PostgresQueueStore.open({ connection: TEST_DATABASE_URL, schema: fresh.name });
          const stores = await Promise.all([open(), open(), open()]);
          await Promise.all(stores.map((s) => s.close()));
          const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
          await client.connect();
          const ledger = await client.query(`SELECT room, version FROM ${fresh.name}.schema_migrations ORDER BY version`);
          await client.end();
          assert.deepEqual(ledger.rows, MIGRATIONS.map((m) => ({ room: 'queue', version: m.version })));
        } finally {
          await fresh.drop();
        }
        // Reopening keeps the data and applies nothing again.
        const m = message();
        await f.store.enqueue(m);
        await f.store.close();
        const again = await f.openAnother();
        assert.equal((await again.get(m.id))?.recipientCount, 2);
        assert.deepEqual(await f.sql('SELECT version FROM schema_migrations'), MIGRATIONS.map((x) => ({ version: x.version })));
      }));

    test('claiming, nextDueAt and reaping walk the partial indexes, never the whole queue', () =>
      withFixture(async (f) => {
        // Enough waiting work for the planner to care, with statistics as autovacuum would keep.
        for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 200 }, (_, j) => f.store.enqueue(message({ recipients: [`r${i}-${j}@d${j % 50}.example`] }))));
        await f.store.claimDue({ owner: 'w', now: new Date(T0), limit: 20, leaseMs: 60_000 });
        await f.sql('ANALYZE');
        // Prepared statements switch to a generic plan after a few runs: check both kinds.
        for (const mode of ['force_custom_plan', 'force_generic_plan']) {
          await f.sql(`SET plan_cache_mode = ${mode}`);
          const plan = async (name: string, sql: string, args: string) => {
            await f.sql(`PREPARE ${name} AS ${sql}`);
            const lines = await f.sql<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE ${name}${args ? `(${args})` : ''}`);
            await f.sql(`DEALLOCATE ${name}`);
            return lines.map((l) => l['QUERY PLAN']).join('\n');
          };
          const at = `'${new Date(T0).toISOString()}'`;
          const claim = await plan('claim_scan', HOT_QUERIES.claimScan, `${at}, '{d1.example}', '{}', 20`);
          assert.match(claim, /Index Scan using recipients_due/, `${mode}:\n${claim}`);
          assert.doesNotMatch(claim, /Sort|Seq Scan/, `${mode}:\n${claim}`);
          assert.match(await plan('next_due', HOT_QUERIES.nextDue, ''), /recipients_due/, mode);
          assert.match(await plan('reap', HOT_QUERIES.reap, at), /recipients_leased/, mode);
        }
      }));

    test('refuses a schema name it would have to quote', async () => {
      await assert.rejects(PostgresQueueStore.open({ connection: TEST_DATABASE_URL, schema: 'Herald; DROP' }), /invalid PostgreSQL schema name/);
    });
  });

  describe('PostgresQueueStore on a shared database', () => {
    test('two nodes claiming from one queue never get the same recipient, and together get all', () =>
      withFixture(async (f) => {
        const other = await f.openAnother();
        const msgs = Array.from({ length: 100 }, (_, i) => message({ recipients: [`x${i}@a.example`, `y${i}@a.example`, `z${i}@b.example`, `w${i}@c.example`] }));
        await Promise.all(msgs.map((m) => f.store.enqueue(m)));
        const now = new Date(T0);
        // Each node keeps claiming small batches until the queue is empty for it.
        const drain = async (store: QueueStore, owner: string) => {
          const got: DeliveryBatch[] = [];
          for (;;) {
            const batches = await store.claimDue({ owner, now, limit: 7, leaseMs: 60_000 });
            if (batches.length === 0) return got;
            got.push(...batches);
          }
        };
        const [mine, theirs] = await Promise.all([drain(f.store, 'node-1'), drain(other, 'node-2')]);
        assert.ok(mine.length > 0 && theirs.length > 0, `both nodes claimed work (${mine.length} and ${theirs.length} batches)`);
        const ids = [...mine, ...theirs].flatMap((b) => b.recipients.map((r) => r.id));
        assert.equal(new Set(ids).size, ids.length, 'no recipient claimed twice');
        assert.equal(ids.length, 400, 'every recipient claimed');
        const owners = await f.sql<{ lease_owner: string; n: string }>("SELECT lease_owner, count(*) AS n FROM recipients WHERE state = 'delivering' GROUP BY lease_owner ORDER BY 1");
        assert.deepEqual(
          owners.map((o) => [o.lease_owner, Number(o.n)]),
          [
            ['node-1', mine.flatMap((b) => b.recipients).length],
            ['node-2', theirs.flatMap((b) => b.recipients).length],
          ],
        );
      }));

    test('a lease that expires on one node is reaped and taken by the other; the first node’s late result is dropped', () =>
      withFixture(async (f) => {
        const other = await f.openAnother();
        const m = message({ recipients: ['x@a.example'] });
        await f.store.enqueue(m);
        const t = (ms: number) => new Date(T0 + ms);
        const lost = await f.store.claimDue({ owner: 'node-1', now: t(0), limit: 10, leaseMs: 30_000 });
        assert.equal(lost.length, 1);
        assert.deepEqual(await other.claimDue({ owner: 'node-2', now: t(10_000), limit: 10, leaseMs: 30_000 }), [], 'a live lease is not taken');
        assert.equal(await other.reapExpiredLeases(t(29_999)), 0);
        assert.equal(await other.reapExpiredLeases(t(30_000)), 1);
        const taken = await other.claimDue({ owner: 'node-2', now: t(30_000), limit: 10, leaseMs: 30_000 });
        assert.deepEqual(taken.map((b) => b.recipients.map((r) => r.id)), lost.map((b) => b.recipients.map((r) => r.id)));

        // node-1 comes back from its pause with a result: dropped; node-2's counts.
        await f.store.recordAttempt({ batch: lost[0], at: t(31_000), results: [delivered(lost[0].recipients[0].id, 'from node-1')] });
        assert.equal((await other.get(m.id))?.status, 'delivering');
        await other.recordAttempt({ batch: taken[0], at: t(32_000), results: [delivered(taken[0].recipients[0].id, 'from node-2')] });
        const got = await f.store.get(m.id);
        assert.equal(got?.status, 'delivered');
        assert.deepEqual(got?.recipients[0].history.map((h) => h.reply), ['250 from node-2']);
        assert.deepEqual((await f.store.readEvents(0, 10)).map((e) => e.type), ['accepted', 'delivered']);
      }));

    test('a reader following the outbox by cursor misses no event while several nodes commit at once', () =>
      withFixture(async (f) => {
        const writers = [f.store, await f.openAnother(), await f.openAnother()];
        const reader = await f.openAnother();
        const expected = new Set<string>();
        let writing = true;
        const write = async () => {
          // Each node has several callers, so each node's group commits overlap the others'.
          await Promise.all(
            writers.flatMap((store, w) =>
              Array.from({ length: 4 }, async (_, caller) => {
                for (let i = 0; i < 40; i++) {
                  const msg = message({ recipients: [`n${w}c${caller}i${i}@a.example`] });
                  expected.add(msg.id);
                  await store.enqueue(msg);
                }
              }),
            ),
          );
          writing = false;
        };
        const read = async () => {
          const seen: MailEvent[] = [];
          let cursor = 0;
          for (;;) {
            const done = !writing; // checked before reading: the read after it sees every commit
            const events = await reader.readEvents(cursor, 25);
            for (const e of events) {
              assert.ok(e.seq! > cursor, 'seq increases');
              cursor = e.seq!;
              seen.push(e);
            }
            if (events.length === 0 && done) return seen;
            if (events.length === 0) await new Promise((resolve) => setImmediate(resolve));
          }
        };
        const [, seen] = await Promise.all([write(), read()]);
        assert.equal(expected.size, 3 * 4 * 40);
        assert.equal(seen.length, expected.size, 'every event read once');
        assert.deepEqual(new Set(seen.map((e) => e.messageId)), expected);
        // The numbers have no gaps either: seq is handed out at commit.
        assert.deepEqual(seen.map((e) => e.seq), seen.map((_, i) => i + 1));
      }));

    test('a node listening hears that another node queued work (NOTIFY)', () =>
      withFixture(async (f) => {
        const worker = await f.openAnother({ listen: true });
        const woken: MailEvent[][] = [];
        const heard = new Promise<void>((resolve) =>
          worker.onCommit((events) => {
            woken.push(events);
            resolve();
          }),
        );
        await f.store.enqueue(message());
        await heard;
        assert.deepEqual(woken, [[]], 'a wake-up with no events: the events are read from the outbox');
      }));
  });
}
