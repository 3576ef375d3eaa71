import { test } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { loadConfig } from '../config/index.js';
import { newMessageId, parseUnsubscribeLocalPart, SmtpRejection, verifyTrackingToken, type Clock } from '../core/index.js';
import { openSqlite } from '../storage/index.js';
import { SqliteQueueStore } from '../queue/index.js';
import { composeMessage } from './compose.js';
import { createAcceptPipeline } from './pipeline.js';
import {
  createMessageTracker,
  decodeHtmlEntities,
  decodeQuotedPrintable,
  encodeQuotedPrintable,
  parseLinkTracking,
  rewriteHtml,
  rewriteMessage,
  rewriteTextLinks,
  trackingFromHeaders,
  UntrackableMessage,
  type RewriteOptions,
  type TrackInput,
} from './tracking.js';
import type { SenderDomains } from './types.js';

const secret = Buffer.from('tracking secret for tests, 32 b.');
const BASE = 'https://t.herald.example';
const NOW = new Date(Date.UTC(2030, 0, 1, 12));
const clock: Clock = { now: () => NOW };

/** Links become `T(<url>)`, so a test reads what was rewritten and to which URL. */
const marking: RewriteOptions = { pixel: 'PIXEL', html: true, text: true, clickUrl: (url) => `T(${url})` };

test('HTML: http(s) links are rewritten; mailto:, tel:, anchors, relative links and notrack links are not', () => {
  const html = [
    '<p><a href="https://shop.example/a">A</a>',
    "<a class=x href='http://shop.example/b?x=1'>B</a>",
    '<a href=https://shop.example/c>C</a>',
    '<A HREF="HTTPS://SHOP.EXAMPLE/D">D</A>',
    '<a href="mailto:help@shop.example">mail</a> <a href="tel:+123">tel</a> <a href="#top">top</a> <a href="/relative">rel</a>',
    '<a data-herald-notrack href="https://shop.example/private">private</a>',
    '<abbr title="https://not.a.link/">x</abbr> <area href="https://shop.example/map">',
    '</p>',
  ].join('\r\n');
  const out = rewriteHtml(html, { ...marking, pixel: null });
  assert.equal(out.links, 4);
  assert.equal(
    out.text,
    [
      '<p><a href="T(https://shop.example/a)">A</a>',
      '<a class=x href="T(http://shop.example/b?x=1)">B</a>',
      '<a href="T(https://shop.example/c)">C</a>',
      '<A HREF="T(HTTPS://SHOP.EXAMPLE/D)">D</A>',
      '<a href="mailto:help@shop.example">mail</a> <a href="tel:+123">tel</a> <a href="#top">top</a> <a href="/relative">rel</a>',
      '<a data-herald-notrack href="https://shop.example/private">private</a>',
      '<abbr title="https://not.a.link/">x</abbr> <area href="https://shop.example/map">',
      '</p>',
    ].join('\r\n'),
  );
});

test('HTML: entities in an href are decoded to the URL a browser would follow; quotes and > inside values are kept apart', () => {
  const out = rewriteHtml(
    '<a title="a > b" href="https://shop.example/?a=1&amp;b=2&#38;c=&#x33;&unknown;"\r\n  >x</a><a href=" https://shop.example/sp\r\nlit ">y</a>',
    { ...marking, pixel: null },
  );
  assert.equal(out.text, '<a title="a > b" href="T(https://shop.example/?a=1&b=2&c=3&unknown;)"\r\n  >x</a><a href="T(https://shop.example/split)">y</a>');
  assert.equal(decodeHtmlEntities('&lt;&gt;&quot;&apos;&nbsp;&#0;&#x110000;'), '<>"\'\u00a0&#0;&#x110000;');
});

test('HTML: the pixel goes before </body>, else before </html>, else at the end', () => {
  assert.equal(rewriteHtml('<html><body><p>Hi</p></body></html>', marking).text, '<html><body><p>Hi</p><img src="PIXEL" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;margin:0;padding:0"></body></html>');
  assert.match(rewriteHtml('<p>Hi</p></HTML>\r\n', marking).text, /^<p>Hi<\/p><img src="PIXEL"[^>]*><\/HTML>\r\n$/);
  assert.match(rewriteHtml('<p>Hi</p>\r\n', marking).text, /^<p>Hi<\/p><img src="PIXEL"[^>]*>\r\n$/);
  assert.equal(rewriteHtml('<p>Hi</p>', { ...marking, pixel: null }).text, '<p>Hi</p>');
});

