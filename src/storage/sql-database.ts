import { randomBytes } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import pg from 'pg';
import { openSqlite, type SqliteDatabase } from './sqlite.js';

/**
 * The one query layer the rooms' record stores (accounts, domains, suppressions, templates,
 * webhooks, statistics, inbound records …) are written against, so each store is one class that
 * runs on the embedded SQLite file and on PostgreSQL alike.
 *
 * - SQL is written once, in the common subset of both dialects, with `?` placeholders (turned
 *   into `$1, $2 …` for PostgreSQL). Where the dialects differ, a store asks `db.dialect`.
 *   Write `INSERT … ON CONFLICT … DO NOTHING/UPDATE` (not `INSERT OR IGNORE`), `RETURNING`, and
 *   lower-case snake_case column aliases (PostgreSQL folds unquoted names to lower case).
 * - Values: booleans are bound as 1/0 (flags are INTEGER columns on both); times are integer
 *   milliseconds (BIGINT in PostgreSQL); PostgreSQL's BIGINT, NUMERIC and COUNT results come back
 *   as JavaScript numbers, as they do from SQLite; BLOB / BYTEA are Buffers.
 * - Each dialect has its own migration history per room (`migrate`), applied under a lock so
 *   nodes starting together do not race.
 *
 * The queue store is not built on this: its hot path is dialect-specific by design (see
 * docs/architecture.md).
 */
export type SqlDialect = 'sqlite' | 'postgres';

export interface SqlRunResult {
  /** Rows the statement inserted, changed or deleted. */
  changes: number;
}

/** What can run a statement: the database itself, or a transaction on it. */
export interface SqlExecutor {
  readonly dialect: SqlDialect;
  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<SqlRunResult>;
}

/** A room's migration in each dialect: the two histories are separate, each only ever appended to. */
export interface DialectMigrations {
  sqlite: readonly { version: number; sql: string }[];
  postgres: readonly { version: number; sql: string }[];
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws. On
   * SQLite every other statement of this process waits until it ends, so `work` must only talk
   * to the database (no network calls, no timers). Transactions do not nest.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Applies the room's migrations of this dialect that are not applied yet. */
  migrate(room: string, migrations: DialectMigrations): Promise<void>;
  /** Each room's latest applied migration version. */
  appliedMigrations(): Promise<Map<string, number>>;
  /** Declares a room's latest version without applying it here (a room that migrates elsewhere, as the queue). */
  expectMigration(room: string, version: number): void;
  /**
   * Readiness: every room this process migrated or expects has its ledger at the version this
   * build knows. Returns the rooms that are not, in plain words (empty when all are current).
   */
  migrationProblems(): Promise<string[]>;
  /** A random secret of this installation, made on first use and kept in the database. */
  installationSecret(name: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** Compares what a build expects of each room with the ledger, in plain words. */
function describeMigrationProblems(expected: ReadonlyMap<string, number>, applied: ReadonlyMap<string, number>): string[] {
  const problems: string[] = [];
  for (const [room, latest] of [...expected].sort(([a], [b]) => a.localeCompare(b))) {
    const version = applied.get(room) ?? 0;
    if (version < latest) problems.push(`${room} is at migration ${version}, this Herald needs ${latest}`);
    else if (version > latest) problems.push(`${room} is at migration ${version}, newer than this Herald knows (${latest})`);
  }
  return problems;
}

const latestOf = (migrations: readonly { version: number }[]) => Math.max(0, ...migrations.map((m) => m.version));

/** Whether a statement may write: anything but a plain SELECT (INSERT … RETURNING comes through all/get too). */
const mayWrite = (sql: string): boolean => !/^\s*select\b/i.test(sql);

let writes = 0;
/**
 * Moves after every statement that is not a plain SELECT and after every transaction, made
 * through any SqlDatabase of this thread: what was read before it moved may predate a change
 * made here (ChangeCounter keeps a snapshot of the counters only until it moves).
 */
export function writesInThisThread(): number {
  return writes;
}

const toParam = (value: unknown): unknown => (typeof value === 'boolean' ? (value ? 1 : 0) : value === undefined ? null : value);

/**
 * `?` placeholders to PostgreSQL's `$n`, leaving quoted strings, quoted names and comments alone.
 * Cached per SQL text: stores use a fixed set of statements.
 */
const numbered = new Map<string, string>();
export function numberPlaceholders(sql: string): string {
  const known = numbered.get(sql);
  if (known !== undefined) return known;
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end === -1 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') {
      out += `$${++n}`;
    } else {
      out += c;
    }
  }
  if (numbered.size < 10_000) numbered.set(sql, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// SQLite

/** The migration ledger both engines keep in `schema_migrations`, and what this process expects of it. */
abstract class LedgerKeeper {
  private readonly expected = new Map<string, number>();

  abstract all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;

  async appliedMigrations(): Promise<Map<string, number>> {
    const rows = await this.all<{ room: string; version: number }>('SELECT room, MAX(version) AS version FROM schema_migrations GROUP BY room');
    return new Map(rows.map((r) => [r.room, Number(r.version)]));
  }

  expectMigration(room: string, version: number): void {
    this.expected.set(room, Math.max(this.expected.get(room) ?? 0, version));
  }

  async migrationProblems(): Promise<string[]> {
    return describeMigrationProblems(this.expected, await this.appliedMigrations());
  }
}

/**
 * The embedded database behind the async interface. better-sqlite3 is synchronous, so a
 * statement runs at once; what the interface adds is a queue: while a transaction is open (its
 * work may await between statements), statements from elsewhere in the process wait for it,
 * because on one connection they would otherwise become part of it.
 */
export class SqliteSqlDatabase extends LedgerKeeper implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Statement>();
  /** Resolves when the open transaction ends; null when none is open. */
  private busy: Promise<void> | null = null;
  private readonly direct: SqlExecutor;

  constructor(readonly db: SqliteDatabase) {
    super();
    const run = <T>(sql: string, fn: () => T): Promise<T> => {
      try {
        return Promise.resolve(fn());
      } catch (err) {
        return Promise.reject(err);
      } finally {
        if (mayWrite(sql)) writes++;
      }
    };
    this.direct = {
      dialect: 'sqlite',
      all: <T>(sql: string, params: readonly unknown[] = []) => run(sql, () => this.statement(sql).all(...params.map(toParam)) as T[]),
      get: <T>(sql: string, params: readonly unknown[] = []) => run(sql, () => this.statement(sql).get(...params.map(toParam)) as T | undefined),
      run: (sql: string, params: readonly unknown[] = []) => run(sql, () => ({ changes: this.statement(sql).run(...params.map(toParam)).changes })),
    };
  }

  /** Opens (creating if needed) the file with Herald's durability settings. */
  static open(file: string): SqliteSqlDatabase {
    return new SqliteSqlDatabase(openSqlite(file));
  }

  async all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    while (this.busy) await this.busy;
    return this.direct.all<T>(sql, params);
  }

