// The CLI as a user runs it, one process per command: accounts, API keys and domains (help,
// credentials, errors, configuration and the queue are in cli.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlAccountStore } from '../../src/accounts/index.js';
import { dataDirEnv, openRecordsOf } from '../support/engine.js';
import { tempDir } from '../support/herald.js';
import { runCli } from '../support/processes.js';
import { startDnsServer } from '../support/dns-server.js';
import { zoneFor } from '../support/domain-zone.js';

const env = () => dataDirEnv(tempDir('herald-cli-'));

test('accounts: create with limits, list, set-limits (none removes a limit), and plain-words errors', async () => {
  const e = env();
  const created = await runCli(['accounts', 'create', 'acme', '--rate-per-minute', '100', '--json'], e);
  assert.equal(created.code, 0, created.stderr);
  const acme = created.json();
  assert.deepEqual(Object.keys(acme).sort(), ['createdAt', 'id', 'name', 'ratePerDay', 'ratePerMinute', 'trackLinks', 'trackOpens']);
  assert.match(acme.id, /^acc_/);
  assert.equal(acme.ratePerMinute, 100);
  assert.equal(acme.ratePerDay, null);

  const list = await runCli(['accounts', 'list', '--json'], e);
  assert.deepEqual(list.json().map((a: { id: string; name: string }) => [a.id, a.name]), [['default', 'default'], [acme.id, 'acme']]);

  const limited = await runCli(['accounts', 'set-limits', 'acme', '--rate-per-minute', 'none', '--rate-per-day', '5000', '--json'], e);
  assert.equal(limited.code, 0, limited.stderr);
  assert.deepEqual(limited.json<Record<string, unknown>>(), { ...acme, ratePerMinute: null, ratePerDay: 5000 });
  const human = await runCli(['accounts', 'set-limits', acme.id, '--rate-per-minute', '10'], e);
  assert.match(human.stdout, /Limits for account "acme": at most 10 messages per minute, at most 5000 messages per day\./);
  assert.match((await runCli(['accounts', 'list'], e)).stdout, /acme\s+10\s+5000/);

  const duplicate = await runCli(['accounts', 'create', 'acme', '--json'], e);
  assert.equal(duplicate.code, 1);
  assert.equal(duplicate.json().error.code, 'name_taken');
  assert.match(duplicate.stderr, /an account named "acme" already exists/);

  const unknown = await runCli(['accounts', 'set-limits', 'nope', '--rate-per-day', '5', '--json'], e);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.json().error.code, 'unknown_account');
  assert.match(unknown.stderr, /there is no account "nope" \(see: herald accounts list\)/);

  const badLimit = await runCli(['accounts', 'create', 'other', '--rate-per-minute', 'lots', '--json'], e);
  assert.equal(badLimit.code, 2);
  assert.equal(badLimit.json().error.code, 'invalid_limit');
  assert.match(badLimit.stderr, /--rate-per-minute must be a whole number .* or none \(got "lots"\)/);

  const nothing = await runCli(['accounts', 'set-limits', 'acme'], e);
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /give --rate-per-minute or --rate-per-day/);

  const badName = await runCli(['accounts', 'create', 'has space'], e);
  assert.equal(badName.code, 1);
  assert.match(badName.stderr, /account name "has space" is not valid/);
});

