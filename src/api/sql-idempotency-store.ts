import { silentLogger, systemClock, type Clock, type Logger } from '../core/index.js';
import { migrate, startSweeper, type Migration, type SqliteDatabase, type Sweeper } from '../storage/index.js';

/**
 * The api room's tables. Applied with `migrate(db, 'api', MIGRATIONS)`: add new versions, never
 * edit an applied one. Times are integer milliseconds since the epoch.
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

/**
 * Idempotency records for the HTTP API (the Idempotency-Key header), per account, in the embedded
 * SQLite database. `begin` claims a key atomically — one write transaction — so of two concurrent
 * requests with one key exactly one runs, even across processes sharing the file.
 */
export class SqliteIdempotencyStore {
  private readonly db: SqliteDatabase;
  private readonly clock: Clock;
  private readonly stmts;

  constructor(db: SqliteDatabase, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
    migrate(db, 'api', MIGRATIONS);
    this.stmts = {
      insert: db.prepare(
        "INSERT INTO idempotency_keys (account_id, key, request_hash, status, created_at) VALUES (@accountId, @key, @hash, 'pending', @now) ON CONFLICT DO NOTHING",
      ),
      get: db.prepare('SELECT request_hash, status, response_status, response_body, created_at FROM idempotency_keys WHERE account_id = ? AND key = ?'),
      takeOver: db.prepare("UPDATE idempotency_keys SET created_at = @now WHERE account_id = @accountId AND key = @key AND status = 'pending'"),
      complete: db.prepare(
        "UPDATE idempotency_keys SET status = 'done', response_status = @status, response_body = @body WHERE account_id = @accountId AND key = @key AND status = 'pending'",
      ),
      abandon: db.prepare("DELETE FROM idempotency_keys WHERE account_id = ? AND key = ? AND status = 'pending'"),
      purge: db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?'),
    };
  }

  /**
   * Claims the key for this request, or says why not. `requestHash` identifies the request (its
   * method, path and body); the same key with another hash is a conflict, whatever the state.
   */
  begin(accountId: string, key: string, requestHash: string, now: Date = this.clock.now()): IdempotencyBegin {
    checkKey(key);
    if (!requestHash) throw new RangeError('an idempotency request hash must not be empty');
    const at = now.getTime();
    return this.db
      .transaction((): IdempotencyBegin => {
        if (this.stmts.insert.run({ accountId, key, hash: requestHash, now: at }).changes > 0) return { kind: 'new' };
        const row = this.stmts.get.get(accountId, key) as Row;
        if (row.request_hash !== requestHash) return { kind: 'conflict' };
        if (row.status === 'done') return { kind: 'replay', status: row.response_status!, body: row.response_body ?? '' };
        // The first attempt's process died (or hung) without completing or abandoning: without a
        // takeover the client could never retry under this key.
        if (at - row.created_at >= IDEMPOTENCY_ABANDONED_AFTER_MS) {
          this.stmts.takeOver.run({ accountId, key, now: at });
          return { kind: 'new' };
        }
        return { kind: 'in_progress' };
      })
      .immediate();
  }

  /** Records the answer to replay. False when the key is not pending (abandoned, or purged). */
  complete(accountId: string, key: string, status: number, body: string): boolean {
    return this.stmts.complete.run({ accountId, key, status, body }).changes > 0;
  }

  /** Forgets a pending key whose request failed without effect, so the client can retry with it. */
  abandon(accountId: string, key: string): boolean {
    return this.stmts.abandon.run(accountId, key).changes > 0;
  }

  /**
   * Removes keys created before `olderThan`, but never one younger than 24 hours, which a client
   * may still retry with. Returns how many were removed.
   */
  purge(olderThan: Date): number {
    const limit = Math.min(olderThan.getTime(), this.clock.now().getTime() - IDEMPOTENCY_KEY_TTL_MS);
    return this.stmts.purge.run(limit).changes;
  }
}

function checkKey(key: string): void {
  if (!isValidIdempotencyKey(key)) throw new RangeError('an Idempotency-Key must be 1 to 255 visible ASCII characters');
}

/** Removes keys past 24 hours (`sweep()` now); returns how many went. */
export type IdempotencyJanitor = Sweeper;

/** Removes idempotency keys older than 24 hours, once at start and then every interval (default an hour). */
export function startIdempotencyJanitor(
  store: SqliteIdempotencyStore,
  options: { clock?: Clock; logger?: Logger; intervalMs?: number } = {},
): IdempotencyJanitor {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  return startSweeper({
    intervalMs: options.intervalMs,
    onError: (err) => log.error({ err }, 'removing old idempotency keys failed; trying again at the next sweep'),
    sweep: () => {
      const removed = store.purge(new Date(clock.now().getTime() - IDEMPOTENCY_KEY_TTL_MS));
      if (removed > 0) log.info({ keys: removed }, 'removed idempotency keys older than 24 hours');
      return removed;
    },
  });
}
