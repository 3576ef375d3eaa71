import { Command } from 'commander';
import { isUserRole, MIN_PASSWORD_LENGTH, SqlUserStore, UsersError, type User } from '../../accounts/index.js';
import { CliError, emit, table } from '../output.js';
import { openRecords, resolveConfig, type GlobalOptions } from '../context.js';

/** Opens the user store on the server's record database; store refusals become CLI errors. */
async function withUserStore<T>(cmd: Command, work: (store: SqlUserStore) => Promise<T>): Promise<T> {
  const db = await openRecords(resolveConfig(cmd.optsWithGlobals<GlobalOptions>()));
  try {
    return await work(await SqlUserStore.open(db));
  } catch (err) {
    if (err instanceof UsersError) throw new CliError(err.message, err.code, err.code === 'invalid_email' || err.code === 'invalid_role' ? 2 : 1);
    throw err;
  } finally {
    await db.close();
  }
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => (text += chunk));
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          return resolve(value);
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          return reject(new CliError('cancelled: no password was set', 'cancelled'));
        }
        value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * The new password: from --password, or from standard input (--password-stdin, or whenever input
 * is not a terminal: `printf %s "$PW" | herald users create …`, which keeps it out of the process
 * list and the shell history), or asked for twice at the terminal without echo.
 */
async function newPassword(opts: { password?: string; passwordStdin?: boolean }): Promise<string> {
  if (opts.password !== undefined) return opts.password;
  if (opts.passwordStdin || !process.stdin.isTTY) {
    const text = (await readStdin()).replace(/\r?\n$/, '');
    if (!text) throw new CliError('no password on standard input: pipe one in, or run in a terminal to be asked for it', 'usage', 2);
    return text;
  }
  const first = await promptHidden(`New password (at least ${MIN_PASSWORD_LENGTH} characters): `);
  const again = await promptHidden('The same password again: ');
  if (first !== again) throw new CliError('the two passwords differ; nothing was changed', 'usage', 2);
  return first;
}

function userView(u: User) {
  return { id: u.id, email: u.email, operator: u.operator, roles: u.roles.map((r) => ({ account: r.accountId, role: r.role })), created_at: u.createdAt };
}

function describeRoles(u: User): string {
  const roles = u.roles.map((r) => `${r.role} of ${r.accountId}`);
  if (u.operator) roles.unshift('operator (admin of every account)');
  return roles.length ? roles.join(', ') : 'no account yet (herald users grant)';
}

const passwordOptions = (c: Command) =>
  c
    .option('--password <password>', 'the password (visible to other users of this machine in the process list; prefer standard input or the prompt)')
    .option('--password-stdin', 'read the password from standard input (the default when input is not a terminal)');

export function usersCommand(): Command {
  const cmd = new Command('users').description('dashboard users: who may sign in, and their role on each account');

  passwordOptions(
    cmd
      .command('create')
      .description('create a dashboard user (the first one: herald users create --email you@example.com --operator)')
      .requiredOption('--email <email>', 'the e-mail address the user signs in with'),
  )
    .option('--account <account>', 'the account the user gets a role on (id or name)', 'default')
    .option('--role <role>', 'owner, admin or viewer on that account', 'owner')
    .option('--operator', 'may open every account, as an admin')
    .addHelpText(
      'after',
      `\nThe password is asked for (twice, without echo), or read from standard input; at least ${MIN_PASSWORD_LENGTH} characters.\n\nExamples:\n  herald users create --email ops@example.com --operator\n  printf %s "$PASSWORD" | herald users create --email ann@example.com --account acme --role viewer --json`,
    )
    .action(async (opts: { email: string; account: string; role: string; operator?: boolean; password?: string; passwordStdin?: boolean }, sub: Command) => {
      if (!isUserRole(opts.role)) throw new CliError(`--role is owner, admin or viewer (got "${opts.role}")`, 'invalid_role', 2);
      const role = opts.role;
      const password = await newPassword(opts);
      const user = await withUserStore(sub, (store) => store.create({ email: opts.email, password, accountId: opts.account, role, operator: opts.operator ?? false }));
      emit(sub.optsWithGlobals(), userView(user), () => `Created user ${user.email} (${user.id}): ${describeRoles(user)}.\nSign in to the dashboard at Herald's HTTP address, e.g. http://localhost:8080/.`);
    });

  cmd
    .command('list')
    .description('list dashboard users and their roles (never passwords)')
    .action(async (_opts: unknown, sub: Command) => {
      const users = await withUserStore(sub, (store) => store.list());
      emit(sub.optsWithGlobals(), users.map(userView), () =>
        users.length === 0
          ? 'No users yet. Create the first one with: herald users create --email you@example.com --operator'
          : table(
              ['EMAIL', 'ID', 'OPERATOR', 'ROLES', 'CREATED'],
              users.map((u) => [u.email, u.id, u.operator ? 'yes' : 'no', u.roles.map((r) => `${r.accountId}:${r.role}`).join(',') || '-', u.createdAt.toISOString()]),
            ),
      );
    });

  passwordOptions(
    cmd
      .command('set-password')
      .description("change a user's password; the user's sessions end everywhere")
      .requiredOption('--email <email>', "the user's e-mail address (or id)"),
  ).action(async (opts: { email: string; password?: string; passwordStdin?: boolean }, sub: Command) => {
    // Look the user up first: no point asking for a password for nobody.
    await withUserStore(sub, async (store) => {
      if (!(await store.get(opts.email))) throw new UsersError('unknown_user', `there is no user "${opts.email}" (see: herald users list)`);
    });
    const password = await newPassword(opts);
    const user = await withUserStore(sub, (store) => store.setPassword(opts.email, password));
    emit(sub.optsWithGlobals(), { ...userView(user), password_changed: true }, () => `Changed the password of ${user.email}; their sessions have ended.`);
  });

  cmd
    .command('grant')
    .description('give a user a role on an account, or change it')
    .requiredOption('--email <email>', "the user's e-mail address (or id)")
    .requiredOption('--account <account>', 'the account (id or name)')
    .requiredOption('--role <role>', 'owner, admin or viewer')
    .action(async (opts: { email: string; account: string; role: string }, sub: Command) => {
      if (!isUserRole(opts.role)) throw new CliError(`--role is owner, admin or viewer (got "${opts.role}")`, 'invalid_role', 2);
      const role = opts.role;
      const user = await withUserStore(sub, (store) => store.grant(opts.email, opts.account, role));
      emit(sub.optsWithGlobals(), userView(user), () => `${user.email}: ${describeRoles(user)}.`);
    });

  return cmd;
}
