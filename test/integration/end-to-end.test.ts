/**
 * The whole mail path as a user runs it: real SMTP clients → Herald (in this process) → real DNS
 * lookups against a DNS server on loopback → SMTP sinks standing in for the recipients' MX hosts
 * on 127.0.0.2, 127.0.0.3 and 127.0.0.4. Every wait is on an event, never on a timer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import type { MailEvent } from '../../src/core/index.js';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { freePort, runCli } from '../support/processes.js';
import { missingPeers } from '../support/peers.js';

const run = promisify(execFile);

interface World {
  dns: DnsServer;
  a: SmtpSink; // MX of a.test
  b: SmtpSink; // MX of b.test
  sender: SmtpSink; // MX of sender.test, where bounce notices arrive
}

async function startWorld(): Promise<World> {
  const port = await freePort('127.0.0.2');
  const dns = await startDnsServer();
  const [a, b, sender] = await Promise.all([
    startSmtpSink({ host: '127.0.0.2', port }),
    startSmtpSink({ host: '127.0.0.3', port }),
    startSmtpSink({ host: '127.0.0.4', port }),
  ]);
  dns.setZone({
    'a.test': { MX: [{ preference: 10, exchange: 'mx.a.test' }] },
    'mx.a.test': { A: ['127.0.0.2'] },
    'b.test': { MX: [{ preference: 10, exchange: 'mx.b.test' }] },
    'mx.b.test': { A: ['127.0.0.3'] },
    'sender.test': { MX: [{ preference: 10, exchange: 'mx.sender.test' }] },
    'mx.sender.test': { A: ['127.0.0.4'] },
    // A domain whose only MX refuses connections: every attempt is a temporary failure.
    'down.test': { MX: [{ preference: 10, exchange: 'mx.down.test' }] },
    'mx.down.test': { A: ['127.0.0.9'] },
  });
  return { dns, a, b, sender };
}

async function stopWorld(w: World): Promise<void> {
  await Promise.all([w.a.close(), w.b.close(), w.sender.close(), w.dns.close()]);
}

function heraldFor(w: World, extra: Record<string, string> = {}): Promise<TestHerald> {
  return startTestHerald({
    HERALD_DNS_SERVERS: w.dns.server,
    HERALD_OUTBOUND_PORT: String(w.a.port),
    HERALD_RETRY_SCHEDULE: '200ms',
    ...extra,
  });
}

/** Collects events for one message until `done` says the picture is complete. */
function eventsOf(herald: TestHerald, done: (events: MailEvent[]) => boolean): { forMessage(id: string): Promise<MailEvent[]> } {
  const seen = new Map<string, MailEvent[]>();
  const waiters = new Map<string, (events: MailEvent[]) => void>();
  herald.events.subscribe((e) => {
    const list = seen.get(e.messageId) ?? [];
    list.push(e);
    seen.set(e.messageId, list);
    const w = waiters.get(e.messageId);
    if (w && done(list)) w(list);
  });
  return {
    forMessage(id) {
      const list = seen.get(id) ?? [];
      if (done(list)) return Promise.resolve(list);
      return new Promise((resolve) => waiters.set(id, resolve));
    },
  };
}

const queuedId = (response: string) => /queued as ([0-9a-z]{26})/.exec(response)?.[1] ?? assert.fail(`no queue id in "${response}"`);
const finalFor = (events: MailEvent[], rcpt: string) => events.find((e) => e.recipient === rcpt && ['delivered', 'bounced', 'expired'].includes(e.type));

