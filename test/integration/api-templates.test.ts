/**
 * Templates through the HTTP API: stored, versioned, previewed, and used to send — with the
 * rendered message checked where it arrives.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { call, startApiWorld, type ApiWorld } from '../support/api.js';

describe('HTTP API: templates', () => {
  let w: ApiWorld;
  let sendKey: string;
  const admin = (method: string, path: string, body?: unknown) => call(w.base, method, `/api/v1${path}`, { key: w.adminKey, body });

  before(async () => {
    w = await startApiWorld();
    sendKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'app', scope: 'send' })).key;
  });
  after(() => w.close());

  test('create, read by id and alias, change (a new version), list versions, delete', async () => {
    const created = await admin('POST', '/templates', { alias: 'Invoice', name: 'Monthly invoice', subject: 'Invoice {{number}}', text: 'Total: {{total}}' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.alias, 'invoice');
    assert.equal(created.body.version, 1);
    assert.deepEqual((await admin('GET', `/templates/${created.body.id}`)).body.subject, 'Invoice {{number}}');
    assert.equal((await admin('GET', '/templates/invoice')).body.id, created.body.id);

    const changed = await admin('PUT', '/templates/invoice', { subject: 'Your invoice {{number}}' });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.version, 2);
    assert.equal(changed.body.text, 'Total: {{total}}', 'a field left out keeps its value');
    assert.equal((await admin('GET', '/templates/invoice?version=1')).body.subject, 'Invoice {{number}}');
    const versions = await admin('GET', '/templates/invoice/versions');
    assert.deepEqual(versions.body.versions.map((v: { version: number }) => v.version).sort(), [1, 2]);
    const listed = await admin('GET', '/templates');
    assert.ok(listed.body.templates.some((t: { id: string }) => t.id === created.body.id));

    assert.equal((await admin('DELETE', '/templates/invoice')).status, 204);
    assert.equal((await admin('GET', '/templates/invoice')).status, 404);
    assert.equal((await admin('DELETE', '/templates/invoice')).status, 404);
    assert.equal((await admin('POST', '/templates', { alias: 'invoice', text: 'again' })).status, 201, 'the alias is free again');
  });

  test('a template that does not compile is refused with the part, line and column', async () => {
    const res = await admin('POST', '/templates', { alias: 'broken', html: '<p>ok</p>\n<p>{{#if user}}hi{{/each}}</p>' });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.error.field, 'html');
    assert.equal(res.body.error.line, 2);
    assert.equal(typeof res.body.error.column, 'number');
    assert.match(res.body.error.message, /line 2/);
    const partial = await admin('POST', '/templates', { text: 'hi {{> secrets}}' });
    assert.equal(partial.status, 422);
    assert.equal(partial.body.error.field, 'text');
    assert.equal((await admin('GET', '/templates/broken')).status, 404, 'nothing was stored');
  });

  test('preview renders with sample data: HTML escaped, subject and text not, no prototype access', async () => {
    await admin('POST', '/templates', {
      alias: 'preview',
      subject: 'Hi {{name}}',
      html: '<p>{{name}}</p><p>{{{trusted}}}</p><p>{{constructor.name}}{{lookup this "__proto__"}}</p>',
      text: 'Hi {{name}}',
    });
    const res = await admin('POST', '/templates/preview/render', { data: { name: 'Tom & <Jerry>', trusted: '<b>bold</b>' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.subject, 'Hi Tom & <Jerry>');
    assert.equal(res.body.text, 'Hi Tom & <Jerry>');
    assert.equal(res.body.html, '<p>Tom &amp; &lt;Jerry&gt;</p><p><b>bold</b></p><p></p>');
    const unsaved = await admin('POST', '/templates/preview/render', { data: {}, template: { text: '{{#if}}' } });
    assert.equal(unsaved.status, 422);
    assert.equal(unsaved.body.error.field, 'template.text');
  });

  test('sending with a template: rendered parts arrive; a missing required variable is 422 naming it', async () => {
    await admin('POST', '/templates', {
      alias: 'welcome',
      subject: 'Welcome, {{user.name}}!',
      html: '<h1>Hi {{user.name}}</h1><p>Plan: {{plan}}</p>',
      text: 'Hi {{user.name}}, plan: {{plan}}',
      required: ['user.name'],
    });
    const res = await call(w.base, 'POST', '/api/v1/messages', {
      key: sendKey,
      body: { from: 'shop@sender.test', to: 'new-user@a.test', template: { alias: 'welcome', data: { user: { name: 'Ann <3' } } } },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await w.events.finished(res.body.id, 1);
    const mail = await PostalMime.parse(w.a.messages.find((m) => m.rcptTo.includes('new-user@a.test'))!.raw);
    assert.equal(mail.subject, 'Welcome, Ann <3!');
    assert.equal(mail.html?.trim(), '<h1>Hi Ann &lt;3</h1><p>Plan: </p>');
    assert.equal(mail.text?.trim(), 'Hi Ann <3, plan:');
    const detail = await call(w.base, 'GET', `/api/v1/messages/${res.body.id}`, { key: w.adminKey });
    assert.equal(detail.body.template.version, 1);

    const missing = await call(w.base, 'POST', '/api/v1/messages', {
      key: sendKey,
      body: { from: 'shop@sender.test', to: 'x@a.test', template: { alias: 'welcome', data: { plan: 'pro' } } },
    });
    assert.equal(missing.status, 422);
    assert.equal(missing.body.error.field, 'template.data.user.name');
    const unknown = await call(w.base, 'POST', '/api/v1/messages', {
      key: sendKey,
      body: { from: 'shop@sender.test', to: 'x@a.test', template: { alias: 'nope' } },
    });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.error.field, 'template.alias');
  });
});
