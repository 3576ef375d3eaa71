import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PostalMime, { decodeWords, type Email } from 'postal-mime';
import { SmtpRejection } from '../core/index.js';
import { composeMessage, parseMailbox, type ComposeOptions } from './compose.js';
import type { AttachmentInput, MessageContent } from './types.js';

const DATE = new Date(Date.UTC(2024, 4, 7, 9, 5, 3));
const OPTIONS: ComposeOptions = { messageId: '01HXAMPLE@mail.herald.test', date: DATE, maxMessageSize: 1024 * 1024, maxRecipients: 50 };

const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64');

function message(extra: Partial<MessageContent> = {}): MessageContent {
  return { from: 'sender@example.com', to: ['rcpt@example.net'], subject: 'Hello', text: 'Hi there', ...extra };
}

async function compose(extra: Partial<MessageContent> = {}, options: Partial<ComposeOptions> = {}) {
  const composed = await composeMessage(message(extra), { ...OPTIONS, ...options });
  const parsed = await PostalMime.parse(composed.body, { attachmentEncoding: 'arraybuffer' });
  return { ...composed, parsed, head: headerBlock(composed.body) };
}

/** The top-level header block as text, one line per array entry. */
function headerBlock(body: Buffer): string[] {
  const end = body.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'the message has a header block');
  return body.subarray(0, end).toString('utf8').split('\r\n');
}

/** The names of the top-level header fields, lowercase, in order. */
function fieldNames(parsed: Email): string[] {
  return parsed.headers.map((h) => h.key);
}

function header(parsed: Email, name: string): string | undefined {
  return parsed.headers.find((h) => h.key === name)?.value;
}

/** Asserts the promise rejects with an SmtpRejection about `field`; returns its text. */
async function rejects(promise: Promise<unknown>, field: string, code = 550): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SmtpRejection, `expected an SmtpRejection, got ${String(err)}`);
    assert.equal(err.field, field, `field of: ${err.message}`);
    assert.equal(err.reply.code, code, err.message);
    return err.reply.text;
  }
  return assert.fail(`expected a rejection about ${field}`);
}

function assertCrlfOnly(body: Buffer) {
  for (let i = 0; i < body.length; i++) {
    if (body[i] === 0x0a) assert.equal(body[i - 1], 0x0d, `bare LF at ${i}`);
    if (body[i] === 0x0d) assert.equal(body[i + 1], 0x0a, `bare CR at ${i}`);
  }
}

// MailComposer puts Content-Type last in the top-level header block.
const STANDARD_FIELDS = ['from', 'to', 'subject', 'message-id', 'date', 'content-transfer-encoding', 'mime-version', 'content-type'];

test('a text-only message: one text/plain part, the standard fields, the envelope', async () => {
  const m = await compose();
  assert.deepEqual(fieldNames(m.parsed), STANDARD_FIELDS);
  assert.equal(m.parsed.text, 'Hi there\n');
  assert.equal(m.parsed.html, undefined);
  assert.equal(m.parsed.attachments.length, 0);
  assert.match(header(m.parsed, 'content-type')!, /^text\/plain/);
  assert.equal(m.parsed.subject, 'Hello');
  assert.equal(m.parsed.from?.address, 'sender@example.com');
  assert.deepEqual(m.parsed.to, [{ address: 'rcpt@example.net', name: '' }]);
  assert.equal(m.parsed.messageId, '<01HXAMPLE@mail.herald.test>');
  assert.equal(header(m.parsed, 'date'), 'Tue, 7 May 2024 09:05:03 +0000');
  assert.equal(header(m.parsed, 'mime-version'), '1.0');
  assert.equal(m.mailFrom, 'sender@example.com');
  assert.deepEqual(m.recipients, ['rcpt@example.net']);
  assertCrlfOnly(m.body);
});

test('text and html: multipart/alternative', async () => {
  const m = await compose({ html: '<p>Hi <b>there</b></p>' });
  assert.match(header(m.parsed, 'content-type')!, /^multipart\/alternative;/);
  assert.equal(m.parsed.text, 'Hi there\n');
  assert.equal(m.parsed.html, '<p>Hi <b>there</b></p>\n');
  const htmlOnly = await compose({ text: undefined, html: '<p>only</p>' });
  assert.match(header(htmlOnly.parsed, 'content-type')!, /^text\/html/);
});

