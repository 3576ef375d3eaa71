import type { SqliteDatabase } from './sqlite.js';
import type { PostgresSqlDatabase } from './sql-database.js';

/**
 * Copies every row of the embedded SQLite database into PostgreSQL (`herald migrate-store`).
 *
 * The target must be a database Herald has just migrated and nothing else has used: what its
 * tables hold (the default account, counters) is replaced by the copy. The caller checks that the
 * target was empty before migrating it. Tables are copied in foreign-key order, columns by name; each value is
 * turned into the target column's type (times in ms → timestamptz where the PostgreSQL schema
 * uses it, 0/1 → boolean, JSON text → json). Identity counters and the queue's event counter
 * are moved past the copied rows, and every table's count is compared at the end.
 */

/** SQLite tables that only index other tables' rows; PostgreSQL keeps those indexes its own way. */
const DERIVED_SQLITE_TABLES = [/^message_tags$/, /^message_subjects(_fts.*|_indexed)?$/];
/** Bookkeeping that belongs to the database it lives in, made again by the target's migrations. */
const NOT_COPIED = new Set(['schema_migrations', 'change_counters', 'job_leases', 'destination_slots']);

export interface CopyProgress {
  table: string;
  /** Rows copied of this table so far, and its total. */
  done: number;
  total: number;
  /** Rows copied of every table so far, and the total. */
  allDone: number;
  allTotal: number;
}

export interface CopiedTable {
  table: string;
  rows: number;
}

