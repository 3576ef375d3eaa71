import Handlebars from 'handlebars';
import { invalidContent, SmtpRejection } from '../core/index.js';
import { TEMPLATE_PARTS, type TemplateBody, type TemplatePart } from './types.js';

/** Largest source of one part (subject, html or text), in UTF-8 bytes. */
export const MAX_PART_BYTES = 512 * 1024;
/**
 * Handlebars' parser and compiler cost grows quickly with nesting (4,000 nested blocks take
 * seconds to parse, then overflow the stack) and linearly with expressions (~0.2 ms each to
 * compile), so both are bounded before the parser sees the text.
 */
export const MAX_NESTING = 64;
export const MAX_EXPRESSIONS = 2000;
export const MAX_REQUIRED = 100;

/** A rejected template part, with where the problem is: 1-based line and column (in characters). */
export interface TemplateSyntaxRejection extends SmtpRejection {
  line: number;
  column: number;
}

export function isTemplateSyntaxRejection(err: unknown): err is TemplateSyntaxRejection {
  const e = err as Partial<TemplateSyntaxRejection>;
  return err instanceof SmtpRejection && typeof e.line === 'number' && typeof e.column === 'number';
}

/** A template whose parts compiled, ready to render. */
export interface CompiledTemplate {
  subject?: HandlebarsTemplateDelegate;
  html?: HandlebarsTemplateDelegate;
  text?: HandlebarsTemplateDelegate;
  required: string[];
}

// Our own environment: helpers or partials anyone registers on the global Handlebars never
// reach user templates, and nothing we do here changes the global one.
export const handlebars = Handlebars.create();
// `log` writes template-chosen values to the server's console.
handlebars.unregisterHelper('log');
// The decorator behind {{#*inline}}; templates are also checked for it, this is belt and braces.
handlebars.unregisterDecorator('inline');

const HELPERS = ['if', 'unless', 'each', 'with', 'lookup'] as const;
/** How many values each helper takes; any other count throws while rendering, so it is caught at save. */
const HELPER_ARITY: Record<(typeof HELPERS)[number], { count: number; example: string }> = {
  if: { count: 1, example: '{{#if user.name}}' },
  unless: { count: 1, example: '{{#unless user.name}}' },
  each: { count: 1, example: '{{#each items}}' },
  with: { count: 1, example: '{{#with user}}' },
  lookup: { count: 2, example: '{{lookup user "name"}}' },
};

// The parts of Handlebars this module reaches past its typings for: the compiler classes (to
// compile an AST we already checked, without parsing twice) and the shared jison lexer, whose
// state right after a failed parse tells where the failure is. Parsing is synchronous, so that
// state is ours when we read it.
interface Lexer {
  setInput(input: string): void;
  lex(): number | string;
  match: string;
  yytext: string;
  _input: string;
  conditionStack: string[];
}
interface Internals {
  Parser: { lexer: Lexer; terminals_: Record<number, string> };
  Compiler: new () => { compile(program: hbs.AST.Program, options: CompileOptions): unknown };
  JavaScriptCompiler: new () => {
    compile(environment: unknown, options: CompileOptions, context: undefined, asObject: true): TemplateSpecification;
  };
  Exception: new (...args: never[]) => Error & { lineNumber?: number; column?: number };
}
const internals = handlebars as unknown as Internals;

function compileOptions(part: TemplatePart): CompileOptions {
  // A fresh object each time: the compiler writes into the options it is given.
  return {
    data: true, // @index, @first, @key, @root
    strict: false, // a missing variable renders as nothing
    // Only the built-in helpers left in our environment; any other name with arguments is an error
    // at save time instead of "Missing helper" while sending.
    knownHelpersOnly: true,
    knownHelpers: { helperMissing: false, blockHelperMissing: false, log: false },
    // Subject and text are not HTML: `{{name}}` there must not turn "&" into "&amp;".
    noEscape: part !== 'html',
  };
}

