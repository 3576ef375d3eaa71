import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newMessageId, signTrackingToken, unsubscribeLocalPart, type Clock, type MailEvent } from '../core/index.js';
import { openSqlite } from '../storage/index.js';
import { SqliteQueueStore } from '../queue/index.js';
import { PIXEL_GIF, TrackingEndpoints } from './tracking-endpoints.js';
import { UnsubscribeMailbox } from './unsubscribe-mailbox.js';

const secret = Buffer.from('tracking secret of this installation');
const DELIVERED = new Date(Date.UTC(2030, 0, 1, 12));
const browser = { method: 'GET', ip: '198.51.100.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' };

/** A message delivered to its recipients at DELIVERED, and a clock the test moves. */
async function delivered(t: { after(fn: () => unknown): void }, recipients: string[], stream?: 'broadcast') {
  let now = DELIVERED.getTime();
  const clock: Clock & { set(ms: number): void } = { now: () => new Date(now), set: (ms) => (now = ms) };
  const db = openSqlite(':memory:');
  const store = new SqliteQueueStore(db, { clock });
  t.after(async () => {
    await store.close();
    db.close();
  });
  const id = newMessageId(now);
  await store.enqueue({
    id, accountId: 'acct', source: 'api', mailFrom: 'news@shop.example', recipients, body: Buffer.from('Subject: x\r\n\r\nx\r\n'),
    createdAt: clock.now(), expiresAt: new Date(now + 86_400_000), meta: stream ? { stream } : {},
  });
  const [batch] = await store.claimDue({ owner: 'w', now: clock.now(), limit: 10, leaseMs: 60_000 });
  const ok = { code: 250, text: 'ok' };
  await store.recordAttempt({ batch, at: clock.now(), results: batch.recipients.map((r) => ({ recipientId: r.id, state: 'delivered' as const, outcome: { kind: 'delivered' as const, host: 'mx.a.example', reply: ok } })) });
  const feedback = (type: MailEvent['type']) => store.eventsOf(id, 100).then((events) => events.filter((e) => e.type === type));
  return { store, clock, id, feedback, endpoints: new TrackingEndpoints({ store, secret, clock }) };
}

test('open: the 43-byte GIF, never cached; a valid token records "opened", flagged when it comes right after delivery', async (t) => {
  const { clock, id, feedback, endpoints } = await delivered(t, ['ann@a.example']);
  const token = signTrackingToken(secret, { kind: 'open', accountId: 'acct', messageId: id, recipient: 'ann@a.example' });

  clock.set(DELIVERED.getTime() + 2000);
  const early = await endpoints.open(token, browser);
  assert.equal(early.status, 200);
  assert.equal(early.headers['content-type'], 'image/gif');
  assert.match(early.headers['cache-control'], /no-store/);
  assert.deepEqual(early.body, PIXEL_GIF);
  assert.equal(PIXEL_GIF.length, 43);

  clock.set(DELIVERED.getTime() + 3_600_000);
  await endpoints.open(token, browser);
  await endpoints.open(token, { ...browser, userAgent: 'Mozilla/5.0', ip: '17.58.1.1' });
  const opened = await feedback('opened');
  assert.deepEqual(
    opened.map((e) => [e.recipient, e.accountId, e.data]),
    [
      ['ann@a.example', 'acct', { userAgent: browser.userAgent, ip: browser.ip, machine: true, machineReason: 'soon-after-delivery' }],
      ['ann@a.example', 'acct', { userAgent: browser.userAgent, ip: browser.ip, machine: false }],
      ['ann@a.example', 'acct', { userAgent: 'Mozilla/5.0', ip: '17.58.1.1', machine: true, machineReason: 'apple-privacy-proxy' }],
    ],
  );
});

test('open: an invalid or forged token still gets the pixel, and nothing is recorded', async (t) => {
  const { id, feedback, endpoints } = await delivered(t, ['ann@a.example']);
  const forged = signTrackingToken(Buffer.from('someone else'), { kind: 'open', accountId: 'acct', messageId: id });
  for (const token of [forged, 'garbage', '']) {
    const res = await endpoints.open(token, browser);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, PIXEL_GIF);
  }
  const click = signTrackingToken(secret, { kind: 'click', accountId: 'acct', messageId: id, url: 'https://shop.example/' });
  await endpoints.open(click, browser);
  assert.deepEqual(await feedback('opened'), [], 'a click token is not an open');
});

test('click: 302 to the signed link with "clicked" recorded; a forged, altered or non-http token is a 404 that redirects nowhere', async (t) => {
  const { clock, id, feedback, endpoints } = await delivered(t, ['ann@a.example', 'bob@a.example']);
  clock.set(DELIVERED.getTime() + 60_000);
  const url = 'https://shop.example/sale?a=1&b=ü';
  const token = signTrackingToken(secret, { kind: 'click', accountId: 'acct', messageId: id, url });
  const res = await endpoints.click(token, browser);
  assert.equal(res.status, 302);
  assert.equal(res.headers.location, 'https://shop.example/sale?a=1&b=%C3%BC');
  const [clicked] = await feedback('clicked');
  assert.equal(clicked.recipient, undefined, 'a message to two recipients cannot say who clicked');
  assert.deepEqual(clicked.data, { url, userAgent: browser.userAgent, ip: browser.ip, machine: false });

  await endpoints.click(token, { ...browser, method: 'HEAD' });
  assert.equal((await feedback('clicked'))[1].data.machineReason, 'head-request');

  const forged = signTrackingToken(Buffer.from('attacker'), { kind: 'click', accountId: 'acct', messageId: id, url: 'https://evil.example/' });
  const raw = Buffer.from(token, 'base64url');
  raw[raw.length - 1] ^= 1;
  const script = signTrackingToken(secret, { kind: 'click', accountId: 'acct', messageId: id, url: 'javascript:alert(1)' });
  for (const bad of [forged, raw.toString('base64url'), script, 'x']) {
    const answer = await endpoints.click(bad, browser);
    assert.equal(answer.status, 404);
    assert.equal(answer.headers.location, undefined);
    assert.match(String(answer.body), /This link is not valid/);
  }
  assert.equal((await feedback('clicked')).length, 2);
});