export class CopyError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface TargetColumn {
  name: string;
  type: string;
  nullable: boolean;
  hasDefault: boolean;
  identity: 'ALWAYS' | 'BY DEFAULT' | null;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

export async function copySqliteToPostgres(
  source: SqliteDatabase,
  target: PostgresSqlDatabase,
  options: { batchRows?: number; onProgress?: (p: CopyProgress) => void } = {},
): Promise<CopiedTable[]> {
  const batchRows = options.batchRows ?? 500;
  const sourceTables = (source.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[])
    .map((r) => r.name)
    .filter((name) => !NOT_COPIED.has(name) && !DERIVED_SQLITE_TABLES.some((re) => re.test(name)));

  const columnRows = await target.all<{ table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null; identity_generation: string | null }>(
    `SELECT table_name, column_name, data_type, is_nullable, column_default, identity_generation
       FROM information_schema.columns WHERE table_schema = ? ORDER BY table_name, ordinal_position`,
    [target.schema],
  );
  const targetTables = new Map<string, TargetColumn[]>();
  for (const c of columnRows) {
    const list = targetTables.get(c.table_name) ?? [];
    list.push({
      name: c.column_name,
      type: c.data_type,
      nullable: c.is_nullable === 'YES',
      hasDefault: c.column_default !== null || c.identity_generation !== null,
      identity: (c.identity_generation as TargetColumn['identity']) ?? null,
    });
    targetTables.set(c.table_name, list);
  }
  const missing = sourceTables.filter((t) => !targetTables.has(t));
  if (missing.length) {
    throw new CopyError(`PostgreSQL has no table ${missing.join(', ')}: run "herald migrate" against it with this Herald first`, 'target_not_migrated');
  }

  // Parents before children: a row's foreign keys must find their rows.
  const edges = await target.all<{ child: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE c.contype = 'f' AND n.nspname = ?`,
    [target.schema],
  );
  const bare = (name: string) => name.replace(/^.*\./, '').replace(/"/g, '');
  const order: string[] = [];
  const placed = new Set<string>();
  const visit = (table: string, path: Set<string>) => {
    if (placed.has(table) || path.has(table)) return;
    path.add(table);
    for (const e of edges) if (bare(e.child) === table && bare(e.parent) !== table) visit(bare(e.parent), path);
    placed.add(table);
    if (sourceTables.includes(table)) order.push(table);
  };
  for (const t of sourceTables) visit(t, new Set());

  const totals = new Map(order.map((t) => [t, (source.prepare(`SELECT COUNT(*) AS n FROM ${quote(t)}`).get() as { n: number }).n]));
  const allTotal = [...totals.values()].reduce((a, b) => a + b, 0);

  const copied: CopiedTable[] = [];
  let allDone = 0;
  for (const table of order) {
    const targetColumns = targetTables.get(table)!;
    const sourceColumns = (source.prepare(`PRAGMA table_info(${quote(table)})`).all() as { name: string }[]).map((c) => c.name);
    const lost = sourceColumns.filter((c) => !targetColumns.some((t) => t.name === c));
    if (lost.length) throw new CopyError(`PostgreSQL's ${table} has no column ${lost.join(', ')}: run "herald migrate" against it with this Herald first`, 'target_not_migrated');
    const required = targetColumns.filter((c) => !c.nullable && !c.hasDefault && !sourceColumns.includes(c.name));
    if (required.length) throw new CopyError(`SQLite's ${table} has no column ${required.map((c) => c.name).join(', ')}, which PostgreSQL requires`, 'schema_mismatch');
    const columns = targetColumns.filter((c) => sourceColumns.includes(c.name));
    const overriding = columns.some((c) => c.identity === 'ALWAYS') ? ' OVERRIDING SYSTEM VALUE' : '';
    const convert = columns.map((c) => converterFor(c.type));
    const total = totals.get(table)!;
    let done = 0;

    await target.transaction(async (tx) => {
      // Rows the target's own migrations and first opening put there (the default account, a
      // counter) give way to the copied ones.
      await tx.run(`DELETE FROM ${quote(table)}`);
      const flush = async (rows: unknown[][]) => {
        if (!rows.length) return;
        const values = rows.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
        await tx.run(`INSERT INTO ${quote(table)} (${columns.map((c) => quote(c.name)).join(', ')})${overriding} VALUES ${values}`, rows.flat());
        done += rows.length;
        allDone += rows.length;
        options.onProgress?.({ table, done, total, allDone, allTotal });
      };
      let batch: unknown[][] = [];
      let batchBytes = 0;
      // Reading while Herald is stopped: nothing writes to the file under the iterator.
      for (const row of source.prepare(`SELECT ${columns.map((c) => quote(c.name)).join(', ')} FROM ${quote(table)}`).raw().iterate() as Iterable<unknown[]>) {
        batch.push(row.map((v, i) => convert[i](v)));
        for (const v of row) if (Buffer.isBuffer(v) || typeof v === 'string') batchBytes += v.length;
        // Bodies are large: a statement holds at most a few megabytes.
        if (batch.length >= batchRows || batchBytes >= 8 << 20) {
          await flush(batch);
          batch = [];
          batchBytes = 0;
        }
      }
      await flush(batch);
    });
    if (total === 0) options.onProgress?.({ table, done: 0, total: 0, allDone, allTotal });

    // Identity columns continue after the copied rows.
    for (const c of columns.filter((col) => col.identity)) {
      await target.run(`SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT MAX(${quote(c.name)}) FROM ${quote(table)}), 0) + 1, false)`, [`${target.schema}.${table}`, c.name]);
    }
    copied.push({ table, rows: done });
  }

  // The queue's outbox numbers its events from one counter row (see the queue's schema).
  if (targetTables.has('event_seq') && targetTables.has('events')) {
    await target.run('INSERT INTO event_seq (id, last_seq) VALUES (1, (SELECT COALESCE(MAX(seq), 0) FROM events)) ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq');
  }

  for (const { table, rows } of copied) {
    const there = (await target.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${quote(table)}`))?.n ?? 0;
    const here = totals.get(table)!;
    if (there !== here || rows !== here) throw new CopyError(`${table}: ${here} rows in SQLite but ${there} in PostgreSQL after the copy`, 'count_mismatch');
  }
  return copied;
}

/** How a SQLite value becomes a value of the PostgreSQL column's type. */
function converterFor(type: string): (value: unknown) => unknown {
  switch (type) {
    case 'timestamp with time zone':
    case 'timestamp without time zone':
      return (v) => (typeof v === 'number' ? new Date(v) : v);
    case 'boolean':
      return (v) => (typeof v === 'number' ? v !== 0 : v);
    case 'json':
    case 'jsonb':
      // Kept as the text SQLite holds; PostgreSQL parses it.
      return (v) => v;
    case 'text':
      return (v) => (typeof v === 'number' || typeof v === 'bigint' ? String(v) : v);
    default:
      return (v) => v;
  }
}
