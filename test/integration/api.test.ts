/**
 * The HTTP sending API end to end: JSON in over real HTTP, the message out at the recipient's
 * MX (an SMTP sink found through a real DNS server), parsed there with a real MIME parser.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import PostalMime from 'postal-mime';
import { call, startApiWorld, type ApiWorld } from '../support/api.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

describe('HTTP API', () => {
  let w: ApiWorld;
  let sendKey: string;
  let readKey: string;

  before(async () => {
    w = await startApiWorld();
    sendKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'app', scope: 'send' })).key;
    readKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'reader', scope: 'read' })).key;
  });
  after(() => w.close());

  const send = (body: unknown, key = sendKey, headers: Record<string, string> = {}) => call(w.base, 'POST', '/api/v1/messages', { key, body, headers });

  test('a message with names, cc, bcc, UTF-8, custom headers, an attachment and an inline image arrives exactly as specified', async () => {
    const res = await send({
      from: 'Zoë Sender <zoe@sender.test>',
      to: ['Ann Örn <ann@a.test>'],
      cc: 'carl@b.test',
      bcc: ['hidden@b.test'],
      reply_to: 'replies@sender.test',
      subject: 'Grüße — your receipt №42',
      text: 'Hello Ann,\nthanks!',
      html: '<p>Hello Ann</p><img src="cid:logo@herald">',
      headers: { 'X-Campaign': 'spring', 'List-Unsubscribe': '<mailto:unsub@sender.test>' },
      attachments: [
        { filename: 'receipt.txt', content: Buffer.from('total: 42 €').toString('base64'), content_type: 'text/plain' },
        { filename: 'logo.png', content: PNG.toString('base64'), content_type: 'image/png', content_id: 'logo@herald' },
      ],
      tags: ['receipt'],
      metadata: { order: '42' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.status, 'queued');
    assert.match(res.body.id, /^[0-9a-z]{26}$/);
    assert.deepEqual(res.body.recipients.sort(), ['ann@a.test', 'carl@b.test', 'hidden@b.test']);

    const done = await w.events.finished(res.body.id, 3);
    assert.ok(done.every((e) => e.type === 'delivered'));
    const atA = w.a.messages.find((m) => m.rcptTo.includes('ann@a.test'))!;
    const atB = w.b.messages.find((m) => m.rcptTo.includes('carl@b.test'))!;
    assert.deepEqual(atB.rcptTo.sort(), ['carl@b.test', 'hidden@b.test']);
    assert.equal(atA.mailFrom, 'zoe@sender.test');

    const mail = await PostalMime.parse(atA.raw);
    assert.deepEqual(mail.from, { name: 'Zoë Sender', address: 'zoe@sender.test' });
    assert.deepEqual(mail.to, [{ name: 'Ann Örn', address: 'ann@a.test' }]);
    assert.deepEqual(mail.cc, [{ name: '', address: 'carl@b.test' }]);
    assert.equal(mail.subject, 'Grüße — your receipt №42');
    assert.equal(mail.text?.trim(), 'Hello Ann,\nthanks!');
    assert.match(mail.html ?? '', /<img src="cid:logo@herald">/);
    const header = (name: string) => mail.headers.filter((h) => h.key === name.toLowerCase()).map((h) => h.value);
    assert.deepEqual(header('X-Campaign'), ['spring']);
    assert.deepEqual(header('Bcc'), []);
    assert.equal(header('Message-ID')[0], `<${res.body.id}@herald.test>`);
    assert.ok(!atA.raw.includes('X-Herald-'), 'no Herald instructions leave the box');
    const receipt = mail.attachments.find((a) => a.filename === 'receipt.txt')!;
    assert.equal(Buffer.from(receipt.content as ArrayBuffer).toString(), 'total: 42 €');
    const logo = mail.attachments.find((a) => a.filename === 'logo.png')!;
    assert.equal(logo.contentId, '<logo@herald>');
    assert.equal(logo.disposition, 'inline');
    assert.deepEqual(Buffer.from(logo.content as ArrayBuffer), PNG);
    // Raw structure: the inline image travels with the HTML in multipart/related.
    assert.match(atA.raw.toString(), /multipart\/related/);
    assert.match(atA.raw.toString(), /multipart\/mixed/);

    const detail = await call(w.base, 'GET', `/api/v1/messages/${res.body.id}`, { key: readKey });
    assert.equal(detail.status, 200);
    assert.equal(detail.body.status, 'delivered');
    assert.deepEqual(detail.body.tags, ['receipt']);
    assert.deepEqual(detail.body.metadata, { order: '42' });
    assert.equal(detail.body.subject, 'Grüße — your receipt №42');
    assert.deepEqual(detail.body.recipients.map((r: { state: string }) => r.state), ['delivered', 'delivered', 'delivered']);
    assert.deepEqual(
      detail.body.events.map((e: { type: string }) => e.type),
      ['accepted', 'delivered', 'delivered', 'delivered'],
    );
  });

  test('CR/LF in a subject, a name, a header or a filename never makes a header: 422 naming the field, nothing queued', async () => {
    const before = (await w.herald.store.list({ limit: 1000 })).length;
    const base = { from: 'app@sender.test', to: 'victim@a.test', text: 'x' };
    const cases: [Record<string, unknown>, string][] = [
      [{ subject: 'Hi\r\nBcc: evil@b.test' }, 'subject'],
      [{ subject: 'Hi\nBcc: evil@b.test' }, 'subject'],
      [{ from: 'Evil\r\nBcc: evil@b.test <app@sender.test>' }, 'from'],
      [{ to: ['ok@a.test', 'Name\r\nX-Injected: 1 <victim@a.test>'] }, 'to[1]'],
      [{ headers: { 'X-Note': 'a\r\nBcc: evil@b.test' } }, 'headers.X-Note'],
      [{ headers: { 'X-Bad\r\nBcc': 'x' } }, 'headers.X-Bad\r\nBcc'],
      [{ attachments: [{ filename: 'a.txt"\r\nX-Injected: 1', content: 'eA==' }] }, 'attachments[0].filename'],
      [{ reply_to: 'r@sender.test\r\nBcc: evil@b.test' }, 'reply_to[0]'],
    ];
    for (const [over, field] of cases) {
      const res = await send({ ...base, ...over });
      assert.equal(res.status, 422, `${JSON.stringify(over)} → ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'invalid');
      assert.equal(res.body.error.field, field);
      assert.equal(typeof res.body.error.message, 'string');
    }
    assert.equal((await w.herald.store.list({ limit: 1000 })).length, before, 'nothing was queued');
  });

  test('every malformed request is a JSON error naming the field', async () => {
    const bad = await call(w.base, 'POST', '/api/v1/messages', { key: sendKey, body: '{"from": ' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'bad_request');

    const unknown = await send({ from: 'a@sender.test', to: 'b@a.test', text: 'x', sbuject: 'typo' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.field, 'sbuject');

    const missing = await send({ to: 'b@a.test', text: 'x' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.field, 'from');

    const wrongType = await send({ from: 'a@sender.test', to: 'b@a.test', text: 'x', tags: 'one' });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.error.field, 'tags');

    const badAddress = await send({ from: 'a@sender.test', to: ['b@a.test', 'not an address'], text: 'x' });
    assert.equal(badAddress.status, 422);
    assert.equal(badAddress.body.error.field, 'to[1]');

    const noBody = await send({ from: 'a@sender.test', to: 'b@a.test', subject: 'empty' });
    assert.equal(noBody.status, 422);

    const route = await call(w.base, 'GET', '/api/v1/nope', { key: sendKey });
    assert.equal(route.status, 404);
    assert.equal(route.body.error.code, 'not_found');
  });

  test('an over-size message is 413 and leaves nothing in the queue', async () => {
    const small = await startApiWorld({ HERALD_MAX_MESSAGE_SIZE: '64KB' });
    try {
      const big = Buffer.alloc(100 * 1024, 7).toString('base64');
      const res = await call(small.base, 'POST', '/api/v1/messages', {
        key: small.adminKey,
        body: { from: 'a@sender.test', to: 'b@a.test', text: 'x', attachments: [{ filename: 'big.bin', content: big }] },
      });
      assert.equal(res.status, 413, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'too_large');
      const huge = await call(small.base, 'POST', '/api/v1/messages', {
        key: small.adminKey,
        body: { from: 'a@sender.test', to: 'b@a.test', text: 'x'.repeat(2 * 1024 * 1024) },
      });
      assert.equal(huge.status, 413);
      assert.deepEqual(await small.herald.store.list({ limit: 10 }), []);
    } finally {
      await small.close();
    }
  });

  test('keys: none is 401, a wrong one is 401, a scope that does not fit is 403', async () => {
    const none = await call(w.base, 'POST', '/api/v1/messages', { body: { from: 'a@sender.test', to: 'b@a.test', text: 'x' } });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    const wrong = await send({ from: 'a@sender.test', to: 'b@a.test', text: 'x' }, 'hk_notakey');
    assert.equal(wrong.status, 401);
    const readSends = await send({ from: 'a@sender.test', to: 'b@a.test', text: 'x' }, readKey);
    assert.equal(readSends.status, 403);
    assert.equal(readSends.body.error.code, 'forbidden');
    const sendReads = await call(w.base, 'GET', '/api/v1/messages', { key: sendKey });
    assert.equal(sendReads.status, 403);
    const sendManages = await call(w.base, 'POST', '/api/v1/templates', { key: sendKey, body: { text: 'x' } });
    assert.equal(sendManages.status, 403);
    const revoked = await w.herald.accounts.createApiKey({ accountId: 'default', name: 'short-lived', scope: 'send' });
    await w.herald.accounts.revokeApiKey(revoked.id);
    assert.equal((await send({ from: 'a@sender.test', to: 'b@a.test', text: 'x' }, revoked.key)).status, 401);
  });

  test('an account never sees another account’s messages or templates', async () => {
    const other = await w.herald.accounts.create({ name: 'other-team' });
    await w.herald.domains.setDevelopmentMode(other.id, true);
    const otherKey = (await w.herald.accounts.createApiKey({ accountId: other.id, name: 'admin', scope: 'admin' })).key;
    const mine = await send({ from: 'a@sender.test', to: 'mine@a.test', text: 'x', tags: ['isolation'] });
    assert.equal(mine.status, 202);
    const theirs = await call(w.base, 'POST', '/api/v1/messages', { key: otherKey, body: { from: 'o@sender.test', to: 'theirs@a.test', text: 'y', tags: ['isolation'] } });
    assert.equal(theirs.status, 202);

    assert.equal((await call(w.base, 'GET', `/api/v1/messages/${mine.body.id}`, { key: otherKey })).status, 404);
    const listed = await call(w.base, 'GET', '/api/v1/messages?tag=isolation', { key: otherKey });
    assert.deepEqual(listed.body.messages.map((m: { id: string }) => m.id), [theirs.body.id]);
    const mineListed = await call(w.base, 'GET', '/api/v1/messages?tag=isolation', { key: readKey });
    assert.deepEqual(mineListed.body.messages.map((m: { id: string }) => m.id), [mine.body.id]);

    const tpl = await call(w.base, 'POST', '/api/v1/templates', { key: otherKey, body: { alias: 'private', text: 'hi' } });
    assert.equal(tpl.status, 201);
    assert.equal((await call(w.base, 'GET', `/api/v1/templates/${tpl.body.id}`, { key: w.adminKey })).status, 404);
    const useTheirs = await call(w.base, 'POST', '/api/v1/messages', { key: w.adminKey, body: { from: 'a@sender.test', to: 'b@a.test', template: { alias: 'private' } } });
    assert.equal(useTheirs.status, 422);
    assert.equal(useTheirs.body.error.field, 'template.alias');
  });

  test('search by recipient, status and tag, paginated by cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await send({ from: 'a@sender.test', to: 'search@a.test', text: `n${i}`, tags: ['search'] });
      ids.push(res.body.id);
    }
    for (const id of ids) await w.events.finished(id, 1);
    const page1 = await call(w.base, 'GET', '/api/v1/messages?tag=search&limit=2', { key: readKey });
    assert.equal(page1.status, 200);
    assert.deepEqual(page1.body.messages.map((m: { id: string }) => m.id), [ids[2], ids[1]]);
    const page2 = await call(w.base, 'GET', `/api/v1/messages?tag=search&limit=2&cursor=${page1.body.next_cursor}`, { key: readKey });
    assert.deepEqual(page2.body.messages.map((m: { id: string }) => m.id), [ids[0]]);
    assert.equal(page2.body.next_cursor, null);
    const byRecipient = await call(w.base, 'GET', '/api/v1/messages?recipient=search@a.test&status=delivered', { key: readKey });
    assert.deepEqual(byRecipient.body.messages.map((m: { id: string }) => m.id), [...ids].reverse());
    const none = await call(w.base, 'GET', '/api/v1/messages?recipient=search@a.test&status=bounced', { key: readKey });
    assert.deepEqual(none.body.messages, []);
    const badStatus = await call(w.base, 'GET', '/api/v1/messages?status=lost', { key: readKey });
    assert.equal(badStatus.status, 400);
    assert.equal(badStatus.body.error.field, 'status');
  });

  test('search by sender (address or domain) and subject text', async () => {
    const a = await send({ from: 'Orders@Shop.test', to: 'find@a.test', subject: 'Your order #1042 has shipped', text: 'a' });
    const b = await send({ from: 'billing@shop.test', to: 'find@a.test', subject: 'Invoice for ORDER #1042', text: 'b' });
    const c = await send({ from: 'orders@elsewhere.test', to: 'find@a.test', subject: 'Order #1042 elsewhere', text: 'c' });
    const list = async (query: string) => {
      const res = await call(w.base, 'GET', `/api/v1/messages?recipient=find@a.test&${query}`, { key: readKey });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.messages.map((m: { id: string }) => m.id);
    };
    assert.deepEqual(await list('sender=Orders@shop.TEST'), [a.body.id]);
    assert.deepEqual(await list('sender=%40shop.test'), [b.body.id, a.body.id]);
    assert.deepEqual(await list(`subject=${encodeURIComponent('order #1042')}`), [c.body.id, b.body.id, a.body.id]);
    assert.deepEqual(await list(`subject=shipped&sender=${encodeURIComponent('@shop.test')}`), [a.body.id]);
    assert.deepEqual(await list('subject=nothing-like-this'), []);
    const short = await call(w.base, 'GET', '/api/v1/messages?subject=ab', { key: readKey });
    assert.equal(short.status, 400);
    assert.equal(short.body.error.field, 'subject');
    const badSender = await call(w.base, 'GET', '/api/v1/messages?sender=not-an-address', { key: readKey });
    assert.equal(badSender.status, 400);
    assert.equal(badSender.body.error.field, 'sender');
  });

  test('a batch: each message judged alone, the good ones delivered', async () => {
    const res = await call(w.base, 'POST', '/api/v1/messages/batch', {
      key: sendKey,
      body: {
        messages: [
          { from: 'a@sender.test', to: 'batch1@a.test', text: 'one' },
          { from: 'a@sender.test', to: 'not-an-address', text: 'two' },
          { from: 'a@sender.test', to: 'batch3@b.test', subject: 'three', html: '<b>3</b>' },
        ],
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.accepted, 2);
    assert.equal(res.body.rejected, 1);
    assert.deepEqual(res.body.results.map((r: { status: string }) => r.status), ['queued', 'rejected', 'queued']);
    assert.equal(res.body.results[1].error.field, 'to[0]');
    await w.events.finished(res.body.results[0].id, 1);
    await w.events.finished(res.body.results[2].id, 1);
    const tooMany = await call(w.base, 'POST', '/api/v1/messages/batch', {
      key: sendKey,
      body: { messages: Array.from({ length: 501 }, () => ({ from: 'a@sender.test', to: 'x@a.test', text: 'x' })) },
    });
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.body.error.field, 'messages');
  });

  test('a raw RFC 5322 message with its envelope; "\\n" line endings become CRLF', async () => {
    const raw = 'From: App <app@sender.test>\nTo: raw@a.test\nSubject: raw one\n\nBody line 1\nBody line 2\n';
    const res = await call(w.base, 'POST', '/api/v1/messages/raw', { key: sendKey, body: { from: 'app@sender.test', to: ['raw@a.test'], message: raw } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await w.events.finished(res.body.id, 1);
    const got = w.a.messages.find((m) => m.rcptTo.includes('raw@a.test'))!;
    const text = got.raw.toString();
    assert.match(text, /\r\nSubject: raw one\r\n\r\nBody line 1\r\nBody line 2\r\n$/);
    assert.ok(!/[^\r]\n/.test(text), 'no bare LF');
    const both = await call(w.base, 'POST', '/api/v1/messages/raw', { key: sendKey, body: { from: 'a@sender.test', to: 'x@a.test', message: 'x', message_base64: 'eA==' } });
    assert.equal(both.status, 422);
  });

  test('Idempotency-Key: a retry gets the first answer, another body under the same key is 409', async () => {
    const body = { from: 'a@sender.test', to: 'once@a.test', text: 'only once' };
    const first = await send(body, sendKey, { 'idempotency-key': 'order-1001' });
    assert.equal(first.status, 202);
    const retry = await send(body, sendKey, { 'idempotency-key': 'order-1001' });
    assert.equal(retry.status, 202);
    assert.deepEqual(retry.body, first.body);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const other = await send({ ...body, text: 'changed' }, sendKey, { 'idempotency-key': 'order-1001' });
    assert.equal(other.status, 409);
    assert.equal(other.body.error.field, 'Idempotency-Key');
    const queued = await call(w.base, 'GET', '/api/v1/messages?recipient=once@a.test', { key: readKey });
    assert.equal(queued.body.messages.length, 1);
  });

  test('send_at schedules: queued now, no attempt before that time', async () => {
    const at = new Date(Date.now() + 3600_000);
    const res = await send({ from: 'a@sender.test', to: 'later@a.test', text: 'later', send_at: at.toISOString() });
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'scheduled');
    assert.equal(res.body.send_at, at.toISOString());
    const detail = await call(w.base, 'GET', `/api/v1/messages/${res.body.id}`, { key: readKey });
    assert.equal(detail.body.status, 'queued');
    assert.equal(detail.body.recipients[0].next_attempt_at, at.toISOString());
    assert.equal(detail.body.send_at, at.toISOString());
    const tooFar = await send({ from: 'a@sender.test', to: 'later@a.test', text: 'x', send_at: new Date(Date.now() + 40 * 86400_000).toISOString() });
    assert.equal(tooFar.status, 422);
    assert.equal(tooFar.body.error.field, 'send_at');
    await w.herald.store.remove(res.body.id, new Date());
  });

  test('an account over its rate limit gets 429 with Retry-After, and sends nothing', async () => {
    const limited = await w.herald.accounts.create({ name: 'limited', ratePerMinute: 2 });
    await w.herald.domains.setDevelopmentMode(limited.id, true);
    const key = (await w.herald.accounts.createApiKey({ accountId: limited.id, name: 'app', scope: 'send' })).key;
    const msg = { from: 'a@sender.test', to: 'rate@a.test', text: 'x' };
    assert.equal((await send(msg, key)).status, 202);
    assert.equal((await send(msg, key)).status, 202);
    const third = await send(msg, key);
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'rate_limited');
    assert.ok(Number(third.headers.get('retry-after')) > 0);
    const list = await w.herald.store.list({ limit: 10, accountId: limited.id });
    assert.equal(list.length, 2);
  });

  test('SMTP mail carries tags and metadata in X-Herald-* fields, which never leave the box', async () => {
    const cred = await w.herald.credentials.create({ name: 'labels' });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: w.herald.port('submission'),
      requireTLS: true,
      auth: { user: cred.username!, pass: cred.password! },
      tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({
      from: 'app@sender.test',
      to: 'labelled@a.test',
      subject: 'labelled',
      text: 'x',
      headers: { 'X-Herald-Tags': 'welcome, onboarding', 'X-Herald-Metadata': '{"user":"7"}', 'X-Herald-Stream': 'broadcast' },
    });
    const id = /queued as ([0-9a-z]{26})/.exec(info.response)![1];
    await w.events.finished(id, 1);
    const got = w.a.messages.find((m) => m.rcptTo.includes('labelled@a.test'))!;
    assert.ok(!/x-herald-/i.test(got.raw.toString()), 'X-Herald-* fields are stripped before delivery');
    const detail = await call(w.base, 'GET', `/api/v1/messages/${id}`, { key: readKey });
    assert.deepEqual(detail.body.tags, ['welcome', 'onboarding']);
    assert.deepEqual(detail.body.metadata, { user: '7' });
    assert.equal(detail.body.stream, 'broadcast');
    await assert.rejects(
      transport.sendMail({ from: 'app@sender.test', to: 'x@a.test', text: 'x', headers: { 'X-Herald-Metadata': 'not json' } }),
      /550 5\.6\.0 X-Herald-Metadata must be a JSON object/,
    );
    transport.close();
  });

  test('an admin key manages the account’s API keys; a key works at once and stops at once', async () => {
    const me = await call(w.base, 'GET', '/api/v1/account', { key: sendKey });
    assert.equal(me.status, 200);
    assert.equal(me.body.id, 'default');
    assert.equal(me.body.key.scope, 'send');

    const created = await call(w.base, 'POST', '/api/v1/api-keys', { key: w.adminKey, body: { name: 'ci', scope: 'send' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.key, /^hk_/);
    const listed = await call(w.base, 'GET', '/api/v1/api-keys', { key: w.adminKey });
    const entry = listed.body.api_keys.find((k: { id: string }) => k.id === created.body.id);
    assert.ok(entry, 'the new key is listed');
    assert.ok(!JSON.stringify(listed.body).includes(created.body.key), 'listings never show a key');
    assert.equal((await send({ from: 'a@sender.test', to: 'keys@a.test', text: 'x' }, created.body.key)).status, 202);

    const taken = await call(w.base, 'POST', '/api/v1/api-keys', { key: w.adminKey, body: { name: 'ci', scope: 'read' } });
    assert.equal(taken.status, 409);
    const badScope = await call(w.base, 'POST', '/api/v1/api-keys', { key: w.adminKey, body: { name: 'x', scope: 'root' } });
    assert.equal(badScope.status, 400);
    assert.equal(badScope.body.error.field, 'scope');
    assert.equal((await call(w.base, 'GET', '/api/v1/api-keys', { key: sendKey })).status, 403);

    const other = await w.herald.accounts.create({ name: 'key-thief' });
    const otherAdmin = (await w.herald.accounts.createApiKey({ accountId: other.id, name: 'admin', scope: 'admin' })).key;
    assert.equal((await call(w.base, 'DELETE', `/api/v1/api-keys/${created.body.id}`, { key: otherAdmin })).status, 404);
    assert.equal((await call(w.base, 'DELETE', `/api/v1/api-keys/${created.body.id}`, { key: w.adminKey })).status, 204);
    assert.equal((await send({ from: 'a@sender.test', to: 'keys@a.test', text: 'x' }, created.body.key)).status, 401);
  });

  test('/openapi.json describes every endpoint', async () => {
    const res = await call(w.base, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.0.3');
    const paths = Object.keys(res.body.paths);
    for (const p of ['/api/v1/messages', '/api/v1/messages/batch', '/api/v1/messages/raw', '/api/v1/messages/{id}', '/api/v1/templates', '/api/v1/templates/{id}', '/api/v1/templates/{id}/render', '/api/v1/templates/{id}/versions']) {
      assert.ok(paths.includes(p), `${p} is documented`);
    }
    assert.ok(res.body.paths['/api/v1/messages'].post.requestBody, 'request bodies are described');
    assert.ok(res.body.components.schemas.Message, 'schemas are components');
  });
});

describe('HTTP API: suppression', () => {
  let w: ApiWorld;
  before(async () => {
    w = await startApiWorld();
  });
  after(() => w.close());

  test('a suppressed recipient is left out and reported; a hard bounce suppresses its address', async () => {
    const add = await call(w.base, 'POST', '/api/v1/suppressions', { key: w.adminKey, body: { address: 'gone@a.test', reason: 'manual' } });
    assert.equal(add.status, 200, JSON.stringify(add.body));
    const suppressedEvent = w.events.waitFor((e) => e.type === 'suppressed' && e.recipient === 'gone@a.test');
    const res = await call(w.base, 'POST', '/api/v1/messages', { key: w.adminKey, body: { from: 'a@sender.test', to: ['gone@a.test', 'here@a.test'], text: 'x' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.recipients, ['here@a.test']);
    assert.deepEqual(res.body.suppressed, [{ address: 'gone@a.test', reason: 'manual' }]);
    assert.equal((await suppressedEvent).messageId, res.body.id);
    const stored = await w.herald.store.get(res.body.id);
    assert.deepEqual(stored?.recipients.map((r) => r.address), ['here@a.test'], 'the suppressed address never reached the queue');

    const all = await call(w.base, 'POST', '/api/v1/messages', { key: w.adminKey, body: { from: 'a@sender.test', to: 'gone@a.test', text: 'x' } });
    assert.equal(all.status, 422);
    assert.equal(all.body.error.field, 'to');

    // A hard bounce from the receiving server puts the address on the list by itself.
    w.a.setRecipientReply('nobody@a.test', { code: 550, text: '5.1.1 User unknown' });
    const first = await call(w.base, 'POST', '/api/v1/messages', { key: w.adminKey, body: { from: 'a@sender.test', to: 'nobody@a.test', text: 'x' } });
    await w.events.finished(first.body.id, 1);
    await w.herald.suppressionFeeder.runOnce();
    const looked = await call(w.base, 'GET', '/api/v1/suppressions/nobody@a.test', { key: w.adminKey });
    assert.equal(looked.status, 200, JSON.stringify(looked.body));
    const again = await call(w.base, 'POST', '/api/v1/messages', { key: w.adminKey, body: { from: 'a@sender.test', to: 'nobody@a.test', text: 'x' } });
    assert.equal(again.status, 422);
  });
});
