import { Command } from 'commander';
import { resolveConfig, databasePath, type GlobalOptions } from '../context.js';
import { CliError, emit, table } from '../output.js';
import { progressBar } from '../progress.js';

const n = (x: number) => x.toLocaleString('en-US');

/** Where a database URL points, without its password (for messages). */
function safeUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '****';
  return u.href;
}

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('bring the database up to this version of Herald (start-up does it too; nodes starting together take turns)')
    .addHelpText('after', '\nUses HERALD_DATABASE_URL when set, else the SQLite file in the data directory.\n\nExamples:\n  herald migrate\n  HERALD_DATABASE_URL=postgres://herald@db/herald herald migrate --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = resolveConfig(g);
      const { migrateDatabase } = await import('../../main.js');
      const result = await migrateDatabase(config);
      const where = config.databaseUrl ? safeUrl(config.databaseUrl) : databasePath(config);
      emit(g, { engine: result.engine, database: where, schema: result.engine === 'postgres' ? config.databaseSchema : null, rooms: result.rooms }, () =>
        [`${result.engine === 'postgres' ? 'PostgreSQL' : 'SQLite'} database ${where} is up to date.`, '', table(['room', 'migration'], result.rooms.map((r) => [r.room, r.version]))].join('\n'),
      );
    });
}

export function migrateStoreCommand(): Command {
  return new Command('migrate-store')
    .description('copy everything from the embedded SQLite store into PostgreSQL (queue included), then check the counts')
    .requiredOption('--to <url>', 'the PostgreSQL database: postgres://user:password@host:5432/db')
    .option('--schema <name>', 'the schema to create Herald’s tables in (default: HERALD_DATABASE_SCHEMA or public)')
    .addHelpText(
      'after',
      '\nStop Herald first: the copy reads the SQLite file while nothing writes to it. The target schema must\n' +
        'hold no tables yet. Afterwards set HERALD_DATABASE_URL (and HERALD_DATABASE_SCHEMA) and start Herald;\n' +
        'the SQLite file is left as it was. Progress goes to standard error.\n\n' +
        'Examples:\n  herald migrate-store --to postgres://herald:secret@db.internal:5432/herald\n  herald migrate-store --to postgres://herald@127.0.0.1/herald --schema mail --json',
    )
    .action(async (opts: { to: string; schema?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const source = resolveConfig(g);
      if (source.databaseUrl) throw new CliError('HERALD_DATABASE_URL is set: this Herald already keeps its data in PostgreSQL; migrate-store copies from the SQLite store', 'already_postgres');
      let target;
      try {
        target = resolveConfig(g, { databaseUrl: opts.to, ...(opts.schema ? { databaseSchema: opts.schema } : {}) });
      } catch (err) {
        throw new CliError(`--to / --schema: ${(err as Error).message}`, 'invalid_target');
      }
      const { migrateStore } = await import('../../main.js');
      const progress = progressBar('copying');
      let result;
      try {
        result = await migrateStore(source, target, {
          onProgress: (p) => progress.update(p.allDone, p.allTotal, `${n(p.allDone)} of ${n(p.allTotal)} rows (${p.table})`),
        });
      } catch (err) {
        // Refusals that say what to do keep their code for scripts (--json).
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && /^[a-z_]+$/.test(code)) throw new CliError((err as Error).message, code);
        throw err;
      } finally {
        progress.finish();
      }
      const to = safeUrl(opts.to);
      emit(g, { from: databasePath(source), to, schema: target.databaseSchema, tables: result.tables, rows: result.rows }, () =>
        [
          `Copied ${n(result.rows)} rows from ${databasePath(source)} to ${to} (schema ${target.databaseSchema}); every table's count matches.`,
          '',
          table(['table', 'rows'], result.tables.map((t) => [t.table, n(t.rows)])),
          '',
          `Next: set HERALD_DATABASE_URL=${to}${target.databaseSchema === 'public' ? '' : ` HERALD_DATABASE_SCHEMA=${target.databaseSchema}`} and start Herald.`,
        ].join('\n'),
      );
    });
}
