import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SqliteSqlDatabase } from '../storage/index.js';
import { scopeAllows } from './api-keys.js';
import { SqlAccountStore } from './sql-account-store.js';
import { SqlCredentialStore } from './sql-credential-store.js';
import { MIGRATIONS } from './schema.js';
import { describeEachBackend } from '../../test/support/sql-backends.js';

function manualClock(start = Date.parse('2025-03-01T12:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

describeEachBackend('SqlAccountStore', ({ engine, fresh, another }) => {
  test('the default account exists; accounts are created, listed and found by id or name', async () => {
    const store = await SqlAccountStore.open(await fresh());
    const [def] = await store.list();
    assert.deepEqual({ ...def, createdAt: undefined }, { id: 'default', name: 'default', ratePerMinute: null, ratePerDay: null, trackOpens: false, trackLinks: false, createdAt: undefined });

    const acme = await store.create({ name: 'acme', ratePerMinute: 100 });
    assert.match(acme.id, /^acc_[a-z2-9]{12}$/);
    assert.equal(acme.ratePerMinute, 100);
    assert.equal(acme.ratePerDay, null);
    assert.deepEqual(await store.get('acme'), acme);
    assert.deepEqual(await store.get(acme.id), acme);
    assert.equal((await store.get('default'))?.id, 'default');
    assert.equal(await store.get('nope'), null);
    assert.deepEqual((await store.list()).map((a) => a.name), ['default', 'acme']);
  });

  test('account names and limits are checked, with plain words and a stable code', async () => {
    const store = await SqlAccountStore.open(await fresh());
    await assert.rejects(store.create({ name: '' }), { code: 'invalid_name', message: /account name "" is not valid/ });
    await assert.rejects(store.create({ name: 'has space' }), { code: 'invalid_name' });
    await assert.rejects(store.create({ name: 'acc_x' }), { code: 'invalid_name', message: /kept for ids/ });
    await assert.rejects(store.create({ name: 'default' }), { code: 'name_taken', message: /already exists/ });
    await assert.rejects(store.create({ name: 'x', ratePerMinute: 0 }), { code: 'invalid_limit', message: /per-minute limit must be a whole number/ });
    await assert.rejects(store.create({ name: 'x', ratePerDay: 1.5 }), { code: 'invalid_limit', message: /per-day/ });
    await assert.rejects(store.setLimits('nope', { ratePerMinute: 5 }), { code: 'unknown_account', message: 'there is no account "nope"' });
    assert.equal((await store.list()).length, 1);
  });

  test('names are compared exactly: another case is another account', async () => {
    const store = await SqlAccountStore.open(await fresh());
    const upper = await store.create({ name: 'ACME' });
    const lower = await store.create({ name: 'acme' });
    assert.notEqual(upper.id, lower.id);
    assert.equal((await store.get('ACME'))?.id, upper.id);
    assert.equal((await store.get('acme'))?.id, lower.id);
    assert.equal(await store.get('Acme'), null);
  });

  test('setLimits changes the limits given, removes those set to null and keeps the others', async () => {
    const store = await SqlAccountStore.open(await fresh());
    const a = await store.create({ name: 'acme', ratePerMinute: 10, ratePerDay: 1000 });
    assert.deepEqual(await store.setLimits('acme', { ratePerDay: 500 }), { ...a, ratePerDay: 500 });
    assert.deepEqual(await store.setLimits(a.id, { ratePerMinute: null }), { ...a, ratePerMinute: null, ratePerDay: 500 });
    assert.deepEqual(await store.setLimits('acme', { ratePerMinute: 3, ratePerDay: null }), { ...a, ratePerMinute: 3, ratePerDay: null });
    const def = await store.setLimits('default', { ratePerMinute: 60, ratePerDay: null });
    assert.equal(def.ratePerMinute, 60);
    assert.deepEqual(await store.get('default'), def);
  });

  test('tracking defaults: off at first, set one at a time, read per message by id', async () => {
    const store = await SqlAccountStore.open(await fresh());
    const a = await store.create({ name: 'acme' });
    assert.deepEqual([a.trackOpens, a.trackLinks], [false, false]);
    assert.deepEqual(await store.trackingFor(a.id), { opens: false, links: false });
    assert.deepEqual(await store.setTracking('acme', { trackOpens: true }), { ...a, trackOpens: true });
    assert.deepEqual(await store.setTracking(a.id, { trackLinks: true }), { ...a, trackOpens: true, trackLinks: true });
    assert.deepEqual(await store.trackingFor(a.id), { opens: true, links: true });
    assert.deepEqual(await store.setTracking('acme', { trackOpens: false }), { ...a, trackOpens: false, trackLinks: true });
    assert.deepEqual(await store.trackingFor('default'), { opens: false, links: false }, 'other accounts keep theirs');
    assert.deepEqual(await store.trackingFor('no-such-account'), { opens: false, links: false });
    await assert.rejects(store.setTracking('nope', { trackOpens: true }), { code: 'unknown_account' });
  });

  test('an API key: shown once, stored as a SHA-256 with a short prefix, authenticated', async () => {
    const db = await fresh();
    const clock = manualClock();
    const store = await SqlAccountStore.open(db, { clock });
    const created = await store.createApiKey({ accountId: 'default', name: 'app', scope: 'send' });
    assert.match(created.key, /^hk_[A-Za-z0-9]{40}$/);
    assert.match(created.id, /^key_[a-z2-9]{12}$/);
    assert.deepEqual({ ...created, key: undefined, id: undefined }, { accountId: 'default', name: 'app', scope: 'send', key: undefined, id: undefined, createdAt: clock.now() });

    const row = (await db.get<Record<string, unknown>>('SELECT * FROM api_keys WHERE id = ?', [created.id]))!;
    assert.equal((row.key_hash as Buffer).toString('hex').length, 64);
    assert.equal(row.prefix, created.key.slice(0, 8));
    assert.ok(!Object.values(row).some((v) => typeof v === 'string' && v.includes(created.key.slice(8))));

    assert.deepEqual(await store.authenticate(created.key), { keyId: created.id, accountId: 'default', scope: 'send' });
    const wrong = created.key.slice(0, -1) + (created.key.endsWith('a') ? 'b' : 'a'); // same prefix, other key
    assert.equal(await store.authenticate(wrong), null);
    assert.equal(await store.authenticate('hk_short'), null);
    assert.equal(await store.authenticate(''), null);

    const [listed] = await store.listApiKeys();
    assert.deepEqual(listed, { id: created.id, accountId: 'default', name: 'app', scope: 'send', prefix: created.key.slice(0, 8), createdAt: clock.now(), lastUsedAt: clock.now() });
    assert.ok(!JSON.stringify(await store.listApiKeys()).includes(created.key));
  });

  test('API keys belong to an account given by id or name; listing by account', async () => {
    const store = await SqlAccountStore.open(await fresh());
    const acme = await store.create({ name: 'acme' });
    const k1 = await store.createApiKey({ accountId: 'acme', name: 'app', scope: 'read' });
    const k2 = await store.createApiKey({ accountId: acme.id, name: 'admin', scope: 'admin' });
    const k3 = await store.createApiKey({ name: 'app', scope: 'send' }); // the default account; names are per account
    assert.equal(k1.accountId, acme.id);
    assert.equal(k3.accountId, 'default');
    assert.deepEqual((await store.listApiKeys('acme')).map((k) => k.id), [k1.id, k2.id]);
    assert.deepEqual((await store.listApiKeys('default')).map((k) => k.id), [k3.id]);
    assert.equal((await store.listApiKeys()).length, 3);
    assert.equal((await store.authenticate(k2.key))?.accountId, acme.id);

    await assert.rejects(store.createApiKey({ accountId: 'acme', name: 'app', scope: 'send' }), { code: 'name_taken', message: /"app" already exists in account "acme"/ });
    await assert.rejects(store.createApiKey({ accountId: 'nope', name: 'x', scope: 'send' }), { code: 'unknown_account' });
    await assert.rejects(store.createApiKey({ name: 'x', scope: 'write' as 'send' }), { code: 'invalid_scope', message: /send, read or admin/ });
    await assert.rejects(store.createApiKey({ name: 'key_x', scope: 'send' }), { code: 'invalid_name' });
    await assert.rejects(store.listApiKeys('nope'), { code: 'unknown_account' });
  });

  test('revoking a key: by name within its account or by id; the name is free again', async () => {
    const store = await SqlAccountStore.open(await fresh());
    await store.create({ name: 'acme' });
    const a = await store.createApiKey({ accountId: 'acme', name: 'app', scope: 'send' });
    const d = await store.createApiKey({ name: 'app', scope: 'send' });

    assert.equal(await store.revokeApiKey('app'), true); // the default account's
    assert.equal(await store.authenticate(d.key), null);
    assert.ok(await store.authenticate(a.key));
    assert.equal(await store.revokeApiKey('app'), false);
    assert.equal(await store.revokeApiKey(a.id, 'default'), false); // an id of another account's key
    assert.equal(await store.revokeApiKey(a.id), true); // an id alone names the key wherever it is
    assert.equal(await store.authenticate(a.key), null);
    await assert.rejects(store.revokeApiKey('app', 'nope'), { code: 'unknown_account' });

    const again = await store.createApiKey({ accountId: 'acme', name: 'app', scope: 'read' });
    assert.ok(await store.authenticate(again.key));
    assert.equal((await store.listApiKeys('acme')).length, 1);
    const all = await store.listApiKeys('acme', { includeRevoked: true });
    assert.equal(all.length, 2);
    assert.ok(all[0].revokedAt instanceof Date);
  });

  test('a revoke from another connection (the CLI process, another node) is seen by the server at the very next request', async () => {
    const db = await fresh();
    const clock = manualClock();
    const server = await SqlAccountStore.open(db, { clock });
    const cli = await SqlAccountStore.open(await another(db));
    const key = await cli.createApiKey({ name: 'app', scope: 'send' });
    // Created by another process a moment ago: found at once.
    assert.ok(await server.authenticate(key.key));
    assert.ok(await server.authenticate(key.key));
    await cli.revokeApiKey('app');
    // No time passes: the api_keys change counter moved, so the in-memory keys are reloaded.
    assert.equal(await server.authenticate(key.key), null);
    const again = await cli.createApiKey({ name: 'app', scope: 'admin' });
    assert.equal((await server.authenticate(again.key))?.scope, 'admin');
  });

  test('lookups running together while another connection revokes: none answers from before the revoke once it is committed', async () => {
    const db = await fresh();
    const server = await SqlAccountStore.open(db, { clock: manualClock() });
    const cli = await SqlAccountStore.open(await another(db));
    const key = await cli.createApiKey({ name: 'app', scope: 'send' });
    const before = await Promise.all(Array.from({ length: 8 }, () => server.authenticate(key.key)));
    assert.ok(before.every((p) => p?.keyId === key.id));
    // Lookups in flight while the revoke commits may still see the key; every one asked after it may not.
    const during = Array.from({ length: 8 }, () => server.authenticate(key.key));
    await cli.revokeApiKey(key.id);
    const after = await Promise.all(Array.from({ length: 8 }, () => server.authenticate(key.key)));
    await Promise.all(during);
    assert.deepEqual(after, Array(8).fill(null));
    assert.equal(await server.authenticate(key.key), null);
  });

  test('limits and tracking defaults changed by another connection apply to the very next lookup', async () => {
    const db = await fresh();
    const server = await SqlAccountStore.open(db, { clock: manualClock() });
    const cli = await SqlAccountStore.open(await another(db));
    const acme = await cli.create({ name: 'acme' });
    // Looked up (and kept) before each change.
    assert.deepEqual(await server.trackingFor(acme.id), { opens: false, links: false });
    assert.equal((await server.get('acme'))?.ratePerMinute, null);
    assert.equal((await server.get(acme.id))?.ratePerMinute, null);
    assert.equal(await server.get('nobody'), null);

    await cli.setTracking('acme', { trackOpens: true });
    assert.deepEqual(await server.trackingFor(acme.id), { opens: true, links: false });
    await cli.setTracking(acme.id, { trackLinks: true });
    assert.deepEqual(await server.trackingFor(acme.id), { opens: true, links: true });

    await cli.setLimits('acme', { ratePerMinute: 10 });
    assert.equal((await server.get('acme'))?.ratePerMinute, 10);
    assert.equal((await server.get(acme.id))?.ratePerMinute, 10);

    // An unknown name was kept as unknown; an account created under it is found at once.
    const nobody = await cli.create({ name: 'nobody' });
    assert.equal((await server.get('nobody'))?.id, nobody.id);

    // By id only: a name is not an id, whatever its defaults.
    assert.deepEqual(await server.trackingFor('acme'), { opens: false, links: false });
    assert.deepEqual(await server.trackingFor('acc_unknown'), { opens: false, links: false });
  });

  test('two connections setting different limits at once keep both', async () => {
    const db = await fresh();
    const one = await SqlAccountStore.open(db);
    const two = await SqlAccountStore.open(await another(db));
    const acme = await one.create({ name: 'acme' });
    await Promise.all([one.setLimits('acme', { ratePerMinute: 7 }), two.setLimits('acme', { ratePerDay: 700 })]);
    assert.deepEqual(await one.get(acme.id), { ...acme, ratePerMinute: 7, ratePerDay: 700 });
  });

  test('lookups return copies: changing one does not change what the next lookup answers', async () => {
    const store = await SqlAccountStore.open(await fresh());
    const first = (await store.get('default'))!;
    first.ratePerMinute = 5;
    first.createdAt.setTime(0);
    const second = (await store.get('default'))!;
    assert.equal(second.ratePerMinute, null);
    assert.notEqual(second.createdAt.getTime(), 0);
  });

  test('last_used_at is written at most once a minute per key', async () => {
    const db = await fresh();
    const clock = manualClock();
    const store = await SqlAccountStore.open(db, { clock });
    const key = await store.createApiKey({ name: 'app', scope: 'send' });
    const lastUsed = async () => (await db.get<{ last_used_at: number | null }>('SELECT last_used_at FROM api_keys WHERE id = ?', [key.id]))?.last_used_at;
    const start = clock.now().getTime();
    assert.equal(await lastUsed(), null);
    await store.authenticate(key.key);
    assert.equal(await lastUsed(), start);
    clock.advance(30_000);
    await store.authenticate(key.key);
    assert.equal(await lastUsed(), start);
    clock.advance(30_000);
    await store.authenticate(key.key);
    assert.equal(await lastUsed(), start + 60_000);
    assert.deepEqual((await store.listApiKeys())[0].lastUsedAt, new Date(start + 60_000));
  });

  test('the bootstrap admin key is created once, and never once the default account has had a key', async () => {
    const db = await fresh();
    const store = await SqlAccountStore.open(db);
    const boot = await store.createBootstrapAdminKey();
    assert.ok(boot);
    assert.equal(boot.name, 'bootstrap');
    assert.equal(boot.scope, 'admin');
    assert.equal(boot.accountId, 'default');
    assert.equal((await store.authenticate(boot.key))?.scope, 'admin');
    assert.equal(await store.createBootstrapAdminKey(), null);
    await store.revokeApiKey('bootstrap');
    assert.equal(await (await SqlAccountStore.open(await another(db))).createBootstrapAdminKey(), null); // a revoked key still counts

    const other = await SqlAccountStore.open(await fresh());
    await other.createApiKey({ name: 'ci', scope: 'read' });
    assert.equal(await other.createBootstrapAdminKey(), null);
  });

  // On SQLite, connections of one thread cannot wait for each other's transactions: the test
  // with threads below covers that engine.
  if (engine === 'postgres') {
    test('of several nodes starting together on one database, exactly one creates the bootstrap key', async () => {
      const db = await fresh();
      const stores = [await SqlAccountStore.open(db)];
      for (let i = 0; i < 3; i++) stores.push(await SqlAccountStore.open(await another(db)));
      const keys = await Promise.all(stores.map((s) => s.createBootstrapAdminKey()));
      assert.equal(keys.filter((k) => k !== null).length, 1);
      assert.deepEqual((await stores[0].listApiKeys()).map((k) => k.name), ['bootstrap']);
    });
  }

  test('one migration history: either store may open the database first', async () => {
    const first = await fresh();
    await (await SqlCredentialStore.open(first)).create({ name: 'app' });
    const accounts = await SqlAccountStore.open(await another(first));
    assert.ok((await accounts.createApiKey({ name: 'app', scope: 'send' })).key);

    const second = await fresh();
    const acme = await (await SqlAccountStore.open(second)).create({ name: 'acme' });
    // Credentials name their account by id or name too.
    assert.equal((await (await SqlCredentialStore.open(await another(second))).create({ name: 'app', accountId: 'acme' })).accountId, acme.id);
  });

  if (engine === 'sqlite') {
    test('an old database is upgraded, keeping its rows', async () => {
      // A database from before API keys (version 1 only) keeps its rows and gains the new tables.
      const db = await fresh();
      await db.migrate('accounts', { sqlite: MIGRATIONS.filter((m) => m.version === 1), postgres: [] });
      await db.run("INSERT INTO accounts (id, name, created_at) VALUES ('acc_old', 'old', 1)");
      const upgraded = await SqlAccountStore.open(await another(db));
      assert.deepEqual(await upgraded.get('old'), { id: 'acc_old', name: 'old', ratePerMinute: null, ratePerDay: null, trackOpens: false, trackLinks: false, createdAt: new Date(1) });
      assert.ok(await upgraded.createApiKey({ accountId: 'old', name: 'k', scope: 'read' }));
      const versions = (await db.all<{ version: number }>("SELECT version FROM schema_migrations WHERE room = 'accounts' ORDER BY version")).map((r) => r.version);
      assert.deepEqual(versions, MIGRATIONS.map((m) => m.version));
    });
  }
});

test('scopes: admin allows everything, send and read only themselves', () => {
  assert.equal(scopeAllows('admin', 'send'), true);
  assert.equal(scopeAllows('admin', 'read'), true);
  assert.equal(scopeAllows('admin', 'admin'), true);
  assert.equal(scopeAllows('send', 'send'), true);
  assert.equal(scopeAllows('send', 'read'), false);
  assert.equal(scopeAllows('send', 'admin'), false);
  assert.equal(scopeAllows('read', 'read'), true);
  assert.equal(scopeAllows('read', 'send'), false);
  assert.equal(scopeAllows('read', 'admin'), false);
});

test('of several threads starting together on one SQLite file, exactly one creates the bootstrap key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-accounts-'));
  const file = join(dir, 'herald.db');
  const setup = SqliteSqlDatabase.open(file);
  t.after(async () => {
    await setup.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await SqlAccountStore.open(setup); // the schema exists; only the key is raced for
  const storeUrl = new URL('./sql-account-store.ts', import.meta.url).href;
  const storageUrl = new URL('../storage/index.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  // Each thread opens its own connection and says so, then waits on a shared flag so all of them
  // ask at once.
  const code = `
    import { register } from ${JSON.stringify(tsx)}; register();
    import { workerData, parentPort } from 'node:worker_threads';
    const { SqlAccountStore } = await import(${JSON.stringify(storeUrl)});
    const { SqliteSqlDatabase } = await import(${JSON.stringify(storageUrl)});
    const db = SqliteSqlDatabase.open(workerData.file);
    const store = await SqlAccountStore.open(db);
    parentPort.postMessage('ready');
    Atomics.wait(new Int32Array(workerData.flag), 0, 0);
    const key = await store.createBootstrapAdminKey();
    await db.close();
    parentPort.postMessage({ key: key ? key.key : null });
  `;
  const flag = new SharedArrayBuffer(4);
  const threads = Array.from({ length: 4 }, () => {
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: { file, flag } });
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    const result = ready.then(
      () =>
        new Promise<string | null>((resolve, reject) => {
          worker.once('message', (m: { key: string | null }) => resolve(m.key));
          worker.once('error', reject);
        }),
    );
    return { ready, result };
  });
  await Promise.all(threads.map((th) => th.ready));
  const results = threads.map((th) => th.result);
  Atomics.store(new Int32Array(flag), 0, 1);
  Atomics.notify(new Int32Array(flag), 0);
  const keys = await Promise.all(results);
  assert.equal(keys.filter((k) => k !== null).length, 1);
  const store = await SqlAccountStore.open(setup);
  assert.deepEqual((await store.listApiKeys()).map((k) => k.name), ['bootstrap']);
  assert.ok(await store.authenticate(keys.find((k) => k !== null)!));
});
