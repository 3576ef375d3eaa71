/**
 * An application written against Postmark switches to Herald by changing its base URL: the
 * official `postmark` client library sends through Herald's Postmark-compatible endpoints, with
 * a Herald send key as its server token, and the mail arrives at the recipient's MX.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as postmark from 'postmark';
import PostalMime from 'postal-mime';
import { startApiWorld, type ApiWorld } from '../support/api.js';

describe("Postmark's official client library against Herald", () => {
  let w: ApiWorld;
  let client: postmark.ServerClient;

  before(async () => {
    w = await startApiWorld();
    const key = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'postmark-app', scope: 'send' })).key;
    client = new postmark.ServerClient(key, { useHttps: false, requestHost: `127.0.0.1:${w.herald.port('http')}` });
  });
  after(() => w.close());

  test('sendEmail: delivered with its names, tag, metadata, headers and attachment', async () => {
    const res = await client.sendEmail({
      From: 'Shop <shop@sender.test>',
      To: 'Ann <ann@a.test>, bob@b.test',
      Cc: 'carl@b.test',
      Subject: 'Your order ✓',
      TextBody: 'Thanks for your order.',
      HtmlBody: '<p>Thanks for your order.</p>',
      ReplyTo: 'help@sender.test',
      Tag: 'orders',
      Metadata: { order: '77' },
      Headers: [{ Name: 'X-Order', Value: '77' }],
      Attachments: [{ Name: 'order.txt', Content: Buffer.from('order 77').toString('base64'), ContentType: 'text/plain', ContentID: null }],
      MessageStream: 'outbound',
    });
    assert.equal(res.ErrorCode, 0);
    assert.equal(res.Message, 'OK');
    assert.equal(res.To, 'Ann <ann@a.test>, bob@b.test');
    assert.ok(!Number.isNaN(Date.parse(res.SubmittedAt)));
    const done = await w.events.finished(res.MessageID, 3);
    assert.ok(done.every((e) => e.type === 'delivered'));

    const got = w.a.messages.find((m) => m.rcptTo.includes('ann@a.test'))!;
    const mail = await PostalMime.parse(got.raw);
    assert.deepEqual(mail.from, { name: 'Shop', address: 'shop@sender.test' });
    assert.deepEqual(mail.to, [{ name: 'Ann', address: 'ann@a.test' }, { name: '', address: 'bob@b.test' }]);
    assert.equal(mail.subject, 'Your order ✓');
    assert.equal(mail.headers.find((h) => h.key === 'x-order')?.value, '77');
    assert.equal(Buffer.from(mail.attachments[0].content as ArrayBuffer).toString(), 'order 77');
    const stored = await w.herald.store.get(res.MessageID);
    assert.deepEqual(stored?.meta.tags, ['orders']);
    assert.deepEqual(stored?.meta.metadata, { order: '77' });
  });

  test('sendEmailBatch: one result per message, a bad one reported with ErrorCode 300', async () => {
    const results = await client.sendEmailBatch([
      { From: 'shop@sender.test', To: 'batch-a@a.test', Subject: 'one', TextBody: 'one' },
      { From: 'shop@sender.test', To: 'not an address', Subject: 'two', TextBody: 'two' },
    ]);
    assert.equal(results.length, 2);
    assert.equal(results[0].ErrorCode, 0);
    assert.equal(results[1].ErrorCode, 300);
    await w.events.finished(results[0].MessageID, 1);
  });

  test('sendEmailWithTemplate and sendEmailBatchWithTemplates render a Herald template by alias', async () => {
    const created = await fetch(`http://127.0.0.1:${w.herald.port('http')}/api/v1/templates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ alias: 'welcome', subject: 'Welcome, {{name}}', html: '<p>Hi {{name}}</p>', text: 'Hi {{name}}' }),
    });
    assert.equal(created.status, 201);
    const one = await client.sendEmailWithTemplate({ From: 'shop@sender.test', To: 'tpl@a.test', TemplateAlias: 'welcome', TemplateModel: { name: '<Ann>' } });
    assert.equal(one.ErrorCode, 0);
    await w.events.finished(one.MessageID, 1);
    const mail = await PostalMime.parse(w.a.messages.find((m) => m.rcptTo.includes('tpl@a.test'))!.raw);
    assert.equal(mail.subject, 'Welcome, <Ann>');
    assert.match(mail.html ?? '', /<p>Hi &lt;Ann&gt;<\/p>/);

    const many = await client.sendEmailBatchWithTemplates([
      { From: 'shop@sender.test', To: 'tpl2@a.test', TemplateAlias: 'welcome', TemplateModel: { name: 'Bo' } },
      { From: 'shop@sender.test', To: 'tpl3@a.test', TemplateAlias: 'missing', TemplateModel: {} },
    ]);
    assert.equal(many[0].ErrorCode, 0);
    assert.equal(many[1].ErrorCode, 1101);
  });

  test('a wrong token is the library’s InvalidAPIKeyError; an invalid request its ApiInputError with code 300', async () => {
    const stranger = new postmark.ServerClient('hk_wrong', { useHttps: false, requestHost: `127.0.0.1:${w.herald.port('http')}` });
    await assert.rejects(stranger.sendEmail({ From: 'a@sender.test', To: 'b@a.test', Subject: 'x', TextBody: 'x' }), (err: Error) => {
      assert.equal(err.name, 'InvalidAPIKeyError');
      return true;
    });
    await assert.rejects(client.sendEmail({ From: 'a@sender.test', To: 'b@a.test', Subject: 'x\r\nBcc: evil@b.test', TextBody: 'x' }), (err: Error & { code?: number; statusCode?: number }) => {
      assert.equal(err.statusCode, 422);
      assert.equal(err.code, 300);
      return true;
    });
  });
});
