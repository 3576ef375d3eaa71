import { Command, Option } from 'commander';
import { SqlAccountStore } from '../../accounts/index.js';
import { parseDuration, SmtpRejection } from '../../core/index.js';
import {
  MAX_LIST_LIMIT,
  normalizeSuppressionAddress,
  SqlSuppressionStore,
  SUPPRESSION_REASONS,
  SUPPRESSION_STREAMS,
  type CsvImportCounts,
  type StreamSelector,
  type SuppressionEntry,
  type SuppressionReason,
  type SuppressionStream,
} from '../../suppression/index.js';
import type { SqlDatabase } from '../../storage/index.js';
import { openRecords, resolveConfig, type GlobalOptions } from '../context.js';
import { CliError, emit, table } from '../output.js';
import { progressBar } from '../progress.js';

interface Env {
  store: SqlSuppressionStore;
  /** The account's id (the option takes an id or a name). */
  accountId: string;
}

async function withSuppressions<T>(cmd: Command, account: string, work: (env: Env) => T | Promise<T>): Promise<T> {
  const config = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
  let records: SqlDatabase | undefined;
  try {
    records = await openRecords(config);
    const found = await (await SqlAccountStore.open(records)).get(account);
    // A typo must not build a list for an account that does not exist.
    if (!found) throw new CliError(`there is no account "${account}" (see: herald accounts list)`, 'unknown_account');
    return await work({ store: await SqlSuppressionStore.open(records), accountId: found.id });
  } catch (err) {
    if (err instanceof SmtpRejection) throw new CliError(err.reply.text, 'invalid', 2);
    throw err;
  } finally {
    await records?.close();
  }
}

/** Checks every address before anything is written: a bad one is bad usage (exit 2). */
function addresses(list: string[]): string[] {
  return list.map((a) => {
    try {
      return normalizeSuppressionAddress(a);
    } catch {
      throw new CliError(`"${a}" is not an email address`, 'invalid_address', 2);
    }
  });
}

const streamOption = (what: string) => new Option('--stream <stream>', what).choices([...SUPPRESSION_STREAMS, 'all']);
const accountOption = () => new Option('--account <account>', 'the account (id or name)').default('default');
const n = (value: number) => value.toLocaleString('en-US');

function entriesTable(entries: SuppressionEntry[]): string {
  return table(
    ['ADDRESS', 'STREAM', 'REASON', 'SINCE', 'EXPIRES', 'MESSAGE', 'DETAIL'],
    entries.map((e) => [e.address, e.stream, e.reason, e.createdAt.toISOString(), e.expiresAt?.toISOString(), e.messageId, e.detail && e.detail.length > 60 ? e.detail.slice(0, 59) + '…' : e.detail]),
  );
}

const streamWords = (stream: StreamSelector | undefined) => (stream === undefined || stream === 'all' ? 'both streams' : `the ${stream} stream`);

/** Progress of an import on standard error (see progressBar); off a terminal, a line per tenth of the file or per 100,000 lines of a stream. */
function importProgress(file: string): { update(done: number, total: number | undefined, counts: CsvImportCounts): void; finish(): void } {
  const bar = progressBar(`importing ${file}`);
  const words = (c: CsvImportCounts) => `${n(c.lines)} lines, ${n(c.addresses)} addresses, ${n(c.invalid)} invalid`;
  return {
    update: (done, total, counts) => bar.update(total ? done : counts.lines, total, words(counts)),
    finish: () => bar.finish(),
  };
}

