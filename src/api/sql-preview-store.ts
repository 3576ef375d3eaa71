import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../core/index.js';
import type { Migration, SqlDatabase } from '../storage/index.js';

/**
 * The api room's template previews table, with a ledger of its own (`api-previews`) so it
 * migrates apart from the idempotency keys: `PREVIEW_MIGRATIONS` on SQLite,
 * `POSTGRES_PREVIEW_MIGRATIONS` on PostgreSQL. Add new versions, never edit an applied one. Times
 * are integer milliseconds since the epoch.
 */
export const PREVIEW_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE template_previews (
        token TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        html TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX template_previews_expires ON template_previews (expires_at);
      CREATE INDEX template_previews_account ON template_previews (account_id, expires_at);
    `,
  },
];

/** The same table on PostgreSQL: version 1 is the SQLite history's final schema. */
export const POSTGRES_PREVIEW_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE template_previews (
        token TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        html TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX template_previews_expires ON template_previews (expires_at);
      CREATE INDEX template_previews_account ON template_previews (account_id, expires_at);
    `,
  },
];

/** How long a preview's URL answers: long enough to look at it, short enough not to pile up. */
export const PREVIEW_TTL_MS = 10 * 60_000;
/** An account's newest previews kept at once; older ones go first (a page reloading in a loop). */
export const MAX_PREVIEWS_PER_ACCOUNT = 200;

const SQL = {
  insert: 'INSERT INTO template_previews (token, account_id, html, expires_at) VALUES (?, ?, ?, ?)',
  get: 'SELECT html FROM template_previews WHERE token = ? AND account_id = ? AND expires_at > ?',
  purge: 'DELETE FROM template_previews WHERE expires_at <= ?',
  trim: 'DELETE FROM template_previews WHERE account_id = ? AND token NOT IN (SELECT token FROM template_previews WHERE account_id = ? ORDER BY expires_at DESC LIMIT ?)',
} as const;

/**
 * Rendered template previews, waiting for the dashboard's preview frame (which can only load a
 * URL), on SQLite or PostgreSQL: a preview made through one API process is served by any other
 * sharing the database, as behind a load balancer. Expired rows are removed whenever a preview
 * is kept or looked up.
 */
export class SqlPreviewStore {
  private readonly clock: Clock;

  private constructor(
    private readonly db: SqlDatabase,
    options: { clock?: Clock },
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Applies the table's migrations (ledger `api-previews`) and opens the store. */
  static async open(db: SqlDatabase, options: { clock?: Clock } = {}): Promise<SqlPreviewStore> {
    await db.migrate('api-previews', { sqlite: PREVIEW_MIGRATIONS, postgres: POSTGRES_PREVIEW_MIGRATIONS });
    return new SqlPreviewStore(db, options);
  }

  /** Keeps the HTML for ten minutes; returns the unguessable token that finds it again. */
  async keep(accountId: string, html: string): Promise<string> {
    const now = this.clock.now().getTime();
    const token = randomBytes(16).toString('hex');
    // PostgreSQL text cannot hold NUL (sample data can put one in the HTML); a browser shows
    // U+FFFD for it anyway, so both engines keep that.
    const kept = html.replaceAll('\0', '\uFFFD');
    await this.db.transaction(async (tx) => {
      await tx.run(SQL.purge, [now]);
      await tx.run(SQL.insert, [token, accountId, kept, now + PREVIEW_TTL_MS]);
      await tx.run(SQL.trim, [accountId, accountId, MAX_PREVIEWS_PER_ACCOUNT]);
    });
    return token;
  }

  /** The preview's HTML; null when unknown, expired, or another account's. Sweeps expired ones. */
  async get(accountId: string, token: string): Promise<string | null> {
    const now = this.clock.now().getTime();
    await this.db.run(SQL.purge, [now]);
    const row = await this.db.get<{ html: string }>(SQL.get, [token, accountId, now]);
    return row?.html ?? null;
  }

  /** Removes expired previews; returns how many went. */
  async purge(): Promise<number> {
    return (await this.db.run(SQL.purge, [this.clock.now().getTime()])).changes;
  }
}
