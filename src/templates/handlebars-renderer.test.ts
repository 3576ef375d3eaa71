import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpRejection } from '../core/index.js';
import { SqliteSqlDatabase } from '../storage/index.js';
import { HandlebarsTemplateRenderer, previewTemplate } from './handlebars-renderer.js';
import { SqlTemplateStore } from './sql-template-store.js';
import type { TemplateInput, TemplateSource } from './types.js';
import { rejectionFrom, rejectionOf } from '../../test/support/rejections.js';

async function setup(t: { after(fn: () => Promise<void>): void }, options: { cacheSize?: number } = {}) {
  const db = SqliteSqlDatabase.open(':memory:');
  t.after(() => db.close());
  const store = await SqlTemplateStore.open(db);
  // Counts the content reads, to see the cache at work.
  let gets = 0;
  const source: TemplateSource = {
    head: (accountId, idOrAlias) => store.head(accountId, idOrAlias),
    get: (accountId, idOrAlias, version) => {
      gets++;
      return store.get(accountId, idOrAlias, version);
    },
  };
  const renderer = new HandlebarsTemplateRenderer(source, options);
  return { store, renderer, gets: () => gets, create: (input: TemplateInput, accountId = 'acct') => store.create(accountId, input) };
}

const rejected = rejectionFrom;
const thrown = rejectionOf;

test('renders the latest version by id or alias; html escapes, subject and text do not', async (t) => {
  const { renderer, create, store } = await setup(t);
  const tpl = await create({
    alias: 'Welcome',
    subject: 'Hi {{user.name}} & co',
    html: '<p>{{user.name}} {{{user.bio}}}</p>',
    text: 'Hi {{user.name}} <{{user.email}}>',
  });
  const data = { user: { name: 'Ada & <Bob>', bio: '<i>hi</i>', email: 'ada@example.com' } };
  const byId = await renderer.render('acct', { id: tpl.id, data });
  assert.deepEqual(byId, {
    templateId: tpl.id,
    version: 1,
    subject: 'Hi Ada & <Bob> & co',
    html: '<p>Ada &amp; &lt;Bob&gt; <i>hi</i></p>',
    text: 'Hi Ada & <Bob> <ada@example.com>',
  });
  // Aliases are matched case-insensitively.
  assert.deepEqual(await renderer.render('acct', { alias: 'WELCOME', data }), byId);
  assert.deepEqual(await renderer.render('acct', { id: tpl.id, alias: 'welcome', data }), byId);

  await store.update('acct', tpl.id, { text: 'v2 {{user.name}}' });
  const v2 = await renderer.render('acct', { alias: 'welcome', data });
  assert.equal(v2.version, 2);
  assert.equal(v2.text, 'v2 Ada & <Bob>');
  assert.equal(v2.html, byId.html);
});

test('only the parts the template has are rendered', async (t) => {
  const { renderer, create } = await setup(t);
  const tpl = await create({ html: '<b>{{x}}</b>' });
  assert.deepEqual(await renderer.render('acct', { id: tpl.id, data: { x: 1 } }), { templateId: tpl.id, version: 1, html: '<b>1</b>' });
});

test('a subject is one line: line breaks from the template or the data become one space', async (t) => {
  const { renderer, create } = await setup(t);
  const tpl = await create({ subject: '\n  Order {{id}}\r\n  for {{name}}\n', text: 'line 1\r\nline 2 {{name}}' });
  const out = await renderer.render('acct', { id: tpl.id, data: { id: 7, name: 'Ada\r\nBcc: evil@example.com\n\n' } });
  assert.equal(out.subject, 'Order 7 for Ada Bcc: evil@example.com');
  assert.ok(!/[\r\n]/.test(out.subject!));
  // The text part keeps its lines.
  assert.equal(out.text, 'line 1\r\nline 2 Ada\r\nBcc: evil@example.com\n\n');
});

