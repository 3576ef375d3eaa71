import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlCredentialStore } from './sql-credential-store.js';
import { describeEachBackend } from '../../test/support/sql-backends.js';

describeEachBackend('SqlCredentialStore', ({ fresh, another }) => {
  test('a password credential: shown once, stored as a salted scrypt hash, verified', async () => {
    const db = await fresh();
    const store = await SqlCredentialStore.open(db);
    const created = await store.create({ name: 'app' });
    assert.match(created.username!, /^herald-[a-z0-9]{8}$/);
    assert.match(created.password!, /^[A-Za-z0-9]{32}$/);
    const row = (await db.get<{ password_hash: string }>('SELECT password_hash FROM smtp_credentials WHERE id = ?', [created.id]))!;
    assert.match(row.password_hash, /^scrypt\$N=16384,r=8,p=1\$/);
    assert.ok(!row.password_hash.includes(created.password!));

    const ok = await store.verifyPassword(created.username!, created.password!);
    assert.equal(ok?.id, created.id);
    assert.equal(ok?.accountId, 'default');
    assert.equal(await store.verifyPassword(created.username!, 'wrong'), null);
    assert.equal(await store.verifyPassword('herald-nobody00', created.password!), null);

    const listed = await store.list();
    assert.equal(listed.length, 1);
    assert.ok(!JSON.stringify(listed).includes('scrypt'));
  });

  test('a revoke invalidates cached verifications at once', async () => {
    const store = await SqlCredentialStore.open(await fresh());
    const c = await store.create({ name: 'app' });
    assert.ok(await store.verifyPassword(c.username!, c.password!));
    assert.ok(await store.verifyPassword(c.username!, c.password!)); // served from the cache
    assert.equal(await store.isActive(c.id), true);
    assert.equal(await store.revoke('app'), true);
    assert.equal(await store.isActive(c.id), false);
    assert.equal(await store.verifyPassword(c.username!, c.password!), null);
    assert.equal(await store.revoke('app'), false);
    // The name is free again after a revoke.
    assert.ok((await store.create({ name: 'app' })).password);
    assert.equal((await store.list({ includeRevoked: true })).length, 2);
  });

  test('credentials made and revoked by another connection (the CLI process, another node) apply at the very next lookup', async () => {
    const db = await fresh();
    // The clock stands still: nothing waits for time to pass, the change counter tells.
    const server = await SqlCredentialStore.open(db, { clock: { now: () => new Date(Date.parse('2030-03-01T12:00:00Z')) } });
    const cli = await SqlCredentialStore.open(await another(db));
    assert.equal(await server.matchNetwork('127.0.0.1'), null);
    const c = await cli.create({ name: 'app' });
    const net = await cli.create({ name: 'local', networks: ['127.0.0.0/8', '::1'] });
    assert.ok(await server.verifyPassword(c.username!, c.password!));
    assert.equal(await server.isActive(c.id), true);
    assert.equal((await server.matchNetwork('127.0.0.1'))?.id, net.id);
    assert.equal((await server.matchNetwork('::ffff:127.0.0.5'))?.id, net.id);
    assert.equal((await server.matchNetwork('::1'))?.id, net.id);
    assert.equal(await server.matchNetwork('192.0.2.1'), null);

    await cli.revoke(c.id);
    await cli.revoke('local');
    assert.equal(await server.isActive(c.id), false);
    assert.equal(await server.verifyPassword(c.username!, c.password!), null);
    assert.equal(await server.matchNetwork('127.0.0.1'), null);
  });

  test('names and networks are validated with plain-words errors', async () => {
    const store = await SqlCredentialStore.open(await fresh());
    await assert.rejects(store.create({ name: '' }), /credential name "" is not valid/);
    await assert.rejects(store.create({ name: 'has space' }), /not valid/);
    await assert.rejects(store.create({ name: 'x', networks: ['10.0.0.0/33'] }), /bad prefix length/);
    await assert.rejects(store.create({ name: 'x', networks: ['nonsense'] }), /not an IP network/);
    await assert.rejects(store.create({ name: 'x', accountId: 'nope' }), /there is no account "nope"/);
    await store.create({ name: 'x' });
    await assert.rejects(store.create({ name: 'x' }), /already exists/);
    const n = await store.create({ name: 'net', networks: ['10.1.2.3'] });
    assert.deepEqual(n.networks, ['10.1.2.3']);
    assert.equal(n.password, undefined);
    assert.equal((await store.list()).length, 2);
  });

  test('two connections creating the same name at once: one credential, and a plain refusal for the other', async () => {
    const db = await fresh();
    const one = await SqlCredentialStore.open(db);
    const two = await SqlCredentialStore.open(await another(db));
    const results = await Promise.allSettled([one.create({ name: 'app', networks: ['10.0.0.1'] }), two.create({ name: 'app', networks: ['10.0.0.2'] })]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.find((r) => r.status === 'rejected');
    assert.match(String(refused?.reason), /a credential named "app" already exists/);
    assert.equal((await one.list()).length, 1);
  });
});
