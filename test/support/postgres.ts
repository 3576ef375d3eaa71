import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { STRICT } from './peers.js';

/**
 * The PostgreSQL server tests use: database `test` on 127.0.0.1:5432 as `postgres` with trust
 * auth (as on the development and CI machines), or HERALD_TEST_DATABASE_URL.
 */
export const TEST_DATABASE_URL = process.env.HERALD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * false when the server answers; otherwise the reason, printed, so the caller skips — and under
 * HERALD_TEST_STRICT=1 (CI) an error instead, since CI has PostgreSQL running.
 */
export async function postgresUnavailable(): Promise<string | false> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return false;
  } catch (err) {
    const reason = `needs PostgreSQL at ${TEST_DATABASE_URL} (set HERALD_TEST_DATABASE_URL): ${(err as Error).message}`;
    if (STRICT) throw new Error(`HERALD_TEST_STRICT=1 and PostgreSQL is unreachable: ${reason}`);
    console.log(`# skip: ${reason}`);
    return reason;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh, empty schema name for one test (the store creates it); `drop` removes it and all in it. */
export function testSchema(): { name: string; drop(): Promise<void> } {
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  return {
    name,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
