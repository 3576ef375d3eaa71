import { Command } from 'commander';
import { SqlCredentialStore } from '../../accounts/index.js';
import { CliError, emit, table } from '../output.js';
import { openRecords, resolveConfig, type GlobalOptions } from '../context.js';

async function withStore<T>(cmd: Command, work: (store: SqlCredentialStore) => Promise<T>): Promise<T> {
  const db = await openRecords(resolveConfig(cmd.optsWithGlobals<GlobalOptions>()));
  try {
    return await work(await SqlCredentialStore.open(db));
  } finally {
    await db.close();
  }
}

export function credentialsCommand(): Command {
  const cmd = new Command('credentials').description('SMTP credentials: who may send through Herald');

  cmd
    .command('create')
    .description('create a username/password credential, or a network credential with --network')
    .requiredOption('--name <name>', 'a name for the credential, e.g. the application using it')
    .option('--network <cidr...>', 'client networks that may relay without AUTH, e.g. 127.0.0.0/8 (repeatable)')
    .option('--account <account>', 'the account that owns the credential', 'default')
    .addHelpText('after', '\nThe password is printed once and stored only as a hash.\n\nExamples:\n  herald credentials create --name app --json\n  herald credentials create --name local --network 127.0.0.0/8')
    .action(async (opts: { name: string; network?: string[]; account: string }, sub: Command) => {
      const created = await withStore(sub, (store) => store.create({ name: opts.name, accountId: opts.account, networks: opts.network }));
      emit(sub.optsWithGlobals(), created, () =>
        created.password
          ? `Created SMTP credential "${created.name}".\n  username: ${created.username}\n  password: ${created.password}\nThe password is shown only now; store it in your application's SMTP settings.`
          : `Created network credential "${created.name}": clients from ${created.networks?.join(', ')} may relay without AUTH.`,
      );
    });

  cmd
    .command('list')
    .description('list credentials (passwords are never shown)')
    .action(async (_opts: unknown, sub: Command) => {
      const list = await withStore(sub, (store) => store.list());
      emit(sub.optsWithGlobals(), list, () =>
        list.length === 0
          ? 'No credentials yet. Create one with: herald credentials create --name app'
          : table(
              ['ID', 'NAME', 'KIND', 'USERNAME / NETWORKS', 'ACCOUNT', 'CREATED', 'REVOKED'],
              list.map((c) => [c.id, c.name, c.kind, c.kind === 'network' ? c.networks?.join(',') : c.username, c.accountId, c.createdAt.toISOString(), c.revokedAt ? c.revokedAt.toISOString() : '']),
            ),
      );
    });

  cmd
    .command('revoke')
    .description('revoke a credential by id or name; its sessions can no longer send')
    .argument('<id-or-name>')
    .action(async (idOrName: string, _opts: unknown, sub: Command) => {
      const revoked = await withStore(sub, (store) => store.revoke(idOrName));
      if (!revoked) throw new CliError(`no active credential with id or name "${idOrName}" (see: herald credentials list)`, 'not_found');
      emit(sub.optsWithGlobals(), { revoked: idOrName }, () => `Revoked credential "${idOrName}".`);
    });

  return cmd;
}