describe('the core mail path, end to end', () => {
  let w: World;
  let herald: TestHerald;
  let password: { username: string; password: string };

  before(async () => {
    w = await startWorld();
    herald = await heraldFor(w);
    const created = await herald.credentials.create({ name: 'app' });
    password = { username: created.username!, password: created.password! };
  });
  after(async () => {
    await herald.close();
    await stopWorld(w);
  });

  test('nodemailer on 587 with STARTTLS and AUTH: delivered to the MX of the recipient domain', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: herald.port('submission'),
      secure: false,
      requireTLS: true,
      auth: { user: password.username, pass: password.password },
      tls: { rejectUnauthorized: false },
    });
    const delivered = herald.events.waitFor((e) => e.type === 'delivered' && e.recipient === 'alice@a.test');
    const info = await transport.sendMail({ from: 'app@sender.test', to: 'alice@a.test', subject: 'Hello', text: 'First message' });
    transport.close();
    assert.match(info.response, /^250 2\.0\.0 Ok: queued as [0-9a-z]{26}$/);
    const event = await delivered;
    assert.equal(event.messageId, queuedId(info.response));

    const got = w.a.messages.find((m) => m.rcptTo.includes('alice@a.test'))!;
    assert.equal(got.mailFrom, 'app@sender.test');
    assert.ok(got.tls, 'opportunistic STARTTLS was used towards the MX');
    const text = got.raw.toString();
    assert.match(text, /^Received: from .*\[127\.0\.0\.1\][\s\S]*by herald\.test \(Herald\) with ESMTPSA id /);
    assert.match(text, /\r\nSubject: Hello\r\n/);
    assert.match(text, /First message/);
    assert.doesNotMatch(text.replace(/\r\n/g, ''), /[\r\n]/, 'nothing but CRLF line endings left Herald');
  });

  test('several recipients at several domains: each ends on its own, failures bounce with a DSN', async () => {
    w.a.setRecipientReply('gone@a.test', { code: 550, text: '5.1.1 User unknown' });
    w.b.setRecipientReply('busy@b.test', { code: 451, text: '4.7.1 Greylisted, try again' }, { times: 1 });
    const rcpts = ['ok@a.test', 'gone@a.test', 'busy@b.test', 'fine@b.test'];
    const tracker = eventsOf(herald, (events) => rcpts.every((r) => finalFor(events, r)));
    const dsnArrives = w.sender.nextMessage();

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: herald.port('submissions'), secure: true, auth: { user: password.username, pass: password.password }, tls: { rejectUnauthorized: false } });
    const info = await transport.sendMail({ from: 'app@sender.test', to: rcpts, subject: 'To many', text: 'Several outcomes' });
    transport.close();
    const id = queuedId(info.response);
    const events = await tracker.forMessage(id);

    assert.equal(finalFor(events, 'ok@a.test')!.type, 'delivered');
    assert.equal(finalFor(events, 'fine@b.test')!.type, 'delivered');
    assert.equal(finalFor(events, 'gone@a.test')!.type, 'bounced');
    assert.ok(events.some((e) => e.type === 'deferred' && e.recipient === 'busy@b.test'), 'greylisted first');
    assert.equal(finalFor(events, 'busy@b.test')!.type, 'delivered', 'then delivered on retry');

    // The DSN: from the null sender, to the envelope sender, naming only the failed recipient.
    const dsn = await dsnArrives;
    assert.equal(dsn.mailFrom, '');
    assert.deepEqual(dsn.rcptTo, ['app@sender.test']);
    const report = dsn.raw.toString();
    assert.match(report, /Content-Type: multipart\/report;[\s\S]*report-type="?delivery-status/i);
    assert.match(report, /Final-Recipient: rfc822;\s*gone@a\.test/i);
    assert.match(report, /Status: 5\.1\.1/);
    assert.match(report, /Diagnostic-Code: smtp;\s*550 5\.1\.1 User unknown/i);
    assert.doesNotMatch(report, /Final-Recipient: rfc822;\s*(ok|fine|busy)@/i);

    // The queue tells the same story, attempt by attempt.
    const shown = await runCli(['queue', 'show', id, '--json'], herald.env);
    assert.equal(shown.code, 0, shown.stderr);
    const detail = shown.json();
    assert.equal(detail.status, 'partial');
    const busy = detail.recipients.find((r: { address: string }) => r.address === 'busy@b.test');
    assert.deepEqual(busy.history.map((a: { state: string }) => a.state), ['deferred', 'delivered']);
    assert.match(busy.history[0].reply, /^451 4\.7\.1 Greylisted/);
    assert.equal(busy.history[0].host, 'mx.b.test');
  });

  test('an 8-bit SMTPUTF8 message arrives byte for byte', async () => {
    const body = Buffer.from('From: José <josé@sender.test>\r\nTo: zoë@a.test\r\nSubject: Grüße\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÜnïcödé ✓ 日本語\r\n.starts with a dot\r\n', 'utf8');
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: herald.port('submissions'), secure: true, auth: { user: password.username, pass: password.password }, tls: { rejectUnauthorized: false } });
    const delivered = herald.events.waitFor((e) => e.type === 'delivered' && e.recipient === 'zoë@a.test');
    await transport.sendMail({ envelope: { from: 'josé@sender.test', to: ['zoë@a.test'] }, raw: body });
    transport.close();
    await delivered;
    const got = w.a.messages.find((m) => m.rcptTo.includes('zoë@a.test'))!;
    assert.equal(got.mailFrom, 'josé@sender.test');
    assert.ok(got.mailParams.smtpUtf8 || got.mailParams.SMTPUTF8, 'SMTPUTF8 was requested from the MX');
    // Herald prepends its Received header and adds Message-ID and Date; the rest is untouched.
    assert.ok(got.raw.subarray(got.raw.length - body.length).equals(body) || got.raw.includes(body.subarray(body.indexOf('\r\n\r\n'))));
    assert.ok(got.raw.includes(Buffer.from('Subject: Grüße\r\n')));
    assert.ok(got.raw.includes(Buffer.from('Ünïcödé ✓ 日本語\r\n.starts with a dot\r\n')));
  });

  test('Python smtplib and swaks are real clients too', async (t) => {
    const reason = missingPeers('python3', 'swaks');
    if (reason) return t.skip(reason);
    const py = `
import smtplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP('127.0.0.1', ${herald.port('submission')}) as s:
    s.starttls(context=ctx); s.login('${password.username}', '${password.password}')
    print(s.sendmail('app@sender.test', ['py@a.test'], 'Subject: from python\\r\\n\\r\\nhi\\r\\n'))
`;
    const pyDelivered = herald.events.waitFor((e) => e.type === 'delivered' && e.recipient === 'py@a.test');
    await run('python3', ['-c', py]);
    await pyDelivered;

    const swaksDelivered = herald.events.waitFor((e) => e.type === 'delivered' && e.recipient === 'swaks@b.test');
    const { stdout } = await run('swaks', ['--server', `127.0.0.1:${herald.port('submission')}`, '--tls', '--auth', 'LOGIN', '--auth-user', password.username, '--auth-password', password.password, '--from', 'app@sender.test', '--to', 'swaks@b.test', '--pipeline']);
    assert.match(stdout, /<~ {1,2}250 2\.0\.0 Ok: queued as/);
    await swaksDelivered;
  });

  test('hold, release, retry and delete steer a message stuck on a down host', async () => {
    // Its own Herald, retrying only after an hour: with the suite's 200 ms the next attempt could
    // be under way (and not holdable) by the time the CLI asks.
    const slow = await heraldFor(w, { HERALD_RETRY_SCHEDULE: '1h' });
    try {
      await slow.credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: slow.port('mx'), secure: false, ignoreTLS: true });
      const deferred = slow.events.waitFor((e) => e.type === 'deferred' && e.recipient === 'stuck@down.test');
      const info = await transport.sendMail({ from: 'app@sender.test', to: 'stuck@down.test', subject: 'Stuck', text: 'x' });
      transport.close();
      const id = queuedId(info.response);
      const first = await deferred;
      assert.equal(first.data.scope, 'connection');

      const held = await runCli(['queue', 'hold', id, '--json'], slow.env);
      assert.equal(held.code, 0, held.stderr);
      const list = (await runCli(['queue', 'list', '--state', 'held', '--json'], slow.env)).json();
      assert.deepEqual(list.messages.map((m: { id: string }) => m.id), [id]);
      assert.equal(list.messages[0].status, 'held');

      const released = slow.events.waitFor((e) => e.type === 'deferred' && e.messageId === id && e !== first);
      assert.equal((await runCli(['queue', 'release', id], slow.env)).code, 0);
      await released;
      const retried = slow.events.waitFor((e) => e.type === 'deferred' && e.messageId === id && e !== first);
      assert.equal((await runCli(['queue', 'retry', '--all', '--json'], slow.env)).code, 0);
      await retried;

      const deleted = await runCli(['queue', 'delete', id, '--json'], slow.env);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(await slow.store.get(id), null);
      assert.equal((await runCli(['queue', 'show', id], slow.env)).code, 1);
    } finally {
      await slow.stop();
    }
  });

});