test('missing variables render empty; required ones must be present and not empty', async (t) => {
  const { renderer, create } = await setup(t);
  const tpl = await create({ alias: 'receipt', text: 'Hi {{user.name}}{{nope}}{{user.missing.deep}} #{{items.0.sku}}', required: ['user.name', 'items.0.sku'] });
  const ok = await renderer.render('acct', { alias: 'receipt', data: { user: { name: 'Ada' }, items: [{ sku: 'A-1' }] } });
  assert.equal(ok.text, 'Hi Ada #A-1');

  for (const user of [undefined, {}, { name: null }, { name: '' }]) {
    const err = await rejected(renderer.render('acct', { alias: 'receipt', data: { user, items: [{ sku: 'A-1' }] } }));
    assert.equal(err.field, 'template.data.user.name');
    assert.equal(err.reply.code, 550);
    assert.equal(err.reply.text, 'the template "receipt" requires "user.name", which the data does not have');
  }
  // No data at all; and 0 or false are values.
  assert.equal((await rejected(renderer.render('acct', { alias: 'receipt' }))).field, 'template.data.user.name');
  const zero = await create({ text: '{{n}}', required: ['n'] });
  assert.equal((await renderer.render('acct', { id: zero.id, data: { n: 0 } })).text, '0');
  const err = await rejected(renderer.render('acct', { id: zero.id, data: {} }));
  assert.equal(err.reply.text, `the template "${zero.id}" requires "n", which the data does not have`);
  // Inherited properties do not count as present.
  const proto = await create({ text: '{{constructor}}', required: ['constructor'] });
  assert.equal((await rejected(renderer.render('acct', { id: proto.id, data: {} }))).field, 'template.data.constructor');
});