test('attachments: multipart/mixed, bytes identical, types from the filename or given', async () => {
  const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7 + 13) % 256)); // every byte value, CR/LF/NUL included
  const wrapped = b64(binary).replace(/.{76}/g, '$&\r\n'); // MIME-style line-wrapped base64 is accepted
  const m = await compose({
    html: '<p>see attached</p>',
    attachments: [
      { filename: 'report.pdf', content: wrapped },
      { filename: 'data.bin', content: b64('plain'), contentType: 'Application/X-Custom' },
      { filename: 'noext', content: b64('') },
      { filename: 'résumé final.txt', content: b64('one\ntwo\r\nthree\r') },
    ],
  });
  assert.match(header(m.parsed, 'content-type')!, /^multipart\/mixed;/);
  assert.equal(m.parsed.html, '<p>see attached</p>\n');
  const [pdf, custom, noext, txt] = m.parsed.attachments;
  assert.equal(m.parsed.attachments.length, 4);
  assert.deepEqual([pdf!.filename, pdf!.mimeType, pdf!.disposition], ['report.pdf', 'application/pdf', 'attachment']);
  assert.deepEqual(Buffer.from(pdf!.content as ArrayBuffer), binary);
  assert.deepEqual([custom!.mimeType, Buffer.from(custom!.content as ArrayBuffer).toString()], ['application/x-custom', 'plain']);
  assert.deepEqual([noext!.mimeType, (noext!.content as ArrayBuffer).byteLength], ['application/octet-stream', 0]);
  // A text attachment is base64 too: its own line endings travel unchanged.
  assert.deepEqual([txt!.filename, txt!.mimeType, Buffer.from(txt!.content as ArrayBuffer).toString()], ['résumé final.txt', 'text/plain', 'one\ntwo\r\nthree\r']);
  assertCrlfOnly(m.body);
});

test('an attachment with a content id is inline, in multipart/related with the html', async () => {
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  const m = await compose({
    html: '<img src="cid:logo@herald">',
    attachments: [
      { filename: 'logo.png', content: b64(png), contentId: 'logo@herald' },
      { filename: 'terms.pdf', content: b64('%PDF terms'), contentId: 'terms' }, // not an image: inline all the same
      { filename: 'invoice.pdf', content: b64('%PDF') },
    ],
  });
  assert.match(header(m.parsed, 'content-type')!, /^multipart\/mixed;/);
  const text = m.body.toString();
  assert.match(text, /Content-Type: multipart\/alternative;/);
  assert.match(text, /Content-Type: multipart\/related; type="text\/html";/);
  const [logo, terms, invoice] = m.parsed.attachments;
  assert.deepEqual([logo!.contentId, logo!.disposition, logo!.related], ['<logo@herald>', 'inline', true]);
  assert.deepEqual(Buffer.from(logo!.content as ArrayBuffer), png);
  assert.deepEqual([terms!.contentId, terms!.disposition, terms!.related], ['<terms>', 'inline', true]);
  assert.deepEqual([invoice!.contentId, invoice!.disposition, invoice!.related], [undefined, 'attachment', undefined]);
});

test('UTF-8 subject, display names and custom header values are RFC 2047-encoded and round-trip', async () => {
  const m = await compose({
    from: 'Jörg Müller <joerg@example.com>',
    to: ['"Ünïcødé, 日本" <u@example.net>', 'Zoë <zoe@example.org>'],
    replyTo: ['Сергей <s@example.com>'],
    subject: 'Grüße 👋 — 日本語の件名',
    headers: { 'X-Campaign': 'Été 2024 ☀' },
  });
  assert.equal(m.parsed.subject, 'Grüße 👋 — 日本語の件名');
  assert.deepEqual(m.parsed.from, { name: 'Jörg Müller', address: 'joerg@example.com' });
  assert.deepEqual(m.parsed.to, [
    { name: 'Ünïcødé, 日本', address: 'u@example.net' },
    { name: 'Zoë', address: 'zoe@example.org' },
  ]);
  assert.deepEqual(m.parsed.replyTo, [{ name: 'Сергей', address: 's@example.com' }]);
  assert.equal(decodeWords(header(m.parsed, 'x-campaign')!), 'Été 2024 ☀');
  // With ASCII addresses, the whole header block is 7-bit.
  assert.ok(m.head.every((line) => /^[\x20-\x7e\t]*$/.test(line)), m.head.join('\n'));
});

