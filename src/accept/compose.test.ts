import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PostalMime, { decodeWords, type Email } from 'postal-mime';
import { encode as qpEncodeReference, wrap as qpWrapReference } from 'nodemailer/lib/qp/index.js';
import { SmtpRejection } from '../core/index.js';
import { composeMessage, composeMessageWithMailComposer, parseMailbox, type ComposeOptions } from './compose.js';
import { qpSoftBreaks, writeMessage, type WriterMessage } from './mime-writer.js';
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

// The writer against the MailComposer path it replaced: the same bytes, boundaries aside.

/** A seeded generator (mulberry32), so a failure can be run again. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T,>(list: readonly T[]): T => list[Math.floor(next() * list.length)]! };
}

/** The random part of the boundaries is the one difference allowed. */
function withoutBoundaries(body: Buffer): string {
  return body.toString('latin1').replace(/--_NmP-[0-9a-f]{16}-Part_/g, '--_NmP-<random>-Part_');
}

async function assertSameAsMailComposer(content: MessageContent, label: string, options: ComposeOptions = OPTIONS) {
  const settle = <T,>(promise: Promise<T>) => promise.then((value) => ({ value }), (error: unknown) => ({ error: String(error) }));
  const [first, second] = [await settle(composeMessage(content, options)), await settle(composeMessageWithMailComposer(content, options))];
  if (!('value' in first) || !('value' in second)) {
    assert.deepEqual(first, second, `${label}: both refuse alike`);
    return;
  }
  const [written, reference] = [first.value, second.value];
  const [a, b] = [withoutBoundaries(written.body), withoutBoundaries(reference.body)];
  if (a !== b) {
    const [x, y] = [a.split('\r\n'), b.split('\r\n')];
    const line = x.findIndex((l, i) => l !== y[i]);
    assert.fail(`${label}: line ${line + 1} differs\n writer:       ${JSON.stringify(x[line])}\n MailComposer: ${JSON.stringify(y[line])}\n${JSON.stringify(content).slice(0, 2000)}`);
  }
  assert.deepEqual([written.mailFrom, written.recipients], [reference.mailFrom, reference.recipients]);
}

