import { silentLogger, systemClock, type Clock, type Logger } from '../core/index.js';
import { startSweeper, type Migration, type SqlDatabase, type Sweeper } from '../storage/index.js';

/**
 * The api room's tables, applied by `SqlIdempotencyStore.open` under the ledger name `api`:
 * `MIGRATIONS` on SQLite, `POSTGRES_MIGRATIONS` on PostgreSQL, each history only ever appended
 * to (add new versions, never edit an applied one). Times are integer milliseconds since the epoch.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE idempotency_keys (
        account_id TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
        response_status INTEGER,
        response_body TEXT,
        -- When the request began (or was taken over): the age that purge and takeover go by.
        created_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, key)
      ) WITHOUT ROWID;
      CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
    `,
  },
];

/** The same table on PostgreSQL: version 1 is the SQLite history's final schema. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE idempotency_keys (
        account_id TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
        response_status INTEGER,
        response_body TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, key)
      );
      CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
    `,
  },
];

/** Keys are kept at least this long (Stripe's and the IETF draft's usual 24 hours). */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3_600_000;
/** A request still pending after this long is taken to have died with its process. */
export const IDEMPOTENCY_ABANDONED_AFTER_MS = 10 * 60_000;
/** 1 to 255 visible ASCII characters (no spaces, which HTTP would trim from the header). */
const KEY = /^[\x21-\x7e]{1,255}$/;

export function isValidIdempotencyKey(key: unknown): key is string {
  return typeof key === 'string' && KEY.test(key);
}

export type IdempotencyBegin =
  /** Go ahead, then call complete (or abandon if the request failed). */
  | { kind: 'new' }
  /** Already answered: send this answer again. */
  | { kind: 'replay'; status: number; body: string }
  /** The key was used for a different request. */
  | { kind: 'conflict' }
  /** The same request is running right now (a retry raced the first attempt). */
  | { kind: 'in_progress' };

interface Row {
  request_hash: string;
  status: 'pending' | 'done';
  response_status: number | null;
  response_body: string | null;
  created_at: number;
}

const SQL = {
  insert: "INSERT INTO idempotency_keys (account_id, key, request_hash, status, created_at) VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (account_id, key) DO NOTHING",
  get: 'SELECT request_hash, status, response_status, response_body, created_at FROM idempotency_keys WHERE account_id = ? AND key = ?',
  // Only from the start time that was read: of two retries taking over at once, one does.
  takeOver: "UPDATE idempotency_keys SET created_at = ? WHERE account_id = ? AND key = ? AND status = 'pending' AND created_at = ?",
  complete: "UPDATE idempotency_keys SET status = 'done', response_status = ?, response_body = ? WHERE account_id = ? AND key = ? AND status = 'pending'",
  abandon: "DELETE FROM idempotency_keys WHERE account_id = ? AND key = ? AND status = 'pending'",
  purge: 'DELETE FROM idempotency_keys WHERE created_at < ?',
} as const;

/**
 * Idempotency records for the HTTP API (the Idempotency-Key header), per account, on SQLite or
 * PostgreSQL. `begin` claims a key atomically — one write transaction — so of two concurrent
 * requests with one key exactly one runs, even across processes or nodes sharing the database.
 */
export class SqlIdempotencyStore {
  private readonly clock: Clock;

  private constructor(
    private readonly db: SqlDatabase,
    options: { clock?: Clock },
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Applies the room's migrations (ledger `api`) and opens the store. */
  static async open(db: SqlDatabase, options: { clock?: Clock } = {}): Promise<SqlIdempotencyStore> {
    await db.migrate('api', { sqlite: MIGRATIONS, postgres: POSTGRES_MIGRATIONS });
    return new SqlIdempotencyStore(db, options);
  }

  /**
   * Claims the key for this request, or says why not. `requestHash` identifies the request (its
   * method, path and body); the same key with another hash is a conflict, whatever the state.
   */
  async begin(accountId: string, key: string, requestHash: string, now: Date = this.clock.now()): Promise<IdempotencyBegin> {
    checkKey(key);
    if (!requestHash) throw new RangeError('an idempotency request hash must not be empty');
    const at = now.getTime();
    return this.db.transaction(async (tx): Promise<IdempotencyBegin> => {
      // On PostgreSQL a concurrent insert of the same key waits here for the other transaction,
      // then does nothing: the row read next is the other request's.
      if ((await tx.run(SQL.insert, [accountId, key, requestHash, at])).changes > 0) return { kind: 'new' };
      const row = await tx.get<Row>(SQL.get, [accountId, key]);
      // Abandoned by the other request in the meantime: the key is free for the next try.
      if (!row) return { kind: 'in_progress' };
      if (row.request_hash !== requestHash) return { kind: 'conflict' };
      if (row.status === 'done') return { kind: 'replay', status: row.response_status!, body: row.response_body ?? '' };
      // The first attempt's process died (or hung) without completing or abandoning: without a
      // takeover the client could never retry under this key.
      if (at - row.created_at >= IDEMPOTENCY_ABANDONED_AFTER_MS) {
        if ((await tx.run(SQL.takeOver, [at, accountId, key, row.created_at])).changes > 0) return { kind: 'new' };
      }
      return { kind: 'in_progress' };
    });
  }

  /** Records the answer to replay. False when the key is not pending (abandoned, or purged). */
  async complete(accountId: string, key: string, status: number, body: string): Promise<boolean> {
    return (await this.db.run(SQL.complete, [status, body, accountId, key])).changes > 0;
  }

  /** Forgets a pending key whose request failed without effect, so the client can retry with it. */
  async abandon(accountId: string, key: string): Promise<boolean> {
    return (await this.db.run(SQL.abandon, [accountId, key])).changes > 0;
  }

  /**
   * Removes keys created before `olderThan`, but never one younger than 24 hours, which a client
   * may still retry with. Returns how many were removed.
   */
  async purge(olderThan: Date): Promise<number> {
    const limit = Math.min(olderThan.getTime(), this.clock.now().getTime() - IDEMPOTENCY_KEY_TTL_MS);
    return (await this.db.run(SQL.purge, [limit])).changes;
  }
}

function checkKey(key: string): void {
  if (!isValidIdempotencyKey(key)) throw new RangeError('an Idempotency-Key must be 1 to 255 visible ASCII characters');
}

/** Removes keys past 24 hours (`sweep()` now); resolves with how many went. */
export type IdempotencyJanitor = Sweeper;

/** Removes idempotency keys older than 24 hours, once at start and then every interval (default an hour). */
export function startIdempotencyJanitor(
  store: Pick<SqlIdempotencyStore, 'purge'>,
  options: { clock?: Clock; logger?: Logger; intervalMs?: number } = {},
): IdempotencyJanitor {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  return startSweeper({
    intervalMs: options.intervalMs,
    onError: (err) => log.error({ err }, 'removing old idempotency keys failed; trying again at the next sweep'),
    sweep: async () => {
      const removed = await store.purge(new Date(clock.now().getTime() - IDEMPOTENCY_KEY_TTL_MS));
      if (removed > 0) log.info({ keys: removed }, 'removed idempotency keys older than 24 hours');
      return removed;
    },
  });
}
