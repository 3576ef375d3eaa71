/**
 * Open and click tracking and unsubscribing, end to end: a verified sending domain with its
 * tracking CNAME; account defaults set with the CLI while Herald runs; a message with links sent
 * through the API, delivered to an SMTP sink, still carrying a valid DKIM signature; its pixel and
 * click URLs fetched over real HTTP (a machine hit right after delivery, a person an hour later);
 * a forged click; the RFC 8058 one-click POST and the mailto unsubscribe sent to the MX listener,
 * each ending in a broadcast suppression. Herald runs with a clock the test can move forward.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import nodemailer from 'nodemailer';
import PostalMime from 'postal-mime';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger, type Clock, type MailEvent } from '../../src/core/index.js';
import { startHerald, type RunningHerald } from '../../src/main.js';
import { call, EventLog } from '../support/api.js';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { zoneFor } from '../support/domain-zone.js';
import { verifyWithMailauth, type KeyRecords } from '../support/dkim.js';
import { heraldEnv, type TestHerald } from '../support/herald.js';
import { freePort, runCli } from '../support/processes.js';
import { startSmtpSink, type ReceivedMessage, type SmtpSink } from '../support/smtp-sink.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const TOKEN_URL = /https:\/\/track\.shop\.test\/t\/([ocu])\/([A-Za-z0-9_-]+)/g;

describe('tracking and unsubscribe', () => {
  let dns: DnsServer;
  let sink: SmtpSink;
  let herald: RunningHerald;
  let env: Record<string, string>;
  let base: string;
  let adminKey: string;
  let events: EventLog;
  let keys: KeyRecords;
  // Herald's clock: the real time plus an offset the test moves forward ("an hour later").
  let offset = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offset) };
  const api = (method: string, path: string, body?: unknown) => call(base, method, `/api/v1${path}`, { key: adminKey, body });

  before(async () => {
    const port = await freePort('127.0.0.2');
    dns = await startDnsServer();
    sink = await startSmtpSink({ host: '127.0.0.2', port });
    env = await heraldEnv({ HERALD_DNS_SERVERS: dns.server, HERALD_OUTBOUND_PORT: String(port), HERALD_RETRY_SCHEDULE: '200ms', HERALD_PUBLIC_URL: 'https://herald.test' });
    herald = await startHerald(loadConfig({ env }).config, { clock, logger: silentLogger, onFatal: (err) => console.error('herald under test:', err) });
    events = new EventLog(herald as TestHerald);
    base = `http://127.0.0.1:${herald.endpoints.find((e) => e.name === 'http')!.port}`;
    adminKey = herald.bootstrapKey!.key;

    // shop.test, verified, with its tracking CNAME pointing at the public URL's host.
    const added = await api('POST', '/domains', { name: 'shop.test' });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const tracking = added.body.records.find((r: { purpose: string }) => r.purpose === 'tracking');
    assert.deepEqual([tracking.name, tracking.value], ['track.shop.test', 'herald.test']);
    dns.setZone(
      zoneFor(added.body.records, {
        'a.test': { MX: [{ preference: 10, exchange: 'mx.a.test' }] },
        'mx.a.test': { A: ['127.0.0.2'] },
        'herald.test': { A: ['127.0.0.1'] },
      }),
    );
    const verified = await api('POST', '/domains/shop.test/verify');
    assert.equal(verified.body.status, 'verified');
    assert.equal(verified.body.checks.find((c: { purpose: string }) => c.purpose === 'tracking').status, 'ok');
    keys = Object.fromEntries(added.body.records.filter((r: { purpose: string }) => r.purpose === 'dkim').map((r: { name: string; value: string }) => [r.name, r.value]));
  });

  after(async () => {
    await herald?.stop();
    await Promise.all([sink?.close(), dns?.close()]);
    if (env) rmSync(env.HERALD_DATA_DIR, { recursive: true, force: true });
  });

  /** Sends through the API and returns the message as the sink received it. */
  async function send(message: Record<string, unknown>): Promise<{ id: string; received: ReceivedMessage }> {
    const sent = await api('POST', '/messages', { from: 'Shop <news@shop.test>', subject: 'Spring sale', ...message });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const delivered = await events.waitFor((e) => e.messageId === sent.body.id && e.type === 'delivered');
    const received = sink.messages.find((m) => m.raw.includes(`${sent.body.id}@`))!;
    assert.ok(received, `the sink has message ${sent.body.id} (${delivered.recipient})`);
    return { id: sent.body.id, received };
  }

  const hit = (url: string, init: RequestInit = {}) => fetch(base + new URL(url).pathname, { redirect: 'manual', ...init, headers: { 'user-agent': FIREFOX, ...init.headers } });
  const feedback = (id: string, type: MailEvent['type']) => events.waitFor((e) => e.messageId === id && e.type === type);

  test('account defaults from the CLI track a message with links; the tracked message’s DKIM signature verifies', async () => {
    const wrong = await runCli(['accounts', 'set-tracking', 'default', '--opens', 'maybe'], env);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--opens is on or off \(got "maybe"\)/);
    const set = await runCli(['accounts', 'set-tracking', 'default', '--opens', 'on', '--links', 'on', '--json'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual([set.json().trackOpens, set.json().trackLinks], [true, true]);
    const account = await api('GET', '/account');
    assert.deepEqual([account.body.track_opens, account.body.track_links], [true, true]);

    const html =
      '<html><body><p>Our <a href="https://shop.test/sale?a=1&amp;b=2">spring sale</a> is on.</p>' +
      '<p><a href="mailto:help@shop.test">Write to us</a> · <a href="https://shop.test/private" data-herald-notrack>your account</a></p></body></html>';
    const { id, received } = await send({ to: 'ann@a.test', html, text: 'Our spring sale: https://shop.test/sale', stream: 'broadcast' });
    const parsed = await PostalMime.parse(received.raw);
    const links = [...(parsed.html ?? '').matchAll(TOKEN_URL)];
    assert.deepEqual(links.map((m) => m[1]), ['c', 'o'], 'one link rewritten, one pixel; on the tracking domain');
    assert.match(parsed.html ?? '', /<a href="mailto:help@shop\.test">Write to us<\/a>/);
    assert.match(parsed.html ?? '', /<a href="https:\/\/shop\.test\/private" data-herald-notrack>/);
    assert.equal(parsed.text, 'Our spring sale: https://shop.test/sale\n', 'the account default tracks HTML links only');
    assert.deepEqual((await api('GET', `/messages/${id}`)).body.tracking, { opens: true, links: 'html_only' });

    const verdicts = await verifyWithMailauth(received.raw, keys);
    assert.deepEqual(verdicts.map((v) => v.result), ['pass'], JSON.stringify(verdicts));
    assert.match(received.raw.toString().replace(/\r\n[ \t]+/g, ''), /^DKIM-Signature:[^\r]*h=[^;]*List-Unsubscribe:List-Unsubscribe-Post;/, 'the signature covers the unsubscribe fields');
  });

  test('pixel and click over HTTP: a machine right after delivery, a person an hour later; the click redirects to the original', async () => {
    const { id, received } = await send({ to: 'bea@a.test', html: '<p><a href="https://shop.test/sale?a=1&amp;b=2">Sale</a></p>', tags: ['tracked-sale'] });
    const html = (await PostalMime.parse(received.raw)).html ?? '';
    const [click, pixel] = [...html.matchAll(TOKEN_URL)].map((m) => m[0]);

    const early = await hit(pixel);
    assert.equal(early.status, 200);
    assert.equal(early.headers.get('content-type'), 'image/gif');
    assert.equal(early.headers.get('cache-control'), 'no-store, private');
    assert.equal((await early.arrayBuffer()).byteLength, 43);
    const scanned = await feedback(id, 'opened');
    assert.deepEqual([scanned.recipient, scanned.data.machine, scanned.data.machineReason], ['bea@a.test', true, 'soon-after-delivery']);

    offset += 3_600_000;
    await hit(pixel);
    const opened = await events.waitFor((e) => e.messageId === id && e.type === 'opened' && e !== scanned);
    assert.deepEqual(opened.data, { userAgent: FIREFOX, ip: '127.0.0.1', machine: false });

    const clicked = await hit(click);
    assert.equal(clicked.status, 302);
    assert.equal(clicked.headers.get('location'), 'https://shop.test/sale?a=1&b=2');
    const event = await feedback(id, 'clicked');
    assert.equal(event.recipient, 'bea@a.test');
    assert.deepEqual(event.data, { url: 'https://shop.test/sale?a=1&b=2', userAgent: FIREFOX, ip: '127.0.0.1', machine: false });

    // A forged or altered token redirects nowhere and records nothing.
    const token = new URL(click).pathname.slice('/t/c/'.length);
    const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    for (const bad of [flipped, 'not-a-token']) {
      const res = await hit(`https://track.shop.test/t/c/${bad}`);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('location'), null);
      assert.match(await res.text(), /This link is not valid/);
    }
    const pixelAnyway = await hit(`https://track.shop.test/t/o/${flipped}`);
    assert.equal(pixelAnyway.status, 200, 'an invalid open token still gets its image');
    const head = await hit(click, { method: 'HEAD' });
    assert.equal(head.status, 302);
    const checked = await events.waitFor((e) => e.messageId === id && e.type === 'clicked' && e !== event);
    assert.deepEqual([checked.data.machine, checked.data.machineReason], [true, 'head-request']);
    const stored = await herald.store.eventsOf(id, 100);
    assert.equal(stored.filter((e) => e.type === 'clicked').length, 2);
    assert.equal(stored.filter((e) => e.type === 'opened').length, 2);

    // Statistics count the recipient once as opened (by a person and by a machine) and clicked.
    await herald.statsFeeder.runOnce();
    const stats = await api('GET', '/stats?group_by=tag&tag=tracked-sale');
    assert.equal(stats.status, 200, JSON.stringify(stats.body));
    const { sent, delivered, opened_unique, opened_unique_human, opened_unique_machine, opened_total, clicked_unique, clicked_total, clicked_machine } = stats.body.totals;
    assert.deepEqual(
      { sent, delivered, opened_unique, opened_unique_human, opened_unique_machine, opened_total, clicked_unique, clicked_total, clicked_machine },
      { sent: 1, delivered: 1, opened_unique: 1, opened_unique_human: 1, opened_unique_machine: 1, opened_total: 2, clicked_unique: 1, clicked_total: 2, clicked_machine: 1 },
    );
  });

  test('one-click unsubscribe (RFC 8058): the GET page asks, the POST unsubscribes, and the address is suppressed on the broadcast stream', async () => {
    const { id, received } = await send({ to: 'cat@a.test', html: '<p>News</p>', stream: 'broadcast' });
    const parsed = await PostalMime.parse(received.raw);
    const header = parsed.headers.find((h) => h.key === 'list-unsubscribe')?.value ?? '';
    const [, url, mailto] = /^<(https:\/\/track\.shop\.test\/t\/u\/[A-Za-z0-9_-]+)>,\s*<mailto:(u\+[0-9a-z.]+@bounces\.shop\.test)>$/.exec(header) ?? [];
    assert.ok(url && mailto, header);
    assert.equal(parsed.headers.find((h) => h.key === 'list-unsubscribe-post')?.value, 'List-Unsubscribe=One-Click');

    const page = await hit(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /cat@a\.test[^]*<form method="post">/);
    assert.equal((await herald.store.eventsOf(id, 100)).filter((e) => e.type === 'unsubscribed').length, 0, 'a GET never unsubscribes');

    const post = await hit(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    assert.equal(post.status, 200);
    const event = await feedback(id, 'unsubscribed');
    assert.deepEqual([event.recipient, event.data.method, event.data.stream], ['cat@a.test', 'one-click', 'broadcast']);
    await herald.suppressionFeeder.runOnce();
    const suppressed = await api('GET', '/suppressions/cat@a.test');
    assert.equal(suppressed.status, 200, JSON.stringify(suppressed.body));
    assert.deepEqual(suppressed.body.suppressions.map((s: { stream: string; reason: string }) => [s.stream, s.reason]), [['broadcast', 'unsubscribe']]);
  });

  test('the mailto unsubscribe arrives on the MX listener and suppresses the recipient', async () => {
    const { id, received } = await send({ to: 'dan@a.test', html: '<p>News</p>', stream: 'broadcast' });
    const mailto = /<mailto:(u\+[^>]+)>/.exec(received.raw.toString())![1];
    const mx = nodemailer.createTransport({ host: '127.0.0.1', port: herald.endpoints.find((e) => e.name === 'smtp-mx')!.port, secure: false, ignoreTLS: true });
    await mx.sendMail({ envelope: { from: 'dan@a.test', to: mailto }, raw: `From: dan@a.test\r\nTo: ${mailto}\r\nSubject: unsubscribe\r\n\r\n` });
    mx.close();
    const event = await feedback(id, 'unsubscribed');
    assert.deepEqual([event.recipient, event.data.method], ['dan@a.test', 'mailto']);
    await herald.suppressionFeeder.runOnce();
    assert.equal((await api('GET', '/suppressions/dan@a.test?stream=broadcast')).status, 200);

    const forged = nodemailer.createTransport({ host: '127.0.0.1', port: herald.endpoints.find((e) => e.name === 'smtp-mx')!.port, secure: false, ignoreTLS: true });
    await assert.rejects(
      forged.sendMail({ envelope: { from: 'x@a.test', to: mailto.replace(/\.[0-9a-v]{12}@/, '.aaaaaaaaaaaa@') }, raw: 'Subject: x\r\n\r\nx\r\n' }),
      (err: Error & { response?: string }) => /^550 5\.1\.1/.test(err.response ?? ''),
    );
    forged.close();
  });

  test('the Postmark-compatible endpoint takes TrackOpens and TrackLinks', async () => {
    const postmark = (body: unknown) =>
      fetch(`${base}/email`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', 'x-postmark-server-token': adminKey }, body: JSON.stringify(body) });
    const message = { From: 'news@shop.test', To: 'hal@a.test', Subject: 'PM', HtmlBody: '<p><a href="https://shop.test/h">h</a></p>', TextBody: 'https://shop.test/t' };
    const res = await postmark({ ...message, TrackOpens: false, TrackLinks: 'TextOnly' });
    assert.equal(res.status, 200);
    const { MessageID } = (await res.json()) as { MessageID: string };
    await events.waitFor((e) => e.messageId === MessageID && e.type === 'delivered');
    const parsed = await PostalMime.parse(sink.messages.find((m) => m.raw.includes(`${MessageID}@`))!.raw);
    assert.match(parsed.text ?? '', /^https:\/\/track\.shop\.test\/t\/c\//);
    assert.equal(parsed.html, '<p><a href="https://shop.test/h">h</a></p>\n', 'no pixel, HTML links as they were');

    const bad = await postmark({ ...message, TrackLinks: 'Always' });
    assert.equal(bad.status, 422);
    assert.match(((await bad.json()) as { Message: string }).Message, /TrackLinks must be None, HtmlAndText, HtmlOnly or TextOnly/);
  });

  test('a message’s own choice wins over the account’s; SMTP mail chooses with X-Herald-Track-*; several recipients are not told apart', async () => {
    const off = await send({ to: 'eve@a.test', html: '<p><a href="https://shop.test/x">x</a></p>', track_opens: false, track_links: false });
    assert.doesNotMatch(off.received.raw.toString(), /\/t\/[oc]\//);
    assert.equal((await api('GET', `/messages/${off.id}`)).body.tracking, null);

    const bad = await api('POST', '/messages', { from: 'news@shop.test', to: 'eve@a.test', html: 'x', track_links: 'sometimes' });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.field, 'track_links');

    const cred = await herald.credentials.create({ name: 'tracking-smtp' });
    const submission = nodemailer.createTransport({
      host: '127.0.0.1', port: herald.endpoints.find((e) => e.name === 'smtp-submission')!.port, requireTLS: true, auth: { user: cred.username!, pass: cred.password! }, tls: { rejectUnauthorized: false },
    });
    const info = await submission.sendMail({
      from: 'news@shop.test', to: ['fay@a.test', 'gus@a.test'], subject: 'Two', html: '<p><a href="https://shop.test/two">two</a></p>', text: 'https://shop.test/two',
      headers: { 'X-Herald-Track-Opens': 'false', 'X-Herald-Track-Links': 'html_and_text' },
    });
    submission.close();
    const id = /queued as (\S+)/.exec(info.response)?.[1] ?? '';
    await events.finished(id, 2);
    const raw = sink.messages.find((m) => m.rcptTo.includes('fay@a.test'))!.raw;
    assert.doesNotMatch(raw.toString(), /X-Herald-/i);
    const parsed = await PostalMime.parse(raw);
    assert.doesNotMatch(parsed.html ?? '', /\/t\/o\//, 'no pixel: the header turned opens off');
    const [click] = [...(parsed.html ?? '').matchAll(TOKEN_URL)].map((m) => m[0]);
    assert.match(parsed.text ?? '', /https:\/\/track\.shop\.test\/t\/c\//);
    offset += 3_600_000;
    await hit(click);
    const clicked = await feedback(id, 'clicked');
    assert.equal(clicked.recipient, undefined, 'one body for two recipients: the click names nobody');
    assert.equal(clicked.data.url, 'https://shop.test/two');
  });
});