const NAMES = ['', 'Ann', 'John Q. Public', '"Doe, John \\"JD\\""', 'Jörg Müller', '日本語の名前', 'Zoë', 'a_b c', "O'Brien", '"Ünïcødé, 日本"', `Émile ${'x'.repeat(80)} Zola`, 'Ann 👋', '"a\\\\b"', 'Ñ'.repeat(100), '=?utf-8?Q?x?=', '"quoted ; name"', 'word'.repeat(30)];
const ADDRESSES = ['a@example.com', 'Other@Example.NET', 'jöran@exämple.com', 'plain@ÉXAMPLE.org', 'x+tag@sub.example.co.uk', "o'brien@example.ie", 'info@bücher.example', 'ü@bücher.example', '日本@日本.jp'];
const WORDS = ['hello', 'world', 'Grüße', '日本語', '👋', '—', '"quoted"', '=?utf-8?Q?abc?=', '=?bad', 'a=b', '\t', '  ', 'x'.repeat(90), 'ü'.repeat(40), '\x01', '\x7f', '?=', 'foo=?x?Q?y?=bar', 'é'];
const LINES = ['plain short line', '', '.', 'x'.repeat(76), 'y'.repeat(77), 'z'.repeat(300), 'trailing space ', 'trailing tab\t', 'ünïcødé text here', '日本語のテキストです。', 'a=b=c', '\x7fdel', 'ctl\x01x', '   ', `mixed Grüße and ${'more words '.repeat(8)}`, '—'.repeat(50), 'emoji 👋👋', 'tab\tin\tline', '=?utf-8?Q?x?=', '----_NmP-0123456789abcdef-Part_1'];
const FILENAMES = ['report.pdf', 'résumé final.txt', 'a b.png', 'noext', 'x"y.bin', 'semi;colon.txt', '-dash.txt', "it's.doc", '日本語のファイル名.xlsx', `very ${'long '.repeat(40)}name.pdf`, `${'ü'.repeat(100)}.txt`, '=?utf-8?Q?a?=.txt', `${'x'.repeat(80)}.bin`, 'photo.JPG', 'forward.eml', 'emoji👋.png', 'paren(1).pdf', 'question?.txt', '[x].txt'];
const CONTENT_TYPES = [undefined, undefined, 'application/pdf', 'image/png', 'text/plain', 'Application/X-Custom', 'message/rfc822', 'message/global', 'text/html'];
const EMBEDDED = ['From: a@example.com\r\nSubject: inner\r\n\r\nInner body\r\n', 'Subject: ü\r\n\r\nGrüße\r\n', 'Subject: x\r\n\r\nno final line break', ''];
const HEADERS: [string, (r: ReturnType<typeof random>) => string][] = [
  ['X-Tag', (r) => `${r.pick(WORDS)} ${r.pick(WORDS)} end`],
  ['x-long', (r) => Array.from({ length: 25 }, () => r.pick(WORDS)).join(' ').replace(/[ \t]{65,}/g, ' ').trim()],
  ['In-Reply-To', (r) => r.pick(['<a@b>', 'a@b', '<ü@x>', 'a\x01b'])],
  ['references', (r) => r.pick(['<a@b> <c@d>', 'a@b c@d', '< a @ b >  <c@d>', '<x@y'])],
  ['List-Unsubscribe', () => '<https://example.com/u?x=1>, <mailto:u@example.com>'],
  ['content-id', () => 'abc@def'],
  ['OTP-Token', () => '"123"; origin="https://x"\x01'],
  ['mime-foo', () => 'bar'],
  ['x-smtpapi', () => '{"a":1}'],
  ['content-features', () => 'x'],
  ['x-a-id', () => 'z'],
  ['Message-ID', () => '<given@example.com>'],
];

function randomMessage(r: ReturnType<typeof random>): MessageContent {
  const mailbox = () => {
    const name = r.pick(NAMES);
    const address = r.pick(ADDRESSES);
    return name ? `${name} <${address}>` : r.pick([address, `<${address}>`]);
  };
  const body = () => {
    const lines = Array.from({ length: 1 + Math.floor(r.next() * 12) }, () => r.pick(LINES));
    return lines.join(r.pick(['\n', '\r\n', '\r'])) + (r.next() < 0.2 ? r.pick(['\n', ' ', '\t', '\r\n\r\n']) : '');
  };
  const m: MessageContent = { from: mailbox(), to: Array.from({ length: 1 + Math.floor(r.next() * 3) }, mailbox) };
  if (r.next() < 0.4) m.cc = [mailbox(), mailbox()];
  if (r.next() < 0.3) m.bcc = [mailbox()];
  if (r.next() < 0.3) m.replyTo = [mailbox()];
  if (r.next() < 0.9) m.subject = Array.from({ length: 1 + Math.floor(r.next() * 20) }, () => r.pick(WORDS)).join(' ').replace(/[ \t]{65,}/g, ' ').trim() || 'x';
  const kind = r.next();
  if (kind < 0.4) m.text = body();
  else if (kind < 0.6) m.html = body();
  else [m.text, m.html] = [body(), body()];
  if (r.next() < 0.5) {
    m.headers = {};
    for (let i = 0; i < 3; i++) {
      const [name, value] = r.pick(HEADERS);
      if (!Object.keys(m.headers).some((k) => k.toLowerCase() === name.toLowerCase())) m.headers[name] = value(r);
    }
  }
  if (r.next() < 0.6) {
    const ids = new Set<string>();
    m.attachments = Array.from({ length: 1 + Math.floor(r.next() * 4) }, (): AttachmentInput => {
      const contentType = r.pick(CONTENT_TYPES);
      const filename = r.pick(FILENAMES);
      const embedded = contentType?.startsWith('message/') || (!contentType && filename.endsWith('.eml'));
      const bytes = embedded ? Buffer.from(r.pick(EMBEDDED)) : Buffer.from(Array.from({ length: r.pick([0, 1, 2, 3, 56, 57, 58, 1000, 5000]) }, () => Math.floor(r.next() * 256)));
      const attachment: AttachmentInput = { filename, content: r.next() < 0.2 ? b64(bytes).replace(/.{76}/g, '$&\r\n') : b64(bytes) };
      if (contentType) attachment.contentType = contentType;
      const cid = r.pick(['logo@herald', 'terms', 'a.b@c', 'x'.repeat(100), '', '']);
      if (cid && !ids.has(cid)) {
        ids.add(cid);
        attachment.contentId = cid;
      }
      return attachment;
    });
  }
  return m;
}

