import { Command, Option } from 'commander';
import { formatDuration, isMessageId, parseDuration } from '../../core/index.js';
import { PENDING_STATES, purgeAll, RECIPIENT_STATES, type MessageDetail, type QueueStore, type RecipientState } from '../../queue/index.js';
import { CliError, ago, emit, table } from '../output.js';
import type { HeraldConfig } from '../../config/index.js';
import { openQueue, resolveConfig, type GlobalOptions } from '../context.js';

async function withStore<T>(cmd: Command, work: (store: QueueStore, config: HeraldConfig) => Promise<T>): Promise<T> {
  const config = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
  const store = await openQueue(config);
  try {
    return await work(store, config);
  } finally {
    await store.close();
  }
}

function messageId(id: string): string {
  if (!isMessageId(id)) throw new CliError(`"${id}" is not a message id (26 letters and digits, as shown by: herald queue list)`, 'invalid_id', 2);
  return id;
}

function showMessage(m: MessageDetail): string {
  const lines = [
    `Message ${m.id}  (${m.status})`,
    `  from:      ${m.mailFrom || '<>'}`,
    `  created:   ${m.createdAt.toISOString()}  (${ago(m.createdAt)})`,
    `  expires:   ${m.expiresAt.toISOString()}`,
    `  size:      ${m.size} bytes   source: ${m.source}   account: ${m.accountId}`,
  ];
  if (m.meta.subject) lines.push(`  subject:   ${m.meta.subject}`);
  if (m.meta.messageIdHeader) lines.push(`  message-id: ${m.meta.messageIdHeader}`);
  if (m.meta.clientIp) lines.push(`  client:    ${m.meta.helo ?? ''} [${m.meta.clientIp}]`);
  lines.push('', 'Recipients:');
  for (const r of m.recipients) {
    lines.push(`  ${r.address}  ${r.state}  attempts: ${r.attempts}${r.nextAttemptAt ? `  next: ${r.nextAttemptAt.toISOString()} (${ago(r.nextAttemptAt)})` : ''}`);
    for (const a of r.history) lines.push(`    ${a.at.toISOString()}  ${a.state.padEnd(9)}  ${a.host ?? '-'}  ${a.reply}`);
  }
  return lines.join('\n');
}

export function queueCommand(): Command {
  const cmd = new Command('queue').description('watch and steer the delivery queue');

  cmd
    .command('list')
    .description('list messages, newest first')
    .addOption(new Option('--state <state...>', 'only messages with recipients in these states').choices(RECIPIENT_STATES))
    .option('--all', 'include finished messages (default: only those still pending)')
    .option('--limit <n>', 'how many messages', (v) => Number(v), 50)
    .option('--before <id>', 'continue a listing after this message id')
    .action(async (opts: { state?: RecipientState[]; all?: boolean; limit: number; before?: string }, sub: Command) => {
      if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 10_000) throw new CliError('--limit must be a whole number from 1 to 10000', 'invalid_limit', 2);
      const states = opts.state ?? (opts.all ? undefined : [...PENDING_STATES]);
      const [messages, counts] = await withStore(sub, (s) => Promise.all([s.list({ states, limit: opts.limit, before: opts.before }), s.countByState()]));
      emit(sub.optsWithGlobals(), { messages, counts }, () => {
        const summary = RECIPIENT_STATES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(', ') || 'empty';
        if (messages.length === 0) return `No ${opts.all || opts.state ? '' : 'pending '}messages. Recipients: ${summary}.`;
        return (
          table(
            ['ID', 'STATUS', 'FROM', 'RCPTS', 'SIZE', 'CREATED', 'NEXT ATTEMPT'],
            messages.map((m) => [m.id, m.status, m.mailFrom || '<>', m.recipientCount, m.size, ago(m.createdAt), ago(m.nextAttemptAt)]),
          ) + `\n\nRecipients: ${summary}.` + (messages.length === opts.limit ? `\nMore: herald queue list --before ${messages[messages.length - 1].id}` : '')
        );
      });
    });

  cmd
    .command('show')
    .description("a message's recipients, each with its state and every attempt")
    .argument('<id>')
    .action(async (id: string, _o: unknown, sub: Command) => {
      const m = await withStore(sub, (s) => s.get(messageId(id)));
      if (!m) throw new CliError(`no message ${id} in the queue`, 'not_found');
      emit(sub.optsWithGlobals(), m, () => showMessage(m));
    });

  cmd
    .command('retry')
    .description('make pending recipients due now (one message, or --all)')
    .argument('[id]')
    .option('--all', 'every pending message')
    .action(async (id: string | undefined, opts: { all?: boolean }, sub: Command) => {
      if (!id === !opts.all) throw new CliError('give a message id or --all', 'usage', 2);
      const count = await withStore(sub, (s) => s.retryNow(opts.all ? 'all' : messageId(id!), new Date()));
      emit(sub.optsWithGlobals(), { retried: count }, () => `${count} recipient${count === 1 ? '' : 's'} will be retried now.`);
    });

  const simple = (name: 'hold' | 'release', description: string, verb: string) =>
    cmd
      .command(name)
      .description(description)
      .argument('<id>')
      .action(async (id: string, _o: unknown, sub: Command) => {
        const count = await withStore(sub, (s) => s[name](messageId(id), new Date()));
        if (count === 0) throw new CliError(`message ${id} has no recipients that can be ${verb} (see: herald queue show ${id})`, 'nothing_to_do');
        emit(sub.optsWithGlobals(), { [verb]: count }, () => `${count} recipient${count === 1 ? '' : 's'} ${verb}.`);
      });
  simple('hold', 'pause delivery of a message until it is released', 'held');
  simple('release', 'resume delivery of a held message now', 'released');

  cmd
    .command('delete')
    .description('remove a message from the queue; it will not be delivered or bounced')
    .argument('<id>')
    .action(async (id: string, _o: unknown, sub: Command) => {
      const removed = await withStore(sub, (s) => s.remove(messageId(id), new Date()));
      if (!removed) throw new CliError(`no message ${id} in the queue`, 'not_found');
      emit(sub.optsWithGlobals(), { deleted: id }, () => `Deleted message ${id}.`);
    });

  cmd
    .command('purge')
    .description('remove finished messages (delivered, bounced, expired) older than the retention now; Herald also does this every hour')
    .option('--older-than <duration>', 'instead of HERALD_RETENTION, e.g. 7d')
    .action(async (opts: { olderThan?: string }, sub: Command) => {
      let olderThanMs: number | undefined;
      if (opts.olderThan !== undefined) {
        try {
          olderThanMs = parseDuration(opts.olderThan);
        } catch (err) {
          throw new CliError(`--older-than: ${(err as Error).message}`, 'usage', 2);
        }
      }
      const progress = process.stderr.isTTY && !sub.optsWithGlobals<GlobalOptions>().json;
      const { removed, age } = await withStore(sub, async (s, config) => {
        const age = olderThanMs ?? config.retention;
        const removed = await purgeAll(s, new Date(Date.now() - age), {
          onProgress: progress ? (n) => process.stderr.write(`\rremoved ${n} messages…`) : undefined,
        });
        if (progress && removed > 0) process.stderr.write('\n');
        return { removed, age };
      });
      emit(sub.optsWithGlobals(), { removed, olderThan: formatDuration(age) }, () => `Removed ${removed} finished message${removed === 1 ? '' : 's'} older than ${formatDuration(age)}.`);
    });

  return cmd;
}
