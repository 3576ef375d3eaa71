import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openSqlDatabase, type SqlDatabase } from '../../src/storage/index.js';
import { postgresUnavailable, TEST_DATABASE_URL, testSchema } from './postgres.js';

/**
 * The database engine of every Herald a test boots: the SQLite file in its data directory, or,
 * with HERALD_TEST_ENGINE=postgres, a PostgreSQL schema of its own (scripts/test.mjs runs the
 * integration tests a second time that way).
 */
export type TestEngine = 'sqlite' | 'postgres';

function engineOf(value: string | undefined): TestEngine {
  if (value === undefined || value === '' || value === 'sqlite') return 'sqlite';
  if (value === 'postgres') return 'postgres';
  throw new Error(`HERALD_TEST_ENGINE must be sqlite or postgres, not "${value}"`);
}

export const TEST_ENGINE = engineOf(process.env.HERALD_TEST_ENGINE);

/**
 * Each data directory's schema: a Herald restarted on the same directory (a crash test) finds
 * its data again, and a CLI call given the directory works on the same database.
 */
const schemas = new Map<string, ReturnType<typeof testSchema>>();

if (TEST_ENGINE === 'postgres') {
  // Nothing in the file can run without the server: skip it whole, with the reason printed
  // (under HERALD_TEST_STRICT=1 this throws, and the file fails).
  if (await postgresUnavailable()) process.exit(0);
  // Loaded only here: the benchmark imports this file (through processes.ts) outside the test runner.
  const { after } = await import('node:test');
  // The schemas whose data directory the test left for the end of the file.
  after(async () => {
    if (process.env.HERALD_TEST_KEEP_TMP) return;
    for (const [dir, schema] of [...schemas]) {
      schemas.delete(dir);
      await schema.drop();
    }
  });
}

/** The variables that put a Herald (or a CLI call) on data directory `dataDir` onto the test engine. */
export function engineEnv(dataDir: string): Record<string, string> {
  if (TEST_ENGINE === 'sqlite') return {};
  const key = resolve(dataDir);
  let schema = schemas.get(key);
  if (!schema) schemas.set(key, (schema = testSchema()));
  return { HERALD_DATABASE_URL: TEST_DATABASE_URL, HERALD_DATABASE_SCHEMA: schema.name };
}

/**
 * For a test that kills Herald and restarts it on the same data: on SQLite the new process returns
 * the claims of the killed one to the queue at start-up (it alone owns the file); on PostgreSQL it
 * cannot tell them from a live node's, and they wait for their lease (HERALD_DELIVERY_LEASE, 10
 * minutes by default) to run out. A short lease there keeps that wait within the test's time.
 */
export function restartableEnv(): Record<string, string> {
  return TEST_ENGINE === 'postgres' ? { HERALD_DELIVERY_LEASE: '5s' } : {};
}

/** Environment for a CLI call on the installation in `dataDir`: the directory and its database. */
export function dataDirEnv(dataDir: string): Record<string, string> {
  return { HERALD_DATA_DIR: dataDir, ...engineEnv(dataDir) };
}

/** Removes a data directory and, on PostgreSQL, its schema. */
export async function removeDataDir(dataDir: string): Promise<void> {
  rmSync(dataDir, { recursive: true, force: true });
  const key = resolve(dataDir);
  const schema = schemas.get(key);
  schemas.delete(key);
  await schema?.drop();
}

/** The records database of the installation `env` describes, opened as a second process would. */
export function openRecordsOf(env: Record<string, string | undefined>): Promise<SqlDatabase> {
  if (!env.HERALD_DATA_DIR) throw new Error('openRecordsOf: no HERALD_DATA_DIR');
  return openSqlDatabase({ url: env.HERALD_DATABASE_URL, file: join(env.HERALD_DATA_DIR, 'herald.db'), schema: env.HERALD_DATABASE_SCHEMA });
}