  async get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    while (this.busy) await this.busy;
    return this.direct.get<T>(sql, params);
  }

  async run(sql: string, params?: readonly unknown[]): Promise<SqlRunResult> {
    while (this.busy) await this.busy;
    return this.direct.run(sql, params);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    while (this.busy) await this.busy;
    let end!: () => void;
    this.busy = new Promise<void>((resolve) => (end = resolve));
    try {
      // IMMEDIATE: take the write lock now, so another process's writer makes us wait here
      // (busy_timeout) rather than fail half-way through.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      writes++;
      this.busy = null;
      end();
    }
  }

  async migrate(room: string, migrations: DialectMigrations): Promise<void> {
    this.expectMigration(room, latestOf(migrations.sqlite));
    while (this.busy) await this.busy;
    const db = this.db;
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (room TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (room, version))');
    for (const m of [...migrations.sqlite].sort((a, b) => a.version - b.version)) {
      // Checked inside the write lock: another process may have applied it meanwhile.
      db.transaction(() => {
        if (db.prepare('SELECT 1 FROM schema_migrations WHERE room = ? AND version = ?').get(room, m.version)) return;
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_migrations (room, version, applied_at) VALUES (?, ?, ?)').run(room, m.version, Date.now());
      }).immediate();
      writes++;
    }
  }

  async installationSecret(name: string): Promise<Buffer> {
    await this.run('CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL, created_at INTEGER NOT NULL)');
    return insertSecretOnce(this, name);
  }

  async close(): Promise<void> {
    while (this.busy) await this.busy;
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }
}

