import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDsn, dsnEligible } from './dsn.js';
import type { DsnInput } from './dsn.js';

const original = Buffer.from(
  'From: Alice <alice@sender.test>\r\nTo: bob@rcpt.test, carol@rcpt.test\r\nSubject: Quarterly report\r\nMessage-ID: <abc@sender.test>\r\n\r\nHello\r\n',
);
const createdAt = new Date('2025-03-01T10:00:00Z');
const now = new Date('2025-03-01T10:05:00Z');

function input(over: Partial<DsnInput['batch']> = {}): DsnInput {
  return {
    batch: { messageId: '01jq0000000000000000000000', accountId: 'acct', source: 'smtp', mailFrom: 'alice@sender.test', createdAt, meta: { subject: 'Quarterly report', messageIdHeader: '<abc@sender.test>' }, ...over },
    recipients: [
      {
        address: 'bob@rcpt.test',
        state: 'bounced',
        outcome: { kind: 'bounced', failure: { scope: 'recipient', host: 'mx1.rcpt.test', reason: 'mx1.rcpt.test said: 550 5.1.1 User unknown', reply: { code: 550, enhanced: '5.1.1', text: 'User unknown' } } },
        lastAttemptAt: now,
      },
      {
        address: 'carol@rcpt.test',
        state: 'expired',
        outcome: { kind: 'deferred', failure: { scope: 'connection', reason: 'Could not connect to mx1.rcpt.test [192.0.2.1]:25 (ECONNREFUSED)' } },
        lastAttemptAt: now,
      },
    ],
    originalBody: original,
    hostname: 'herald.example',
    now,
    maxQueueAgeMs: 86_400_000,
  };
}

/** A small multipart parser: enough to check the report's structure. */
function parse(raw: string) {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const body = rest.join('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return { headers, body };
}

test('a DSN is an RFC 3464 multipart/report to the envelope sender, from the null sender', () => {
  const dsn = buildDsn(input())!;
  assert.ok(dsn);
  assert.equal(dsn.source, 'dsn');
  assert.equal(dsn.mailFrom, '');
  assert.deepEqual(dsn.recipients, ['alice@sender.test']);
  assert.equal(dsn.meta.dsnFor, '01jq0000000000000000000000');
  assert.equal(dsn.expiresAt.getTime(), now.getTime() + 86_400_000);

  const raw = dsn.body.toString('utf8');
  assert.doesNotMatch(raw.replace(/\r\n/g, ''), /[\r\n]/, 'only CRLF line endings');
  const top = parse(raw);
  assert.equal(top.headers.get('from'), 'Mail Delivery System <MAILER-DAEMON@herald.example>');
  assert.equal(top.headers.get('to'), '<alice@sender.test>');
  assert.equal(top.headers.get('auto-submitted'), 'auto-replied');
  const ct = top.headers.get('content-type')!;
  assert.match(ct, /^multipart\/report; report-type=delivery-status;/);
  const boundary = /boundary="([^"]+)"/.exec(ct)![1];

  const parts = top.body.split(`--${boundary}`).slice(1, -1).map((p) => parse(p.replace(/^\r\n/, '')));
  assert.equal(parts.length, 3);
  assert.match(parts[0].headers.get('content-type')!, /^text\/plain/);
  assert.match(parts[0].body, /could not be delivered to 2 recipients/);
  assert.match(parts[0].body, /<bob@rcpt.test>:\r\n.*550 5\.1\.1 User unknown/);
  assert.match(parts[0].body, /<carol@rcpt.test>:\r\n.*gave up/);

  assert.equal(parts[1].headers.get('content-type'), 'message/delivery-status');
  const blocks = parts[1].body.trim().split('\r\n\r\n').map((b) => parse(b + '\r\n\r\n').headers);
  assert.equal(blocks[0].get('reporting-mta'), 'dns; herald.example');
  assert.equal(blocks[0].get('arrival-date'), 'Sat, 1 Mar 2025 10:00:00 +0000');
  assert.equal(blocks[1].get('final-recipient'), 'rfc822; bob@rcpt.test');
  assert.equal(blocks[1].get('action'), 'failed');
  assert.equal(blocks[1].get('status'), '5.1.1');
  assert.equal(blocks[1].get('remote-mta'), 'dns; mx1.rcpt.test');
  assert.equal(blocks[1].get('diagnostic-code'), 'smtp; 550 5.1.1 User unknown');
  assert.equal(blocks[1].get('last-attempt-date'), 'Sat, 1 Mar 2025 10:05:00 +0000');
  assert.equal(blocks[2].get('final-recipient'), 'rfc822; carol@rcpt.test');
  assert.equal(blocks[2].get('status'), '4.4.7');
  assert.equal(blocks[2].get('remote-mta'), undefined, 'no remote said anything');

  assert.equal(parts[2].headers.get('content-type'), 'text/rfc822-headers');
  assert.match(parts[2].body, /^From: Alice <alice@sender.test>\r\nTo: bob@rcpt.test, carol@rcpt.test\r\nSubject: Quarterly report\r\nMessage-ID: <abc@sender.test>\r\n/);
  assert.doesNotMatch(parts[2].body, /Hello/, 'headers only, not the body');
});

test('no DSN to the null sender, about a DSN, or for API mail', () => {
  assert.equal(buildDsn(input({ mailFrom: '' })), null);
  assert.equal(buildDsn(input({ source: 'dsn' })), null);
  assert.equal(buildDsn(input({ source: 'api' })), null);
  assert.equal(dsnEligible({ source: 'smtp', mailFrom: 'a@b.test' }), true);
});
