import { writesInThisThread, type SqlExecutor } from './sql-database.js';

/**
 * Change counters: one row per counter in `change_counters`, moved by triggers (SQLite or
 * PostgreSQL) on every insert, update and delete of the tables it watches, inside the transaction
 * that made the change, whichever connection or process made it (the CLI writes to the same
 * database as the server). A room keeps what its lookups read in memory and drops it when its
 * counter moved, so a lookup costs at most one read of the counters table, sees every change made
 * through this process at once, and one made elsewhere within SNAPSHOT_MS.
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
 * How long one read of every counter answers for all the counters of a database. Each lookup of
 * a record store checks its counter first, and one message passes several (the credential at
 * MAIL, the sending domain and the account at the end of DATA), so under load most of those
 * reads would find what the last one found a moment before.
 *
 * Any write made in this thread drops the snapshot (`writesInThisThread`), so a change made here
 * is seen at the next lookup. A change made by another process (the CLI, another node on
 * PostgreSQL) is seen by every lookup that starts more than SNAPSHOT_MS after it was committed:
 * far below anything a person or a script could tell from "at once".
 */
const SNAPSHOT_MS = 2;

interface Snapshot {
  values: Promise<Map<string, number>>;
  /** When the read started (what it saw is at least that new), and the thread's writes then. */
  startedAt: number;
  writes: number;
}

const snapshots = new WeakMap<SqlExecutor, Snapshot>();

function readCounters(db: SqlExecutor): Promise<Map<string, number>> {
  const now = performance.now();
  const writes = writesInThisThread();
  const known = snapshots.get(db);
  if (known && known.writes === writes && now - known.startedAt < SNAPSHOT_MS) return known.values;
  const values = db.all<{ name: string; value: number }>('SELECT name, value FROM change_counters').then((rows) => new Map(rows.map((r) => [r.name, Number(r.value)])));
  const snapshot = { values, startedAt: now, writes };
  snapshots.set(db, snapshot);
  // A failed read is not kept for others to share.
  values.catch(() => {
    if (snapshots.get(db) === snapshot) snapshots.delete(db);
  });
  return values;
}

/**
 * One counter as one connection sees it (either engine). `moved()` reads it (one read of the
 * small counters table, shared for a moment by every counter of the same database; see
 * SNAPSHOT_MS) and says whether it changed since the last look: the caller then drops its
 * cache. Read it before the records it caches, never after: a change committed between the two
 * reads then only costs one reload more, never a stale entry.
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
    const value = (await readCounters(this.db)).get(this.name);
    if (this.looked && value !== undefined && value === this.seen) return false;
    this.looked = true;
    this.seen = value;
    return true;
  }
}
