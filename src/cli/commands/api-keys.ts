import { Command, Option } from 'commander';
import { API_KEY_SCOPES, type ApiKeyScope } from '../../accounts/index.js';
import { ago, CliError, emit, table } from '../output.js';
import { withAccountStore } from './accounts.js';

export function apiKeysCommand(): Command {
  const cmd = new Command('api-keys').description('API keys: who may call the HTTP API, and for what');

  cmd
    .command('create')
    .description('create an API key; the key is printed once')
    .requiredOption('--name <name>', 'a name for the key, e.g. the application using it')
    .addOption(new Option('--scope <scope>', 'what the key may do: send mail, read (messages, events), or admin (everything)').choices(API_KEY_SCOPES).makeOptionMandatory())
    .option('--account <account>', 'the account (id or name) that owns the key', 'default')
    .addHelpText(
      'after',
      '\nThe key is printed once and stored only as a hash. Clients send it as\n"Authorization: Bearer <key>".\n\nExamples:\n  herald api-keys create --name app --scope send\n  herald api-keys create --account acme --name dashboard --scope read --json',
    )
    .action(async (opts: { name: string; scope: ApiKeyScope; account: string }, sub: Command) => {
      const { created, accountName } = await withAccountStore(sub, async (store) => {
        const created = await store.createApiKey({ accountId: opts.account, name: opts.name, scope: opts.scope });
        return { created, accountName: (await store.get(created.accountId))?.name ?? created.accountId };
      });
      emit(sub.optsWithGlobals(), created, () =>
        [
          `Created API key "${created.name}" (scope ${created.scope}) for account "${accountName}".`,
          `  id:  ${created.id}`,
          `  key: ${created.key}`,
          'The key is shown only now; store it with your application\'s secrets and send it as "Authorization: Bearer <key>".',
        ].join('\n'),
      );
    });

  cmd
    .command('list')
    .description('list active API keys (the keys themselves are never shown, only their first characters)')
    .option('--account <account>', 'only the keys of this account (id or name)')
    .addHelpText('after', '\nExamples:\n  herald api-keys list\n  herald api-keys list --account acme --json')
    .action(async (opts: { account?: string }, sub: Command) => {
      const { keys, names } = await withAccountStore(sub, async (store) => ({
        keys: await store.listApiKeys(opts.account),
        names: new Map((await store.list()).map((a) => [a.id, a.name])),
      }));
      emit(sub.optsWithGlobals(), keys, () =>
        keys.length === 0
          ? `No API keys${opts.account ? ` in account "${opts.account}"` : ''} yet. Create one with: herald api-keys create --name app --scope send`
          : table(
              ['ID', 'NAME', 'SCOPE', 'ACCOUNT', 'KEY', 'CREATED', 'LAST USED'],
              keys.map((k) => [k.id, k.name, k.scope, names.get(k.accountId) ?? k.accountId, `${k.prefix}…`, k.createdAt.toISOString(), k.lastUsedAt ? ago(k.lastUsedAt) : 'never']),
            ),
      );
    });

  cmd
    .command('revoke')
    .description('revoke an API key by id, or by name within its account; requests with it are refused from then on')
    .argument('<id-or-name>')
    .option('--account <account>', 'the account (id or name) the key belongs to (default: the default account for names, any account for ids)')
    .addHelpText('after', '\nA running Herald refuses the key from its next request on.\n\nExamples:\n  herald api-keys revoke key_ab3dk2m9xq7p\n  herald api-keys revoke app --account acme')
    .action(async (idOrName: string, opts: { account?: string }, sub: Command) => {
      const revoked = await withAccountStore(sub, (store) => store.revokeApiKey(idOrName, opts.account));
      if (!revoked) {
        const where = opts.account ? ` in account "${opts.account}"` : '';
        throw new CliError(`no active API key with id or name "${idOrName}"${where} (see: herald api-keys list)`, 'not_found');
      }
      emit(sub.optsWithGlobals(), { revoked: idOrName }, () => `Revoked API key "${idOrName}"; requests with it are refused from now on.`);
    });

  return cmd;
}
