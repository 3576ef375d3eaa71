import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startApiWorld, type ApiWorld } from '../../test/support/api.js';
import { attachmentName } from './message-content-routes.js';

let world: ApiWorld;

before(async () => {
  world = await startApiWorld();
});
after(() => world.close());

test("a message's content answers its headers in order, its text part and its attachments", async () => {
  const sent = await call(world.base, 'POST', '/api/v1/messages', {
    key: world.adminKey,
    body: {
      from: 'app@herald.test',
      to: 'ann@a.test',
      subject: 'Your receipt',
      html: '<p>Thanks</p>',
      text: 'Thanks for your order.',
      headers: { 'X-Order': '1234' },
      attachments: [{ filename: 'receipt.txt', content_type: 'text/plain', content: Buffer.from('total: 10').toString('base64') }],
    },
  });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  const res = await call(world.base, 'GET', `/api/v1/messages/${sent.body.id}/content`, { key: world.adminKey });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const names = res.body.headers.map((h: { name: string }) => h.name);
  assert.ok(names.includes('Subject') && names.includes('X-Order') && names.includes('From'), names.join(', '));
  assert.equal(res.body.headers.find((h: { name: string }) => h.name === 'Subject').value, 'Your receipt');
  assert.equal(res.body.headers.find((h: { name: string }) => h.name === 'X-Order').value, '1234');
  assert.equal(res.body.text.trim(), 'Thanks for your order.');
  assert.equal(res.body.has_html, true);
  assert.deepEqual(res.body.attachments, [{ filename: 'receipt.txt', mime_type: 'text/plain', size: 9 }]);
});

test('a message without a text part answers text null; an unknown or foreign message is not found', async () => {
  const sent = await call(world.base, 'POST', '/api/v1/messages', { key: world.adminKey, body: { from: 'app@herald.test', to: 'bo@a.test', subject: 'Only HTML', html: '<p>Hi</p>' } });
  assert.equal(sent.status, 202);
  const res = await call(world.base, 'GET', `/api/v1/messages/${sent.body.id}/content`, { key: world.adminKey });
  assert.equal(res.body.has_html, true);
  assert.deepEqual(res.body.attachments, []);
  assert.equal((await call(world.base, 'GET', '/api/v1/messages/msg_nothere/content', { key: world.adminKey })).status, 404);
  const other = await world.herald.accounts.createApiKey({ accountId: (await world.herald.accounts.create({ name: 'other-content' })).id, name: 'k', scope: 'read' });
  assert.equal((await call(world.base, 'GET', `/api/v1/messages/${sent.body.id}/content`, { key: other.key })).status, 404);
});

test("an attachment downloads as its decoded bytes, never under its own type, with a safe name", async () => {
  const binary = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f, 0x0d, 0x0a, 0x3c]);
  const sent = await call(world.base, 'POST', '/api/v1/messages', {
    key: world.adminKey,
    body: {
      from: 'app@herald.test',
      to: 'cy@a.test',
      subject: 'Files',
      text: 'Two files.',
      attachments: [
        { filename: 'page.html', content_type: 'text/html', content: Buffer.from('<script>alert(1)</script>').toString('base64') },
        { filename: "reçu d'été (1).bin", content_type: 'application/pdf', content: binary.toString('base64') },
      ],
    },
  });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  const reader = await world.herald.accounts.createApiKey({ accountId: (await world.herald.accounts.list())[0]!.id, name: 'reader', scope: 'read' });
  const url = `${world.base}/api/v1/messages/${sent.body.id}/attachments`;

  const html = await fetch(`${url}/0`, { headers: { authorization: `Bearer ${reader.key}` } });
  assert.equal(html.status, 200);
  assert.equal(html.headers.get('content-type'), 'application/octet-stream');
  assert.equal(html.headers.get('content-disposition'), "attachment; filename*=UTF-8''page.html");
  assert.equal(html.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(html.headers.get('cache-control'), 'private, no-store');
  assert.equal(await html.text(), '<script>alert(1)</script>');

  const bin = await fetch(`${url}/1`, { headers: { authorization: `Bearer ${world.adminKey}` } });
  assert.equal(bin.status, 200);
  assert.equal(bin.headers.get('content-type'), 'application/octet-stream');
  assert.equal(bin.headers.get('content-disposition'), "attachment; filename*=UTF-8''re%C3%A7u%20d%27%C3%A9t%C3%A9%20%281%29.bin");
  assert.deepEqual(Buffer.from(await bin.arrayBuffer()), binary);
});

test('a bad attachment index, an unknown message or another account\'s message is a 404 in JSON', async () => {
  const sent = await call(world.base, 'POST', '/api/v1/messages', {
    key: world.adminKey,
    body: { from: 'app@herald.test', to: 'di@a.test', subject: 'One file', text: 'x', attachments: [{ filename: 'a.txt', content: Buffer.from('a').toString('base64') }] },
  });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  for (const index of ['1', '-1', 'x', '0x0', '1e0', '99999999']) {
    const res = await call(world.base, 'GET', `/api/v1/messages/${sent.body.id}/attachments/${index}`, { key: world.adminKey });
    assert.equal(res.status, 404, index);
    assert.equal(res.body.error.code, 'not_found', index);
  }
  assert.equal((await call(world.base, 'GET', '/api/v1/messages/msg_nothere/attachments/0', { key: world.adminKey })).status, 404);
  const other = await world.herald.accounts.createApiKey({ accountId: (await world.herald.accounts.create({ name: 'other-attachment' })).id, name: 'k', scope: 'read' });
  const foreign = await call(world.base, 'GET', `/api/v1/messages/${sent.body.id}/attachments/0`, { key: other.key });
  assert.equal(foreign.status, 404);
  assert.equal(foreign.body.error.code, 'not_found');
});

test('an attachment name keeps only its last path segment, without control characters, and is never empty', () => {
  assert.equal(attachmentName('../../etc/passwd', 0), 'passwd');
  assert.equal(attachmentName('C:\\Users\\x\\report.pdf', 0), 'report.pdf');
  assert.equal(attachmentName('a\r\nb\u0000.txt', 0), 'ab.txt');
  assert.equal(attachmentName('..', 3), 'attachment-3');
  assert.equal(attachmentName('dir/', 1), 'attachment-1');
  assert.equal(attachmentName(null, 2), 'attachment-2');
  assert.equal(attachmentName('bad\ud800.txt', 0), 'bad.txt');
  assert.equal([...attachmentName('é'.repeat(300), 0)].length, 200);
});
