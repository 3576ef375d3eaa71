/**
 * storage — opening the embedded SQLite database and applying each room's migrations.
 * Rooms own their tables and SQL; this module only owns the file, its pragmas and the
 * migration ledger. Durability: WAL with synchronous=FULL, so a commit is on disk when it returns.
 */
export { openSqlite, migrate, installationSecret, type SqliteDatabase, type Migration } from './sqlite.js';
