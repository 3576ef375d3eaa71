import type { SqlExecutor } from './sql-database.js';

/**
 * Change counters: one row per counter in `change_counters`, moved by triggers (SQLite or
 * PostgreSQL) on every insert, update and delete of the tables it watches, inside the transaction
 * that made the change, whichever connection or process made it (the CLI writes to the same
 * database as the server). A room keeps what its lookups read in memory and drops it when its counter moved, so a
 * lookup costs one primary-key read and never answers from before a committed change.
 *
 * Why not `PRAGMA data_version`: it moves on every commit of any other connection, and the queue
 * store's writer thread commits many times a second under load, so a cache keyed on it would be
 * dropped all the time. A counter moves only when the records it covers do.
 */

const TABLE = 'CREATE TABLE IF NOT EXISTS change_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;';
const NAME = /^[a-z][a-z0-9_]*$/;

/** A table a counter watches; `updateOf` limits the update trigger to those columns (bookkeeping columns left out). */
export type WatchedTable = string | { table: string; updateOf: readonly string[] };

/**
 * The SQL of a room's migration that makes `counter` count every change to `tables`: the shared
 * table (made by whichever room comes first), the counter's row, and three triggers per table.
 * What it returns is part of applied migrations: it must never change for the same arguments
 * (watch a new table, or a new column, with a new migration).
 */
export function changeCounterSql(counter: string, tables: readonly WatchedTable[]): string {
  const check = (name: string) => {
    if (!NAME.test(name)) throw new Error(`changeCounterSql: "${name}" is not a plain table, column or counter name`);
    return name;
  };
  check(counter);
  const lines = [TABLE, `INSERT OR IGNORE INTO change_counters (name, value) VALUES ('${counter}', 0);`];
  const bump = `BEGIN UPDATE change_counters SET value = value + 1 WHERE name = '${counter}'; END;`;
  for (const watched of tables) {
    const table = check(typeof watched === 'string' ? watched : watched.table);
    const update = typeof watched === 'string' ? 'UPDATE' : `UPDATE OF ${watched.updateOf.map(check).join(', ')}`;
    lines.push(`CREATE TRIGGER ${table}_insert_counts_${counter} AFTER INSERT ON ${table} ${bump}`);
    lines.push(`CREATE TRIGGER ${table}_update_counts_${counter} AFTER ${update} ON ${table} ${bump}`);
    lines.push(`CREATE TRIGGER ${table}_delete_counts_${counter} AFTER DELETE ON ${table} ${bump}`);
  }
  return lines.join('\n');
}

/**
 * PostgreSQL's twin of `changeCounterSql`: the same table and counter row, moved by one
 * statement-level trigger per table (a bulk change moves it once). Same rule: what it returns
 * for given arguments never changes.
 */
export function postgresChangeCounterSql(counter: string, tables: readonly WatchedTable[]): string {
  const check = (name: string) => {
    if (!NAME.test(name)) throw new Error(`postgresChangeCounterSql: "${name}" is not a plain table, column or counter name`);
    return name;
  };
  check(counter);
  const lines = [
    'CREATE TABLE IF NOT EXISTS change_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);',
    `INSERT INTO change_counters (name, value) VALUES ('${counter}', 0) ON CONFLICT (name) DO NOTHING;`,
    // One function for every counter; the trigger names its counter.
    `CREATE OR REPLACE FUNCTION herald_count_change() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
     BEGIN UPDATE change_counters SET value = value + 1 WHERE name = TG_ARGV[0]; RETURN NULL; END $$;`,
  ];
  for (const watched of tables) {
    const table = check(typeof watched === 'string' ? watched : watched.table);
    const update = typeof watched === 'string' ? 'UPDATE' : `UPDATE OF ${watched.updateOf.map(check).join(', ')}`;
    lines.push(
      `CREATE TRIGGER ${table}_counts_${counter} AFTER INSERT OR ${update} OR DELETE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION herald_count_change('${counter}');`,
    );
  }
  return lines.join('\n');
}

/**
 * One counter as one connection sees it (either engine). `moved()` reads it (a primary-key read of
 * a table of a few rows) and says whether it changed since the last look: the caller then drops
 * its cache. Read it before the records it caches, never after: a change committed between the
 * two reads then only costs one reload more, never a stale entry.
 */
export class ChangeCounter {
  private seen: number | undefined;
  private looked = false;

  constructor(
    private readonly db: SqlExecutor,
    readonly name: string,
  ) {}

  /** True on the first look, when the counter changed since the last one, and always when it has no row. */
  async moved(): Promise<boolean> {
    const row = await this.db.get<{ value: number }>('SELECT value FROM change_counters WHERE name = ?', [this.name]);
    const value = row === undefined ? undefined : Number(row.value);
    if (this.looked && value !== undefined && value === this.seen) return false;
    this.looked = true;
    this.seen = value;
    return true;
  }
}
