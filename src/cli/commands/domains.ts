import { Command } from 'commander';
import type { HeraldConfig } from '../../config/index.js';
import { NodeDnsResolver } from '../../deliver/index.js';
import {
  addWithRecords,
  dnsContextOf,
  DomainsError,
  showDomain,
  SqlDomainStore,
  startDomainMonitor,
  verificationChangedEvent,
  type DkimAlgorithm,
  type DnsRecord,
  type DomainView,
  type RecordCheck,
} from '../../domains/index.js';
import type { SqlDatabase } from '../../storage/index.js';
import { CliError, emit, table } from '../output.js';
import { openQueue, openRecords, resolveConfig, type GlobalOptions } from '../context.js';

interface Env {
  config: HeraldConfig;
  store: SqlDomainStore;
}

async function withDomains<T>(cmd: Command, work: (env: Env) => Promise<T>): Promise<T> {
  const config = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
  let records: SqlDatabase | undefined;
  try {
    records = await openRecords(config);
    return await work({ config, store: await SqlDomainStore.open(records) });
  } catch (err) {
    if (err instanceof DomainsError) throw new CliError(err.message, err.code);
    throw err;
  } finally {
    await records?.close();
  }
}

const dnsOf = (config: HeraldConfig) => ({ resolver: new NodeDnsResolver({ servers: config.dnsServers }), context: dnsContextOf(config) });

function recordsText(records: DnsRecord[]): string {
  return records
    .map((r) => `${r.required ? '' : '(optional) '}${r.type} ${r.name}\n    ${r.value}\n    ${r.why}`)
    .join('\n\n');
}

function checksText(checks: RecordCheck[]): string {
  return table(
    ['STATUS', 'RECORD', 'TYPE', 'WHAT TO DO'],
    checks.map((c) => [c.status.toUpperCase() + (c.required ? '' : ' (optional)'), c.name, c.type, c.status === 'ok' ? (c.note ?? '') : [c.problem, c.fix].filter(Boolean).join(' ')]),
  );
}

const notFound = (name: string) => new CliError(`no domain "${name}" in this account (see: herald domains list)`, 'not_found');

