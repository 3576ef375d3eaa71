import { Command } from 'commander';
import { SqlAccountStore } from '../../accounts/index.js';
import type { HeraldConfig } from '../../config/index.js';
import { NodeDnsResolver } from '../../deliver/index.js';
import {
  createWebhook,
  webhookEndpointView,
  PUBLIC_EVENT_TYPES,
  sendTestEvent,
  SqlWebhookStore,
  updateWebhook,
  WebhookError,
  WebhookSender,
  type WebhookAdminDeps,
  type WebhookAttempt,
  type WebhookEndpoint,
} from '../../notify/index.js';
import type { QueueStore } from '../../queue/index.js';
import type { SqlDatabase } from '../../storage/index.js';
import { ago, CliError, emit, table } from '../output.js';
import { openQueue, openRecords, resolveConfig, type GlobalOptions } from '../context.js';

interface Env {
  config: HeraldConfig;
  records: SqlDatabase;
  store: SqlWebhookStore;
  /** What creating and changing endpoints needs (the outbox for the start cursor, DNS for the SSRF check). */
  admin(): WebhookAdminDeps;
}

async function withWebhooks<T>(cmd: Command, work: (env: Env) => Promise<T>): Promise<T> {
  const config = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
  let records: SqlDatabase | undefined;
  // The outbox, opened only by the commands that read it.
  let queue: Promise<QueueStore> | undefined;
  try {
    records = await openRecords(config);
    const store = await SqlWebhookStore.open(records);
    return await work({
      config,
      records,
      store,
      admin: () => ({
        store,
        resolver: new NodeDnsResolver({ servers: config.dnsServers }),
        config,
        readEvents: async (after, limit) => (await (queue ??= openQueue(config))).readEvents(after, limit),
      }),
    });
  } catch (err) {
    if (err instanceof WebhookError) throw new CliError(err.field && err.field !== 'url' ? `${err.field}: ${err.message}` : err.message, err.code);
    throw err;
  } finally {
    await queue?.then((q) => q.close(), () => {});
    await records?.close();
  }
}

/** The account an --account option names (id or name). */
async function accountId(records: SqlDatabase, idOrName: string): Promise<string> {
  const account = await (await SqlAccountStore.open(records)).get(idOrName);
  if (!account) throw new CliError(`no account "${idOrName}" (see: herald accounts list)`, 'unknown_account');
  return account.id;
}

async function found(store: SqlWebhookStore, id: string): Promise<WebhookEndpoint> {
  const endpoint = await store.find(id);
  if (!endpoint) throw new CliError(`no webhook endpoint "${id}" (see: herald webhooks list)`, 'not_found');
  return endpoint;
}

/** "--events a,b" → the list; "*" or "all" → every type. */
function eventsOption(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(',').map((e) => e.trim()).filter(Boolean);
  return list.length === 1 && (list[0] === 'all' || list[0] === '*') ? ['*'] : list;
}

const eventsText = (w: WebhookEndpoint) => (w.events === null ? 'all events' : w.events.join(', '));

function statusText(w: WebhookEndpoint): string {
  if (!w.enabled) return `disabled${w.disabledAt ? ` since ${w.disabledAt.toISOString()}` : ''}: ${w.disabledReason ?? ''}`;
  if (w.retry) return `failing since ${w.retry.since.toISOString()}: ${w.retry.attempts} attempt(s) at one event, the next ${ago(w.retry.at)}`;
  return 'active';
}

/** The JSON shape the API uses (and the account), so scripts read one format. */
function json(w: WebhookEndpoint, store: SqlWebhookStore) {
  return { ...webhookEndpointView(w, (seq) => store.eventId(seq)), account: w.accountId };
}

function attemptsTable(attempts: WebhookAttempt[]): string {
  if (attempts.length === 0) return 'No delivery attempts yet.';
  return table(
    ['WHEN', 'EVENT', 'TYPE', 'TRY', 'RESULT', 'MS', 'NEXT TRY'],
    attempts.map((a) => [a.at.toISOString(), a.eventId, a.eventType, a.attempt, a.error ?? `HTTP ${a.status}`, Math.round(a.latencyMs), a.nextRetryAt ? ago(a.nextRetryAt) : '']),
  );
}