test('text: URLs end before trailing punctuation and unmatched brackets', () => {
  const out = rewriteTextLinks('See https://shop.example/a. Or (https://shop.example/b) and <https://shop.example/c>, https://en.example/W_(x)!\r\n', marking);
  assert.equal(out.text, 'See T(https://shop.example/a). Or (T(https://shop.example/b)) and <T(https://shop.example/c)>, T(https://en.example/W_(x))!\r\n');
  assert.equal(out.links, 4);
});

test('quoted-printable: decoding is lenient, encoding keeps lines to 76 and round-trips', () => {
  assert.equal(decodeQuotedPrintable(Buffer.from('a=3Db=\r\nc  \r\nd=\t\r\ne=zz')).toString(), 'a=bc\r\nde=zz');
  const content = Buffer.from(`${'x'.repeat(200)} café = ok\t\r\ntrailing space \r\n.`, 'utf8');
  const encoded = encodeQuotedPrintable(content, false);
  for (const line of encoded.split('\r\n')) assert.ok(line.length <= 76, line);
  assert.doesNotMatch(encoded, /[ \t]\r\n/, 'no white space before a line break');
  assert.deepEqual(decodeQuotedPrintable(Buffer.from(encoded)), content);
  assert.ok(encodeQuotedPrintable(Buffer.from('x'), true).endsWith('=\r\n'));
});

async function composed(html: string, text = 'Plain text https://shop.example/t\n') {
  return (
    await composeMessage(
      {
        from: 'Shop <news@shop.example>',
        to: ['ann@a.example'],
        subject: 'News',
        text,
        html,
        attachments: [
          { filename: 'page.html', content: Buffer.from('<a href="https://shop.example/attached">x</a>').toString('base64'), contentType: 'text/html' },
          { filename: 'logo.png', content: Buffer.from('not really a png').toString('base64'), contentType: 'image/png', contentId: 'logo@shop' },
        ],
      },
      { messageId: 'm@herald.test', date: NOW, maxMessageSize: 1024 * 1024, maxRecipients: 10 },
    )
  ).body;
}

test('a composed message: its quoted-printable HTML part is rewritten; every other byte stays as it was', async () => {
  const html = `<html><body><p>Grüße — ${'long text '.repeat(20)}</p><a href="https://shop.example/offer?a=1&amp;b=2">Offer</a><img src="cid:logo@shop"></body></html>`;
  const message = await composed(html);
  assert.match(message.toString(), /Content-Type: text\/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable/);
  const result = rewriteMessage(message, { ...marking, text: false });
  assert.equal(result.links, 1);
  assert.equal(result.pixels, 1);

  const before = await PostalMime.parse(message);
  const after = await PostalMime.parse(result.body);
  // (postal-mime ends each text with a line break of its own.)
  assert.equal(after.html, `${html.replace('https://shop.example/offer?a=1&amp;b=2', 'T(https://shop.example/offer?a=1&b=2)').replace('</body>', `${pixelTag('PIXEL')}</body>`)}\n`);
  assert.equal(after.text, before.text, 'text untouched when only HTML links are tracked');
  assert.deepEqual(
    after.attachments.map((a) => Buffer.from(a.content as ArrayBuffer).toString()),
    before.attachments.map((a) => Buffer.from(a.content as ArrayBuffer).toString()),
    'an attached .html file is cargo, not the message',
  );
  // Outside the HTML part, the bytes are the same.
  const htmlStart = message.indexOf('Content-Type: text/html');
  assert.deepEqual(result.body.subarray(0, htmlStart), message.subarray(0, htmlStart));
  const tail = message.subarray(message.indexOf('\r\n--', htmlStart));
  assert.deepEqual(result.body.subarray(result.body.length - tail.length), tail);
  for (const line of result.body.toString('latin1').split('\r\n')) assert.ok(line.length <= 76, `line of ${line.length}`);
});

test('html_and_text rewrites the text part too; text_only leaves HTML links but a pixel still goes in', async () => {
  const message = await composed('<p><a href="https://shop.example/h">h</a></p>');
  // (postal-mime ends each text with a line break of its own.)
  const both = await PostalMime.parse(rewriteMessage(message, { ...marking, pixel: null }).body);
  assert.equal(both.text, 'Plain text T(https://shop.example/t)\n\n');
  assert.equal(both.html, '<p><a href="T(https://shop.example/h)">h</a></p>\n');
  const textOnly = await PostalMime.parse(rewriteMessage(message, { ...marking, html: false }).body);
  assert.equal(textOnly.text, 'Plain text T(https://shop.example/t)\n\n');
  assert.equal(textOnly.html, `<p><a href="https://shop.example/h">h</a></p>${pixelTag('PIXEL')}\n`);
});

