// The CLI as a user runs it, one process per command: help, SMTP credentials, plain-words errors,
// configuration and the queue. Accounts, API keys and domains are in cli-accounts.test.ts (two
// files, so each stays well inside the per-file time limit when CLI processes start slowly).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataDirEnv } from '../support/engine.js';
import { tempDir } from '../support/herald.js';
import { runCli } from '../support/processes.js';

const env = () => dataDirEnv(tempDir('herald-cli-'));

test('every command has --help', async () => {
  for (const args of [[], ['start'], ['accounts'], ['accounts', 'create'], ['accounts', 'set-limits'], ['accounts', 'set-tracking'], ['users'], ['users', 'create'], ['inbound'], ['inbound', 'show'], ['stats'], ['api-keys'], ['api-keys', 'create'], ['api-keys', 'revoke'], ['credentials'], ['credentials', 'create'], ['domains'], ['domains', 'add'], ['domains', 'verify'], ['domains', 'development-mode'], ['queue'], ['queue', 'show'], ['config', 'print']]) {
    const r = await runCli([...args, '--help'], env());
    assert.equal(r.code, 0, `herald ${args.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage: herald/);
  }
});

test('credentials: create (password shown once), list without secrets, revoke', async () => {
  const e = env();
  const created = await runCli(['credentials', 'create', '--name', 'app', '--json'], e);
  assert.equal(created.code, 0, created.stderr);
  const cred = created.json();
  assert.match(cred.username, /\S/);
  assert.ok(cred.password.length >= 20);

  const net = (await runCli(['credentials', 'create', '--name', 'local', '--network', '127.0.0.0/8', '--json'], e)).json();
  assert.deepEqual(net.networks, ['127.0.0.0/8']);
  assert.equal(net.password, undefined);

  const list = await runCli(['credentials', 'list', '--json'], e);
  assert.equal(list.code, 0);
  assert.deepEqual(list.json().map((c: { name: string }) => c.name).sort(), ['app', 'local']);
  assert.doesNotMatch(list.stdout, new RegExp(cred.password.replace(/[^\w]/g, '.')));
  assert.doesNotMatch(list.stdout, /hash/i);

  const duplicate = await runCli(['credentials', 'create', '--name', 'app', '--json'], e);
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.json().error.message, /app/);

  assert.equal((await runCli(['credentials', 'revoke', 'app'], e)).code, 0);
  const again = await runCli(['credentials', 'revoke', 'app', '--json'], e);
  assert.equal(again.code, 1);
  assert.equal(again.json().error.code, 'not_found');
  assert.match(again.stderr, /herald credentials list/);
});

test('bad input gets a plain-words error and a non-zero exit', async () => {
  const badNet = await runCli(['credentials', 'create', '--name', 'x', '--network', '10.0.0.0/99'], env());
  assert.equal(badNet.code, 1);
  assert.match(badNet.stderr, /10\.0\.0\.0\/99/);

  const badId = await runCli(['queue', 'show', 'nope', '--json'], env());
  assert.equal(badId.code, 2);
  assert.equal(badId.json().error.code, 'invalid_id');

  const unknown = await runCli(['queue', 'show', '01jz000000000000000000000a'], env());
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no message/);

  const badEnv = await runCli(['config', 'print'], { ...env(), HERALD_SMTP_PORT: '25' });
  assert.equal(badEnv.code, 1);
  assert.match(badEnv.stderr, /unknown environment variable HERALD_SMTP_PORT/);

  const usage = await runCli(['queue', 'retry'], env());
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--all/);
});

test('config print --json shows effective values and their origin', async () => {
  const r = await runCli(['config', 'print', '--json'], { ...env(), HERALD_SMTP_MX_PORT: '2525' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json().smtpMxPort, 2525);
  const human = await runCli(['config', 'print'], { ...env(), HERALD_SMTP_MX_PORT: '2525' });
  assert.match(human.stdout, /smtpMxPort\s+HERALD_SMTP_MX_PORT\s+2525\s+env/);
});

test('queue purge removes what is past retention and checks its argument', async () => {
  const e = env();
  const r = await runCli(['queue', 'purge', '--json'], e);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json(), { removed: 0, olderThan: '30d' });
  const custom = await runCli(['queue', 'purge', '--older-than', '7d'], e);
  assert.match(custom.stdout, /Removed 0 finished messages older than 7d\./);
  const bad = await runCli(['queue', 'purge', '--older-than', 'soon'], e);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--older-than: not a duration/);
});

test('queue list on an empty queue says so', async () => {
  const r = await runCli(['queue', 'list', '--json'], env());
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json().messages, []);
  const human = await runCli(['queue', 'list'], env());
  assert.match(human.stdout, /No pending messages/);
});
