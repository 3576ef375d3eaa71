import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteCredentialStore } from './sqlite-credential-store.js';
import { tempDatabase } from '../../test/support/sqlite.js';

const tempDb = (t: { after(fn: () => void): void }) => tempDatabase(t, 'herald-accounts-');

test('a password credential: shown once, stored as a salted scrypt hash, verified', async (t) => {
  const open = tempDb(t);
  const db = open();
  const store = new SqliteCredentialStore(db);
  const created = store.create({ name: 'app' });
  assert.match(created.username!, /^herald-[a-z0-9]{8}$/);
  assert.match(created.password!, /^[A-Za-z0-9]{32}$/);
  const row = db.prepare('SELECT password_hash FROM smtp_credentials WHERE id = ?').get(created.id) as { password_hash: string };
  assert.match(row.password_hash, /^scrypt\$N=16384,r=8,p=1\$/);
  assert.ok(!row.password_hash.includes(created.password!));

  const ok = await store.verifyPassword(created.username!, created.password!);
  assert.equal(ok?.id, created.id);
  assert.equal(ok?.accountId, 'default');
  assert.equal(await store.verifyPassword(created.username!, 'wrong'), null);
  assert.equal(await store.verifyPassword('herald-nobody00', created.password!), null);

  const listed = store.list();
  assert.equal(listed.length, 1);
  assert.ok(!JSON.stringify(listed).includes('scrypt'));
});

test('a revoke invalidates cached verifications at once', async (t) => {
  const store = new SqliteCredentialStore(tempDb(t)());
  const c = store.create({ name: 'app' });
  assert.ok(await store.verifyPassword(c.username!, c.password!));
  assert.ok(await store.verifyPassword(c.username!, c.password!)); // served from the cache
  assert.equal(store.isActive(c.id), true);
  assert.equal(store.revoke('app'), true);
  assert.equal(store.isActive(c.id), false);
  assert.equal(await store.verifyPassword(c.username!, c.password!), null);
  assert.equal(store.revoke('app'), false);
  // The name is free again after a revoke.
  assert.ok(store.create({ name: 'app' }).password);
  assert.equal(store.list({ includeRevoked: true }).length, 2);
});

test('a revoke from another connection (the CLI process) is seen by the server within a second', async (t) => {
  const open = tempDb(t);
  let now = Date.now();
  const server = new SqliteCredentialStore(open(), { clock: { now: () => new Date(now) } });
  const cli = new SqliteCredentialStore(open());
  const c = cli.create({ name: 'app' });
  const net = cli.create({ name: 'local', networks: ['127.0.0.0/8', '::1'] });
  assert.ok(await server.verifyPassword(c.username!, c.password!));
  assert.equal(server.matchNetwork('127.0.0.1')?.id, net.id);
  assert.equal(server.matchNetwork('::ffff:127.0.0.5')?.id, net.id);
  assert.equal(server.matchNetwork('::1')?.id, net.id);
  assert.equal(server.matchNetwork('192.0.2.1'), null);

  cli.revoke(c.id);
  cli.revoke('local');
  now += 1000;
  assert.equal(await server.verifyPassword(c.username!, c.password!), null);
  assert.equal(server.matchNetwork('127.0.0.1'), null);
});

test('names and networks are validated with plain-words errors', (t) => {
  const store = new SqliteCredentialStore(tempDb(t)());
  assert.throws(() => store.create({ name: '' }), /credential name "" is not valid/);
  assert.throws(() => store.create({ name: 'has space' }), /not valid/);
  assert.throws(() => store.create({ name: 'x', networks: ['10.0.0.0/33'] }), /bad prefix length/);
  assert.throws(() => store.create({ name: 'x', networks: ['nonsense'] }), /not an IP network/);
  assert.throws(() => store.create({ name: 'x', accountId: 'nope' }), /there is no account "nope"/);
  store.create({ name: 'x' });
  assert.throws(() => store.create({ name: 'x' }), /already exists/);
  const n = store.create({ name: 'net', networks: ['10.1.2.3'] });
  assert.deepEqual(n.networks, ['10.1.2.3']);
  assert.equal(n.password, undefined);
});