test('SMTP messages: a base64 HTML part stays base64; a 7bit part whose lines grow too long becomes quoted-printable', async () => {
  const html = '<p><a href="https://shop.example/x">x</a></p>';
  const b64 = Buffer.from(
    ['From: a@shop.example', 'Content-Type: text/html; charset="UTF-8"', 'Content-Transfer-Encoding: BASE64', '', ...Buffer.from(html).toString('base64').match(/.{1,20}/g)!, ''].join('\r\n'),
  );
  const rewritten = rewriteMessage(b64, { ...marking, pixel: null }).body;
  assert.match(rewritten.toString(), /Content-Transfer-Encoding: BASE64\r\n\r\n[A-Za-z0-9+/=]+\r\n$/);
  assert.equal((await PostalMime.parse(rewritten)).html, '<p><a href="T(https://shop.example/x)">x</a></p>');

  const longLine = `${'<a href="https://shop.example/x">x</a>'.repeat(25)}`;
  const sevenBit = Buffer.from(['From: a@shop.example', 'Content-Type: text/html', 'Content-Transfer-Encoding: 7bit', 'X-Other: kept', '', longLine, ''].join('\r\n'));
  const longUrl = (url: string) => `https://t.example/c/${'y'.repeat(60)}?u=${url}`;
  const out = rewriteMessage(sevenBit, { ...marking, pixel: null, clickUrl: longUrl }).body;
  assert.match(out.toString(), /^From: a@shop\.example\r\nContent-Type: text\/html\r\nContent-Transfer-Encoding: quoted-printable\r\nX-Other: kept\r\n\r\n/);
  assert.equal((await PostalMime.parse(out)).html, `${longLine.replaceAll('https://shop.example/x', longUrl('https://shop.example/x'))}\n`);
});

test('a message whose structure cannot be followed is refused by the walker (and sent untracked by the step)', async () => {
  const broken = Buffer.from('Content-Type: multipart/alternative; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/html\r\n\r\n<a href="https://x.example/">x</a>\r\n');
  assert.throws(() => rewriteMessage(broken, marking), UntrackableMessage);
  assert.throws(() => rewriteMessage(Buffer.from('Content-Type: multipart/mixed\r\n\r\nx\r\n'), marking), UntrackableMessage);
  const track = createMessageTracker({ secret, baseUrl: BASE });
  const out = await track(input({ body: broken, request: { opens: true, links: 'html_only' } }));
  assert.deepEqual(out.body, broken);
  assert.deepEqual(out.meta, { opens: true, links: 'html_only', skipped: 'a multipart part has no closing boundary' });
});

test('boundaries: a line that only starts like the boundary is content; preamble and epilogue are kept', async () => {
  const message = Buffer.from(
    [
      'Content-Type: multipart/alternative; boundary=b1',
      '',
      'preamble --b1 not a delimiter',
      '--b1',
      'Content-Type: text/html',
      '',
      '<a href="https://x.example/">--b1x</a>',
      '--b1x is text too',
      '--b1  ',
      'Content-Type: text/plain',
      '',
      'plain',
      '--b1--',
      'epilogue',
      '',
    ].join('\r\n'),
  );
  const out = rewriteMessage(message, { ...marking, pixel: null, text: false }).body.toString();
  assert.equal(out, message.toString().replace('"https://x.example/"', '"T(https://x.example/)"'));
});

function pixelTag(src: string): string {
  return `<img src="${src}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">`;
}

function input(extra: Partial<TrackInput> = {}): TrackInput {
  return {
    accountId: 'default',
    messageId: newMessageId(NOW.getTime()),
    body: Buffer.from('From: news@shop.example\r\nContent-Type: text/html\r\n\r\n<p><a href="https://shop.example/a">a</a></p>\r\n'),
    recipients: ['ann@a.example'],
    stream: 'transactional',
    fromDomain: 'shop.example',
    request: {},
    ...extra,
  };
}

const senders: Pick<SenderDomains, 'trackingHostFor' | 'returnPathFor'> = {
  trackingHostFor: async (_account, domain) => (domain === 'shop.example' ? 'track.shop.example' : null),
  returnPathFor: async (_account, domain) => (domain === 'shop.example' ? 'bounces.shop.example' : null),
};

