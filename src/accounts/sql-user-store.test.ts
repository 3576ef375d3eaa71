import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlAccountStore } from './sql-account-store.js';
import { csrfTokenFor, csrfTokenMatches, SESSION_MAX_AGE_MS, SqlUserStore } from './sql-user-store.js';
import { describeEachBackend } from '../../test/support/sql-backends.js';

const PASSWORD = 'correct horse battery';

function manualClock(start = Date.parse('2030-03-01T12:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

describeEachBackend('SqlUserStore', ({ fresh, another }) => {
  test('users: created with a role, found by id or e-mail (any case), listed without hashes', async () => {
    const db = await fresh();
    const store = await SqlUserStore.open(db);
    const ann = await store.create({ email: ' Ann@Example.COM ', password: PASSWORD, role: 'owner' });
    assert.match(ann.id, /^usr_[a-z2-9]{12}$/);
    assert.equal(ann.email, 'ann@example.com');
    assert.deepEqual(ann.roles, [{ accountId: 'default', role: 'owner' }]);
    assert.equal(ann.operator, false);
    assert.deepEqual(await store.get('ANN@example.com'), ann);
    assert.deepEqual(await store.get(ann.id), ann);
    assert.equal(await store.get('nobody@example.com'), null);
    assert.doesNotMatch(JSON.stringify(await store.list()), /scrypt|hash/);

    // The password is kept as scrypt with its own salt: two users with one password differ.
    const bob = await store.create({ email: 'bob@example.com', password: PASSWORD, operator: true });
    const hashes = (await db.all<{ password_hash: string }>('SELECT password_hash FROM users ORDER BY created_at')).map((r) => r.password_hash);
    assert.equal(hashes.length, 2);
    for (const h of hashes) assert.match(h, /^scrypt\$N=\d+,r=8,p=1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    assert.notEqual(hashes[0], hashes[1]);
    assert.ok(!hashes.some((h) => h.includes(PASSWORD)));
    assert.deepEqual(bob.roles, []);
    assert.equal(bob.operator, true);
  });

  test('users: bad input is refused in plain words with a stable code', async () => {
    const store = await SqlUserStore.open(await fresh());
    await assert.rejects(store.create({ email: 'not-an-address', password: PASSWORD }), { code: 'invalid_email', message: /not an e-mail address/ });
    await assert.rejects(store.create({ email: 'a@example.com', password: 'short' }), { code: 'weak_password', message: /at least 12 characters/ });
    await assert.rejects(store.create({ email: 'a@example.com', password: PASSWORD, accountId: 'nope', role: 'admin' }), { code: 'unknown_account', message: /no account "nope"/ });
    await assert.rejects(store.create({ email: 'a@example.com', password: PASSWORD, role: 'boss' as never }), { code: 'invalid_role' });
    await store.create({ email: 'a@example.com', password: PASSWORD });
    await assert.rejects(store.create({ email: 'A@example.com', password: PASSWORD }), { code: 'email_taken', message: /already exists/ });
    await assert.rejects(store.setPassword('ghost@example.com', PASSWORD), { code: 'unknown_user' });
    assert.equal((await store.list()).length, 1);
  });

  test('users: two connections creating one address at once make one user', async () => {
    const db = await fresh();
    const one = await SqlUserStore.open(db);
    const two = await SqlUserStore.open(await another(db));
    const results = await Promise.allSettled([one.create({ email: 'ann@example.com', password: PASSWORD }), two.create({ email: 'ANN@example.com', password: PASSWORD })]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code, 'email_taken');
    assert.equal((await one.list()).length, 1);
  });

  test('sign-in: right password starts a session; wrong password and unknown address get the same answer', async () => {
    const store = await SqlUserStore.open(await fresh());
    await store.create({ email: 'ann@example.com', password: PASSWORD, role: 'viewer' });
    const ok = await store.signIn('ANN@example.com', PASSWORD, { ip: '127.0.0.1', userAgent: 'test' });
    assert.ok(ok.ok);
    assert.equal(ok.session.accountId, 'default');
    assert.equal(ok.session.role, 'viewer');
    // 256 random bits, base64url.
    assert.match(ok.session.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(ok.session.csrf, csrfTokenFor(ok.session.token));
    assert.equal((await store.resume(ok.session.token))?.user.email, 'ann@example.com');

    assert.deepEqual(await store.signIn('ann@example.com', 'wrong password!!'), { ok: false, reason: 'bad_credentials' });
    assert.deepEqual(await store.signIn('nobody@example.com', PASSWORD), { ok: false, reason: 'bad_credentials' });
    assert.equal(await store.resume('x'.repeat(43)), null);
    assert.equal(await store.resume(''), null);
  });

  test('sessions: only a hash of the token is stored; the CSRF token is bound to its session', async () => {
    const db = await fresh();
    const store = await SqlUserStore.open(db);
    await store.create({ email: 'ann@example.com', password: PASSWORD, role: 'admin' });
    const a = await store.signIn('ann@example.com', PASSWORD);
    const b = await store.signIn('ann@example.com', PASSWORD);
    assert.ok(a.ok && b.ok);
    const stored = (await db.all<{ token_hash: Buffer }>('SELECT token_hash FROM user_sessions')).map((r) => r.token_hash);
    assert.equal(stored.length, 2);
    for (const h of stored) {
      assert.equal(h.length, 32);
      assert.ok(!h.toString('latin1').includes(a.session.token) && !h.toString('base64url').includes(a.session.token));
    }
    assert.ok(csrfTokenMatches(a.session.token, a.session.csrf));
    assert.ok(!csrfTokenMatches(a.session.token, b.session.csrf));
    assert.ok(!csrfTokenMatches(a.session.token, undefined));
    assert.ok(!csrfTokenMatches(a.session.token, ''));

    assert.equal(await store.end(a.session.token), true);
    assert.equal(await store.resume(a.session.token), null);
    assert.ok(await store.resume(b.session.token));
  });

  test('sessions: idle ones expire, use renews them, and none outlives the maximum age', async () => {
    const clock = manualClock();
    const idle = 3_600_000;
    const store = await SqlUserStore.open(await fresh(), { clock, sessionIdleMs: idle });
    await store.create({ email: 'ann@example.com', password: PASSWORD, role: 'owner' });

    const quiet = await store.signIn('ann@example.com', PASSWORD);
    assert.ok(quiet.ok);
    assert.equal(quiet.session.expiresAt.getTime(), clock.now().getTime() + idle);
    clock.advance(idle);
    assert.equal(await store.resume(quiet.session.token), null, 'unused for the idle time: ended');

    const busy = await store.signIn('ann@example.com', PASSWORD);
    assert.ok(busy.ok);
    const started = clock.now().getTime();
    // Used every 50 minutes: each use pushes the expiry an hour ahead, up to the maximum age.
    let last = busy.session.expiresAt.getTime();
    while (clock.now().getTime() - started < SESSION_MAX_AGE_MS - idle) {
      clock.advance(50 * 60_000);
      const s = await store.resume(busy.session.token);
      assert.ok(s, `still signed in after ${(clock.now().getTime() - started) / 3_600_000} h`);
      assert.ok(s.expiresAt.getTime() >= last);
      last = s.expiresAt.getTime();
    }
    assert.equal(last, started + SESSION_MAX_AGE_MS);
    clock.advance(started + SESSION_MAX_AGE_MS - clock.now().getTime());
    assert.equal(await store.resume(busy.session.token), null, 'past the maximum age: ended however busy');
  });

  test('lock-out: repeated failures lock the address (known or not) with a retry time; it ends after the lock-out', async () => {
    const clock = manualClock();
    const store = await SqlUserStore.open(await fresh(), { clock, maxFailures: 3, lockoutMs: 10 * 60_000 });
    await store.create({ email: 'ann@example.com', password: PASSWORD, role: 'owner' });

    assert.deepEqual(await store.signIn('ann@example.com', 'wrong password 1'), { ok: false, reason: 'bad_credentials' });
    assert.deepEqual(await store.signIn('ann@example.com', 'wrong password 2'), { ok: false, reason: 'bad_credentials' });
    assert.deepEqual(await store.signIn('ann@example.com', 'wrong password 3'), { ok: false, reason: 'locked', retryAfterSeconds: 600 });
    // Locked: even the right password is refused, without being checked.
    clock.advance(60_000);
    assert.deepEqual(await store.signIn('Ann@example.com', PASSWORD), { ok: false, reason: 'locked', retryAfterSeconds: 540 });
    assert.equal(await store.lockedFor('ann@example.com'), 540);
    // Another address is not affected; an unknown one locks the same way (nothing is revealed).
    const other = await store.create({ email: 'bob@example.com', password: PASSWORD, role: 'viewer' });
    assert.ok((await store.signIn(other.email, PASSWORD)).ok);
    for (let i = 0; i < 2; i++) await store.signIn('ghost@example.com', 'whatever whatever');
    assert.deepEqual(await store.signIn('ghost@example.com', 'whatever whatever'), { ok: false, reason: 'locked', retryAfterSeconds: 600 });

    clock.advance(9 * 60_000);
    const after = await store.signIn('ann@example.com', PASSWORD);
    assert.ok(after.ok, 'the lock-out is over');
    // A success clears the count: it takes three new failures to lock again.
    assert.deepEqual(await store.signIn('ann@example.com', 'wrong password 4'), { ok: false, reason: 'bad_credentials' });
    assert.deepEqual(await store.signIn('ann@example.com', 'wrong password 5'), { ok: false, reason: 'bad_credentials' });
  });

  test('lock-out: a single allowed failure locks at the first one', async () => {
    const store = await SqlUserStore.open(await fresh(), { clock: manualClock(), maxFailures: 1, lockoutMs: 60_000 });
    await store.create({ email: 'ann@example.com', password: PASSWORD, role: 'owner' });
    assert.deepEqual(await store.signIn('ann@example.com', 'wrong password 1'), { ok: false, reason: 'locked', retryAfterSeconds: 60 });
  });

  test('a new password ends every session of the user and works at once', async () => {
    const db = await fresh();
    const store = await SqlUserStore.open(db);
    await store.create({ email: 'ann@example.com', password: PASSWORD, role: 'owner' });
    const s = await store.signIn('ann@example.com', PASSWORD);
    assert.ok(s.ok);
    // As the CLI would, from another connection.
    await (await SqlUserStore.open(await another(db))).setPassword('ann@example.com', 'a brand new passphrase');
    assert.equal(await store.resume(s.session.token), null);
    assert.equal((await store.signIn('ann@example.com', PASSWORD)).ok, false);
    assert.equal((await store.signIn('ann@example.com', 'a brand new passphrase')).ok, true);
  });

  test('roles: per account; operators are admins everywhere; switching accounts needs a role there', async () => {
    const db = await fresh();
    const accounts = await SqlAccountStore.open(db);
    const acme = await accounts.create({ name: 'acme' });
    const store = await SqlUserStore.open(await another(db));

    const viewer = await store.create({ email: 'vic@example.com', password: PASSWORD, accountId: 'acme', role: 'viewer' });
    assert.deepEqual(viewer.roles, [{ accountId: acme.id, role: 'viewer' }]);
    assert.equal(await store.roleOn(viewer, acme.id), 'viewer');
    assert.equal(await store.roleOn(viewer, 'default'), null);
    const s = await store.signIn('vic@example.com', PASSWORD);
    assert.ok(s.ok);
    assert.equal(s.session.accountId, acme.id);
    assert.equal(await store.switchAccount(s.session.token, 'default'), null, 'no role on default');

    await store.grant('vic@example.com', 'default', 'admin');
    assert.equal((await store.switchAccount(s.session.token, 'default'))?.role, 'admin');
    assert.equal((await store.resume(s.session.token))?.accountId, 'default');
    // Losing the role on the session's account ends what the session may do there.
    assert.equal(await store.revoke('vic@example.com', 'default'), true);
    assert.equal(await store.resume(s.session.token), null);

    const op = await store.create({ email: 'op@example.com', password: PASSWORD, operator: true });
    assert.deepEqual((await store.accountsOf(op)).map((a) => [a.accountId, a.role]), [['default', 'admin'], [acme.id, 'admin']]);
    assert.equal(await store.roleOn(op, 'acc_nosuchaccount'), null);
    const os = await store.signIn('op@example.com', PASSWORD);
    assert.ok(os.ok);
    assert.equal((await store.switchAccount(os.session.token, 'acme'))?.accountId, acme.id);
    assert.equal(await store.switchAccount(os.session.token, 'nope'), null);

    // A user with no account and no operator flag cannot sign in to anything.
    await store.create({ email: 'lost@example.com', password: PASSWORD });
    assert.deepEqual(await store.signIn('lost@example.com', PASSWORD), { ok: false, reason: 'no_account' });
  });
});