test('prototype access stays blocked, and nothing is printed about it', async (t) => {
  const { renderer, create } = await setup(t);
  const printed: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args);
  t.after(() => {
    console.error = original;
  });
  const probes = [
    '{{constructor}}',
    '{{__proto__}}',
    '{{lookup this "constructor"}}',
    '{{#with this}}{{constructor.name}}{{/with}}',
    '{{constructor.constructor}}',
    '{{user.constructor.name}}',
    '{{toString}}',
    '{{lookup (lookup this "constructor") "prototype"}}',
    '{{#with (lookup this "__proto__")}}{{hasOwnProperty}}{{/with}}',
    '{{@root.constructor.name}}',
    '{{#each this}}{{@key}}={{this.constructor.name}};{{/each}}',
  ];
  const tpl = await create({ text: probes.join('|') });
  const out = await renderer.render('acct', { id: tpl.id, data: { user: { name: 'Ada' } } });
  assert.equal(out.text, '||||||||||user=;');
  assert.deepEqual(printed, []);

  // A "__proto__" key in JSON data is an ordinary own property: rendered as data, no pollution.
  const data = JSON.parse('{"__proto__": {"polluted": "yes"}, "x": 1}') as Record<string, unknown>;
  const pollute = await create({ text: '{{__proto__.polluted}}-{{x}}' });
  assert.equal((await renderer.render('acct', { id: pollute.id, data })).text, 'yes-1');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('unknown templates and bad references name the field', async (t) => {
  const { renderer, create } = await setup(t);
  const tpl = await create({ alias: 'mine', text: 'x' });

  let err = await rejected(renderer.render('acct', {}));
  assert.equal(err.field, 'template');
  assert.equal(err.reply.text, "give the template's id or alias");
  assert.equal((await rejected(renderer.render('acct', { id: '', alias: '' }))).field, 'template');

  err = await rejected(renderer.render('acct', { id: 'tpl_00000000000000000000000000' }));
  assert.equal(err.field, 'template.id');
  assert.equal(err.reply.text, 'there is no template with the id "tpl_00000000000000000000000000"');
  // An alias passed as the id is not looked up as an alias.
  assert.equal((await rejected(renderer.render('acct', { id: 'mine' }))).field, 'template.id');

  err = await rejected(renderer.render('acct', { alias: 'nope' }));
  assert.equal(err.field, 'template.alias');
  assert.equal(err.reply.text, 'there is no template with the alias "nope"');
  assert.equal((await rejected(renderer.render('acct', { alias: tpl.id }))).field, 'template.alias');

  err = await rejected(renderer.render('acct', { id: tpl.id, alias: 'other' }));
  assert.equal(err.field, 'template.alias');
  assert.equal(err.reply.text, `the template "${tpl.id}" does not have the alias "other"`);

  // Another account's template, by id or alias, does not exist for this account.
  assert.equal((await rejected(renderer.render('other', { id: tpl.id }))).field, 'template.id');
  assert.equal((await rejected(renderer.render('other', { alias: 'mine' }))).field, 'template.alias');

  const bad = await rejected(renderer.render('acct', { id: tpl.id, data: ['x'] as unknown as Record<string, unknown> }));
  assert.equal(bad.field, 'template.data');
});

test('compiled versions are cached per (id, version), bounded in number', async (t) => {
  const { renderer, create, store, gets } = await setup(t, { cacheSize: 2 });
  const a = await create({ text: 'a{{n}}' });
  const b = await create({ text: 'b{{n}}' });
  const c = await create({ text: 'c{{n}}' });
  await renderer.render('acct', { id: a.id, data: { n: 1 } });
  assert.equal((await renderer.render('acct', { id: a.id, data: { n: 2 } })).text, 'a2');
  assert.equal(gets(), 1);
  // A new version is a new key: the update is seen at once.
  await store.update('acct', a.id, { text: 'A{{n}}' });
  assert.equal((await renderer.render('acct', { id: a.id, data: { n: 3 } })).text, 'A3');
  assert.equal(gets(), 2);
  await renderer.render('acct', { id: b.id });
  await renderer.render('acct', { id: c.id });
  assert.equal(renderer.cachedCount, 2);
  assert.equal(gets(), 4);
  // c and b are the two most recent; a@2 was dropped and is read again.
  await renderer.render('acct', { id: c.id });
  assert.equal(gets(), 4);
  await renderer.render('acct', { id: a.id });
  assert.equal(gets(), 5);
  // A deleted template is gone even while its compiled form is cached.
  await store.delete('acct', a.id);
  assert.equal((await rejected(renderer.render('acct', { id: a.id }))).field, 'template.id');
});

test('preview renders a saved or unsaved body with sample data, naming preview fields', async (t) => {
  const { renderer, create } = await setup(t);
  const saved = await create({ alias: 'hello', subject: 'Hi {{name}}', html: '<p>{{name}}</p>', required: ['name'] });
  assert.deepEqual(renderer.preview(saved, { name: 'Ada' }), { subject: 'Hi Ada', html: '<p>Ada</p>' });
  assert.deepEqual(previewTemplate({ ...saved, html: null, text: 'T {{name}}' }, { name: 'Ada' }), { subject: 'Hi Ada', text: 'T Ada' });

  let err = thrown(() => renderer.preview(saved, {}));
  assert.equal(err.field, 'data.name');
  assert.equal(err.reply.text, 'the template "hello" requires "name", which the data does not have');
  err = thrown(() => previewTemplate({ html: '{{x}}', required: ['x'] }, {}, { dataField: 'sample' }));
  assert.equal(err.field, 'sample.x');
  assert.equal(err.reply.text, 'the template requires "x", which the data does not have');

  const broken = thrown(() => renderer.preview({ ...saved, html: '<p>\n{{#if name}}' }, { name: 'Ada' })) as SmtpRejection & { line?: number; column?: number };
  assert.equal(broken.field, 'template.html');
  assert.equal(broken.reply.text, 'html: line 2, column 1: {{#if}} is never closed; add {{/if}}');
  assert.deepEqual([broken.line, broken.column], [2, 1]);
  assert.equal(thrown(() => previewTemplate({ text: '{{/x}}' }, {}, { fieldPrefix: '' })).field, 'text');
});

test('each, with, if, unless and lookup work as documented', async (t) => {
  const { renderer, create } = await setup(t);
  const tpl = await create({
    html: '{{#each items}}{{@index}}:{{name}}{{#unless @last}}, {{/unless}}{{else}}none{{/each}}|{{#with user}}{{name}}{{/with}}|{{#if vip}}VIP{{else}}regular{{/if}}|{{lookup prices "b"}}|{{#user}}{{name}}{{/user}}',
  });
  const out = await renderer.render('acct', {
    id: tpl.id,
    data: { items: [{ name: 'a' }, { name: '<b>' }], user: { name: 'Ada' }, vip: false, prices: { b: 2 } },
  });
  assert.equal(out.html, '0:a, 1:&lt;b&gt;|Ada|regular|2|Ada');
  assert.equal((await renderer.render('acct', { id: tpl.id, data: {} })).html, 'none||regular||');
});
