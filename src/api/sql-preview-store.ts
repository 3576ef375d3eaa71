import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../core/index.js';
import { migrate, type Migration, type SqliteDatabase } from '../storage/index.js';

/**
 * The api room's template previews table, with a ledger of its own (`api-previews`) so it
 * migrates apart from the idempotency keys. Add new versions, never edit an applied one. Times are
 * integer milliseconds since the epoch.
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

/** How long a preview's URL answers: long enough to look at it, short enough not to pile up. */
export const PREVIEW_TTL_MS = 10 * 60_000;
/** An account's newest previews kept at once; older ones go first (a page reloading in a loop). */
export const MAX_PREVIEWS_PER_ACCOUNT = 200;

/**
 * Rendered template previews, waiting for the dashboard's preview frame (which can only load a
 * URL), in the embedded SQLite database: a preview made through one API process is served by any
 * other sharing the file, as behind a load balancer. Expired rows are removed whenever a preview
 * is kept or looked up.
 */
export class SqlitePreviewStore {
  private readonly db: SqliteDatabase;
  private readonly clock: Clock;
  private readonly stmts;

  constructor(db: SqliteDatabase, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
    migrate(db, 'api-previews', PREVIEW_MIGRATIONS);
    this.stmts = {
      insert: db.prepare('INSERT INTO template_previews (token, account_id, html, expires_at) VALUES (?, ?, ?, ?)'),
      get: db.prepare('SELECT html FROM template_previews WHERE token = ? AND account_id = ? AND expires_at > ?'),
      purge: db.prepare('DELETE FROM template_previews WHERE expires_at <= ?'),
      trim: db.prepare(
        'DELETE FROM template_previews WHERE account_id = @accountId AND token NOT IN (SELECT token FROM template_previews WHERE account_id = @accountId ORDER BY expires_at DESC LIMIT @keep)',
      ),
    };
  }

  /** Keeps the HTML for ten minutes; returns the unguessable token that finds it again. */
  keep(accountId: string, html: string): string {
    const now = this.clock.now().getTime();
    const token = randomBytes(16).toString('hex');
    this.db.transaction(() => {
      this.stmts.purge.run(now);
      this.stmts.insert.run(token, accountId, html, now + PREVIEW_TTL_MS);
      this.stmts.trim.run({ accountId, keep: MAX_PREVIEWS_PER_ACCOUNT });
    })();
    return token;
  }

  /** The preview's HTML; null when unknown, expired, or another account's. Sweeps expired ones. */
  get(accountId: string, token: string): string | null {
    const now = this.clock.now().getTime();
    this.stmts.purge.run(now);
    const row = this.stmts.get.get(token, accountId, now) as { html: string } | undefined;
    return row?.html ?? null;
  }

  /** Removes expired previews; returns how many went. */
  purge(): number {
    return this.stmts.purge.run(this.clock.now().getTime()).changes;
  }
}
