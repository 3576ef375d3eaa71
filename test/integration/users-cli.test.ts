import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dataDirEnv } from '../support/engine.js';
import { tempDir } from '../support/herald.js';
import { HERALD_ENTRY, REPO_ROOT, runCli, type CliResult } from '../support/processes.js';

const env = () => dataDirEnv(tempDir('herald-users-cli-'));

/** The CLI with `input` on its standard input (a pipe, as in a script). */
function runWithInput(args: string[], environment: NodeJS.ProcessEnv, input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', HERALD_ENTRY, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...environment }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) }));
    child.stdin.end(input);
  });
}

test('users: create with the password on standard input, list without secrets, grant, set-password', async () => {
  const e = env();
  const created = await runWithInput(['users', 'create', '--email', 'Ann@Example.com', '--account', 'default', '--role', 'viewer', '--json'], e, 'correct horse battery\n');
  assert.equal(created.code, 0, created.stderr);
  const user = created.json();
  assert.equal(user.email, 'ann@example.com');
  assert.deepEqual(user.roles, [{ account: 'default', role: 'viewer' }]);
  assert.equal(user.operator, false);

  const list = await runCli(['users', 'list', '--json'], e);
  assert.equal(list.code, 0);
  assert.deepEqual(list.json().map((u: { email: string }) => u.email), ['ann@example.com']);
  assert.doesNotMatch(list.stdout, /scrypt|correct horse/);

  const granted = await runCli(['users', 'grant', '--email', 'ann@example.com', '--account', 'default', '--role', 'admin', '--json'], e);
  assert.deepEqual(granted.json().roles, [{ account: 'default', role: 'admin' }]);

  const changed = await runWithInput(['users', 'set-password', '--email', 'ann@example.com', '--json'], e, 'an entirely new passphrase');
  assert.equal(changed.code, 0, changed.stderr);
  assert.equal(changed.json().password_changed, true);
});

test('users: bad input gets plain words and a non-zero exit', async () => {
  const e = env();
  const short = await runWithInput(['users', 'create', '--email', 'a@example.com', '--json'], e, 'short');
  assert.equal(short.code, 1);
  assert.equal(short.json().error.code, 'weak_password');
  assert.match(short.stderr, /at least 12 characters/);

  const email = await runWithInput(['users', 'create', '--email', 'not-an-address'], e, 'correct horse battery');
  assert.equal(email.code, 2);
  assert.match(email.stderr, /not an e-mail address/);

  const role = await runCli(['users', 'create', '--email', 'a@example.com', '--role', 'boss', '--password', 'correct horse battery'], e);
  assert.equal(role.code, 2);
  assert.match(role.stderr, /--role is owner, admin or viewer/);

  const empty = await runWithInput(['users', 'create', '--email', 'a@example.com'], e, '');
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /no password on standard input/);

  await runWithInput(['users', 'create', '--email', 'a@example.com'], e, 'correct horse battery');
  const taken = await runWithInput(['users', 'create', '--email', 'A@example.com', '--json'], e, 'correct horse battery');
  assert.equal(taken.json().error.code, 'email_taken');

  const nobody = await runCli(['users', 'set-password', '--email', 'nobody@example.com', '--password', 'correct horse battery'], e);
  assert.equal(nobody.code, 1);
  assert.match(nobody.stderr, /no user "nobody@example.com" \(see: herald users list\)/);
});