test('api-keys: create (key shown once), list without secrets, revoke; a server process sees the revoke', async () => {
  const e = env();
  const created = await runCli(['api-keys', 'create', '--name', 'app', '--scope', 'send', '--json'], e);
  assert.equal(created.code, 0, created.stderr);
  const key = created.json();
  assert.deepEqual(Object.keys(key).sort(), ['accountId', 'createdAt', 'id', 'key', 'name', 'scope']);
  assert.equal(key.accountId, 'default');
  assert.equal(key.scope, 'send');
  assert.match(key.key, /^hk_[A-Za-z0-9]{40}$/);

  const human = await runCli(['api-keys', 'create', '--name', 'ops', '--scope', 'admin'], e);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /key: hk_[A-Za-z0-9]{40}\n/);
  assert.match(human.stdout, /shown only now/);

  assert.equal((await runCli(['accounts', 'create', 'acme'], e)).code, 0);
  const acmeKey = (await runCli(['api-keys', 'create', '--account', 'acme', '--name', 'app', '--scope', 'read', '--json'], e)).json();
  assert.match(acmeKey.accountId, /^acc_/);

  const list = await runCli(['api-keys', 'list', '--json'], e);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.json().map((k: { name: string; scope: string }) => `${k.name}:${k.scope}`), ['app:send', 'ops:admin', 'app:read']);
  assert.deepEqual(Object.keys(list.json()[0]).sort(), ['accountId', 'createdAt', 'id', 'lastUsedAt', 'name', 'prefix', 'scope']);
  assert.equal(list.json()[0].prefix, key.key.slice(0, 8));
  assert.ok(!list.stdout.includes(key.key));
  const table = await runCli(['api-keys', 'list', '--account', 'acme'], e);
  assert.match(table.stdout, /app\s+read\s+acme\s+hk_/);
  assert.doesNotMatch(table.stdout, /admin/);
  assert.ok(!table.stdout.includes(acmeKey.key));

  // The server's view: the same database, read from this process with a clock that stands still
  // (the revoke must apply without time passing).
  const now = Date.now();
  const db = await openRecordsOf(e);
  try {
    const server = await SqlAccountStore.open(db, { clock: { now: () => new Date(now) } });
    assert.deepEqual(await server.authenticate(key.key), { keyId: key.id, accountId: 'default', scope: 'send' });

    const revoked = await runCli(['api-keys', 'revoke', 'app', '--json'], e);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.deepEqual(revoked.json(), { revoked: 'app' });
    assert.equal(await server.authenticate(key.key), null);
    assert.ok(await server.authenticate(acmeKey.key), 'the other account\'s key of the same name stays');
  } finally {
    await db.close();
  }

  const again = await runCli(['api-keys', 'revoke', 'app', '--json'], e);
  assert.equal(again.code, 1);
  assert.equal(again.json().error.code, 'not_found');
  assert.match(again.stderr, /no active API key with id or name "app" \(see: herald api-keys list\)/);
  assert.equal((await runCli(['api-keys', 'revoke', 'app', '--account', 'acme'], e)).code, 0);
});

test('api-keys: an unknown account or scope is refused with a non-zero exit', async () => {
  const e = env();
  const unknown = await runCli(['api-keys', 'create', '--account', 'nope', '--name', 'app', '--scope', 'send', '--json'], e);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.json().error.code, 'unknown_account');
  assert.match(unknown.stderr, /there is no account "nope"/);

  const listUnknown = await runCli(['api-keys', 'list', '--account', 'nope'], e);
  assert.equal(listUnknown.code, 1);
  assert.match(listUnknown.stderr, /there is no account "nope"/);

  const badScope = await runCli(['api-keys', 'create', '--name', 'app', '--scope', 'write'], e);
  assert.notEqual(badScope.code, 0);
  assert.match(badScope.stderr, /send, read, admin/);

  const empty = await runCli(['api-keys', 'list'], e);
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /No API keys yet/);
});

test('domains: add prints the records, verify reports them against DNS, list, development mode, delete', async () => {
  const dns = await startDnsServer();
  try {
    const e = { ...env(), HERALD_DNS_SERVERS: dns.server, HERALD_HOSTNAME: 'herald.test' };
    const added = await runCli(['domains', 'add', 'example.test', '--json'], e);
    assert.equal(added.code, 0, added.stderr);
    const plan = added.json();
    assert.equal(plan.domain.name, 'example.test');
    const dkim = plan.records.find((r: { purpose: string }) => r.purpose === 'dkim');
    assert.match(dkim.name, /^hd\d{6}\._domainkey\.example\.test$/);
    assert.match(dkim.value, /^v=DKIM1; k=rsa; p=/);
    const human = await runCli(['domains', 'show', 'example.test'], e);
    assert.match(human.stdout, /Records to publish/);

    const missing = await runCli(['domains', 'verify', 'example.test', '--json'], e);
    assert.equal(missing.code, 0, missing.stderr);
    assert.equal(missing.json().ok, false);
    assert.ok(missing.json().records.some((r: { status: string; fix?: string }) => r.status === 'missing' && r.fix));

    dns.setZone(zoneFor(plan.records, { 'herald.test': { A: ['127.0.0.1'] } }));
    const ok = await runCli(['domains', 'verify', 'example.test'], e);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /example\.test: verified/);
    const list = (await runCli(['domains', 'list', '--json'], e)).json();
    assert.equal(list[0].status, 'verified');

    const taken = await runCli(['domains', 'add', 'example.test', '--json'], e);
    assert.equal(taken.code, 1);
    assert.equal(taken.json().error.code, 'domain_taken');
    const dev = await runCli(['domains', 'development-mode', 'maybe'], e);
    assert.notEqual(dev.code, 0);
    assert.equal((await runCli(['domains', 'development-mode', 'on', '--json'], e)).json().developmentMode, true);

    assert.equal((await runCli(['domains', 'delete', 'example.test'], e)).code, 0);
    const gone = await runCli(['domains', 'show', 'example.test', '--json'], e);
    assert.equal(gone.code, 1);
    assert.equal(gone.json().error.code, 'not_found');
  } finally {
    await dns.close();
  }
});
