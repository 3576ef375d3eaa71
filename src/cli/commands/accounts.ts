import { Command } from 'commander';
import { AccountsError, MAX_RATE, SqlAccountStore, type Account } from '../../accounts/index.js';
import { CliError, emit, table } from '../output.js';
import { openRecords, resolveConfig, type GlobalOptions } from '../context.js';

/** Opens the account store on the server's record database; store refusals become CLI errors. */
export async function withAccountStore<T>(cmd: Command, work: (store: SqlAccountStore) => Promise<T>): Promise<T> {
  const db = await openRecords(resolveConfig(cmd.optsWithGlobals<GlobalOptions>()));
  try {
    return await work(await SqlAccountStore.open(db));
  } catch (err) {
    if (err instanceof AccountsError) {
      const hint = err.code === 'unknown_account' ? ' (see: herald accounts list)' : '';
      throw new CliError(err.message + hint, err.code);
    }
    throw err;
  } finally {
    await db.close();
  }
}

/** A limit option: a whole number, or `none` for no limit. Bad input is bad usage (exit 2). */
function parseRate(flag: string, value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value.trim().toLowerCase() === 'none') return null;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_RATE) {
    throw new CliError(`${flag} must be a whole number from 1 to ${MAX_RATE}, or none (got "${value}")`, 'invalid_limit', 2);
  }
  return n;
}

function describeLimits(a: Account): string {
  const minute = a.ratePerMinute === null ? 'no per-minute limit' : `at most ${a.ratePerMinute} messages per minute`;
  const day = a.ratePerDay === null ? 'no daily limit' : `at most ${a.ratePerDay} messages per day`;
  return `${minute}, ${day}`;
}

const rate = (n: number | null) => (n === null ? 'none' : n);
const onOff = (on: boolean) => (on ? 'on' : 'off');

/** An on|off option; anything else is bad usage (exit 2). */
function parseSwitch(flag: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'on' || v === 'off') return v === 'on';
  throw new CliError(`${flag} is on or off (got "${value}")`, 'usage', 2);
}

function describeTracking(a: Account): string {
  return `open tracking ${onOff(a.trackOpens)}, click tracking ${onOff(a.trackLinks)}`;
}

export function accountsCommand(): Command {
  const cmd = new Command('accounts').description('accounts: who owns credentials and API keys, and how fast each may send');

  cmd
    .command('create')
    .description('create an account, optionally with sending limits')
    .argument('<name>', "the account's name, e.g. the team or customer it is for")
    .option('--rate-per-minute <n>', 'messages per minute (default: none, no limit)')
    .option('--rate-per-day <n>', 'messages per UTC day (default: none, no limit)')
    .addHelpText(
      'after',
      '\nA message to N recipients counts once; a batch of N messages counts N. Over a limit the HTTP\nAPI answers 429 with Retry-After.\n\nExamples:\n  herald accounts create acme\n  herald accounts create newsletter --rate-per-minute 600 --rate-per-day 100000 --json',
    )
    .action(async (name: string, opts: { ratePerMinute?: string; ratePerDay?: string }, sub: Command) => {
      const ratePerMinute = parseRate('--rate-per-minute', opts.ratePerMinute);
      const ratePerDay = parseRate('--rate-per-day', opts.ratePerDay);
      const account = await withAccountStore(sub, (store) => store.create({ name, ratePerMinute, ratePerDay }));
      emit(sub.optsWithGlobals(), account, () => `Created account "${account.name}" (id ${account.id}): ${describeLimits(account)}.`);
    });

  cmd
    .command('list')
    .description('list accounts and their sending limits')
    .action(async (_opts: unknown, sub: Command) => {
      const list = await withAccountStore(sub, (store) => store.list());
      emit(sub.optsWithGlobals(), list, () =>
        table(
          ['ID', 'NAME', 'PER MINUTE', 'PER DAY', 'OPENS', 'LINKS', 'CREATED'],
          list.map((a) => [a.id, a.name, rate(a.ratePerMinute), rate(a.ratePerDay), onOff(a.trackOpens), onOff(a.trackLinks), a.createdAt.toISOString()]),
        ),
      );
    });

  cmd
    .command('set-limits')
    .description("change an account's sending limits (a running Herald applies them at once)")
    .argument('<account>', 'account id or name')
    .option('--rate-per-minute <n>', 'messages per minute, or none to remove the limit')
    .option('--rate-per-day <n>', 'messages per UTC day, or none to remove the limit')
    .addHelpText('after', '\nA limit left out keeps its value.\n\nExamples:\n  herald accounts set-limits acme --rate-per-minute 100\n  herald accounts set-limits acme --rate-per-minute none --rate-per-day 50000')
    .action(async (accountArg: string, opts: { ratePerMinute?: string; ratePerDay?: string }, sub: Command) => {
      const ratePerMinute = parseRate('--rate-per-minute', opts.ratePerMinute);
      const ratePerDay = parseRate('--rate-per-day', opts.ratePerDay);
      if (ratePerMinute === undefined && ratePerDay === undefined) {
        throw new CliError('give --rate-per-minute or --rate-per-day (a number, or none to remove the limit)', 'usage', 2);
      }
      const account = await withAccountStore(sub, (store) => store.setLimits(accountArg, { ratePerMinute, ratePerDay }));
      emit(sub.optsWithGlobals(), account, () => `Limits for account "${account.name}": ${describeLimits(account)}.`);
    });

  cmd
    .command('set-tracking')
    .description("change an account's default open and click tracking (a running Herald applies it to the next message)")
    .argument('<account>', 'account id or name')
    .option('--opens <on|off>', 'open tracking: a 1×1 pixel in HTML parts')
    .option('--links <on|off>', 'click tracking: links in HTML parts go through Herald')
    .addHelpText(
      'after',
      '\nThe default for messages that do not choose themselves (API track_opens / track_links, SMTP\nX-Herald-Track-Opens / X-Herald-Track-Links). Both are off for a new account. A setting left\nout keeps its value. See docs/tracking.md.\n\nExamples:\n  herald accounts set-tracking acme --opens on --links on\n  herald accounts set-tracking default --links off',
    )
    .action(async (accountArg: string, opts: { opens?: string; links?: string }, sub: Command) => {
      const trackOpens = parseSwitch('--opens', opts.opens);
      const trackLinks = parseSwitch('--links', opts.links);
      if (trackOpens === undefined && trackLinks === undefined) throw new CliError('give --opens on|off or --links on|off', 'usage', 2);
      const account = await withAccountStore(sub, (store) => store.setTracking(accountArg, { trackOpens, trackLinks }));
      emit(sub.optsWithGlobals(), account, () => `Tracking for account "${account.name}": ${describeTracking(account)}.`);
    });

  return cmd;
}
