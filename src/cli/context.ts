import { join } from 'node:path';
import { loadConfig, type ConfigKey, type HeraldConfig } from '../config/index.js';
import { PostgresQueueStore, SqliteQueueStore, type QueueStore } from '../queue/index.js';
import { openSqlDatabase, openSqlite, type SqlDatabase, type SqliteDatabase } from '../storage/index.js';

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  json?: boolean;
}

export function resolveConfig(opts: GlobalOptions, extra: Partial<Record<ConfigKey, string>> = {}): HeraldConfig {
  const overrides: Partial<Record<ConfigKey, string>> = { ...extra };
  if (opts.dataDir) overrides.dataDir = opts.dataDir;
  return loadConfig({ file: opts.config, overrides }).config;
}

export function databasePath(config: Pick<HeraldConfig, 'dataDir'>): string {
  return join(config.dataDir, 'herald.db');
}

/** Opens the same database file the server uses; WAL lets the CLI work while Herald runs. */
export function openDatabase(config: HeraldConfig): SqliteDatabase {
  return openSqlite(databasePath(config));
}

/**
 * Opens the database the server keeps its records in: PostgreSQL when HERALD_DATABASE_URL is
 * set, else the SQLite file in the data directory (WAL lets the CLI work while Herald runs).
 */
export function openRecords(config: HeraldConfig): Promise<SqlDatabase> {
  return openSqlDatabase({ url: config.databaseUrl, file: databasePath(config), schema: config.databaseSchema });
}

/**
 * Opens the queue the server uses, as openRecords does the records: PostgreSQL when
 * HERALD_DATABASE_URL is set, else the SQLite file in the data directory (in this thread).
 */
export async function openQueue(config: HeraldConfig): Promise<QueueStore> {
  if (config.databaseUrl) return PostgresQueueStore.open({ connection: config.databaseUrl, schema: config.databaseSchema });
  return new SqliteQueueStore(openDatabase(config));
}
