/**
 * storage — opening the embedded SQLite database and applying each room's migrations.
 * Rooms own their tables and SQL; this module only owns the file, its pragmas and the
 * migration ledger. Durability: WAL with synchronous=FULL, so a commit is on disk when it returns.
 * Also the loop of a room that keeps its tables up to date from the event outbox (`followOutbox`):
 * a page's writes and the room's cursor move in one transaction.
 */
export { openSqlite, migrate, installationSecret, type SqliteDatabase, type Migration } from './sqlite.js';
export { followOutbox, type OutboxFollower, type OutboxFollowerOptions } from './outbox-follower.js';