test('IDN domains and UTF-8 local parts are accepted; the envelope carries A-label domains', async () => {
  const m = await compose({ from: 'info@bücher.example', to: ['jöran@exämple.com', 'plain@ÉXAMPLE.org'] });
  assert.equal(m.mailFrom, 'info@xn--bcher-kva.example');
  assert.deepEqual(m.recipients, ['jöran@xn--exmple-cua.com', 'plain@xn--xample-9ua.org']);
  assert.equal(m.parsed.from?.address, 'info@xn--bcher-kva.example');
});

test('Bcc is not in the headers but is an envelope recipient; recipients are de-duplicated', async () => {
  const m = await compose({
    to: ['Rcpt <rcpt@example.net>', 'Other@Example.NET'],
    cc: ['rcpt@EXAMPLE.net', 'other@example.net'],
    bcc: ['Secret <secret@example.org>', 'rcpt@example.net'],
  });
  assert.deepEqual(m.recipients, ['rcpt@example.net', 'Other@example.net', 'other@example.net', 'secret@example.org']);
  assert.ok(!fieldNames(m.parsed).includes('bcc'));
  assert.ok(!m.body.toString().includes('secret@example.org'));
  assert.ok(!m.body.toString().toLowerCase().includes('bcc'));
  // Bcc-only: no To field at all, still a recipient.
  const hidden = await compose({ to: [], bcc: ['secret@example.org'] });
  assert.deepEqual(hidden.recipients, ['secret@example.org']);
  assert.ok(!fieldNames(hidden.parsed).includes('to'));
  assert.ok(!hidden.body.toString().includes('secret@example.org'));
});

test('bare LF and CR in text and html become CRLF inside the body', async () => {
  const m = await compose({ text: 'one\ntwo\rthree\r\n\n.\nend', html: '<p>a</p>\n<p>b</p>\r<p>ü</p>' });
  assertCrlfOnly(m.body);
  assert.equal(m.parsed.text, 'one\ntwo\nthree\n\n.\nend\n');
  assert.equal(m.parsed.html, '<p>a</p>\n<p>b</p>\n<p>ü</p>\n');
  // Long lines are encoded, never longer than the line limit.
  const long = await compose({ text: `${'x'.repeat(5000)}\n${'ü '.repeat(3000)}` });
  assertCrlfOnly(long.body);
  assert.ok(long.body.toString('latin1').split('\r\n').every((line) => line.length <= 998));
});

test('header values that cannot break a line stay in their field', async () => {
  const m = await compose({
    subject: 'Hi Bcc: victim@example.org Content-Type: text/html',
    headers: { 'X-Note': 'To: someone@example.org; <a@b>', 'In-Reply-To': '<parent@example.com>', 'List-Unsubscribe': '<https://example.com/u?x=1>' },
  });
  assert.equal(m.parsed.subject, 'Hi Bcc: victim@example.org Content-Type: text/html');
  assert.deepEqual(fieldNames(m.parsed), ['x-note', 'in-reply-to', 'list-unsubscribe', ...STANDARD_FIELDS]);
  assert.equal(header(m.parsed, 'x-note'), 'To: someone@example.org; <a@b>');
  assert.equal(header(m.parsed, 'list-unsubscribe'), '<https://example.com/u?x=1>');
  assert.equal(m.parsed.inReplyTo, '<parent@example.com>');
});

