import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { PostgresSqlDatabase, SqliteSqlDatabase, type SqlDatabase } from '../../src/storage/index.js';
import { postgresUnavailable, TEST_DATABASE_URL, testSchema } from './postgres.js';

/** Why PostgreSQL tests skip here (printed), or false when it answers; strict runs fail instead. */
const postgresSkip = await postgresUnavailable();

export type SqlEngine = 'sqlite' | 'postgres';

export interface SqlBackend {
  engine: SqlEngine;
  /** A new, empty database: a new SQLite file, or a new PostgreSQL schema. */
  fresh(): Promise<SqlDatabase>;
  /** Another connection to the same database as `db`, as a second process or node would have. */
  another(db: SqlDatabase): Promise<SqlDatabase>;
}

/**
 * Runs `suite` once on each engine, in a describe named after it. Everything opened is closed,
 * and every file and schema removed, after the describe. PostgreSQL skips with a printed reason
 * when it does not answer (under HERALD_TEST_STRICT=1 that is a failure).
 */
export function describeEachBackend(title: string, suite: (backend: SqlBackend) => void): void {
  describe(`${title} (SQLite)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-sql-'));
    const opened: SqlDatabase[] = [];
    const files = new Map<SqlDatabase, string>();
    const open = (file: string) => {
      const db = SqliteSqlDatabase.open(file);
      opened.push(db);
      files.set(db, file);
      return db;
    };
    after(async () => {
      for (const db of opened) await db.close();
      rmSync(dir, { recursive: true, force: true });
    });
    suite({
      engine: 'sqlite',
      fresh: async () => open(join(dir, `herald-${opened.length}.db`)),
      another: async (db) => open(files.get(db)!),
    });
  });
  describe(`${title} (PostgreSQL)`, { skip: postgresSkip || undefined }, () => {
    const schemas: ReturnType<typeof testSchema>[] = [];
    const opened: SqlDatabase[] = [];
    const open = async (schema: string) => {
      const db = await PostgresSqlDatabase.open({ connection: { connectionString: TEST_DATABASE_URL, max: 4 }, schema });
      opened.push(db);
      return db;
    };
    after(async () => {
      for (const db of opened) await db.close();
      for (const schema of schemas) await schema.drop();
    });
    suite({
      engine: 'postgres',
      fresh: async () => {
        const schema = testSchema();
        schemas.push(schema);
        return open(schema.name);
      },
      another: async (db) => open((db as PostgresSqlDatabase).schema),
    });
  });
}