/**
 * Checks and compiles every part of a template; throws invalidContent naming the part (as
 * `fieldPrefix` + part, or `required[i]`) with the line and column of the problem.
 */
export function compileTemplate(body: TemplateBody, fieldPrefix = ''): CompiledTemplate {
  const compiled: CompiledTemplate = { required: checkRequiredPaths(body.required, fieldPrefix) };
  let parts = 0;
  for (const part of TEMPLATE_PARTS) {
    const source = body[part];
    if (source === undefined || source === null || source === '') continue;
    compiled[part] = compilePart(part, source, fieldPrefix + part);
    parts++;
  }
  if (parts === 0) throw invalidContent(`${fieldPrefix}html`, 'a template needs at least one of subject, html or text');
  return compiled;
}

export function compilePart(part: TemplatePart, source: unknown, field: string = part): HandlebarsTemplateDelegate {
  if (typeof source !== 'string') throw invalidContent(field, `${part} must be text`);
  const bytes = Buffer.byteLength(source);
  if (bytes > MAX_PART_BYTES) {
    throw invalidContent(field, `${part} is ${bytes} bytes long; a template part may be at most ${MAX_PART_BYTES} bytes (512 KiB)`);
  }
  const nul = source.indexOf('\0');
  if (nul >= 0) throw syntaxError(field, part, source, nul, 'the text contains a NUL character');

  const scan = prescan(source);
  if (scan.problem) throw syntaxError(field, part, source, scan.problem.offset, scan.problem.text);

  let ast: hbs.AST.Program;
  try {
    ast = handlebars.parse(source);
  } catch (err) {
    const found = describeParseFailure(err, source, scan.unclosed);
    throw syntaxError(field, part, source, found.offset, found.text);
  }
  const problem = checkAst(ast);
  if (problem) throw syntaxError(field, part, source, offsetOf(source, problem.node.loc?.start), problem.text);

  try {
    const options = compileOptions(part);
    const environment = new internals.Compiler().compile(ast, options);
    const spec = new internals.JavaScriptCompiler().compile(environment, options, undefined, true);
    return handlebars.template(spec);
  } catch (err) {
    if (!(err instanceof internals.Exception)) throw err;
    const found = describeException(err, source);
    throw syntaxError(field, part, source, found.offset, found.text);
  }
}

// A required path is names joined by dots ("user.name", "items.0.sku"); a name is letters,
// digits, '_', '$' or '-', like the keys people use in JSON.
const PATH_SEGMENT = /^[\p{L}\p{N}_$-]{1,64}$/u;

function checkRequiredPaths(required: unknown, fieldPrefix: string): string[] {
  if (required === undefined || required === null) return [];
  if (!Array.isArray(required)) throw invalidContent(`${fieldPrefix}required`, 'required must be a list of variable paths, such as ["user.name"]');
  if (required.length > MAX_REQUIRED) throw invalidContent(`${fieldPrefix}required`, `a template may require at most ${MAX_REQUIRED} variables`);
  const out: string[] = [];
  required.forEach((path: unknown, i) => {
    const field = `${fieldPrefix}required[${i}]`;
    if (typeof path !== 'string') throw invalidContent(field, 'a required variable must be a path such as "user.name"');
    const segments = path.trim().split('.');
    if (segments.length > 16 || !segments.every((s) => PATH_SEGMENT.test(s))) {
      throw invalidContent(field, `"${path}" is not a variable path; write names joined by dots, such as "user.name"`);
    }
    const normal = segments.join('.');
    if (!out.includes(normal)) out.push(normal);
  });
  return out;
}

interface Problem {
  offset: number;
  text: string;
}

interface Scan {
  /** A limit the text breaks, found before parsing. */
  problem?: Problem;
  /** The innermost block still open where the text ends, for "is never closed" messages. */
  unclosed?: { name: string; offset: number };
}