test('every injection attempt throws about its field and produces nothing', async () => {
  const breaks = ['\r\n', '\n', '\r', '\0'];
  for (const br of breaks) {
    const evil = `x${br}Bcc: victim@example.org`;
    await rejects(compose({ subject: evil }), 'subject');
    await rejects(compose({ from: `"Evil${br}Bcc: v@example.org" <a@example.com>` }), 'from');
    await rejects(compose({ from: `Evil${br} <a@example.com>` }), 'from');
    await rejects(compose({ to: ['ok@example.net', `a@example.com${br}Bcc: v@example.org`] }), 'to[1]');
    await rejects(compose({ cc: [`Name${br}X: y <c@example.com>`] }), 'cc[0]');
    await rejects(compose({ bcc: [`b@example.com${br}`] }), 'bcc[0]');
    await rejects(compose({ replyTo: [`r@example.com${br}To: v@example.org`] }), 'reply_to[0]');
    await rejects(compose({ headers: { 'X-Foo': evil } }), 'headers.X-Foo');
    await rejects(compose({ headers: { [`X-Foo${br}Bcc`]: 'v@example.org' } }), `headers.X-Foo${br}Bcc`);
    await rejects(compose({ attachments: [{ filename: `a${br}Content-Type: text/html`, content: '' }] }), 'attachments[0].filename');
    await rejects(compose({ attachments: [{ filename: 'a.png', content: '', contentId: `x${br}Bcc: v@example.org` }] }), 'attachments[0].content_id');
    await rejects(compose({ attachments: [{ filename: 'a.bin', content: '', contentType: `text/plain${br}Bcc: v@example.org` }] }), 'attachments[0].content_type');
  }
  // Header names that would end early or smuggle a second field.
  for (const name of ['X Foo', 'X-Foo:', 'Bcc: v@example.org\r\nX', ' X-Foo', 'X-Fö', '']) {
    await rejects(compose({ headers: { [name]: 'v' } }), `headers.${name}`);
  }
  await rejects(compose({ attachments: [{ filename: 'a.png', content: '', contentId: '<x@y>' }] }), 'attachments[0].content_id');
  await rejects(compose({ attachments: [{ filename: 'a.png', content: '', contentId: 'x y' }] }), 'attachments[0].content_id');
  await rejects(compose({ attachments: [{ filename: 'a.bin', content: '', contentType: 'text/plain; boundary=x' }] }), 'attachments[0].content_type');
});

test('error texts name the field in plain words', async () => {
  assert.equal(await rejects(compose({ to: ['ok@example.com', 'bob@'] }), 'to[1]'), 'to[1]: "bob@" is not an email address');
  assert.match(await rejects(compose({ subject: 'a\r\nb' }), 'subject'), /^subject: contains a line break \(CR or LF\) or NUL/);
  assert.match(await rejects(compose({ text: undefined, html: '' }), 'text'), /text or an html body/);
});

test('reserved header fields are refused with what to use instead', async () => {
  const cases: [string, RegExp][] = [
    ['From', /use the "from" field/],
    ['to', /use the "to" field/],
    ['CC', /use the "cc" field/],
    ['Bcc', /use the "bcc" field/],
    ['Reply-To', /use the "reply_to" field/],
    ['subject', /use the "subject" field/],
    ['Date', /Herald sets it/],
    ['Sender', /Herald sets it/],
    ['MIME-Version', /Herald sets it/],
    ['Content-Type', /from text, html and attachments/],
    ['content-transfer-encoding', /from text, html and attachments/],
    ['Content-Disposition', /from text, html and attachments/],
    ['Received', /Herald sets it/],
    ['Return-Path', /Herald sets it/],
    ['DKIM-Signature', /signs the message itself/],
    ['X-Herald-Account', /X-Herald-/],
    ['x-herald-', /X-Herald-/],
  ];
  for (const [name, why] of cases) {
    const text = await rejects(compose({ headers: { [name]: 'value' } }), `headers.${name}`);
    assert.match(text, why, name);
    assert.ok(text.startsWith(`headers.${name}: cannot be set in headers`), text);
  }
  await rejects(compose({ headers: { 'X-Tag': 'a', 'x-tag': 'b' } }), 'headers.x-tag');
  await rejects(compose({ headers: { 'X-Empty': '  ' } }), 'headers.X-Empty');
});

test('Message-ID: options.messageId unless a valid one is given; an invalid one is refused', async () => {
  const given = await compose({ headers: { 'message-id': '<order-42@shop.example>' } });
  assert.equal(given.parsed.messageId, '<order-42@shop.example>');
  assert.equal(given.parsed.headers.filter((h) => h.key === 'message-id').length, 1);
  for (const bad of ['order-42@shop.example', '<no-at-sign>', '<a@b> <c@d>', '<a b@c>', '<a@b@c>', '<ü@example.com>']) {
    await rejects(compose({ headers: { 'Message-ID': bad } }), 'headers.Message-ID');
  }
});