describe('giving up', () => {
  test('a message that cannot be delivered before HERALD_MAX_QUEUE_AGE expires, and the sender is told', async () => {
    const w = await startWorld();
    const herald = await heraldFor(w, { HERALD_MAX_QUEUE_AGE: '1s', HERALD_RETRY_SCHEDULE: '300ms' });
    try {
      const cred = await herald.credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
      assert.equal(cred.password, undefined);
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: herald.port('mx'), secure: false, ignoreTLS: true });
      const expired = herald.events.waitFor((e) => e.type === 'expired' && e.recipient === 'late@down.test');
      const dsn = w.sender.nextMessage();
      await transport.sendMail({ from: 'app@sender.test', to: 'late@down.test', subject: 'Never', text: 'x' });
      transport.close();
      const event = await expired;
      assert.ok(event.data.attempt as number >= 1);
      const report = (await dsn).raw.toString();
      assert.match(report, /Final-Recipient: rfc822;\s*late@down\.test/i);
      assert.match(report, /Action: failed/);
      assert.match(report, /Status: 4\.\d+\.\d+/);
    } finally {
      await herald.close();
      await stopWorld(w);
    }
  });

  test('no DSN is ever sent to the null sender', async () => {
    const w = await startWorld();
    const herald = await heraldFor(w);
    try {
      await herald.credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
      w.a.setRecipientReply('nobody@a.test', { code: 550, text: '5.1.1 User unknown' });
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: herald.port('mx'), secure: false, ignoreTLS: true });
      const bounced = herald.events.waitFor((e) => e.type === 'bounced' && e.recipient === 'nobody@a.test');
      const info = await transport.sendMail({ envelope: { from: '', to: ['nobody@a.test'] }, raw: 'Subject: bounce of a bounce\r\n\r\nx\r\n' });
      transport.close();
      await bounced;
      const accepted = await herald.store.list({ limit: 10 });
      assert.deepEqual(accepted.map((m) => m.id), [queuedId(info.response)], 'no DSN was queued');
      assert.equal(w.sender.messages.length, 0);
    } finally {
      await herald.close();
      await stopWorld(w);
    }
  });
});
