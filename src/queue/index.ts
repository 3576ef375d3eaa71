/**
 * queue — the durable queue: messages, their bodies (stored once), per-recipient state and
 * leases, every attempt's history, and the event outbox.
 *
 * Invariants:
 * - `enqueue` resolves only after the message, its recipients and its 'accepted' event are
 *   committed durably; concurrent enqueues share one commit (group commit), and a failed commit
 *   rejects every message in it (the edge answers 451 4.3.0), never a 250 followed by loss.
 * - Every state change writes its events in the same transaction (the outbox); `onCommit`
 *   listeners hear about them only after the commit.
 * - Work is claimed under a lease (owner + expiry). Expired leases go back to due, and a result
 *   from a worker that no longer holds the lease is dropped: a crash may cause a duplicate
 *   delivery, never a loss or a stale overwrite.
 * - On the embedded store the server runs SqliteQueueStore on a writer thread (ThreadedQueueStore),
 *   so SMTP parsing and SQLite use two cores; the CLI uses SqliteQueueStore in-thread.
 * - With HERALD_DATABASE_URL, PostgresQueueStore keeps the queue in PostgreSQL for several nodes on
 *   one database: claims with FOR UPDATE SKIP LOCKED under the same leases,
 *   event seq handed out at commit under a row lock so seq order is commit order across nodes,
 *   migrations under an advisory lock. Destination slots (SqlDestinationSlots) hold
 *   the per-destination connection limit across those nodes.
 * - SqliteQueueStore, ThreadedQueueStore and PostgresQueueStore pass the same contract suite,
 *   `runQueueStoreContract` in queue-store-contract.ts (imported by tests directly, so the
 *   production import path never loads node:test).
 */
export * from './types.js';
export { SqliteQueueStore, type SqliteQueueStoreOptions } from './sqlite-queue-store.js';
export { ThreadedQueueStore } from './threaded-queue-store.js';
export { PostgresQueueStore, type PostgresQueueStoreOptions } from './postgres-queue-store.js';
export { purgeAll, startRetention, type Retention, type RetentionOptions } from './retention.js';
export { messageStatus } from './status.js';
export { SqlDestinationSlots, type DestinationSlots } from './destination-slots.js';
/** The SQLite queue's migrations, for a readiness check on the thread that does not apply them. */
export { MIGRATIONS as SQLITE_QUEUE_MIGRATIONS } from './sqlite-schema.js';
export { MIGRATIONS as POSTGRES_QUEUE_MIGRATIONS } from './postgres-schema.js';
