import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDatabase = Database.Database;

/** Opens (creating if needed) the database file with Herald's durability settings. */
export function openSqlite(file: string, options: { readonly?: boolean } = {}): SqliteDatabase {
  if (file !== ':memory:' && !options.readonly) mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  // A busy writer (the server) must not make the CLI fail at once.
  db.pragma('busy_timeout = 5000');
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    // FULL: the WAL is fsynced at every commit — a 250 is only sent after that.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
  }
  return db;
}

export interface Migration {
  version: number;
  sql: string;
}

/** Applies a room's migrations in order, each in its own transaction, recorded per room. */
export function migrate(db: SqliteDatabase, room: string, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (room TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (room, version))');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations WHERE room = ?').all(room) as { version: number }[]).map((r) => r.version),
  );
  const record = db.prepare('INSERT INTO schema_migrations (room, version, applied_at) VALUES (?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(room, m.version, Date.now());
    }).immediate();
  }
}