// Both dialects: two nodes starting together agree on one secret (insert if absent, then read).
async function insertSecretOnce(db: SqlExecutor, name: string): Promise<Buffer> {
  await db.run('INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', [name, randomBytes(32), Date.now()]);
  return (await db.get<{ value: Buffer }>('SELECT value FROM secrets WHERE name = ?', [name]))!.value;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** Schema names Herald creates itself: plain lower-case identifiers, no quoting surprises. */
export function checkSchemaName(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name "${schema}": use lower-case letters, digits and _ (at most 63), not starting with a digit`);
  }
}

/**
 * Integer results as JavaScript numbers, as SQLite gives them: BIGINT columns (times in ms,
 * counters) and COUNT(*) (int8), SUM of integers (numeric). Herald's integers stay far below 2^53.
 */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

export interface PostgresSqlOptions {
  /** A connection string or pg pool settings. */
  connection: string | pg.PoolConfig;
  /** The schema holding Herald's tables, created if missing; default `public`. */
  schema?: string;
}

/**
 * Applies a room's migrations to `schema` (created if missing) in one transaction, under a
 * transaction-level advisory lock on (migrations, schema): nodes starting together queue up
 * behind the first, which applies everything; the others then find nothing left to do. The lock
 * goes with the transaction, so a node that dies mid-way holds nothing. Returns the versions it
 * applied.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  schema: string,
  room: string,
  migrations: readonly { version: number; sql: string }[],
): Promise<number[]> {
  checkSchemaName(schema);
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('herald.migrations'), hashtext($1))", [schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    // Unqualified names in the migrations land in the schema, whatever the connection's path.
    await client.query(`SET LOCAL search_path TO ${schema}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (room TEXT NOT NULL, version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (room, version))',
    );
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations WHERE room = $1', [room])).rows.map((r) => r.version));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (room, version, applied_at) VALUES ($1, $2, now())', [room, m.version]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  return applied;
}

/** PostgreSQL behind the same interface: a pool, one client per transaction. */
export class PostgresSqlDatabase extends LedgerKeeper implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  private readonly executor: (client: pg.Pool | pg.PoolClient) => SqlExecutor;
  private secretsTable: Promise<void> | null = null;

  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
  ) {
    super();
    const query = async (client: pg.Pool | pg.PoolClient, sql: string, params: readonly unknown[]) => {
      try {
        return await client.query(numberPlaceholders(sql), params.map(toParam));
      } finally {
        if (mayWrite(sql)) writes++;
      }
    };
    this.executor = (client) => ({
      dialect: 'postgres',
      all: async <T>(sql: string, params: readonly unknown[] = []) => (await query(client, sql, params)).rows as T[],
      get: async <T>(sql: string, params: readonly unknown[] = []) => (await query(client, sql, params)).rows[0] as T | undefined,
      run: async (sql: string, params: readonly unknown[] = []) => ({ changes: (await query(client, sql, params)).rowCount ?? 0 }),
    });
  }

  /** Connects (the schema is created by the first migration if missing) and checks the server answers. */
  static async open(options: PostgresSqlOptions): Promise<PostgresSqlDatabase> {
    const schema = options.schema ?? 'public';
    checkSchemaName(schema);
    const base: pg.PoolConfig = typeof options.connection === 'string' ? { connectionString: options.connection } : { ...options.connection };
    // Every connection: our schema first, and commits flushed before they return.
    const pool = new pg.Pool({
      max: 10,
      ...base,
      options: [base.options, `-c search_path=${schema}`, '-c synchronous_commit=on'].filter(Boolean).join(' '),
      types: pgTypes,
    });
    // An idle client that loses its connection must not take the process down; the next query reconnects.
    pool.on('error', () => {});
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return new PostgresSqlDatabase(pool, schema);
  }

  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.executor(this.pool).all<T>(sql, params);
  }

  get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    return this.executor(this.pool).get<T>(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<SqlRunResult> {
    return this.executor(this.pool).run(sql, params);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await work(this.executor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    } finally {
      writes++;
      client.release();
    }
  }

  async migrate(room: string, migrations: DialectMigrations): Promise<void> {
    this.expectMigration(room, latestOf(migrations.postgres));
    const client = await this.pool.connect();
    try {
      await migratePostgres(client, this.schema, room, migrations.postgres);
    } finally {
      writes++;
      client.release();
    }
  }

  async installationSecret(name: string): Promise<Buffer> {
    // Its table is migrated once per connection pool, not once per secret.
    this.secretsTable ??= this.migrate('secrets', { sqlite: [], postgres: [{ version: 1, sql: 'CREATE TABLE secrets (name TEXT PRIMARY KEY, value BYTEA NOT NULL, created_at BIGINT NOT NULL)' }] });
    try {
      await this.secretsTable;
    } catch (err) {
      this.secretsTable = null;
      throw err;
    }
    return insertSecretOnce(this, name);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Opens Herald's record database: PostgreSQL when a URL is given, else the SQLite file. */
export async function openSqlDatabase(options: { url?: string | null; file: string; schema?: string }): Promise<SqlDatabase> {
  if (options.url) return PostgresSqlDatabase.open({ connection: options.url, schema: options.schema });
  return SqliteSqlDatabase.open(options.file);
}

/** A write refused because a row with the same unique key exists, on either engine. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
