// Postfix as the client: an application's local Postfix relays to Herald (allowed by a network
// credential, no AUTH), and Herald delivers to a second Postfix acting as the recipient's MX.
// The message carries 8-bit UTF-8 in headers and body and must arrive byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missingPeers } from '../support/peers.js';
import { startPostfix } from '../support/postfix.js';
import { heraldUnavailable, startHerald } from '../support/processes.js';

const BODY = [
  'Grüße aus Köln — naïve café, 日本語のテキスト, 📨.',
  '',
  '.a line that starts with a dot',
  '.',
  'trailing spaces stay   ',
  '\ttab-indented line',
  'last line',
  '',
].join('\n');

test('Postfix relays 8-bit UTF-8 mail through Herald to a Postfix MX, intact', async (t) => {
  const why = missingPeers('postfix', 'root') || heraldUnavailable();
  if (why) return t.skip(why);

  const mx = await startPostfix({ role: 'mx', host: '127.0.0.3', hostname: 'mx1.dest.example', domains: ['dest.example'], mailboxes: ['rcpt@dest.example'] });
  t.after(() => mx.stop());
  // Herald's outbound route: the MX instance as smart host (MX routing has its own test).
  const herald = await startHerald({ env: { HERALD_SMART_HOST: `smtp://${mx.host}:${mx.port}`, HERALD_LOG_LEVEL: 'debug' } });
  t.after(() => herald.stop());
  const client = await startPostfix({ role: 'client', host: '127.0.0.4', hostname: 'app.client.example', relayHost: `${herald.host}:${herald.submissionPort}` });
  t.after(() => client.stop());

  const messageId = `<postfix-client-${Date.now()}@client.example>`;
  const headers = [
    'From: Zoë Müller <sender@client.example>',
    'To: rcpt@dest.example',
    'Subject: Grüße ✉ über Herald',
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ].join('\n');
  await client.sendmail(`${headers}\n\n${BODY}`, { from: 'sender@client.example', to: ['rcpt@dest.example'] });

  let got;
  try {
    got = await mx.waitForMessage({ to: 'rcpt@dest.example', timeoutMs: 60_000 });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- client maillog ---\n${client.log().slice(-2000)}\n--- client queue ---\n${await client.queue()}\n--- Herald ---\n${herald.log()}`);
  }
  const raw = got.raw.toString('utf8');
  const split = raw.indexOf('\n\n');
  const head = raw.slice(0, split);
  const body = raw.slice(split + 2);
  assert.equal(body, BODY, 'body arrives byte for byte');
  assert.match(head, /^Subject: Grüße ✉ über Herald$/m);
  assert.match(head, /^From: Zoë Müller <sender@client\.example>$/m);
  assert.ok(head.includes(`Message-ID: ${messageId}`), 'Message-ID kept');
  assert.match(head, /^Return-Path: <sender@client\.example>$/m, 'envelope sender kept');
  // The path is visible in the trace headers: the client Postfix, then Herald, then the MX.
  const received = head.match(/^Received: .*(?:\n[ \t].*)*/gm) ?? [];
  assert.ok(received.length >= 3, `three Received headers, got:\n${received.join('\n')}`);
  assert.match(received[1]!, /herald\.test/, 'Herald added its Received header');
});
