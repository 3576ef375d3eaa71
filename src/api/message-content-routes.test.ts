import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startApiWorld, type ApiWorld } from '../../test/support/api.js';

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
  const other = world.herald.accounts.createApiKey({ accountId: world.herald.accounts.create({ name: 'other-content' }).id, name: 'k', scope: 'read' });
  assert.equal((await call(world.base, 'GET', `/api/v1/messages/${sent.body.id}/content`, { key: other.key })).status, 404);
});
