import { SqliteSqlDatabase, type SqlDatabase } from '../../src/storage/index.js';
import { SqlAccountStore } from '../../src/accounts/index.js';
import { silentLogger, systemClock } from '../../src/core/index.js';
import { createHttpServer, type HttpServer } from '../../src/api/index.js';
import type { ApiDeps } from '../../src/api/types.js';

/** What the other rooms' routes are given: anything read from it is itself, and calling it does nothing. */
const inert: unknown = new Proxy(function inert() {}, { get: (_target, key) => (key === 'then' ? undefined : inert), apply: () => inert });

/**
 * Herald's real HTTP edge (authentication, scopes, validation, the error shape) on an in-memory
 * database, for testing one room's routes: real accounts, the rooms the test gives, and an inert
 * stand-in for the others' required dependencies (their routes are never called). Optional rooms
 * (tracking, users, the dashboard) stay off unless given: present-but-inert would register them.
 */
export async function startApiEdge(
  t: { after(fn: () => Promise<void> | void): void },
  rooms: (db: SqlDatabase, accounts: SqlAccountStore) => Partial<ApiDeps> | Promise<Partial<ApiDeps>>,
): Promise<{ server: HttpServer; db: SqlDatabase; accounts: SqlAccountStore }> {
  const db = SqliteSqlDatabase.open(':memory:');
  const accounts = await SqlAccountStore.open(db);
  const given: Record<string | symbol, unknown> = {
    config: { maxMessageSize: 1024 * 1024 },
    accounts,
    clock: systemClock,
    logger: silentLogger,
    version: 'test',
    tracking: undefined,
    users: undefined,
    dashboardDir: undefined,
    ...(await rooms(db, accounts)),
  };
  const deps = new Proxy(given, { get: (target, key) => (key in target ? target[key] : inert) }) as unknown as ApiDeps;
  const server = createHttpServer(deps);
  await server.app.ready();
  t.after(async () => {
    await server.stop();
    await db.close();
  });
  return { server, db, accounts };
}