test('the writer makes the bytes MailComposer made (boundaries aside), on 400 generated messages', async () => {
  for (const seed of [1, 2, 3, 4]) {
    const r = random(seed);
    for (let i = 0; i < 100; i++) await assertSameAsMailComposer(randomMessage(r), `seed ${seed}, message ${i}`);
  }
});

test('the writer matches MailComposer on large and awkward bodies', async () => {
  const bodies: Record<string, string> = {
    'long lines over several 64 KiB encoder slices': 'abc def ghi '.repeat(12000),
    'non-ASCII lines': 'line of text ü\n'.repeat(5000),
    'ASCII over 128 KiB': 'short\n'.repeat(23000),
    'white space at the end': `x${' '.repeat(70000)}`,
    'white space in the middle': `x${' '.repeat(70000)}y`,
    'a space at a slice boundary': `${'a'.repeat(65535)} ${'b'.repeat(100)}`,
    'a CRLF across a slice boundary': `${'a'.repeat(65535)}\n${'b'.repeat(100)}`,
    'a space before a line break at a slice boundary': `${'a'.repeat(65534)} \n${'b'.repeat(100)}`,
    'mostly non-Latin (base64)': '日本語のテキストです。'.repeat(4000),
    'two-octet characters': 'é'.repeat(40000),
    'equals signs': '='.repeat(200),
    'mixed, ends in spaces': `${`Grüße, ${'x'.repeat(100)}\n`.repeat(1000)}   `,
  };
  // The encoder holds white space at the end back until it knows what follows: where the soft
  // line breaks fall near the end depends on it.
  for (let words = 8; words < 30; words += 3) {
    for (const spaces of [1, 4, 9, 20, 33]) bodies[`${words} words, ${spaces} spaces at the end`] = `${'wörd '.repeat(words)}end${' '.repeat(spaces)}`;
  }
  const options = { ...OPTIONS, maxMessageSize: 10 * 1024 * 1024 };
  for (const [label, body] of Object.entries(bodies)) {
    await assertSameAsMailComposer(message({ text: body }), `${label} (text)`, options);
    await assertSameAsMailComposer(message({ text: undefined, html: body }), `${label} (html)`, options);
  }
});

test('quoted-printable soft line breaks fall where qp.wrap puts them', () => {
  const r = random(9);
  // Long lines of words of every length (each break rule decides somewhere), and short pieces
  // with escapes, line breaks and white space anywhere.
  const letters = ['x', 'x', 'x', 'Z', '0', '=', 'é', '日', '👋', '\x01', 'c'];
  const breaks = [' ', ' ', ' ', '  ', '\t', '.', ',', '!', '?', '\r\n', ' \r\n', '-'];
  const pieces = ['a', ' ', '  ', '\t', '.', '=', 'é', '日', '👋', '\r\n', ' \r\n', '\x01', 'abcdefghij', 'x'.repeat(70), 'é'.repeat(30), '=3D', 'A9', 'c3'];
  for (let i = 0; i < 20000; i++) {
    let text = '';
    const n = Math.floor(r.next() * 40);
    for (let w = 0; w < n; w++) {
      text += i % 2 ? r.pick(pieces) : r.pick(letters).repeat(1 + Math.floor(r.next() * 40)) + r.pick(breaks);
    }
    let qp = qpEncodeReference(Buffer.from(text));
    if (r.next() < 0.1) qp += '\r'; // an encoder slice can end between CR and LF
    if (r.next() < 0.1) qp = qp.slice(0, Math.floor(r.next() * qp.length));
    assert.equal(qpSoftBreaks(qp), qpWrapReference(qp, 76), JSON.stringify(qp));
  }
});

