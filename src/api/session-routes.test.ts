import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startApiWorld, type ApiWorld } from '../../test/support/api.js';
import { cookieValue } from './session-routes.js';
import { MESSAGE_HTML_CSP } from './message-content-routes.js';

const PASSWORD = 'correct horse battery';
let world: ApiWorld;

before(async () => {
  world = await startApiWorld({ HERALD_LOGIN_MAX_FAILURES: '3' });
  await world.herald.users.create({ email: 'owner@example.com', password: PASSWORD, role: 'owner' });
  await world.herald.users.create({ email: 'viewer@example.com', password: PASSWORD, role: 'viewer' });
});
after(() => world.close());

interface Session {
  cookie: string;
  csrf: string;
  body: any;
  setCookie: string;
}

async function signIn(email: string, password = PASSWORD): Promise<Session> {
  const res = await call(world.base, 'POST', '/api/v1/session', { body: { email, password } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const setCookie = res.headers.get('set-cookie') ?? '';
  const token = cookieValue(setCookie.split(';')[0], 'herald_session');
  assert.ok(token);
  return { cookie: `herald_session=${token}`, csrf: res.body.csrf, body: res.body, setCookie };
}

test('sign-in sets an HttpOnly, SameSite=Strict session cookie and answers the user, account and CSRF token', async () => {
  const s = await signIn('Owner@Example.com');
  assert.match(s.setCookie, /^herald_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=604800$/);
  assert.doesNotMatch(s.setCookie, /Secure/, 'plain http without an https public URL: no Secure flag');
  assert.equal(s.body.user.email, 'owner@example.com');
  assert.deepEqual(s.body.account, { id: 'default', name: 'default', role: 'owner', scope: 'admin' });
  assert.deepEqual(s.body.accounts, [{ id: 'default', name: 'default', role: 'owner' }]);
  assert.match(s.body.csrf, /^[A-Za-z0-9_-]{43}$/);

  const me = await call(world.base, 'GET', '/api/v1/session', { headers: { cookie: s.cookie } });
  assert.equal(me.status, 200);
  assert.equal(me.body.csrf, s.csrf);
  assert.equal(me.headers.get('cache-control'), 'no-store');
});

test('the cookie is Secure when Herald is reached through an https public URL', async () => {
  const other = await startApiWorld({ HERALD_PUBLIC_URL: 'https://mail.example.com' });
  try {
    await other.herald.users.create({ email: 'ann@example.com', password: PASSWORD, role: 'owner' });
    const res = await call(other.base, 'POST', '/api/v1/session', { body: { email: 'ann@example.com', password: PASSWORD } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('set-cookie') ?? '', /; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
  } finally {
    await other.close();
  }
});

test('a session reads with its cookie; unsafe methods need the CSRF header, named in the refusal', async () => {
  const s = await signIn('owner@example.com');
  const list = await call(world.base, 'GET', '/api/v1/messages', { headers: { cookie: s.cookie } });
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.messages, []);

  const message = { from: 'app@herald.test', to: 'ann@a.test', subject: 'Hello', text: 'Hi' };
  const without = await call(world.base, 'POST', '/api/v1/messages', { headers: { cookie: s.cookie }, body: message });
  assert.equal(without.status, 403);
  assert.equal(without.body.error.code, 'csrf');
  assert.equal(without.body.error.field, 'X-Herald-CSRF');
  assert.match(without.body.error.message, /X-Herald-CSRF/);

  const wrong = await call(world.base, 'POST', '/api/v1/messages', { headers: { cookie: s.cookie, 'x-herald-csrf': 'A'.repeat(43) }, body: message });
  assert.equal(wrong.status, 403);

  const sent = await call(world.base, 'POST', '/api/v1/messages', { headers: { cookie: s.cookie, 'x-herald-csrf': s.csrf }, body: message });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
});

test('a viewer reads but is refused an admin action; the refusal names the scope', async () => {
  const v = await signIn('viewer@example.com');
  assert.deepEqual(v.body.account, { id: 'default', name: 'default', role: 'viewer', scope: 'read' });
  assert.equal((await call(world.base, 'GET', '/api/v1/domains', { headers: { cookie: v.cookie } })).status, 200);
  const add = await call(world.base, 'POST', '/api/v1/domains', { headers: { cookie: v.cookie, 'x-herald-csrf': v.csrf }, body: { name: 'viewer.example' } });
  assert.equal(add.status, 403);
  assert.equal(add.body.error.code, 'forbidden');
  assert.match(add.body.error.message, /"read" scope; this call needs "admin"/);
  const send = await call(world.base, 'POST', '/api/v1/messages', { headers: { cookie: v.cookie, 'x-herald-csrf': v.csrf }, body: { from: 'a@herald.test', to: 'b@a.test', subject: 's', text: 't' } });
  assert.equal(send.status, 403);
});

test('API keys work as before, and win over a cookie', async () => {
  const withKey = await call(world.base, 'GET', '/api/v1/account', { key: world.adminKey });
  assert.equal(withKey.status, 200);
  assert.equal(withKey.body.key.scope, 'admin');
  // A stale cookie beside a good key: the key decides, and no CSRF header is asked for.
  const both = await call(world.base, 'POST', '/api/v1/domains', { key: world.adminKey, headers: { cookie: 'herald_session=stale-and-unknown-token-value-xxxxxxxxxxxxxxxx' }, body: { name: 'keyed.example' } });
  assert.equal(both.status, 201, JSON.stringify(both.body));
  assert.equal((await call(world.base, 'GET', '/api/v1/account')).status, 401);
});

test('wrong password and unknown address are refused alike; repeated failures lock the address with Retry-After', async () => {
  const wrong = await call(world.base, 'POST', '/api/v1/session', { body: { email: 'viewer@example.com', password: 'not the password' } });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.message, 'the e-mail address or the password is not right');
  assert.equal(wrong.headers.get('set-cookie'), null);
  const unknown = await call(world.base, 'POST', '/api/v1/session', { body: { email: 'nobody@example.com', password: 'not the password' } });
  assert.deepEqual(unknown.body, wrong.body);

  await call(world.base, 'POST', '/api/v1/session', { body: { email: 'viewer@example.com', password: 'not the password' } });
  const locked = await call(world.base, 'POST', '/api/v1/session', { body: { email: 'viewer@example.com', password: 'not the password' } });
  assert.equal(locked.status, 429);
  assert.equal(locked.body.error.code, 'locked');
  assert.match(locked.body.error.message, /too many failed sign-ins for this e-mail address; try again in 15 min/);
  assert.equal(locked.headers.get('retry-after'), '900');
  const evenRight = await call(world.base, 'POST', '/api/v1/session', { body: { email: 'viewer@example.com', password: PASSWORD } });
  assert.equal(evenRight.status, 429);

  const missing = await call(world.base, 'POST', '/api/v1/session', { body: { email: 'owner@example.com' } });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error.field, 'password');
  // A form post from another site cannot sign anyone in: only JSON bodies are read.
  const form = await call(world.base, 'POST', '/api/v1/session', { body: 'email=owner%40example.com&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(form.status, 415);
});

test('sign-out ends the session and clears the cookie; it needs the CSRF header too', async () => {
  const s = await signIn('owner@example.com');
  const noCsrf = await call(world.base, 'DELETE', '/api/v1/session', { headers: { cookie: s.cookie } });
  assert.equal(noCsrf.status, 403);
  const out = await call(world.base, 'DELETE', '/api/v1/session', { headers: { cookie: s.cookie, 'x-herald-csrf': s.csrf } });
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie') ?? '', /^herald_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
  const after = await call(world.base, 'GET', '/api/v1/messages', { headers: { cookie: s.cookie } });
  assert.equal(after.status, 401);
  assert.match(after.body.error.message, /session has ended; sign in again/);
  assert.equal((await call(world.base, 'GET', '/api/v1/session', { headers: { cookie: s.cookie } })).status, 401);
});

test('switching accounts: only to accounts the user has a role on', async () => {
  const acme = await world.herald.accounts.create({ name: 'acme-switch' });
  await world.herald.users.create({ email: 'multi@example.com', password: PASSWORD, role: 'viewer' });
  await world.herald.users.grant('multi@example.com', acme.id, 'admin');
  const s = await signIn('multi@example.com');
  assert.equal(s.body.accounts.length, 2);
  const refused = await call(world.base, 'PUT', '/api/v1/session/account', { headers: { cookie: s.cookie, 'x-herald-csrf': s.csrf }, body: { account: 'nope' } });
  assert.equal(refused.status, 404);
  assert.equal(refused.body.error.field, 'account');
  const switched = await call(world.base, 'PUT', '/api/v1/session/account', { headers: { cookie: s.cookie, 'x-herald-csrf': s.csrf }, body: { account: 'acme-switch' } });
  assert.equal(switched.status, 200);
  assert.deepEqual(switched.body.account, { id: acme.id, name: 'acme-switch', role: 'admin', scope: 'admin' });
  const who = await call(world.base, 'GET', '/api/v1/account', { headers: { cookie: s.cookie } });
  assert.equal(who.body.id, acme.id);
});

test("a message's HTML is served inert: a policy that runs no script and loads nothing remote", async () => {
  const html = '<p>Hi</p><script>parent.document.title="pwned"</script><img src=x onerror="alert(1)"><img src="https://tracker.example/p.gif">';
  const sent = await call(world.base, 'POST', '/api/v1/messages', { key: world.adminKey, body: { from: 'app@herald.test', to: 'ann@a.test', subject: 'Payload', html, text: 'Hi' } });
  assert.equal(sent.status, 202);
  const s = await signIn('owner@example.com');
  const res = await fetch(`${world.base}/api/v1/messages/${sent.body.id}/html`, { headers: { cookie: s.cookie } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(res.headers.get('content-security-policy'), MESSAGE_HTML_CSP);
  assert.match(MESSAGE_HTML_CSP, /default-src 'none'; img-src data:; style-src 'unsafe-inline'/);
  assert.match(MESSAGE_HTML_CSP, /; sandbox$/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.match(await res.text(), /<p>Hi<\/p>/);

  const raw = await fetch(`${world.base}/api/v1/messages/${sent.body.id}/raw`, { headers: { authorization: `Bearer ${world.adminKey}` } });
  assert.equal(raw.status, 200);
  assert.equal(raw.headers.get('content-type'), 'message/rfc822');
  assert.match(await raw.text(), /^Subject: Payload\r$/m);
  // Another account's message is not found.
  const other = await world.herald.accounts.createApiKey({ accountId: (await world.herald.accounts.create({ name: 'other-html' })).id, name: 'k', scope: 'read' });
  assert.equal((await call(world.base, 'GET', `/api/v1/messages/${sent.body.id}/html`, { key: other.key })).status, 404);
});
