import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { migrate } from '../storage/index.js';
import { scopeAllows } from './api-keys.js';
import { SqliteAccountStore } from './sqlite-account-store.js';
import { SqliteCredentialStore } from './sqlite-credential-store.js';
import { MIGRATIONS } from './sqlite-schema.js';
import { tempDatabase } from '../../test/support/sqlite.js';

const tempDb = (t: { after(fn: () => void): void }) => tempDatabase(t, 'herald-accounts-');

function manualClock(start = Date.parse('2025-03-01T12:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

test('the default account exists; accounts are created, listed and found by id or name', (t) => {
  const store = new SqliteAccountStore(tempDb(t)());
  const [def] = store.list();
  assert.deepEqual({ ...def, createdAt: undefined }, { id: 'default', name: 'default', ratePerMinute: null, ratePerDay: null, trackOpens: false, trackLinks: false, createdAt: undefined });

  const acme = store.create({ name: 'acme', ratePerMinute: 100 });
  assert.match(acme.id, /^acc_[a-z2-9]{12}$/);
  assert.equal(acme.ratePerMinute, 100);
  assert.equal(acme.ratePerDay, null);
  assert.deepEqual(store.get('acme'), acme);
  assert.deepEqual(store.get(acme.id), acme);
  assert.equal(store.get('default')?.id, 'default');
  assert.equal(store.get('nope'), null);
  assert.deepEqual(store.list().map((a) => a.name), ['default', 'acme']);
});

test('account names and limits are checked, with plain words and a stable code', (t) => {
  const store = new SqliteAccountStore(tempDb(t)());
  assert.throws(() => store.create({ name: '' }), { code: 'invalid_name', message: /account name "" is not valid/ });
  assert.throws(() => store.create({ name: 'has space' }), { code: 'invalid_name' });
  assert.throws(() => store.create({ name: 'acc_x' }), { code: 'invalid_name', message: /kept for ids/ });
  assert.throws(() => store.create({ name: 'default' }), { code: 'name_taken', message: /already exists/ });
  assert.throws(() => store.create({ name: 'x', ratePerMinute: 0 }), { code: 'invalid_limit', message: /per-minute limit must be a whole number/ });
  assert.throws(() => store.create({ name: 'x', ratePerDay: 1.5 }), { code: 'invalid_limit', message: /per-day/ });
  assert.throws(() => store.setLimits('nope', { ratePerMinute: 5 }), { code: 'unknown_account', message: 'there is no account "nope"' });
  assert.equal(store.list().length, 1);
});

test('setLimits changes the limits given, removes those set to null and keeps the others', (t) => {
  const store = new SqliteAccountStore(tempDb(t)());
  const a = store.create({ name: 'acme', ratePerMinute: 10, ratePerDay: 1000 });
  assert.deepEqual(store.setLimits('acme', { ratePerDay: 500 }), { ...a, ratePerDay: 500 });
  assert.deepEqual(store.setLimits(a.id, { ratePerMinute: null }), { ...a, ratePerMinute: null, ratePerDay: 500 });
  assert.deepEqual(store.setLimits('acme', { ratePerMinute: 3, ratePerDay: null }), { ...a, ratePerMinute: 3, ratePerDay: null });
  const def = store.setLimits('default', { ratePerMinute: 60, ratePerDay: null });
  assert.equal(def.ratePerMinute, 60);
  assert.deepEqual(store.get('default'), def);
});

test('tracking defaults: off at first, set one at a time, read per message by id', (t) => {
  const store = new SqliteAccountStore(tempDb(t)());
  const a = store.create({ name: 'acme' });
  assert.deepEqual([a.trackOpens, a.trackLinks], [false, false]);
  assert.deepEqual(store.trackingFor(a.id), { opens: false, links: false });
  assert.deepEqual(store.setTracking('acme', { trackOpens: true }), { ...a, trackOpens: true });
  assert.deepEqual(store.setTracking(a.id, { trackLinks: true }), { ...a, trackOpens: true, trackLinks: true });
  assert.deepEqual(store.trackingFor(a.id), { opens: true, links: true });
  assert.deepEqual(store.setTracking('acme', { trackOpens: false }), { ...a, trackOpens: false, trackLinks: true });
  assert.deepEqual(store.trackingFor('default'), { opens: false, links: false }, 'other accounts keep theirs');
  assert.deepEqual(store.trackingFor('no-such-account'), { opens: false, links: false });
  assert.throws(() => store.setTracking('nope', { trackOpens: true }), { code: 'unknown_account' });
});

test('an API key: shown once, stored as a SHA-256 with a short prefix, authenticated', (t) => {
  const open = tempDb(t);
  const db = open();
  const clock = manualClock();
  const store = new SqliteAccountStore(db, { clock });
  const created = store.createApiKey({ accountId: 'default', name: 'app', scope: 'send' });
  assert.match(created.key, /^hk_[A-Za-z0-9]{40}$/);
  assert.match(created.id, /^key_[a-z2-9]{12}$/);
  assert.deepEqual({ ...created, key: undefined, id: undefined }, { accountId: 'default', name: 'app', scope: 'send', key: undefined, id: undefined, createdAt: clock.now() });

  const row = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(created.id) as Record<string, unknown>;
  assert.equal((row.key_hash as Buffer).toString('hex').length, 64);
  assert.equal(row.prefix, created.key.slice(0, 8));
  assert.ok(!Object.values(row).some((v) => typeof v === 'string' && v.includes(created.key.slice(8))));

  assert.deepEqual(store.authenticate(created.key), { keyId: created.id, accountId: 'default', scope: 'send' });
  const wrong = created.key.slice(0, -1) + (created.key.endsWith('a') ? 'b' : 'a'); // same prefix, other key
  assert.equal(store.authenticate(wrong), null);
  assert.equal(store.authenticate('hk_short'), null);
  assert.equal(store.authenticate(''), null);

  const [listed] = store.listApiKeys();
  assert.deepEqual(listed, { id: created.id, accountId: 'default', name: 'app', scope: 'send', prefix: created.key.slice(0, 8), createdAt: clock.now(), lastUsedAt: clock.now() });
  assert.ok(!JSON.stringify(store.listApiKeys()).includes(created.key));
});

test('API keys belong to an account given by id or name; listing by account', (t) => {
  const store = new SqliteAccountStore(tempDb(t)());
  const acme = store.create({ name: 'acme' });
  const k1 = store.createApiKey({ accountId: 'acme', name: 'app', scope: 'read' });
  const k2 = store.createApiKey({ accountId: acme.id, name: 'admin', scope: 'admin' });
  const k3 = store.createApiKey({ name: 'app', scope: 'send' }); // the default account; names are per account
  assert.equal(k1.accountId, acme.id);
  assert.equal(k3.accountId, 'default');
  assert.deepEqual(store.listApiKeys('acme').map((k) => k.id), [k1.id, k2.id]);
  assert.deepEqual(store.listApiKeys('default').map((k) => k.id), [k3.id]);
  assert.equal(store.listApiKeys().length, 3);
  assert.equal(store.authenticate(k2.key)?.accountId, acme.id);

  assert.throws(() => store.createApiKey({ accountId: 'acme', name: 'app', scope: 'send' }), { code: 'name_taken', message: /"app" already exists in account "acme"/ });
  assert.throws(() => store.createApiKey({ accountId: 'nope', name: 'x', scope: 'send' }), { code: 'unknown_account' });
  assert.throws(() => store.createApiKey({ name: 'x', scope: 'write' as 'send' }), { code: 'invalid_scope', message: /send, read or admin/ });
  assert.throws(() => store.createApiKey({ name: 'key_x', scope: 'send' }), { code: 'invalid_name' });
  assert.throws(() => store.listApiKeys('nope'), { code: 'unknown_account' });
});

test('revoking a key: by name within its account or by id; the name is free again', (t) => {
  const store = new SqliteAccountStore(tempDb(t)());
  store.create({ name: 'acme' });
  const a = store.createApiKey({ accountId: 'acme', name: 'app', scope: 'send' });
  const d = store.createApiKey({ name: 'app', scope: 'send' });

  assert.equal(store.revokeApiKey('app'), true); // the default account's
  assert.equal(store.authenticate(d.key), null);
  assert.ok(store.authenticate(a.key));
  assert.equal(store.revokeApiKey('app'), false);
  assert.equal(store.revokeApiKey(a.id, 'default'), false); // an id of another account's key
  assert.equal(store.revokeApiKey(a.id), true); // an id alone names the key wherever it is
  assert.equal(store.authenticate(a.key), null);
  assert.throws(() => store.revokeApiKey('app', 'nope'), { code: 'unknown_account' });

  const again = store.createApiKey({ accountId: 'acme', name: 'app', scope: 'read' });
  assert.ok(store.authenticate(again.key));
  assert.equal(store.listApiKeys('acme').length, 1);
  const all = store.listApiKeys('acme', { includeRevoked: true });
  assert.equal(all.length, 2);
  assert.ok(all[0].revokedAt instanceof Date);
});

test('a revoke from another connection (the CLI process) is seen by the server at the very next request', (t) => {
  const open = tempDb(t);
  const clock = manualClock();
  const server = new SqliteAccountStore(open(), { clock });
  const cli = new SqliteAccountStore(open());
  const key = cli.createApiKey({ name: 'app', scope: 'send' });
  // Created by another process a moment ago: found at once.
  assert.ok(server.authenticate(key.key));
  assert.ok(server.authenticate(key.key));
  cli.revokeApiKey('app');
  // No time passes: the api_keys change counter moved, so the in-memory keys are reloaded.
  assert.equal(server.authenticate(key.key), null);
  const again = cli.createApiKey({ name: 'app', scope: 'admin' });
  assert.equal(server.authenticate(again.key)?.scope, 'admin');
});

test('limits and tracking defaults changed by another connection apply to the very next lookup', (t) => {
  const open = tempDb(t);
  const server = new SqliteAccountStore(open(), { clock: manualClock() });
  const cli = new SqliteAccountStore(open());
  const acme = cli.create({ name: 'acme' });
  // Looked up (and kept) before each change.
  assert.deepEqual(server.trackingFor(acme.id), { opens: false, links: false });
  assert.equal(server.get('acme')?.ratePerMinute, null);
  assert.equal(server.get(acme.id)?.ratePerMinute, null);
  assert.equal(server.get('nobody'), null);

  cli.setTracking('acme', { trackOpens: true });
  assert.deepEqual(server.trackingFor(acme.id), { opens: true, links: false });
  cli.setTracking(acme.id, { trackLinks: true });
  assert.deepEqual(server.trackingFor(acme.id), { opens: true, links: true });

  cli.setLimits('acme', { ratePerMinute: 10 });
  assert.equal(server.get('acme')?.ratePerMinute, 10);
  assert.equal(server.get(acme.id)?.ratePerMinute, 10);

  // An unknown name was kept as unknown; an account created under it is found at once.
  const nobody = cli.create({ name: 'nobody' });
  assert.equal(server.get('nobody')?.id, nobody.id);

  // By id only: a name is not an id, whatever its defaults.
  assert.deepEqual(server.trackingFor('acme'), { opens: false, links: false });
  assert.deepEqual(server.trackingFor('acc_unknown'), { opens: false, links: false });
});

test('lookups return copies: changing one does not change what the next lookup answers', (t) => {
  const store = new SqliteAccountStore(tempDb(t)());
  const first = store.get('default')!;
  first.ratePerMinute = 5;
  first.createdAt.setTime(0);
  const second = store.get('default')!;
  assert.equal(second.ratePerMinute, null);
  assert.notEqual(second.createdAt.getTime(), 0);
});

test('last_used_at is written at most once a minute per key', (t) => {
  const open = tempDb(t);
  const db = open();
  const clock = manualClock();
  const store = new SqliteAccountStore(db, { clock });
  const key = store.createApiKey({ name: 'app', scope: 'send' });
  const lastUsed = () => db.prepare('SELECT last_used_at FROM api_keys WHERE id = ?').pluck().get(key.id);
  const start = clock.now().getTime();
  assert.equal(lastUsed(), null);
  store.authenticate(key.key);
  assert.equal(lastUsed(), start);
  clock.advance(30_000);
  store.authenticate(key.key);
  assert.equal(lastUsed(), start);
  clock.advance(30_000);
  store.authenticate(key.key);
  assert.equal(lastUsed(), start + 60_000);
  assert.deepEqual(store.listApiKeys()[0].lastUsedAt, new Date(start + 60_000));
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

test('the bootstrap admin key is created once, and never once the default account has had a key', (t) => {
  const open = tempDb(t);
  const store = new SqliteAccountStore(open());
  const boot = store.createBootstrapAdminKey();
  assert.ok(boot);
  assert.equal(boot.name, 'bootstrap');
  assert.equal(boot.scope, 'admin');
  assert.equal(boot.accountId, 'default');
  assert.equal(store.authenticate(boot.key)?.scope, 'admin');
  assert.equal(store.createBootstrapAdminKey(), null);
  store.revokeApiKey('bootstrap');
  assert.equal(new SqliteAccountStore(open()).createBootstrapAdminKey(), null); // a revoked key still counts

  const fresh = new SqliteAccountStore(tempDb(t)());
  fresh.createApiKey({ name: 'ci', scope: 'read' });
  assert.equal(fresh.createBootstrapAdminKey(), null);
});

test('of several threads starting together on one database, exactly one creates the bootstrap key', async (t) => {
  const open = tempDb(t);
  new SqliteAccountStore(open()); // the schema exists; only the key is raced for
  const storeUrl = new URL('./sqlite-account-store.ts', import.meta.url).href;
  const storageUrl = new URL('../storage/index.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  // Each thread opens its own connection and says so, then waits on a shared flag so all of them
  // ask at once.
  const code = `
    import { register } from ${JSON.stringify(tsx)}; register();
    import { workerData, parentPort } from 'node:worker_threads';
    const { SqliteAccountStore } = await import(${JSON.stringify(storeUrl)});
    const { openSqlite } = await import(${JSON.stringify(storageUrl)});
    const db = openSqlite(workerData.file);
    const store = new SqliteAccountStore(db);
    parentPort.postMessage('ready');
    Atomics.wait(new Int32Array(workerData.flag), 0, 0);
    const key = store.createBootstrapAdminKey();
    db.close();
    parentPort.postMessage({ key: key ? key.key : null });
  `;
  const flag = new SharedArrayBuffer(4);
  const threads = Array.from({ length: 4 }, () => {
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: { file: open.file, flag } });
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
  const store = new SqliteAccountStore(open());
  assert.deepEqual(store.listApiKeys().map((k) => k.name), ['bootstrap']);
  assert.ok(store.authenticate(keys.find((k) => k !== null)!));
});

test('one migration history: either store may open the database first, and an old database is upgraded', (t) => {
  const first = tempDb(t);
  new SqliteCredentialStore(first()).create({ name: 'app' });
  const accounts = new SqliteAccountStore(first());
  assert.ok(accounts.createApiKey({ name: 'app', scope: 'send' }).key);

  const second = tempDb(t);
  const acme = new SqliteAccountStore(second()).create({ name: 'acme' });
  // Credentials name their account by id or name too.
  assert.equal(new SqliteCredentialStore(second()).create({ name: 'app', accountId: 'acme' }).accountId, acme.id);

  // A database from before API keys (version 1 only) keeps its rows and gains the new tables.
  const old = tempDb(t);
  const db = old();
  migrate(db, 'accounts', MIGRATIONS.filter((m) => m.version === 1));
  db.prepare("INSERT INTO accounts (id, name, created_at) VALUES ('acc_old', 'old', 1)").run();
  const upgraded = new SqliteAccountStore(old());
  assert.deepEqual(upgraded.get('old'), { id: 'acc_old', name: 'old', ratePerMinute: null, ratePerDay: null, trackOpens: false, trackLinks: false, createdAt: new Date(1) });
  assert.ok(upgraded.createApiKey({ accountId: 'old', name: 'k', scope: 'read' }));
  const versions = db.prepare("SELECT version FROM schema_migrations WHERE room = 'accounts' ORDER BY version").pluck().all();
  assert.deepEqual(versions, MIGRATIONS.map((m) => m.version));
});