test('strict base64 is decided as before: alphabet, padding, final bits, and bad base64 before size', async () => {
  // The previous check: white space removed, the pattern, then a decode and encode round trip.
  const reference = (content: string) => {
    const clean = content.replace(/[ \t\r\n]+/g, '');
    if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return 'not base64';
    return Buffer.from(clean, 'base64').toString('base64') === clean ? 'ok' : 'bits';
  };
  const outcome = async (content: string) => {
    try {
      await composeMessage(message({ attachments: [{ filename: 'x.bin', content }] }), OPTIONS);
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof SmtpRejection && err.field === 'attachments[0].content', String(err));
      return /bits that do not decode/.test(err.reply.text) ? 'bits' : 'not base64';
    }
  };
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const cases: string[] = [];
  for (const c of alphabet) cases.push(`QUJD${c}A==`, `QUJD${c}==`, `QUJ${c}=`, `QU${c}A`);
  const r = random(5);
  const junk = ['=', '=', '-', '_', ' ', '\n', '\r', '\r\n', '\t', '!', 'é', '日', '\0', '.', '\x7f', '%', '\u00a0', '\v'];
  for (let i = 0; i < 2000; i++) {
    let s = Array.from({ length: Math.floor(r.next() * 14) }, () => (r.next() < 0.85 ? r.pick([...alphabet]) : r.pick(junk))).join('');
    if (r.next() < 0.3) s = s.slice(0, Math.max(0, s.length - 2)) + r.pick(['=', '==']);
    cases.push(s);
  }
  for (const content of cases) assert.equal(await outcome(content), reference(content), JSON.stringify(content));

  // Bad base64 is named as such even when it would also be too big; bad final bits come after
  // the size, as before.
  const small = { maxMessageSize: 1000 };
  await rejects(compose({ attachments: [{ filename: 'a', content: '!!!!'.repeat(1000) }] }, small), 'attachments[0].content', 550);
  await rejects(compose({ attachments: [{ filename: 'a', content: `${'AAAA'.repeat(1000)}QR==` }] }, small), 'attachments[0].content', 552);
  await rejects(compose({ attachments: [{ filename: 'a', content: `${'AAAA'.repeat(100)}QR==` }] }), 'attachments[0].content', 550);
});

test('the boundary is never text the content holds: it is drawn again', () => {
  const held = '0123456789abcdef';
  const message: WriterMessage = {
    headers: [],
    from: { name: '', address: 'a@example.com' },
    to: [{ name: '', address: 'b@example.net' }],
    cc: [],
    replyTo: [],
    messageId: '<x@example.com>',
    date: 'Tue, 7 May 2024 09:05:03 +0000',
    text: `a line that looks like a delimiter:\r\n----_NmP-${held}-Part_1\r\n`,
    html: '<p>x</p>',
    attachments: [{ filename: 'fwd.eml', contentType: 'message/rfc822', raw: Buffer.from(`Subject: x\r\n\r\n--${held}\r\n`) }],
  };
  for (const where of ['text', 'raw'] as const) {
    const draws = [held, 'fedcba9876543210'];
    const m = where === 'text' ? { ...message, attachments: [] } : { ...message, text: 'plain\r\n' };
    const body = writeMessage(m, () => draws.shift()!).toString();
    assert.equal(draws.length, 0, where);
    assert.ok(!body.includes(`boundary="--_NmP-${held}`), where);
    assert.match(body, /boundary="--_NmP-fedcba9876543210-Part_1"/, where);
  }
});
