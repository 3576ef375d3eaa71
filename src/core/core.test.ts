import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  anyNetworkContains,
  domainOf,
  formatDuration,
  formatReply,
  isMessageId,
  isValidEnvelopeAddress,
  networkContains,
  newMessageId,
  parseByteSize,
  parseDuration,
  parseDurationList,
  parseNetwork,
  parseReply,
  parseReturnPath,
  returnPathAddress,
} from './index.js';

test('message ids are valid, unique and sort by creation time', () => {
  const a = newMessageId(1_000);
  const b = newMessageId(2_000);
  assert.ok(isMessageId(a) && isMessageId(b));
  assert.ok(a < b);
  assert.notEqual(newMessageId(5), newMessageId(5));
  assert.equal(isMessageId('not-an-id'), false);
});

test('IPv4 and IPv6 networks match the addresses inside them only', () => {
  const v4 = parseNetwork('127.0.0.0/8');
  assert.ok(networkContains(v4, '127.1.2.3'));
  assert.ok(networkContains(v4, '::ffff:127.0.0.9'), 'IPv4-mapped IPv6 is matched as IPv4');
  assert.equal(networkContains(v4, '128.0.0.1'), false);
  assert.equal(networkContains(v4, '::1'), false);
  const v6 = parseNetwork('2001:db8::/32');
  assert.ok(networkContains(v6, '2001:db8:1::5'));
  assert.equal(networkContains(v6, '2001:db9::1'), false);
  assert.ok(anyNetworkContains([parseNetwork('::1')], '::1'));
  assert.ok(networkContains(parseNetwork('10.1.2.3'), '10.1.2.3'), 'a bare address is a host network');
  assert.equal(networkContains(parseNetwork('10.1.2.3'), '10.1.2.4'), false);
  assert.ok(networkContains(parseNetwork('0.0.0.0/0'), '8.8.8.8'));
  for (const bad of ['300.1.1.1/8', '10.0.0.0/33', 'example.com', '::1/129']) assert.throws(() => parseNetwork(bad), /network|prefix/);
});

test('durations, lists and sizes parse with units and reject junk', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('5d'), 432_000_000);
  assert.equal(parseDuration('10'), 10_000);
  assert.deepEqual(parseDurationList('1m, 5m,1h'), [60_000, 300_000, 3_600_000]);
  assert.throws(() => parseDuration('soon'), /not a duration/);
  assert.throws(() => parseDurationList(' , '), /empty/);
  assert.equal(formatDuration(300_000), '5m');
  assert.equal(parseByteSize('25MB'), 25 * 1024 * 1024);
  assert.equal(parseByteSize('512k'), 512 * 1024);
  assert.equal(parseByteSize('1000'), 1000);
  assert.throws(() => parseByteSize('lots'), /not a size/);
});

test('envelope addresses: domains normalised, bad ones refused', () => {
  assert.equal(domainOf('User@Example.COM'), 'example.com');
  assert.equal(domainOf('user@bücher.example'), 'xn--bcher-kva.example');
  assert.ok(isValidEnvelopeAddress('a.b+c@example.com'));
  assert.ok(isValidEnvelopeAddress('josé@example.com'), 'SMTPUTF8 local parts are allowed');
  for (const bad of ['', 'no-at-sign', '@example.com', 'user@', 'user@localhost', 'user@[127.0.0.1]', 'a b@example.com', 'x@exa mple.com', `${'a'.repeat(65)}@example.com`, 'a\r\n@example.com']) {
    assert.equal(isValidEnvelopeAddress(bad), false, bad);
  }
});

test('SMTP replies parse and format, multi-line included', () => {
  assert.deepEqual(parseReply('550 5.1.1 User unknown'), { code: 550, enhanced: '5.1.1', text: 'User unknown' });
  assert.deepEqual(parseReply('451-4.7.1 Greylisted\r\n451 4.7.1 try again later'), { code: 451, enhanced: '4.7.1', text: 'Greylisted try again later' });
  assert.deepEqual(parseReply('250 ok'), { code: 250, enhanced: undefined, text: 'ok' });
  assert.equal(formatReply({ code: 550, enhanced: '5.7.1', text: 'Relaying denied' }), '550 5.7.1 Relaying denied');
});

test('docs/troubleshooting.md lists every reply Herald gives, word for word', async () => {
  const { readFileSync } = await import('node:fs');
  const { Replies } = await import('./index.js');
  const doc = readFileSync(new URL('../../docs/troubleshooting.md', import.meta.url), 'utf8');
  const missing: string[] = [];
  for (const [name, make] of Object.entries(Replies)) {
    // Placeholders as the page writes them: [IP] for the client address, N for a number.
    const { code, enhanced, text } = (make as (arg: never) => { reply: { code: number; enhanced: string; text: string } })('IP' as never).reply;
    const shown = `${code} ${enhanced} ${text}`.replace(/limit of IP/, 'limit of N');
    if (!doc.includes('`' + shown + '`')) missing.push(`${name}: ${shown}`);
  }
  assert.deepEqual(missing, []);
});

test('return paths name the message and recipient, and only ours parse', () => {
  const secret = Buffer.from('a secret of this installation');
  const id = newMessageId();
  const address = returnPathAddress(secret, 'bounces.example.com', id, 123456);
  const [local, domain] = address.split('@');
  assert.equal(domain, 'bounces.example.com');
  assert.ok(Buffer.byteLength(local) <= 64, 'RFC 5321 local-part limit');
  assert.deepEqual(parseReturnPath(secret, local), { messageId: id, recipientId: 123456 });
  assert.deepEqual(parseReturnPath(secret, local.toUpperCase()), { messageId: id, recipientId: 123456 }, 'case-insensitive, as some MTAs fold it');
  assert.equal(parseReturnPath(Buffer.from('another secret'), local), null);
  assert.equal(parseReturnPath(secret, local.replace('.2n9c.', '.2n9d.')), null, 'another recipient id needs another tag');
  assert.equal(parseReturnPath(secret, 'postmaster'), null);
});
