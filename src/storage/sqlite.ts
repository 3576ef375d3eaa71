import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
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

/**
 * The latest migration version of each room this process knows, recorded as rooms migrate
 * (`migrate`) or declared for a room migrated on another thread (`expectMigrations`): what the
 * readiness check compares the ledger with.
 */
const latestKnown = new Map<string, number>();

/** Declares a room's migrations without applying them here (the queue migrates on its own thread). */
export function expectMigrations(room: string, migrations: readonly Migration[]): void {
  const latest = Math.max(0, ...migrations.map((m) => m.version));
  latestKnown.set(room, Math.max(latestKnown.get(room) ?? 0, latest));
}

/**
 * Readiness: every room this process knows has its ledger at the version this build expects.
 * Returns the rooms that are not, in plain words (empty when all are current): behind means a
 * migration did not run; ahead means a newer Herald migrated this database.
 */
export function migrationProblems(db: SqliteDatabase): string[] {
  const rows = db.prepare('SELECT room, MAX(version) AS version FROM schema_migrations GROUP BY room').all() as { room: string; version: number }[];
  const applied = new Map(rows.map((r) => [r.room, r.version]));
  const problems: string[] = [];
  for (const [room, latest] of [...latestKnown].sort(([a], [b]) => a.localeCompare(b))) {
    const version = applied.get(room) ?? 0;
    if (version < latest) problems.push(`${room} is at migration ${version}, this Herald needs ${latest}`);
    else if (version > latest) problems.push(`${room} is at migration ${version}, newer than this Herald knows (${latest})`);
  }
  return problems;
}

/** Applies a room's migrations in order, each in its own transaction, recorded per room. */
export function migrate(db: SqliteDatabase, room: string, migrations: readonly Migration[]): void {
  expectMigrations(room, migrations);
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

/**
 * A random secret of this installation, made on first use and kept in the database (so a
 * restored backup keeps working): the return-path signing key, later webhook and tracking keys.
 */
export function installationSecret(db: SqliteDatabase, name: string): Buffer {
  db.exec('CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL, created_at INTEGER NOT NULL)');
  // INSERT OR IGNORE then SELECT: two processes starting together agree on one secret.
  db.prepare('INSERT OR IGNORE INTO secrets (name, value, created_at) VALUES (?, ?, ?)').run(name, randomBytes(32), Date.now());
  return (db.prepare('SELECT value FROM secrets WHERE name = ?').get(name) as { value: Buffer }).value;
}
