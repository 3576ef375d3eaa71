/**
 * storage — opening the embedded SQLite database and applying each room's migrations.
 * Rooms own their tables and SQL; this module only owns the file, its pragmas and the
 * migration ledger. Durability: WAL with synchronous=FULL, so a commit is on disk when it returns.
 * Also the loop of a room that keeps its tables up to date from the event outbox (`followOutbox`):
 * a page's writes and the room's cursor move in one transaction.
 * Change counters (`change_counters`, moved by triggers): what lets a room cache its lookups and
 * still see at once a change another process (the CLI) made to the same file.
 * And the periodic sweeper that removes rows past their time (`startSweeper`).
 * The async query layer every room's record store is written against, on SQLite or PostgreSQL
 * (`SqlDatabase`, sql-database.ts): one store class per room for both engines.
 * Readiness: `migrationProblems` compares each room's ledger with the versions this build knows.
 * Windowed message counters by key (`MemoryRateCounter`, `SqlRateCounter`, ledger `rate-limits`):
 * what account and destination rate limits count with.
 */
export { openSqlite, migrate, type SqliteDatabase, type Migration } from './sqlite.js';
export { changeCounterSql, postgresChangeCounterSql, ChangeCounter } from './change-counters.js';
export {
  SqliteSqlDatabase,
  PostgresSqlDatabase,
  openSqlDatabase,
  migratePostgres,
  checkSchemaName,
  numberPlaceholders,
  isUniqueViolation,
  type SqlDatabase,
  type SqlExecutor,
  type SqlDialect,
  type SqlRunResult,
  type DialectMigrations,
  type PostgresSqlOptions,
} from './sql-database.js';
export { followOutbox, moveFeedCursor, type OutboxFollower, type OutboxFollowerOptions } from './outbox-follower.js';
export { startSweeper, type Sweeper } from './sweeper.js';
export { SqlJobLeases, soloJobLeases, runWhileLeased, type JobLeases, type LeasedJob, type StoppableJob } from './job-leases.js';
export { copySqliteToPostgres, CopyError, type CopyProgress, type CopiedTable } from './copy-to-postgres.js';
export {
  MemoryRateCounter,
  judgeTake,
  windowsAt,
  MINUTE_MS,
  DAY_MS,
  type KeyedRateLimiter,
  type RateLimitResult,
  type RateLimitWindow,
  type WindowLimits,
} from './rate-windows.js';
export { SqlRateCounter } from './sql-rate-counter.js';