test('unsubscribe: GET asks and records nothing; POST (one-click or the page’s button) records "unsubscribed"', async (t) => {
  const { id, feedback, endpoints } = await delivered(t, ['ann@a.example'], 'broadcast');
  const token = signTrackingToken(secret, { kind: 'unsubscribe', accountId: 'acct', messageId: id, recipient: 'ann@a.example' });
  const page = endpoints.unsubscribePage(token);
  assert.equal(page.status, 200);
  assert.match(String(page.body), /<form method="post">[^]*<button type="submit">Unsubscribe<\/button>/);
  assert.match(String(page.body), /ann@a\.example/);
  assert.deepEqual(await feedback('unsubscribed'), []);

  const done = await endpoints.unsubscribe(token, browser, 'List-Unsubscribe=One-Click');
  assert.equal(done.status, 200);
  assert.match(String(done.body), /will no longer receive/);
  await endpoints.unsubscribe(token, browser, 'unsubscribe=confirm');
  await endpoints.unsubscribe(token, browser, '--x\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--x--\r\n');
  const events = await feedback('unsubscribed');
  assert.deepEqual(events.map((e) => [e.recipient, e.accountId, e.data.method, e.data.stream]), [
    ['ann@a.example', 'acct', 'one-click', 'broadcast'],
    ['ann@a.example', 'acct', 'page', 'broadcast'],
    ['ann@a.example', 'acct', 'one-click', 'broadcast'],
  ]);

  const open = signTrackingToken(secret, { kind: 'open', accountId: 'acct', messageId: id, recipient: 'ann@a.example' });
  assert.equal(endpoints.unsubscribePage(open).status, 404);
  assert.equal((await endpoints.unsubscribe(open, browser, 'List-Unsubscribe=One-Click')).status, 404);
  assert.equal((await feedback('unsubscribed')).length, 3);
});

test('unsubscribe by mail: a signed u+ address on a bounce domain; the one recipient, or of several the sender', async (t) => {
  const one = await delivered(t, ['ann@a.example'], 'broadcast');
  const mailbox = new UnsubscribeMailbox({ store: one.store, secret, clock: one.clock, isBounceDomain: async (d) => d === 'bounces.shop.example' });
  const address = `${unsubscribeLocalPart(secret, one.id)}@bounces.shop.example`;
  assert.equal(await mailbox.lookup(address), 'ours');
  assert.equal(await mailbox.lookup(address.toUpperCase().replace('BOUNCES.SHOP.EXAMPLE', 'Bounces.Shop.Example')), 'ours');
  assert.equal(await mailbox.lookup(`u+${one.id}.aaaaaaaaaaaa@bounces.shop.example`), 'unknown-user');
  assert.equal(await mailbox.lookup(`b+${one.id}.1.aaaaaaaaaaaa@bounces.shop.example`), 'not-ours', 'return paths belong to the bounce mailbox');
  assert.equal(await mailbox.lookup(address.replace('bounces.shop.example', 'elsewhere.example')), 'not-ours');

  const mail = (from: string, to: string) => ({
    mailFrom: from, recipients: [to], body: Buffer.from(`From: ${from}\r\nTo: ${to}\r\nSubject: unsubscribe\r\n\r\n`), receivedAt: DELIVERED, clientIp: '192.0.2.1',
  });
  const outcome = await mailbox.receive(mail('someone@else.example', address));
  assert.deepEqual(outcome, { kind: 'unsubscribe', messageId: one.id, accountId: 'acct', recipient: 'ann@a.example' });
  assert.deepEqual((await one.feedback('unsubscribed')).map((e) => [e.recipient, e.data]), [['ann@a.example', { method: 'mailto', stream: 'broadcast' }]]);

  const several = await delivered(t, ['ann@a.example', 'bob@a.example'], 'broadcast');
  const box = new UnsubscribeMailbox({ store: several.store, secret, clock: several.clock, isBounceDomain: async () => true });
  const to = `${unsubscribeLocalPart(secret, several.id)}@bounces.shop.example`;
  assert.equal(await box.receive({ ...mail('', to), body: Buffer.from(`From: Stranger <mallory@evil.example>\r\n\r\n`) }), undefined);
  await box.receive({ ...mail('', to), body: Buffer.from(`From: "Bob" <bob@A.EXAMPLE>\r\n\r\n`) });
  assert.deepEqual((await several.feedback('unsubscribed')).map((e) => e.recipient), ['bob@a.example']);
});