test('non-ASCII custom header values are encoded; the field stays within the line limit', async () => {
  const m = await compose({ headers: { 'X-Long': `${'wörd '.repeat(150)}end`, 'X-Ascii': `${'a'.repeat(400)} ${'b'.repeat(400)}` } });
  assert.equal(decodeWords(header(m.parsed, 'x-long')!), `${'wörd '.repeat(150)}end`);
  assert.equal(header(m.parsed, 'x-ascii'), `${'a'.repeat(400)} ${'b'.repeat(400)}`);
  assert.ok(m.head.every((line) => Buffer.byteLength(line) <= 998 && !/^[ \t]+$/.test(line)));
  // "X-Max: " + value = 998 octets fits; one more does not (RFC 5322 §2.1.1).
  const max = await compose({ headers: { 'X-Max': 'v'.repeat(998 - 'X-Max: '.length) } });
  assert.ok(max.head.every((line) => line.length <= 998));
  await rejects(compose({ headers: { 'X-Max': 'v'.repeat(999 - 'X-Max: '.length) } }), 'headers.X-Max');
  await rejects(compose({ subject: 's'.repeat(990) }), 'subject');
  await compose({ subject: 's'.repeat(989) });
});

test('white space: trimmed at the ends, long runs refused so no header line is white space alone', async () => {
  const m = await compose({ subject: `  a${' '.repeat(64)}b  `, headers: { 'X-Pad': `\t${'x'.repeat(70)}${' '.repeat(64)}y ` } });
  assert.equal(m.parsed.subject, `a${' '.repeat(64)}b`);
  assert.ok(m.head.every((line) => !/^[ \t]+$/.test(line)), m.head.join('\n'));
  await rejects(compose({ subject: `a${' '.repeat(65)}b` }), 'subject');
  await rejects(compose({ headers: { 'X-Pad': `a${'\t'.repeat(65)}b` } }), 'headers.X-Pad');
  await rejects(compose({ from: `"a${' '.repeat(65)}b" <a@example.com>` }), 'from');
  await rejects(compose({ attachments: [{ filename: `a${' '.repeat(65)}b`, content: '' }] }), 'attachments[0].filename');
});

test('bad base64 is refused', async () => {
  const bad = ['QQ', 'QQ=', 'Q===', 'QR==', 'a-_b', 'YWJj!', '====', 'data:image/png;base64,iVBORw0KGgo=', 'file:///etc/passwd', 'YW Jj=\u00a0'];
  for (const content of bad) {
    await rejects(compose({ attachments: [{ filename: 'ok.txt', content: 'b2s=' }, { filename: 'x.bin', content }] }), 'attachments[1].content');
  }
  assert.match(await rejects(compose({ attachments: [{ filename: 'x.bin', content: 'data:text/plain;base64,QQ==' }] }), 'attachments[0].content'), /data: URL/);
  await rejects(compose({ attachments: [{ filename: 'x.bin', content: 42 as unknown as string }] }), 'attachments[0].content');
});

test('attachment metadata is checked', async () => {
  const cases: [AttachmentInput, string][] = [
    [{ filename: '', content: '' }, 'attachments[0].filename'],
    [{ filename: '/etc/passwd', content: '' }, 'attachments[0].filename'],
    [{ filename: '..\\..\\boot.ini', content: '' }, 'attachments[0].filename'],
    [{ filename: '..', content: '' }, 'attachments[0].filename'],
    [{ filename: 'a\tb', content: '' }, 'attachments[0].filename'],
    [{ filename: `${'n'.repeat(252)}.pdf`, content: '' }, 'attachments[0].filename'],
    [{ filename: 'a.bin', content: '', contentType: 'pdf' }, 'attachments[0].content_type'],
    [{ filename: 'a.bin', content: '', contentType: 'multipart/mixed' }, 'attachments[0].content_type'],
    [{ filename: 'a.bin', content: '', contentType: 'message/external-body' }, 'attachments[0].content_type'],
    [{ filename: 'a.png', content: '', contentId: '' }, 'attachments[0].content_id'],
  ];
  for (const [attachment, field] of cases) await rejects(compose({ attachments: [attachment] }), field);
  await compose({ attachments: [{ filename: `${'n'.repeat(251)}.pdf`, content: '' }] });
  await rejects(
    compose({ html: '<img src="cid:a">', attachments: [{ filename: 'a.png', content: '', contentId: 'a' }, { filename: 'b.png', content: '', contentId: 'a' }] }),
    'attachments[1].content_id',
  );
});

