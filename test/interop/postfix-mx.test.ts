// Postfix as the remote MX: Herald looks the recipient domain up in a DNS server on loopback,
// connects to the MX host it names, and delivers. A recipient the MX refuses is bounced, and the
// delivery status notification reaches the envelope sender (also a mailbox on that MX).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import nodemailer from 'nodemailer';
import { startDnsServer } from '../support/dns-server.js';
import { missingPeers } from '../support/peers.js';
import { startPostfix } from '../support/postfix.js';
import { freePort, heraldUnavailable, startHerald } from '../support/processes.js';

const BODY = 'Grüße — 8-bit body, 日本語, 📨\r\n.leading dot\r\nend\r\n';

test('Herald routes by MX through a local DNS server and delivers to Postfix; a refused recipient bounces with a DSN', async (t) => {
  const why = missingPeers('postfix', 'root') || heraldUnavailable();
  if (why) return t.skip(why);

  // HERALD_OUTBOUND_PORT is one port for every MX host, so the MX listens on a free port of its
  // own address (127.0.0.5) and Herald is told that port.
  const mxPort = await freePort('127.0.0.5');
  const mx = await startPostfix({
    role: 'mx',
    host: '127.0.0.5',
    port: mxPort,
    hostname: 'mx1.dest.example',
    domains: ['dest.example'],
    mailboxes: ['rcpt@dest.example', 'sender@dest.example'],
    catchAll: false,
  });
  t.after(() => mx.stop());
  const dns = await startDnsServer({ host: '127.0.0.1' });
  t.after(() => dns.close());
  dns.setZone({
    'dest.example': { MX: [{ preference: 10, exchange: 'mx1.dest.example' }] },
    'mx1.dest.example': { A: ['127.0.0.5'] },
  });
  const herald = await startHerald({
    env: { HERALD_DNS_SERVERS: dns.server, HERALD_OUTBOUND_PORT: String(mxPort), HERALD_LOG_LEVEL: 'debug' },
  });
  t.after(() => herald.stop());

  const transport = nodemailer.createTransport({ host: herald.host, port: herald.submissionPort, secure: false, ignoreTLS: true });
  t.after(() => transport.close());
  const raw =
    'From: sender@dest.example\r\nTo: rcpt@dest.example, nobody@dest.example\r\nSubject: MX routing ✓\r\n' +
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
    BODY;
  const info = await transport.sendMail({ envelope: { from: 'sender@dest.example', to: ['rcpt@dest.example', 'nobody@dest.example'] }, raw });
  assert.deepEqual(info.accepted.sort(), ['nobody@dest.example', 'rcpt@dest.example'], 'Herald accepts both (it cannot know the MX refuses one)');

  const context = async () => `--- MX maillog ---\n${mx.log().slice(-2500)}\n--- DNS queries ---\n${dns.queries.join(', ')}\n--- Herald ---\n${herald.log()}`;
  const delivered = await mx.waitForMessage({ to: 'rcpt@dest.example', timeoutMs: 60_000 }).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await context()}`);
  });
  const text = delivered.raw.toString('utf8');
  assert.equal(text.slice(text.indexOf('\n\n') + 2), BODY.replace(/\r\n/g, '\n'), 'body arrives byte for byte');
  assert.match(text, /^Subject: MX routing ✓$/m);
  assert.ok(dns.queries.some((q) => q.startsWith('dest.example MX')), 'Herald asked our DNS server for the MX');
  assert.match(mx.log(), /reject: RCPT from .*nobody@dest\.example.*User unknown/, 'the MX refused the unknown recipient');

  // RFC 3464 DSN to the envelope sender, naming the refused recipient and the MX's reply.
  const dsn = await mx
    .waitForMessage({ to: 'sender@dest.example', timeoutMs: 60_000 })
    .catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await context()}`);
    });
  const report = dsn.raw.toString('utf8');
  assert.match(report, /^Return-Path: <>$/m, 'a DSN is sent from the null sender');
  assert.match(report, /multipart\/report;[\s\S]*report-type="?delivery-status/i);
  assert.match(report, /Final-Recipient: rfc822;\s*nobody@dest\.example/i);
  assert.match(report, /Action: failed/i);
  assert.match(report, /Status: 5\.1\.1/);
  assert.equal(mx.messages().filter((m) => m.recipient === 'rcpt@dest.example').length, 1, 'the good recipient got exactly one copy');
});
