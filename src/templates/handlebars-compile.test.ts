import { test } from 'node:test';
import assert from 'node:assert/strict';
import Handlebars from 'handlebars';
import { SmtpRejection } from '../core/index.js';
import { compilePart, compileTemplate, isTemplateSyntaxRejection, MAX_EXPRESSIONS, MAX_NESTING, MAX_PART_BYTES, positionAt } from './handlebars-compile.js';
import type { TemplateBody } from './types.js';

type Located = SmtpRejection & { line?: number; column?: number };

function rejection(fn: () => unknown): Located {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SmtpRejection, `expected an SmtpRejection, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the template to be refused');
}

/** Compiles one html part and returns where and why it was refused. */
function htmlError(source: string): { field?: string; line?: number; column?: number; text: string } {
  const err = rejection(() => compileTemplate({ html: source }));
  return { field: err.field, line: err.line, column: err.column, text: err.reply.text };
}

test('an unclosed block is reported at its opening tag, with line and column', () => {
  const err = rejection(() => compileTemplate({ html: '<p>Hi</p>\n<ul>\n  {{#each items}}<li>{{name}}</li>\n</ul>' }));
  assert.equal(err.field, 'html');
  assert.equal(err.reply.code, 550);
  assert.equal(err.reply.enhanced, '5.6.0');
  assert.equal(err.reply.text, 'html: line 3, column 3: {{#each}} is never closed; add {{/each}}');
  assert.equal(err.line, 3);
  assert.equal(err.column, 3);
  assert.ok(isTemplateSyntaxRejection(err));
});

test('a block closed by the wrong tag names both tags', () => {
  assert.deepEqual(htmlError('a\n  {{#if x}}b{{/each}}'), {
    field: 'html',
    line: 2,
    column: 3,
    text: 'html: line 2, column 3: {{#if}} is closed by {{/each}}; close it with {{/if}}',
  });
  const nested = htmlError('{{#if a}}\n{{#each b}}x{{/if}}');
  assert.equal(nested.text, 'html: line 2, column 1: {{#each}} is closed by {{/if}}; close it with {{/each}}');
});

test('stray and mismatched braces', () => {
  // "{{{x}}" opens unescaped output and closes it as escaped.
  assert.equal(htmlError('<b>{{{name}}</b>').text, 'html: line 1, column 11: {{{ must be closed with }}}, not }}');
  assert.equal(htmlError('<b>{{name}}}</b>').text, 'html: line 1, column 10: {{ must be closed with }}, not }}}');
  assert.equal(htmlError('Hello {{ } }}').text, 'html: line 1, column 10: "{{ } }}" cannot be read: "}" is not allowed there');
  assert.equal(htmlError('Hello {{name!}}').text, 'html: line 1, column 13: "{{name!}}" cannot be read: "!" is not allowed there');
  assert.equal(htmlError('x {{}}').text, 'html: line 1, column 5: this {{ }} is empty; put a name inside, such as {{user.name}}');
  assert.equal(htmlError('{{link url=}}').text, 'html: line 1, column 12: a value is missing after "="');
});

test('a stray "}}" in plain text is text: CSS in HTML mail is full of them', () => {
  const compiled = compileTemplate({ html: '<style>@media (max-width:600px){.a{color:red}}</style>{{x}} }}' });
  assert.equal(compiled.html!({ x: 1 }), '<style>@media (max-width:600px){.a{color:red}}</style>1 }}');
});

test('an unclosed {{ is reported where it opens, also at the very end of the text', () => {
  assert.equal(htmlError('Dear\n   {{name').text, 'html: line 2, column 4: this {{ is never closed; add }}');
  assert.equal(htmlError('Dear {{name ').text, 'html: line 1, column 6: this {{ is never closed; add }}');
  assert.equal(htmlError('Dear {{{name').text, 'html: line 1, column 6: this {{{ is never closed; add }}}');
  assert.equal(htmlError('Dear {{#if a').text, 'html: line 1, column 6: this {{ is never closed; add }}');
});

test('else, closing tags and comments out of place', () => {
  assert.equal(htmlError('one\n{{else}}').text, 'html: line 2, column 1: "{{else}}" can only be used inside a block such as {{#if}} or {{#each}}');
  assert.equal(htmlError('a\n\n   {{#each items}}\n{{/each}}\n{{/if}}').text, 'html: line 5, column 1: {{/if}} closes a block that was never opened');
  assert.equal(htmlError('ab\ncd {{!-- note').text, 'html: line 2, column 4: this comment is never closed; end it with --}}');
  assert.equal(htmlError('x{{foo/this}}').text, 'html: line 1, column 4: "foo/this" is not a valid variable path');
});

test('lines end at \\n, \\r\\n or \\r, and columns count characters, not UTF-16 units', () => {
  assert.deepEqual(positionAt('a\r\nb\rc\nd', 7), { line: 4, column: 1 });
  assert.equal(htmlError('{{#if a}}\r\n  x {{ } }}').text, 'html: line 2, column 8: "{{ } }}" cannot be read: "}" is not allowed there');
  // Each emoji is two UTF-16 units but one character.
  const emoji = htmlError('😀😀 {{name');
  assert.equal(emoji.column, 4);
  assert.equal(htmlError('é€\n😀 {{#if a}}{{/each}}').column, 3);
});

test('partials, inline partials and decorators are refused where they are used', () => {
  assert.equal(htmlError('a\n {{> footer}}').text, 'html: line 2, column 2: partials ({{> name}}) are not supported; put the shared content in the template itself');
  assert.equal(htmlError('{{#> layout}}x{{/layout}}').line, 1);
  assert.match(htmlError('a\n{{#*inline "row"}}x{{/inline}}').text, /^html: line 2, column 1: inline partials and decorators/);
  assert.match(htmlError('{{* decorate}}').text, /inline partials and decorators/);
});

test('only the harmless built-in helpers exist, each with the values it needs', () => {
  assert.equal(htmlError('{{log "secret"}}').text, 'html: line 1, column 1: there is no helper "log"; the helpers are if, unless, each, with, lookup');
  assert.match(htmlError('{{helperMissing "x"}}').text, /there is no helper "helperMissing"/);
  assert.match(htmlError('{{blockHelperMissing "x"}}').text, /there is no helper "blockHelperMissing"/);
  assert.match(htmlError('{{formatDate when}}').text, /there is no helper "formatDate"/);
  assert.equal(htmlError('{{#each}}x{{/each}}').text, 'html: line 1, column 1: {{#each}} needs exactly one value, as in {{#each items}}');
  assert.equal(htmlError('{{#if a b}}x{{/if}}').text, 'html: line 1, column 1: {{#if}} needs exactly one value, as in {{#if user.name}}');
  assert.match(htmlError('{{#if a}}x{{else if}}y{{/if}}').text, /column 11: \{\{#if\}\} needs exactly one value/);
  assert.match(htmlError('{{lookup user}}').text, /lookup needs an object and a key/);
  assert.match(htmlError('{{unless}}').text, /unless needs exactly one value/);
  // Names that merely look like helpers are plain values.
  const ok = compileTemplate({ html: '{{this.if}}|{{log}}|{{constructor}}|{{#user}}{{name}}{{/user}}' });
  assert.equal(ok.html!({ if: 'i', log: 'l', user: { name: 'Ada' } }), 'i|l||Ada');
});

test('helpers and partials registered on the global Handlebars never reach templates', () => {
  Handlebars.registerHelper('shout', (s: unknown) => String(s).toUpperCase());
  Handlebars.registerPartial('footer', 'FOOTER');
  try {
    assert.match(htmlError('{{shout name}}').text, /there is no helper "shout"/);
    assert.match(htmlError('{{> footer}}').text, /partials/);
    // And ours did not change the global one.
    assert.equal(typeof Handlebars.helpers.log, 'function');
  } finally {
    Handlebars.unregisterHelper('shout');
    Handlebars.unregisterPartial('footer');
  }
});

test('sizes, nesting and expression counts are bounded before parsing', () => {
  const big = rejection(() => compileTemplate({ text: 'x'.repeat(MAX_PART_BYTES + 1) }));
  assert.equal(big.field, 'text');
  assert.match(big.reply.text, /^text is 524289 bytes long; a template part may be at most 524288 bytes/);
  assert.ok(compileTemplate({ text: 'x'.repeat(MAX_PART_BYTES) }).text);

  const deep = htmlError('{{#a}}'.repeat(MAX_NESTING + 1) + '{{/a}}'.repeat(MAX_NESTING + 1));
  assert.equal(deep.column, MAX_NESTING * 6 + 1);
  assert.match(deep.text, /nested more than 64 deep/);
  assert.ok(compileTemplate({ html: '{{#a}}'.repeat(MAX_NESTING) + '{{/a}}'.repeat(MAX_NESTING) }).html);
  // Each {{else if}} nests the rest of the chain one level deeper.
  assert.match(htmlError('{{#if a}}' + '{{else if b}}'.repeat(MAX_NESTING) + '{{/if}}').text, /nested more than 64 deep/);
  assert.match(htmlError('{{lookup ' + '(lookup '.repeat(MAX_NESTING + 1) + 'a' + ' "b")'.repeat(MAX_NESTING + 1) + ' "c"}}').text, /nested more than 64 deep/);

  const many = htmlError('{{a}}'.repeat(MAX_EXPRESSIONS + 1));
  assert.equal(many.column, MAX_EXPRESSIONS * 5 + 1);
  assert.match(many.text, new RegExp(`more than ${MAX_EXPRESSIONS} \\{\\{ \\}\\} expressions`));
  assert.match(htmlError('a\0b').text, /^html: line 1, column 2: the text contains a NUL character$/);
});

test('every part is checked and named; at least one part is needed', () => {
  const subject = rejection(() => compileTemplate({ subject: 'Hi {{#if x}}', html: '<p>ok</p>' }));
  assert.equal(subject.field, 'subject');
  assert.match(subject.reply.text, /^subject: line 1, column 4: \{\{#if\}\} is never closed/);
  const text = rejection(() => compileTemplate({ html: '<p>ok</p>', text: 'a\nb {{/if}}' }, 'template.'));
  assert.equal(text.field, 'template.text');
  assert.match(text.reply.text, /^text: line 2, column 3: /);

  const none = rejection(() => compileTemplate({ subject: '', html: null }));
  assert.equal(none.field, 'html');
  assert.equal(none.reply.text, 'a template needs at least one of subject, html or text');
  assert.equal(rejection(() => compilePart('html', 42)).reply.text, 'html must be text');
});

test('required paths are checked and normalised', () => {
  assert.deepEqual(compileTemplate({ text: 'x', required: ['user.name', ' items.0.sku ', 'user.name'] }).required, ['user.name', 'items.0.sku']);
  const bad = rejection(() => compileTemplate({ text: 'x', required: ['user.name', 'user..name'] } as TemplateBody));
  assert.equal(bad.field, 'required[1]');
  assert.equal(bad.reply.text, '"user..name" is not a variable path; write names joined by dots, such as "user.name"');
  assert.equal(rejection(() => compileTemplate({ text: 'x', required: 'user' } as unknown as TemplateBody)).field, 'required');
  assert.equal(rejection(() => compileTemplate({ text: 'x', required: [7] } as unknown as TemplateBody)).field, 'required[0]');
});