/**
 * Reads the tokens with Handlebars' own lexer to count expressions and nesting, and to know
 * which block is left open. Stops quietly at text the lexer cannot read: the parser reports that.
 */
function prescan(source: string): Scan {
  const { lexer, terminals_ } = internals.Parser;
  // Each open block, with how many {{else if}} links it has: every link nests one level deeper.
  const open: { name: string; offset: number; links: number }[] = [];
  let depth = 0;
  let expressions = 0;
  let pending: { kind: 'open' | 'close'; offset: number } | undefined;
  const scan: Scan = {};
  try {
    lexer.setInput(source);
    for (let guard = 0; guard <= source.length + 1; guard++) {
      const token = lexer.lex();
      const name = typeof token === 'number' ? terminals_[token] : token;
      if (token === 1 || name === 'EOF') break;
      const offset = source.length - lexer._input.length - lexer.match.length;
      if (name !== 'COMMENT' && name !== 'CONTENT' && lexer.match.startsWith('{{')) {
        if (++expressions > MAX_EXPRESSIONS) {
          scan.problem = { offset, text: `there are more than ${MAX_EXPRESSIONS} {{ }} expressions; split the template or move repeated content into {{#each}}` };
          return scan;
        }
      }
      if (name === 'OPEN_BLOCK' || name === 'OPEN_INVERSE' || name === 'OPEN_PARTIAL_BLOCK' || name === 'OPEN_SEXPR' || name === 'OPEN_INVERSE_CHAIN') {
        if (++depth > MAX_NESTING) {
          scan.problem = { offset, text: `blocks and (sub-expressions) are nested more than ${MAX_NESTING} deep` };
          return scan;
        }
      }
      if (name === 'OPEN_INVERSE_CHAIN') {
        const top = open.at(-1);
        if (top) top.links++;
      } else if (name === 'CLOSE_SEXPR') {
        depth = Math.max(0, depth - 1);
      } else if (name === 'OPEN_BLOCK' || name === 'OPEN_INVERSE' || name === 'OPEN_PARTIAL_BLOCK') {
        pending = { kind: 'open', offset };
      } else if (name === 'OPEN_ENDBLOCK') {
        pending = { kind: 'close', offset };
      } else if (pending && name === 'ID') {
        if (pending.kind === 'open') open.push({ name: lexer.yytext, offset: pending.offset, links: 0 });
        else depth = Math.max(0, depth - 1 - (open.pop()?.links ?? 0));
        pending = undefined;
      } else {
        pending = undefined;
      }
    }
  } catch {
    // A lexical error: the parser meets it too and says where.
  }
  const last = open.at(-1);
  if (last) scan.unclosed = { name: last.name, offset: last.offset };
  return scan;
}

/** Partials, decorators and helpers called with the wrong number of values. */
function checkAst(root: hbs.AST.Node): { node: hbs.AST.Node; text: string } | undefined {
  const stack: hbs.AST.Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    switch (node.type) {
      case 'PartialStatement':
      case 'PartialBlockStatement':
        return { node, text: 'partials ({{> name}}) are not supported; put the shared content in the template itself' };
      case 'Decorator':
      case 'DecoratorBlock':
        return { node, text: 'inline partials and decorators ({{#*inline}}, {{*name}}) are not supported' };
      case 'MustacheStatement':
      case 'BlockStatement':
      case 'SubExpression': {
        const call = node as hbs.AST.MustacheStatement | hbs.AST.BlockStatement | hbs.AST.SubExpression;
        const path = call.path as hbs.AST.PathExpression;
        // `{{if}}` is the helper; `{{this.if}}`, `{{./if}}` and `{{@if}}` are plain values.
        const simple = path.type === 'PathExpression' && !path.data && path.depth === 0 && path.parts.length === 1 && path.original === path.parts[0];
        const arity = simple && Object.hasOwn(HELPER_ARITY, path.original) ? HELPER_ARITY[path.original as keyof typeof HELPER_ARITY] : undefined;
        if (arity && call.params.length !== arity.count) {
          const shown = node.type === 'BlockStatement' ? `{{#${path.original}}}` : path.original;
          const what = arity.count === 1 ? 'exactly one value' : 'an object and a key';
          return { node, text: `${shown} needs ${what}, as in ${arity.example}` };
        }
        break;
      }
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === 'loc' || value === null || typeof value !== 'object') continue;
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === 'object' && typeof (child as hbs.AST.Node).type === 'string') stack.push(child as hbs.AST.Node);
      }
    }
  }
  return undefined;
}