test('a message/rfc822 attachment is embedded as it is when it is valid message text, refused otherwise', async () => {
  const eml = 'From: a@example.com\r\nSubject: inner\r\n\r\nInner body\r\n';
  const m = await compose({ attachments: [{ filename: 'forwarded.eml', content: b64(eml) }] });
  assert.ok(m.body.includes(eml), 'the inner message is carried unencoded (RFC 2046 §5.2.1)');
  assert.match(m.body.toString(), /Content-Type: message\/rfc822/);
  assert.match(m.body.toString(), /Content-Disposition: attachment; filename=forwarded.eml/);
  assertCrlfOnly(m.body);
  for (const content of ['Subject: x\n\nbare LF\n', 'Subject: x\r\n\r\nbare CR\r', 'Subject: x\r\n\r\nNUL\0\r\n', `Subject: x\r\n\r\n${'l'.repeat(999)}\r\n`]) {
    const text = await rejects(compose({ attachments: [{ filename: 'fwd.eml', content: b64(content) }] }), 'attachments[0].content');
    assert.match(text, /application\/octet-stream/);
  }
  // As application/octet-stream the same bytes are base64 and arrive unchanged.
  const raw = await compose({ attachments: [{ filename: 'fwd.eml', content: b64('Subject: x\n\nbare LF\n'), contentType: 'application/octet-stream' }] });
  assertCrlfOnly(raw.body);
  assert.equal(Buffer.from(raw.parsed.attachments[0]!.content as ArrayBuffer).toString(), 'Subject: x\n\nbare LF\n');
});

test('nothing is read from disk or fetched: paths and URLs are only ever text or bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-compose-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secretFile = join(dir, 'secret.txt');
  const SECRET = 'TOP-SECRET-MARKER-6d1f0c';
  writeFileSync(secretFile, SECRET);
  // Fields MailComposer would act on, smuggled in beside the documented ones (as a JSON body could).
  const smuggled = { filename: 'file.txt', content: b64(`file://${secretFile}`), path: secretFile, href: `file://${secretFile}`, raw: SECRET.replace('TOP', 'RAW') };
  const content = {
    ...message({ html: `<img src="file://${secretFile}"><img src="data:text/plain;base64,${b64(SECRET)}">` }),
    attachments: [smuggled, { filename: 'etc-passwd', content: b64('/etc/passwd') }],
    raw: 'From: raw@example.com\r\n\r\nraw',
    attachDataUrls: true,
    envelope: { from: 'attacker@example.org', to: ['attacker@example.org'] },
    bcc: [],
  } as unknown as MessageContent;
  const composed = await composeMessage(content, OPTIONS);
  const parsed = await PostalMime.parse(composed.body, { attachmentEncoding: 'arraybuffer' });
  assert.ok(!composed.body.includes(SECRET), 'the file content was not read');
  assert.ok(!composed.body.includes('RAW-SECRET'), 'raw was ignored');
  assert.deepEqual(composed.recipients, ['rcpt@example.net']);
  assert.equal(composed.mailFrom, 'sender@example.com');
  assert.equal(parsed.attachments.length, 2);
  assert.equal(Buffer.from(parsed.attachments[0]!.content as ArrayBuffer).toString(), `file://${secretFile}`);
  assert.equal(Buffer.from(parsed.attachments[1]!.content as ArrayBuffer).toString(), '/etc/passwd');
  assert.match(parsed.html!, /<img src="file:\/\/.*secret\.txt">/); // the html is text, nothing is resolved
});

test('size limit: decoded content is counted first, then the encoded message', async () => {
  const limit = 10_000;
  const small = b64(Buffer.alloc(3000, 1));
  const err = await rejects(
    compose({ attachments: [{ filename: 'a', content: small }, { filename: 'b', content: small }, { filename: 'c', content: small }, { filename: 'd', content: small }] }, { maxMessageSize: limit }),
    'attachments[3].content',
    552,
  );
  assert.equal(err, `Message size exceeds fixed limit of ${limit} bytes`);
  await rejects(compose({ text: 'x'.repeat(limit + 1) }, { maxMessageSize: limit }), 'text', 552);
  await rejects(compose({ text: 'x', html: 'y'.repeat(limit) }, { maxMessageSize: limit }), 'html', 552);
  // 9000 decoded bytes fit, but base64 makes them about 12 KB on the wire.
  await rejects(compose({ attachments: [{ filename: 'big', content: b64(Buffer.alloc(9000, 2)) }] }, { maxMessageSize: limit }), 'attachments[0].content', 552);
  const fits = await compose({ attachments: [{ filename: 'ok', content: b64(Buffer.alloc(5000, 3)) }] }, { maxMessageSize: limit });
  assert.ok(fits.body.length <= limit);
});

