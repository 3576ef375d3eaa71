import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEncodedWords, findHeaderBlock, formatReceived, formatRfc5322Date, readHeaderFields, takeHeaderFields } from './headers.js';

const msg = (s: string) => Buffer.from(s, 'utf8');

test('the header block ends at the first blank line', () => {
  const m = msg('Subject: hi\r\nFrom: a@b.example\r\n\r\nbody\r\n\r\nmore\r\n');
  assert.deepEqual(findHeaderBlock(m), { end: 'Subject: hi\r\nFrom: a@b.example\r\n'.length, hasHeaders: true });
});

test('a message without a blank line is all header; one without header fields has none', () => {
  const headersOnly = msg('Subject: hi\r\nFrom: a@b.example\r\n');
  assert.deepEqual(findHeaderBlock(headersOnly), { end: headersOnly.length, hasHeaders: true });
  assert.deepEqual(findHeaderBlock(msg('just a body line\r\n')), { end: 0, hasHeaders: false });
  assert.deepEqual(findHeaderBlock(msg('\r\nbody\r\n')), { end: 0, hasHeaders: true });
  assert.deepEqual(findHeaderBlock(Buffer.alloc(0)), { end: 0, hasHeaders: false });
});

test('fields are found case-insensitively, unfolded, first occurrence only, header block only', () => {
  const m = msg('SUBJECT : Hello\r\n  world\r\nmessage-id: <x@y>\r\nSubject: second\r\n\r\nDate: not a header\r\n');
  const f = readHeaderFields(m, findHeaderBlock(m), ['Subject', 'Message-ID', 'Date']);
  assert.equal(f.get('subject'), 'Hello  world');
  assert.equal(f.get('message-id'), '<x@y>');
  assert.equal(f.has('date'), false);
});

test('UTF-8 header values are read as UTF-8', () => {
  const m = msg('Subject: Grüße 👋\r\n\r\n');
  assert.equal(readHeaderFields(m, findHeaderBlock(m), ['subject']).get('subject'), 'Grüße 👋');
});

test('RFC 5322 dates', () => {
  assert.equal(formatRfc5322Date(new Date(Date.UTC(2024, 4, 7, 9, 5, 3))), 'Tue, 7 May 2024 09:05:03 +0000');
});

test('the Received field is folded, carries TLS facts, and cannot be injected into', () => {
  const r = formatReceived({
    helo: 'evil\r\nX-Injected: yes (comment',
    ip: '2001:db8::1',
    hostname: 'mx.example',
    protocol: 'ESMTPSA',
    id: '01hx',
    tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
    date: new Date(Date.UTC(2024, 0, 1)),
  });
  assert.equal(
    r,
    'Received: from evilX-Injected:yescomment ([IPv6:2001:db8::1])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n' +
      '\tby mx.example (Herald) with ESMTPSA id 01hx;\r\n\tMon, 1 Jan 2024 00:00:00 +0000\r\n',
  );
  const plain = formatReceived({ helo: 'client.example', ip: '::ffff:192.0.2.1', hostname: 'h', protocol: 'ESMTP', id: 'i', date: new Date(0) });
  assert.match(plain, /^Received: from client\.example \(\[192\.0\.2\.1\]\)\r\n\tby h \(Herald\) with ESMTP id i;\r\n/);
});

test('decodeEncodedWords decodes Q and B words, joins adjacent ones, and leaves the rest alone', () => {
  assert.equal(decodeEncodedWords('=?UTF-8?Q?Gr=C3=BC=C3=9Fe_=E2=80=94_your_receipt_?= =?UTF-8?Q?=E2=84=9642?='), 'Grüße — your receipt №42');
  assert.equal(decodeEncodedWords('=?utf-8?B?eyJ1c2VyIjoiNyJ9?='), '{"user":"7"}');
  assert.equal(decodeEncodedWords('Caf=?ISO-8859-1?Q?=E9?= ouvert'), 'Café ouvert');
  assert.equal(decodeEncodedWords('plain text'), 'plain text');
  assert.equal(decodeEncodedWords('=?no-such-charset?Q?x?='), '=?no-such-charset?Q?x?=');
});

test('takeHeaderFields removes every X-Herald-* field (folded ones too) and keeps the rest byte for byte', () => {
  const msg = Buffer.from('Subject: hi\r\nX-Herald-Tags: a,\r\n b\r\nx-herald-stream: broadcast\r\nTo: x@y.example\r\n\r\nX-Herald-Tags: body\r\n');
  const taken = takeHeaderFields(msg, findHeaderBlock(msg), 'X-Herald-');
  assert.equal(taken.message.toString(), 'Subject: hi\r\nTo: x@y.example\r\n\r\nX-Herald-Tags: body\r\n');
  assert.deepEqual(taken.fields, [
    { name: 'X-Herald-Tags', value: 'a, b' },
    { name: 'x-herald-stream', value: 'broadcast' },
  ]);
  const none = Buffer.from('Subject: hi\r\n\r\nbody\r\n');
  assert.equal(takeHeaderFields(none, findHeaderBlock(none), 'X-Herald-').message, none);
});