export function domainsCommand(): Command {
  const cmd = new Command('domains').description('sending domains: DKIM keys, the DNS records to publish, verification');

  cmd
    .command('add')
    .description('add a sending domain: makes its DKIM key and prints every DNS record to publish')
    .argument('<domain>')
    .option('--account <account>', 'the account that sends as this domain', 'default')
    .option('--return-path <domain>', 'where bounces come back (default: bounces.<domain>)')
    .option('--dkim <algorithms>', 'rsa, ed25519 or rsa,ed25519 (Ed25519 as an additional signature)', 'rsa')
    .addHelpText('after', '\nPublish the records it prints, then run: herald domains verify <domain>\n\nExamples:\n  herald domains add example.com\n  herald domains add example.com --dkim rsa,ed25519 --json')
    .action(async (name: string, opts: { account: string; returnPath?: string; dkim: string }, sub: Command) => {
      const dkim = opts.dkim.split(',').map((a) => a.trim()) as DkimAlgorithm[];
      const result = await withDomains(sub, ({ config, store }) => addWithRecords(store, opts.account, name, { returnPath: opts.returnPath, dkim }, dnsOf(config)));
      emit(sub.optsWithGlobals(), result, () =>
        [
          `Added ${result.domain.name}. Publish these DNS records, then run: herald domains verify ${result.domain.name}`,
          '',
          recordsText(result.records),
        ].join('\n'),
      );
    });

  cmd
    .command('verify')
    .description('look the records up now and say, for each, whether it is right and how to fix it')
    .argument('<domain>')
    .option('--account <account>', 'the account of the domain', 'default')
    .action(async (name: string, opts: { account: string }, sub: Command) => {
      const outcome = await withDomains(sub, async ({ config, store }) => {
        // A change becomes an event in the queue's outbox, where the server keeps its queue.
        const queue = await openQueue(config);
        const recorded: Promise<void>[] = [];
        const monitor = startDomainMonitor(store, { ...dnsOf(config), onChange: (change) => void recorded.push(queue.recordEvent(verificationChangedEvent(change))) });
        try {
          const checked = await monitor.check(opts.account, name);
          // The change is in the outbox before the command reports the check (one that could not be written is its error).
          await Promise.all(recorded);
          return checked;
        } finally {
          await monitor.stop();
          await queue.close();
        }
      });
      if (!outcome) throw notFound(name);
      const d = outcome.domain;
      emit(sub.optsWithGlobals(), { domain: d.name, status: d.status, ok: d.verification?.ok ?? false, records: d.verification?.records ?? [] }, () =>
        [
          `${d.name}: ${statusText(d)}`,
          '',
          checksText(d.verification?.records ?? []),
        ].join('\n'),
      );
    });

  cmd
    .command('list')
    .description('list the sending domains and whether each is verified')
    .option('--account <account>', 'the account', 'default')
    .action(async (opts: { account: string }, sub: Command) => {
      const list = await withDomains(sub, async ({ store }) => store.list(opts.account));
      emit(sub.optsWithGlobals(), list, () =>
        list.length === 0
          ? 'No sending domains yet. Add one with: herald domains add example.com'
          : table(
              ['DOMAIN', 'STATUS', 'DKIM SELECTORS', 'RETURN PATH', 'CHECKED'],
              list.map((d) => [d.name, d.status, d.dkim.map((k) => `${k.selector} (${k.algorithm}, ${k.state})`).join(', '), d.returnPath, d.checkedAt?.toISOString() ?? 'never']),
            ),
      );
    });

  cmd
    .command('show')
    .description('the domain, its keys, its last check and the records to publish')
    .argument('<domain>')
    .option('--account <account>', 'the account of the domain', 'default')
    .action(async (name: string, opts: { account: string }, sub: Command) => {
      const shown = await withDomains(sub, ({ config, store }) => showDomain(store, opts.account, name, dnsOf(config)));
      if (!shown) throw notFound(name);
      emit(sub.optsWithGlobals(), shown, () =>
        [
          `${shown.domain.name}: ${statusText(shown.domain)}`,
          `  return path: ${shown.domain.returnPath}`,
          ...shown.domain.dkim.map((k) => `  DKIM ${k.selector}: ${k.algorithm}, ${k.state}`),
          '',
          'Records to publish:',
          '',
          recordsText(shown.records),
          ...(shown.domain.verification ? ['', `Last check (${shown.domain.checkedAt?.toISOString()}):`, checksText(shown.domain.verification.records)] : []),
        ].join('\n'),
      );
    });

  cmd
    .command('delete')
    .description('remove a sending domain and its keys; mail from it is refused afterwards')
    .argument('<domain>')
    .option('--account <account>', 'the account of the domain', 'default')
    .action(async (name: string, opts: { account: string }, sub: Command) => {
      const deleted = await withDomains(sub, async ({ store }) => store.delete(opts.account, name));
      if (!deleted) throw notFound(name);
      emit(sub.optsWithGlobals(), { deleted: name }, () => `Deleted ${name}.`);
    });

  cmd
    .command('rotate-dkim')
    .description('make a new DKIM key; it is used once its record is published and verified, the old one stays valid for 7 days')
    .argument('<domain>')
    .option('--account <account>', 'the account of the domain', 'default')
    .action(async (name: string, opts: { account: string }, sub: Command) => {
      const shown = await withDomains(sub, async ({ config, store }) => {
        const rotated = await store.rotateDkim(opts.account, name);
        return rotated ? showDomain(store, opts.account, name, dnsOf(config)) : null;
      });
      if (!shown) throw notFound(name);
      const pending = shown.records.filter((r) => r.purpose === 'dkim' && shown.domain.dkim.some((k) => k.selector === r.selector && k.state === 'pending'));
      emit(sub.optsWithGlobals(), shown, () =>
        [`New DKIM key for ${name}. Publish this record, then run: herald domains verify ${name}`, '', recordsText(pending)].join('\n'),
      );
    });

  cmd
    .command('development-mode')
    .description('on: the account may send as any domain, unsigned — for local testing only; off: only verified domains')
    .argument('<on|off>')
    .option('--account <account>', 'the account', 'default')
    .action(async (state: string, opts: { account: string }, sub: Command) => {
      if (state !== 'on' && state !== 'off') throw new CliError('say "on" or "off"', 'usage');
      await withDomains(sub, async ({ store }) => store.setDevelopmentMode(opts.account, state === 'on'));
      emit(sub.optsWithGlobals(), { account: opts.account, developmentMode: state === 'on' }, () =>
        state === 'on'
          ? `Development mode is on for ${opts.account}: it may send as any domain (unsigned mail is often junked or refused). Turn it off before real use.`
          : `Development mode is off for ${opts.account}: it may send only as its verified domains.`,
      );
    });

  return cmd;
}

function statusText(d: DomainView): string {
  if (d.status === 'verified') return 'verified — mail from it is DKIM-signed';
  if (d.status === 'failing') return `failing — a required record broke; mail is still sent until ${d.sendingStopsAt?.toISOString()}, fix it before then`;
  return 'not verified — publish the records below, then verify again';
}