export function suppressionsCommand(): Command {
  const cmd = new Command('suppressions').description('the suppression list: addresses Herald will not send to, per stream, and why');

  cmd
    .command('add')
    .description('suppress addresses (idempotent: an address already on the list keeps its first reason unless the new one is stronger)')
    .argument('<address...>')
    .addOption(streamOption('the stream: transactional, broadcast or all (both)').default('all'))
    .addOption(new Option('--reason <reason>', 'why').choices([...SUPPRESSION_REASONS]).default('manual'))
    .option('--expires-in <duration>', 'a manual entry stops applying after this long, e.g. 30d (default: never)')
    .addOption(accountOption())
    .addHelpText('after', '\nExamples:\n  herald suppressions add ann@example.com\n  herald suppressions add ann@example.com bob@example.net --stream broadcast\n  herald suppressions add ann@example.com --expires-in 30d --json')
    .action(async (list: string[], opts: { stream: StreamSelector; reason: SuppressionReason; expiresIn?: string; account: string }, sub: Command) => {
      const checked = addresses(list);
      let expiresIn: number | undefined;
      if (opts.expiresIn !== undefined) {
        try {
          expiresIn = parseDuration(opts.expiresIn);
        } catch (err) {
          throw new CliError(`--expires-in: ${(err as Error).message}`, 'invalid', 2);
        }
        if (opts.reason !== 'manual') throw new CliError(`--expires-in is for manual entries; a ${opts.reason} entry stays until removed`, 'invalid', 2);
      }
      const outcome = await withSuppressions(sub, opts.account, async ({ store, accountId }) => {
        const expiresAt = expiresIn === undefined ? undefined : new Date(Date.now() + expiresIn);
        const result = await store.add(accountId, checked.map((address) => ({ address, stream: opts.stream, reason: opts.reason, expiresAt })));
        const entries = await Promise.all([...new Set(checked)].map((a) => store.get(accountId, a)));
        return { ...result, suppressions: entries.flat() };
      });
      emit(sub.optsWithGlobals(), outcome, () =>
        [
          `Suppressed ${checked.length === 1 ? checked[0] : `${n(new Set(checked).size)} addresses`} on ${streamWords(opts.stream)}: ${n(outcome.added)} new, ${n(outcome.updated)} strengthened, ${n(outcome.unchanged)} already there.`,
          '',
          entriesTable(outcome.suppressions),
        ].join('\n'),
      );
    });

  cmd
    .command('list')
    .description('list suppressed addresses, by address')
    .addOption(new Option('--stream <stream>', 'only this stream').choices([...SUPPRESSION_STREAMS]))
    .addOption(new Option('--reason <reason>', 'only this reason').choices([...SUPPRESSION_REASONS]))
    .option('--search <text>', 'only addresses containing this text (case-insensitive)')
    .option('--limit <n>', `how many entries (1 to ${MAX_LIST_LIMIT})`, (v) => Number(v), 50)
    .option('--cursor <cursor>', 'continue a listing where the last page ended')
    .addOption(accountOption())
    .addHelpText('after', '\nExamples:\n  herald suppressions list\n  herald suppressions list --reason hard_bounce --search example.com --json')
    .action(async (opts: { stream?: SuppressionStream; reason?: SuppressionReason; search?: string; limit: number; cursor?: string; account: string }, sub: Command) => {
      if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > MAX_LIST_LIMIT) throw new CliError(`--limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`, 'invalid_limit', 2);
      const { page, total } = await withSuppressions(sub, opts.account, async ({ store, accountId }) => ({
        page: await store.list(accountId, { stream: opts.stream, reason: opts.reason, search: opts.search, limit: opts.limit, cursor: opts.cursor }),
        total: await store.count(accountId),
      }));
      emit(sub.optsWithGlobals(), { suppressions: page.entries, nextCursor: page.nextCursor }, () => {
        if (page.entries.length === 0) return opts.cursor || opts.stream || opts.reason || opts.search ? 'No suppressions match.' : 'The suppression list is empty.';
        const more = page.nextCursor ? `\nMore: add --cursor ${page.nextCursor}` : '';
        return `${entriesTable(page.entries)}\n\n${n(total)} suppressed address${total === 1 ? '' : 'es'} in all.${more}`;
      });
    });

  cmd
    .command('show')
    .description('is this address suppressed, on which streams, and why')
    .argument('<address>')
    .addOption(accountOption())
    .action(async (address: string, opts: { account: string }, sub: Command) => {
      const [checked] = addresses([address]);
      const entries = await withSuppressions(sub, opts.account, ({ store, accountId }) => store.get(accountId, checked));
      if (entries.length === 0) throw new CliError(`${checked} is not suppressed in account "${opts.account}"; Herald sends to it`, 'not_found');
      emit(sub.optsWithGlobals(), { address: checked, suppressions: entries }, () => entriesTable(entries));
    });

  cmd
    .command('remove')
    .description('take an address off the list, so Herald sends to it again; its soft bounces start counting afresh')
    .argument('<address>')
    .addOption(streamOption('only from this stream: transactional, broadcast or all (both)').default('all'))
    .addOption(accountOption())
    .action(async (address: string, opts: { stream: StreamSelector; account: string }, sub: Command) => {
      const [checked] = addresses([address]);
      const removed = await withSuppressions(sub, opts.account, ({ store, accountId }) => store.remove(accountId, checked, opts.stream));
      if (removed === 0) throw new CliError(`${checked} is not suppressed on ${streamWords(opts.stream)} (see: herald suppressions show ${checked})`, 'not_found');
      emit(sub.optsWithGlobals(), { address: checked, stream: opts.stream, removed }, () => `Removed ${checked} from ${streamWords(opts.stream)}; Herald sends to it again.`);
    });

  cmd
    .command('import')
    .description('suppress every address in a CSV file (reason manual); invalid lines are reported, not fatal')
    .argument('<file>', 'one address per line, or CSV with an "email" or "address" column in its header')
    .addOption(streamOption('the stream: transactional, broadcast or all (both)').default('all'))
    .addOption(accountOption())
    .addHelpText(
      'after',
      '\nThe file is read line by line, so it may be of any size; progress goes to standard error.\n\nExamples:\n  herald suppressions import bounces.csv\n  herald suppressions import unsubscribes.csv --stream broadcast --json',
    )
    .action(async (file: string, opts: { stream: StreamSelector; account: string }, sub: Command) => {
      const progress = importProgress(file);
      const result = await withSuppressions(sub, opts.account, async ({ store, accountId }) => {
        try {
          return await store.importCsv(accountId, file, { stream: opts.stream, reason: 'manual', onProgress: progress.update });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw new CliError(`cannot read ${file}: ${(err as Error).message}`, 'unreadable_file');
          throw err;
        } finally {
          progress.finish();
        }
      });
      emit(sub.optsWithGlobals(), { file, account: opts.account, stream: opts.stream, ...result }, () => {
        const lines = [
          `Imported ${file} into account "${opts.account}" (${streamWords(opts.stream)}): ${n(result.addresses)} address${result.addresses === 1 ? '' : 'es'} from ${n(result.lines)} lines — ${n(result.added)} entries new, ${n(result.updated)} strengthened, ${n(result.unchanged)} already there.`,
        ];
        if (result.invalid > 0) {
          lines.push('', `${n(result.invalid)} line${result.invalid === 1 ? ' was' : 's were'} not imported:`);
          for (const bad of result.invalidLines.slice(0, 20)) lines.push(`  line ${bad.line}: ${bad.error}`);
          if (result.invalid > 20) lines.push(`  … and ${n(result.invalid - 20)} more (--json lists up to ${n(result.invalidLines.length)})`);
        }
        return lines.join('\n');
      });
    });

  return cmd;
}