const secretNote = 'The signing secret is shown only now: give it to your receiver to verify the webhook-signature header (docs/webhooks.md).';

export function webhooksCommand(): Command {
  const cmd = new Command('webhooks').description("webhooks: Herald's events POSTed, signed, to your HTTPS endpoints");

  cmd
    .command('create')
    .description('add an endpoint; events from now on are sent to it (the signing secret is printed once)')
    .requiredOption('--url <url>', 'the https:// URL to POST events to')
    .option('--events <types>', `comma-separated event types (default: all): ${PUBLIC_EVENT_TYPES.join(', ')}`)
    .option('--account <account>', 'the account (id or name) whose events are sent', 'default')
    .option('--description <text>', 'a note for people, e.g. what receives the events')
    .option('--disabled', 'create it disabled (enable it with: herald webhooks update ID --enable)')
    .addHelpText(
      'after',
      '\nThe URL must reach a public address over https:// unless HERALD_WEBHOOK_ALLOW_PRIVATE=true.\n\nExamples:\n  herald webhooks create --url https://example.com/herald-events\n  herald webhooks create --url https://example.com/bounces --events message.bounced,message.complained --json',
    )
    .action(async (opts: { url: string; events?: string; account: string; description?: string; disabled?: boolean }, sub: Command) => {
      const created = await withWebhooks(sub, async (env) => {
        const account = await accountId(env.records, opts.account);
        const made = await createWebhook(env.admin(), account, { url: opts.url, events: eventsOption(opts.events), description: opts.description, enabled: opts.disabled ? false : undefined });
        return { ...json(made.endpoint, env.store), secret: made.secret };
      });
      emit(sub.optsWithGlobals(), created, () =>
        [
          `Created webhook endpoint ${created.id} for account "${created.account}"${created.enabled ? '' : ' (disabled)'}.`,
          `  url:    ${created.url}`,
          `  events: ${created.events.join(', ') === '*' ? 'all events' : created.events.join(', ')}`,
          `  secret: ${created.secret}`,
          secretNote,
        ].join('\n'),
      );
    });

  cmd
    .command('list')
    .description('the endpoints, their events and whether each is active, failing or disabled')
    .option('--account <account>', 'only this account (id or name)')
    .action(async (opts: { account?: string }, sub: Command) => {
      const list = await withWebhooks(sub, async ({ records, store }) =>
        (await store.list(opts.account === undefined ? undefined : await accountId(records, opts.account))).map((w) => ({ w, view: json(w, store) })),
      );
      emit(sub.optsWithGlobals(), list.map((x) => x.view), () =>
        list.length === 0
          ? 'No webhook endpoints yet. Add one with: herald webhooks create --url https://example.com/herald-events'
          : table(
              ['ID', 'ACCOUNT', 'URL', 'EVENTS', 'STATUS'],
              list.map(({ w, view }) => [w.id, w.accountId, w.url, w.events === null ? 'all' : w.events.join(','), view.status]),
            ),
      );
    });

  cmd
    .command('show')
    .description('one endpoint, its state and its recent delivery attempts')
    .argument('<id>')
    .option('--attempts <n>', 'how many recent attempts to show', '20')
    .action(async (id: string, opts: { attempts: string }, sub: Command) => {
      const limit = Number(opts.attempts);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError('--attempts must be a whole number from 1 to 1000', 'usage', 2);
      const shown = await withWebhooks(sub, async ({ store }) => {
        const w = await found(store, id);
        return { w, view: json(w, store), attempts: await store.attempts(w.id, { limit }) };
      });
      emit(sub.optsWithGlobals(), { ...shown.view, attempts: shown.attempts }, () =>
        [
          `${shown.w.id} (account "${shown.w.accountId}")`,
          `  url:     ${shown.w.url}`,
          `  events:  ${eventsText(shown.w)}`,
          ...(shown.w.description ? [`  about:   ${shown.w.description}`] : []),
          `  status:  ${statusText(shown.w)}`,
          `  created: ${shown.w.createdAt.toISOString()}`,
          '',
          'Recent attempts (newest first):',
          attemptsTable(shown.attempts),
        ].join('\n'),
      );
    });

  cmd
    .command('update')
    .description('change an endpoint; --enable on a disabled one sends every event it missed')
    .argument('<id>')
    .option('--url <url>', 'a new URL (the next attempt is made at once)')
    .option('--events <types>', 'comma-separated event types, or "all"')
    .option('--description <text>', 'a new note ("" removes it)')
    .option('--enable', 'enable it: delivery continues from where it stopped')
    .option('--disable', 'disable it: nothing is sent until it is enabled again')
    .addHelpText('after', '\nExamples:\n  herald webhooks update wh_… --enable\n  herald webhooks update wh_… --events message.bounced --url https://example.com/new')
    .action(async (id: string, opts: { url?: string; events?: string; description?: string; enable?: boolean; disable?: boolean }, sub: Command) => {
      if (opts.enable && opts.disable) throw new CliError('say --enable or --disable, not both', 'usage', 2);
      const input = {
        url: opts.url,
        events: eventsOption(opts.events),
        description: opts.description === undefined ? undefined : opts.description || null,
        enabled: opts.enable ? true : opts.disable ? false : undefined,
      };
      if (Object.values(input).every((v) => v === undefined)) throw new CliError('nothing to change: give --url, --events, --description, --enable or --disable', 'usage', 2);
      const updated = await withWebhooks(sub, async (env) => {
        const w = await found(env.store, id);
        const changed = (await updateWebhook(env.admin(), w.accountId, w.id, input))!;
        return { w: changed, view: json(changed, env.store) };
      });
      emit(sub.optsWithGlobals(), updated.view, () => `Updated ${updated.w.id}: ${updated.w.url}, ${eventsText(updated.w)}, ${statusText(updated.w)}.`);
    });

  cmd
    .command('rotate-secret')
    .description('make a new signing secret; for 24 hours requests carry signatures with both, so receivers switch without a gap')
    .argument('<id>')
    .action(async (id: string, _opts: unknown, sub: Command) => {
      const rotated = await withWebhooks(sub, async ({ store }) => {
        const w = await found(store, id);
        const r = (await store.rotateSecret(w.accountId, w.id))!;
        return { ...json(r.endpoint, store), secret: r.secret };
      });
      emit(sub.optsWithGlobals(), rotated, () =>
        [`New signing secret for ${rotated.id}:`, `  secret: ${rotated.secret}`, `${secretNote} The old secret keeps signing too for 24 hours.`].join('\n'),
      );
    });

  cmd
    .command('test')
    .description('send a signed webhook.test event now and print what the endpoint answered')
    .argument('<id>')
    .action(async (id: string, _opts: unknown, sub: Command) => {
      const result = await withWebhooks(sub, async ({ config, store }) => {
        const w = await found(store, id);
        const sender = new WebhookSender({ resolver: new NodeDnsResolver({ servers: config.dnsServers }), policy: { allowPrivate: config.webhookAllowPrivate === 'true' } });
        try {
          return await sendTestEvent({ store, sender }, w);
        } finally {
          sender.close();
        }
      });
      emit(sub.optsWithGlobals(), result, () =>
        result.ok
          ? `The endpoint answered HTTP ${result.status} in ${Math.round(result.latencyMs)} ms.`
          : `The test event was not accepted: ${result.error}${result.response ? `\n  answer: ${result.response.slice(0, 200)}` : ''}`,
      );
      if (!result.ok) process.exitCode = 1;
    });

  cmd
    .command('delete')
    .description('remove an endpoint and its attempts log; nothing more is sent to it')
    .argument('<id>')
    .action(async (id: string, _opts: unknown, sub: Command) => {
      await withWebhooks(sub, async ({ store }) => {
        const w = await found(store, id);
        await store.delete(w.accountId, w.id);
      });
      emit(sub.optsWithGlobals(), { deleted: id }, () => `Deleted ${id}.`);
    });

  return cmd;
}
