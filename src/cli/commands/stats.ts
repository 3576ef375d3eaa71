import { Command, Option } from 'commander';
import { SqlAccountStore } from '../../accounts/index.js';
import { SmtpRejection } from '../../core/index.js';
import { GROUP_BYS, parseStatsQuery, SqlStatsStore, STATS_STREAMS, statsReport, statsView, type StatsFigures, type StatsGroupBy, type StatsReport } from '../../stats/index.js';
import { openRecords, resolveConfig, type GlobalOptions } from '../context.js';
import { CliError, emit, table } from '../output.js';

interface StatsOptions {
  from?: string;
  to?: string;
  groupBy: StatsGroupBy;
  stream?: string;
  tag?: string;
  domain?: string;
  account: string;
}

const n = (value: number) => value.toLocaleString('en-US');
const percent = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 2 : 1)}%`);
const utc = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

const COLUMN_OF: Record<StatsGroupBy, string> = { day: 'DAY', hour: 'HOUR (UTC)', domain: 'DOMAIN', tag: 'TAG', stream: 'STREAM' };

function line(key: string, f: StatsFigures): (string | number)[] {
  return [
    key,
    n(f.sent),
    n(f.delivered),
    n(f.deferred),
    n(f.bounced_hard),
    n(f.bounced_soft),
    n(f.expired),
    n(f.complained),
    n(f.opened_unique),
    n(f.clicked_unique),
    n(f.unsubscribed),
    n(f.suppressed),
    percent(f.delivery_rate),
    percent(f.bounce_rate),
    percent(f.complaint_rate),
    percent(f.open_rate),
    percent(f.click_rate),
  ];
}

function render(r: StatsReport, account: string): string {
  const filters = [r.filters.stream && `stream ${r.filters.stream}`, r.filters.tag && `tag "${r.filters.tag}"`, r.filters.domain && `domain ${r.filters.domain}`].filter(Boolean);
  const t = r.totals;
  return [
    `Statistics of account ${account}, ${utc(r.from)} to ${utc(r.to)}, by ${r.groupBy}${filters.length ? `, ${filters.join(', ')}` : ''}.`,
    '',
    table(
      [COLUMN_OF[r.groupBy], 'SENT', 'DELIVERED', 'DEFERRED', 'HARD', 'SOFT', 'EXPIRED', 'COMPLAINED', 'OPENED', 'CLICKED', 'UNSUBSCRIBED', 'SUPPRESSED', 'DELIVERY', 'BOUNCE', 'COMPLAINT', 'OPEN', 'CLICK'],
      [...r.rows.map((row) => line(row.key, row)), line('total', t)],
    ),
    '',
    `Opens: ${n(t.opened_unique)} recipients (${n(t.opened_unique_human)} by people, ${n(t.opened_unique_machine)} by machines), ${n(t.opened_total)} opens in all. Clicks: ${n(t.clicked_unique)} recipients, ${n(t.clicked_total)} clicks, ${n(t.clicked_machine)} by machines.`,
    ...(r.truncated ? [`Only the ${n(r.rows.length)} largest ${r.groupBy}s by sent are listed; narrow the range or filter.`] : []),
    r.updatedAt ? `Counted up to ${r.updatedAt.toISOString().replace('T', ' ').slice(0, 19)} UTC (the running server counts new events within seconds).` : 'Nothing counted yet: the running server fills these numbers from its events.',
  ].join('\n');
}

export function statsCommand(): Command {
  return new Command('stats')
    .description('sending statistics: sent, delivered, bounced, opened, clicked … and the rates, by day, hour, domain, tag or stream')
    .option('--from <time>', 'a UTC day (2030-03-01) or ISO 8601 time (default: 6 days before today)')
    .option('--to <time>', 'a UTC day, included, or ISO 8601 time, excluded (default: now)')
    .addOption(new Option('--group-by <what>', 'one row per').choices([...GROUP_BYS]).default('day'))
    .addOption(new Option('--stream <stream>', 'only this stream').choices([...STATS_STREAMS]))
    .option('--tag <tag>', 'only messages with this tag')
    .option('--domain <domain>', 'only recipients at this domain')
    .option('--account <account>', 'the account (id or name)', 'default')
    .addHelpText(
      'after',
      '\nTimes are UTC. A range is exact to the minute within the last 48 hours for the whole account\'s figures;\n' +
        'with --tag, --domain or --group-by hour, domain or tag, and further back, it rounds out to whole hours\n' +
        '(the first line says which range was counted).\n' +
        'The rates are delivered/sent, bounced/sent, complained/delivered, unique opens/delivered\nand unique clicks/delivered; see docs/stats.md.\n\nExamples:\n  herald stats\n  herald stats --from 2030-03-01 --to 2030-03-07 --group-by domain\n  herald stats --group-by hour --from 2030-03-07 --tag welcome --json',
    )
    .action(async (opts: StatsOptions, cmd: Command) => {
      const config = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const db = await openRecords(config);
      let report: StatsReport;
      try {
        const found = await (await SqlAccountStore.open(db)).get(opts.account);
        if (!found) throw new CliError(`there is no account "${opts.account}" (see: herald accounts list)`, 'unknown_account');
        const query = parseStatsQuery(found.id, { from: opts.from, to: opts.to, groupBy: opts.groupBy, stream: opts.stream, tag: opts.tag, domain: opts.domain }, new Date());
        report = await statsReport(await SqlStatsStore.open(db), query);
      } catch (err) {
        // A bad --from, --to or combination is bad usage: exit 2, naming the option.
        if (err instanceof SmtpRejection) throw new CliError(`--${(err.field ?? 'from').replace('_', '-')}: ${err.reply.text}`, 'invalid', 2);
        throw err;
      } finally {
        await db.close();
      }
      emit(cmd.optsWithGlobals(), { account: opts.account, ...statsView(report) }, () => render(report, opts.account));
    });
}