/** Turns what Handlebars' parser threw into a place and plain words. */
function describeParseFailure(err: unknown, source: string, unclosed: Scan['unclosed']): { offset?: number; text: string } {
  if (err instanceof internals.Exception) return describeException(err, source);
  if (err instanceof RangeError) return { text: 'the template is nested too deeply to read' };
  const message = err instanceof Error ? err.message : String(err);
  const { lexer } = internals.Parser;
  const consumed = source.length - (lexer._input?.length ?? 0);
  const state = lexer.conditionStack?.at(-1);

  if (message.startsWith('Lexical error')) {
    if (state === 'com') return { offset: consumed, text: 'this comment is never closed; end it with --}}' };
    if (state === 'raw') return { offset: Math.max(0, source.lastIndexOf('{{{{', consumed)), text: 'this raw block {{{{ }}}} is never closed' };
    return { offset: consumed, text: 'this text cannot be read as a template' };
  }

  const got = /got '([^']+)'\s*$/.exec(message)?.[1];
  const expected = /Expecting (.*), got '[^']+'\s*$/s.exec(message)?.[1] ?? '';
  const start = consumed - lexer.match.length;
  const shown = JSON.stringify(lexer.match.trim());
  switch (got) {
    case 'EOF':
      if (state === 'mu') return unclosedMustache(source, consumed);
      if (unclosed) return { offset: unclosed.offset, text: `{{#${unclosed.name}}} is never closed; add {{/${unclosed.name}}}` };
      return { offset: source.length, text: 'the template ends too early' };
    case 'INVALID':
      // A name at the very end ("Hello {{name") is unreadable only because nothing closes it.
      if (state === 'mu' && source.indexOf('}}', start) < 0) return unclosedMustache(source, start);
      return badCharacter(source, start);
    case 'CLOSE':
      if (expected.includes("'CLOSE_UNESCAPED'")) return { offset: start, text: '{{{ must be closed with }}}, not }}' };
      if (/=\s*$/.test(source.slice(0, start))) return { offset: start, text: 'a value is missing after "="' };
      if (/\{\{[~#/^&{]?\s*$/.test(source.slice(Math.max(0, start - 8), start))) {
        return { offset: start, text: 'this {{ }} is empty; put a name inside, such as {{user.name}}' };
      }
      return { offset: start, text: 'something is missing before }}' };
    case 'CLOSE_UNESCAPED':
      return { offset: start, text: '{{ must be closed with }}, not }}}' };
    case 'INVERSE':
    case 'OPEN_INVERSE_CHAIN':
      return { offset: start, text: `${shown} can only be used inside a block such as {{#if}} or {{#each}}` };
    case 'OPEN_ENDBLOCK': {
      const name = /^\s*([^\s}~]+)/.exec(lexer._input)?.[1] ?? '';
      return { offset: start, text: `{{/${name}}} closes a block that was never opened` };
    }
    default:
      return { offset: start, text: `${shown} is not expected here` };
  }
}

function unclosedMustache(source: string, before: number): Problem {
  let open = source.lastIndexOf('{{', Math.max(0, before - 1));
  if (open < 0) open = 0;
  // Point at the first brace of "{{{" or "{{{{".
  while (open > 0 && source[open - 1] === '{') open--;
  let braces = 0;
  while (source[open + braces] === '{') braces++;
  return { offset: open, text: `this ${'{'.repeat(braces)} is never closed; add ${'}'.repeat(braces)}` };
}

// The characters the lexer accepts in a name; see its ID rule.
const NAME_CHAR = /[^\s!"#%-,./;->@[-^`{-~]/;

/**
 * The lexer reports "{{x!}}" at the "x": a name is only a name when a valid character follows
 * it. The character the writer has to change is the one after the name.
 */
function badCharacter(source: string, start: number): Problem {
  let at = start;
  while (at < source.length && NAME_CHAR.test(source[at])) at++;
  if (at >= source.length || /\s/.test(source[at])) at = start;
  const char = String.fromCodePoint(source.codePointAt(at) ?? 0);
  return { offset: at, text: `${expressionAt(source, at)} cannot be read: ${JSON.stringify(char)} is not allowed there` };
}

/** The {{ … }} around an offset, shortened, for messages. */
function expressionAt(source: string, offset: number): string {
  const open = source.lastIndexOf('{{', offset);
  const close = source.indexOf('}}', offset);
  if (open < 0) return 'this expression';
  const end = close < 0 ? Math.min(source.length, offset + 1) : close + 2;
  const text = source.slice(open, end).replace(/\s+/g, ' ');
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 39)}…` : text);
}

/** Handlebars' Exceptions carry the node's line (1-based) and column (0-based, UTF-16 units). */
function describeException(err: Error & { lineNumber?: number; column?: number }, source: string): { offset?: number; text: string } {
  const raw = err.message.replace(/ - \d+:\d+$/, '');
  let offset = typeof err.lineNumber === 'number' ? offsetOf(source, { line: err.lineNumber, column: err.column ?? 0 }) : undefined;
  let m: RegExpExecArray | null;
  if ((m = /^(.+) doesn't match (.+)$/.exec(raw))) {
    // The location is the block's name; point at its "{{#" instead.
    if (offset !== undefined) {
      const brace = source.lastIndexOf('{{', offset);
      if (brace >= 0 && offset - brace <= 4) offset = brace;
    }
    return { offset, text: `{{#${m[1]}}} is closed by {{/${m[2]}}}; close it with {{/${m[1]}}}` };
  }
  if ((m = /^Invalid path: (.+)$/.exec(raw))) return { offset, text: `"${m[1]}" is not a valid variable path` };
  if ((m = /unknown helper (.+)$/.exec(raw))) {
    return { offset, text: `there is no helper "${m[1]}"; the helpers are ${HELPERS.join(', ')}` };
  }
  return { offset, text: raw };
}

function syntaxError(field: string, part: TemplatePart, source: string, offset: number | undefined, text: string): SmtpRejection {
  if (offset === undefined) return invalidContent(field, `${part}: ${text}`);
  const { line, column } = positionAt(source, offset);
  return Object.assign(invalidContent(field, `${part}: line ${line}, column ${column}: ${text}`), { line, column });
}

function isLineBreak(source: string, i: number): boolean {
  const c = source.charCodeAt(i);
  // "\r\n" is one line break, counted at its "\n" — as Handlebars' lexer counts lines.
  return c === 10 || (c === 13 && source.charCodeAt(i + 1) !== 10);
}

/** 1-based line and column of a string offset; the column counts characters, not UTF-16 units. */
export function positionAt(source: string, offset: number): { line: number; column: number } {
  const end = Math.max(0, Math.min(offset, source.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < end; i++) {
    if (isLineBreak(source, i)) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = [...source.slice(lineStart, end).replace(/\r$/, '')].length + 1;
  return { line, column };
}

/** The string offset of a Handlebars position (line 1-based, column 0-based in UTF-16 units). */
function offsetOf(source: string, position: { line: number; column: number } | undefined): number {
  if (!position) return 0;
  let line = 1;
  let i = 0;
  while (line < position.line && i < source.length) {
    if (isLineBreak(source, i)) line++;
    i++;
  }
  return Math.min(i + position.column, source.length);
}
