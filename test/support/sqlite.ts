import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../../src/storage/index.js';

/**
 * A database file in a fresh temporary directory, removed after the test. Call the result to
 * open a connection (each call another one, as a second process would); `file` is its path.
 */
export function tempDatabase(t: { after(fn: () => void): void }, prefix = 'herald-db-'): (() => SqliteDatabase) & { file: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'herald.db');
  const opened: SqliteDatabase[] = [];
  t.after(() => {
    for (const db of opened) db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = () => {
    const db = openSqlite(file);
    opened.push(db);
    return db;
  };
  return Object.assign(open, { file });
}
