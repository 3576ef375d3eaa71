import { Command, Option } from 'commander';
import { INBOUND_KINDS, isMessageId, type InboundKind } from '../../core/index.js';
import { MAX_INBOUND_LIST_LIMIT, SqlInboundStore, type InboundRecord } from '../../feedback/index.js';
import { openRecords, resolveConfig, type GlobalOptions } from '../context.js';
import { CliError, ago, emit, table } from '../output.js';

async function withInbound<T>(cmd: Command, work: (store: SqlInboundStore) => Promise<T>): Promise<T> {
  const config = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
  const db = await openRecords(config);
  try {
    return await work(await SqlInboundStore.open(db));
  } finally {
    await db.close();
  }
}

function recordId(id: string, what = 'an inbound record id'): string {
  if (!isMessageId(id)) throw new CliError(`"${id}" is not ${what} (26 letters and digits, as shown by: herald inbound list)`, 'invalid_id', 2);
  return id;
}

const cut = (text: string | null, width: number) => (text && text.length > width ? `${text.slice(0, width - 1)}…` : text);
const auth = (r: InboundRecord) => (r.authentication ? `spf=${r.authentication.spf} dkim=${r.authentication.dkim} dmarc=${r.authentication.dmarc} arc=${r.authentication.arc}` : 'not checked');

function showRecord(r: InboundRecord): string {
  const lines = [
    `Inbound ${r.id}  (${r.kind})`,
    `  received:  ${r.receivedAt.toISOString()}  (${ago(r.receivedAt)})`,
    `  client:    ${r.helo ?? ''} [${r.clientIp}]`,
    `  envelope:  from ${r.mailFrom || '<>'} to ${r.recipients.join(', ')}`,
  ];
  if (r.from) lines.push(`  from:      ${r.from}`);
  if (r.subject) lines.push(`  subject:   ${r.subject}`);
  lines.push(`  checks:    ${auth(r)}`);
  if (r.messageId) lines.push(`  about:     message ${r.messageId}${r.recipient ? `, recipient ${r.recipient}` : ''}  (herald queue show ${r.messageId})`);
  if (r.accountId) lines.push(`  account:   ${r.accountId}`);
  lines.push(`  size:      ${r.size} bytes  (the message with its Authentication-Results: herald inbound show ${r.id} --raw)`);
  return lines.join('\n');
}

export function inboundCommand(): Command {
  const cmd = new Command('inbound').description("read the mail Herald's own addresses received: late bounces, complaints, mail to postmaster@");

  cmd
    .command('list')
    .description('list inbound mail, newest first')
    .addOption(new Option('--kind <kind>', 'only this kind').choices([...INBOUND_KINDS]))
    .option('--message <id>', 'only mail about this message')
    .option('--limit <n>', `how many (1 to ${MAX_INBOUND_LIST_LIMIT})`, (v) => Number(v), 50)
    .option('--before <id>', 'continue a listing after this record id')
    .action(async (opts: { kind?: InboundKind; message?: string; limit: number; before?: string }, sub: Command) => {
      if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > MAX_INBOUND_LIST_LIMIT) {
        throw new CliError(`--limit must be a whole number from 1 to ${MAX_INBOUND_LIST_LIMIT}`, 'invalid_limit', 2);
      }
      const request = {
        limit: opts.limit,
        kind: opts.kind,
        before: opts.before === undefined ? undefined : recordId(opts.before),
        messageId: opts.message === undefined ? undefined : recordId(opts.message, 'a message id'),
      };
      const records = await withInbound(sub, (s) => s.list(request));
      emit(sub.optsWithGlobals(), { inbound: records }, () => {
        if (records.length === 0) return 'No inbound mail.';
        return (
          table(
            ['ID', 'KIND', 'RECEIVED', 'FROM', 'ABOUT', 'SPF', 'DKIM', 'DMARC', 'SUBJECT'],
            records.map((r) => [
              r.id,
              r.kind,
              ago(r.receivedAt),
              cut(r.mailFrom || '<>', 30),
              r.messageId ? `${r.messageId}${r.recipient ? ` ${r.recipient}` : ''}` : null,
              r.authentication?.spf,
              r.authentication?.dkim,
              r.authentication?.dmarc,
              cut(r.subject, 40),
            ]),
          ) + (records.length === opts.limit ? `\nMore: herald inbound list --before ${records[records.length - 1].id}` : '')
        );
      });
    });

  cmd
    .command('show')
    .description('one inbound message: what it was, what it was about, its SPF/DKIM/DMARC/ARC verdicts')
    .argument('<id>')
    .option('--raw', 'print the message as received, with the Authentication-Results Herald added')
    .action(async (id: string, opts: { raw?: boolean }, sub: Command) => {
      const found = await withInbound(sub, async (s) => {
        const record = await s.get(recordId(id));
        return record ? { record, raw: opts.raw ? await s.getRaw(record.id) : null } : null;
      });
      if (!found) throw new CliError(`no inbound record ${id} (records are kept for HERALD_RETENTION)`, 'not_found');
      const { record, raw } = found;
      if (raw && !sub.optsWithGlobals<GlobalOptions>().json) {
        process.stdout.write(raw);
        return;
      }
      emit(sub.optsWithGlobals(), raw ? { ...record, raw: raw.toString('utf8') } : record, () => showRecord(record));
    });

  return cmd;
}