test('the step: signed links on the verified tracking host, naming the one recipient; the account default applies when the message does not choose', async () => {
  let defaults = { opens: false, links: false };
  const track = createMessageTracker({ secret, baseUrl: 'https://t.herald.example:8443/h', senders, defaults: { trackingFor: async () => defaults } });
  const off = await track(input());
  assert.equal(off.meta, undefined);
  assert.doesNotMatch(off.body.toString(), /t\/c\//);

  defaults = { opens: true, links: true };
  const on = input();
  const out = await track(on);
  assert.deepEqual(out.meta, { opens: true, links: 'html_only' });
  const html = out.body.toString();
  const click = /href="(https:\/\/track\.shop\.example:8443\/h\/t\/c\/([A-Za-z0-9_-]+))"/.exec(html);
  assert.ok(click, html);
  assert.deepEqual(verifyTrackingToken(secret, click[2]), { kind: 'click', accountId: 'default', messageId: on.messageId, recipient: 'ann@a.example', url: 'https://shop.example/a' });
  const open = /src="https:\/\/track\.shop\.example:8443\/h\/t\/o\/([A-Za-z0-9_-]+)"/.exec(html);
  assert.ok(open, html);
  assert.deepEqual(verifyTrackingToken(secret, open[1]), { kind: 'open', accountId: 'default', messageId: on.messageId, recipient: 'ann@a.example' });

  // The message's own choice wins over the account's.
  assert.equal((await track(input({ request: { opens: false, links: 'none' } }))).meta, undefined);
  // Two recipients: one body, so the tokens cannot say who.
  const two = await track(input({ recipients: ['ann@a.example', 'bob@a.example'], fromDomain: 'unverified.example' }));
  const token = /href="https:\/\/t\.herald\.example:8443\/h\/t\/c\/([A-Za-z0-9_-]+)"/.exec(two.body.toString());
  assert.ok(token, 'the public URL when the domain has no tracking host');
  assert.equal(verifyTrackingToken(secret, token[1])?.recipient, undefined);
});

test('the step never rewrites Herald’s own tracking links nor the sender’s own unsubscribe URL', async () => {
  const track = createMessageTracker({ secret, baseUrl: BASE });
  const body = Buffer.from(
    [
      'From: news@shop.example',
      'List-Unsubscribe: <https://shop.example/unsub?u=1>, <mailto:unsub@shop.example>',
      'Content-Type: text/html',
      '',
      `<a href="https://shop.example/unsub?u=1">unsubscribe</a><a href="${BASE}/t/u/abc">ours</a><a href="https://shop.example/b">b</a>`,
      '',
    ].join('\r\n'),
  );
  const html = (await track(input({ body, request: { links: 'html_only' } }))).body.toString();
  assert.match(html, /<a href="https:\/\/shop\.example\/unsub\?u=1">unsubscribe<\/a><a href="https:\/\/t\.herald\.example\/t\/u\/abc">ours<\/a><a href="https:\/\/t\.herald\.example\/t\/c\//);
});

test('List-Unsubscribe: broadcast mail to one recipient gets the URL and mailto forms and One-Click; otherwise nothing', async () => {
  const track = createMessageTracker({ secret, baseUrl: BASE, senders });
  const one = input({ stream: 'broadcast' });
  const text = (await track(one)).body.toString();
  const m = /^List-Unsubscribe: <https:\/\/track\.shop\.example\/t\/u\/([A-Za-z0-9_-]+)>,\r\n <mailto:(u\+[^@]+)@bounces\.shop\.example>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nFrom: /.exec(text);
  assert.ok(m, text);
  assert.deepEqual(verifyTrackingToken(secret, m[1]), { kind: 'unsubscribe', accountId: 'default', messageId: one.messageId, recipient: 'ann@a.example' });
  assert.equal(parseUnsubscribeLocalPart(secret, m[2]), one.messageId);

  // No bounce domain: no mailto. An http public URL: no One-Click (RFC 8058 needs HTTPS).
  const plain = (await createMessageTracker({ secret, baseUrl: 'http://herald.test:8080' })(input({ stream: 'broadcast' }))).body.toString();
  assert.match(plain, /^List-Unsubscribe: <http:\/\/herald\.test:8080\/t\/u\/[A-Za-z0-9_-]+>\r\nFrom: /);
  assert.doesNotMatch(plain, /List-Unsubscribe-Post/);

  assert.doesNotMatch((await track(input({ stream: 'transactional' }))).body.toString(), /List-Unsubscribe/);
  assert.doesNotMatch((await track(input({ stream: 'broadcast', recipients: ['a@a.example', 'b@a.example'] }))).body.toString(), /List-Unsubscribe/);
  const own = Buffer.from('From: news@shop.example\r\nlist-unsubscribe: <https://shop.example/u>\r\n\r\nx\r\n');
  assert.deepEqual((await track(input({ stream: 'broadcast', body: own }))).body, own, 'the sender’s own field is kept and nothing added');
});

test('requests: track_links values and X-Herald-Track-* fields', () => {
  assert.equal(parseLinkTracking(true, 'track_links'), 'html_only');
  assert.equal(parseLinkTracking(false, 'track_links'), 'none');
  assert.equal(parseLinkTracking('HTML_AND_TEXT', 'track_links'), 'html_and_text');
  assert.throws(() => parseLinkTracking('sometimes', 'track_links'), (err: SmtpRejection) => err.field === 'track_links' && /is true, false, "html_only"/.test(err.reply.text));
  assert.deepEqual(trackingFromHeaders([{ name: 'X-Herald-Track-Opens', value: ' TRUE ' }, { name: 'x-herald-track-links', value: 'false' }]), { opens: true, links: 'none' });
  assert.throws(() => trackingFromHeaders([{ name: 'X-Herald-Track-Opens', value: 'yes' }]), (err: SmtpRejection) => err.message === '550 5.6.0 X-Herald-Track-Opens is true or false');
});

test('the pipeline tracks SMTP mail asked to by X-Herald-Track-* before signing, and records it in the message meta', async (t) => {
  const db = openSqlite(':memory:');
  const store = new SqliteQueueStore(db, { clock });
  t.after(async () => {
    await store.close();
    db.close();
  });
  const { config } = loadConfig({ env: {}, overrides: { hostname: 'mx.herald.test', publicUrl: 'https://mail.herald.test' } });
  const pipeline = createAcceptPipeline({ store, config, clock, tracking: { secret } });
  const body = [
    'From: news@shop.example',
    'To: ann@a.example',
    'X-Herald-Track-Opens: true',
    'X-Herald-Track-Links: true',
    'X-Herald-Stream: broadcast',
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<p>Gr=C3=BC=C3=9Fe <a href=3D"https://shop.example/=',
    'sale?x=3D1&amp;y=3D2">Sale</a></p></body>',
    '',
  ].join('\r\n');
  const accepted = await pipeline.accept({ source: 'smtp', accountId: 'default', mailFrom: 'news@shop.example', recipients: ['ann@a.example'], body: Buffer.from(body), receivedAt: NOW });
  const stored = (await store.getBody(accepted.id))!;
  const parsed = await PostalMime.parse(stored);
  const link = /<a href="https:\/\/mail\.herald\.test\/t\/c\/([A-Za-z0-9_-]+)">Sale<\/a>/.exec(parsed.html ?? '');
  assert.ok(link, parsed.html);
  assert.equal(verifyTrackingToken(secret, link[1])?.url, 'https://shop.example/sale?x=1&y=2');
  assert.match(parsed.html ?? '', /^<p>Grüße <a [^>]+>Sale<\/a><\/p><img src="https:\/\/mail\.herald\.test\/t\/o\/[A-Za-z0-9_-]+"[^>]*><\/body>/);
  assert.doesNotMatch(stored.toString(), /X-Herald-/i);
  assert.match(stored.toString(), /^Received: [^]*List-Unsubscribe: <https:\/\/mail\.herald\.test\/t\/u\/[A-Za-z0-9_-]+>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n/);
  const meta = (await store.get(accepted.id))!.meta;
  assert.deepEqual(meta.tracking, { opens: true, links: 'html_only' });

  await assert.rejects(
    pipeline.accept({ source: 'smtp', accountId: 'default', mailFrom: 'news@shop.example', recipients: ['ann@a.example'], body: Buffer.from('From: news@shop.example\r\nX-Herald-Track-Links: maybe\r\n\r\nx\r\n'), receivedAt: NOW }),
    (err: SmtpRejection) => err.message === '550 5.6.0 X-Herald-Track-Links is true, false, "html_only", "text_only", "html_and_text" or "none"',
  );
});