test('recipients: at least one, at most maxRecipients in to, cc and bcc together', async () => {
  await rejects(compose({ to: [] }), 'to');
  await rejects(compose({ to: undefined as unknown as string[] }), 'to');
  await compose({ to: ['a@example.com', 'b@example.com'], cc: ['c@example.com'], bcc: ['d@example.com'] }, { maxRecipients: 4 });
  const text = await rejects(compose({ to: ['a@example.com', 'b@example.com'], cc: ['c@example.com'], bcc: ['d@example.com', 'e@example.com'] }, { maxRecipients: 4 }), 'to');
  assert.match(text, /5 recipients .* at most 4/);
  await rejects(compose({ to: 'a@example.com' as unknown as string[] }), 'to');
});

test('a message needs a text or an html body', async () => {
  await rejects(compose({ text: undefined }), 'text');
  await rejects(compose({ text: '', html: '' }), 'text');
  await rejects(compose({ text: 5 as unknown as string }), 'text');
  await rejects(compose({ html: {} as unknown as string }), 'html');
});

test('parseMailbox: one mailbox per string, strict forms', () => {
  assert.deepEqual(parseMailbox('a@example.com', 'to[0]'), { address: 'a@example.com' });
  assert.deepEqual(parseMailbox('  <a@example.com> ', 'to[0]'), { address: 'a@example.com' });
  assert.deepEqual(parseMailbox('Ann Example <a@example.com>', 'to[0]'), { name: 'Ann Example', address: 'a@example.com' });
  assert.deepEqual(parseMailbox('John Q. Public <jqp@example.com>', 'to[0]'), { name: 'John Q. Public', address: 'jqp@example.com' });
  assert.deepEqual(parseMailbox('"Doe, John \\"JD\\"" <j@example.com>', 'to[0]'), { name: 'Doe, John "JD"', address: 'j@example.com' });
  assert.deepEqual(parseMailbox('"" <a@example.com>', 'to[0]'), { address: 'a@example.com' });
  assert.deepEqual(parseMailbox("o'brien+tag@sub.example.co.uk", 'to[0]'), { address: "o'brien+tag@sub.example.co.uk" });
  assert.deepEqual(parseMailbox('Ünï <ü@bücher.example>', 'to[0]'), { name: 'Ünï', address: 'ü@bücher.example' });

  const refused: [string, RegExp][] = [
    ['a@example.com, b@example.com', /holds 2 addresses/],
    ['a@example.com; b@example.com', /holds 2 addresses/],
    ['Doe, John <j@example.com>', /put the name in double quotes/],
    ['Friends: a@example.com, b@example.com;', /group/],
    ['a@example.com b@example.com', /not an email address/],
    ['a@example.com <b@example.com>', /double quotes/],
    ['Name <a@example.com> trailing', /not an email address/],
    ['Name <a@example.com', /not an email address/],
    ['a(comment)@example.com', /not an email address/],
    ['"unterminated <a@example.com>', /not a mailbox/],
    ['"quoted local"@example.com', /quoted local parts are not supported/],
    ['a..b@example.com', /not an email address/],
    ['bob@', /not an email address/],
    ['bob', /not an email address/],
    ['a@localhost', /not an email address/],
    ['a@[192.0.2.1]', /not an email address/],
    ['Name <>', /not an email address/],
    ['', /is empty/],
    ['a\u0007@example.com', /control character/],
    [`${'x'.repeat(65)}@example.com`, /not an email address/],
    [`"${'n'.repeat(257)}" <a@example.com>`, /longer than 256/],
  ];
  for (const [input, why] of refused) {
    assert.throws(
      () => parseMailbox(input, 'cc[2]'),
      (err) => err instanceof SmtpRejection && err.field === 'cc[2]' && why.test(err.reply.text) && err.reply.text.startsWith('cc[2]: '),
      input,
    );
  }
  assert.throws(() => parseMailbox(7 as unknown as string, 'from'), (err) => err instanceof SmtpRejection && err.field === 'from');
});
