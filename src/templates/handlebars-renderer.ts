import { invalidContent, SmtpRejection } from '../core/index.js';
import { compileTemplate, handlebars, type CompiledTemplate } from './handlebars-compile.js';
import { isTemplateId, normalizeAlias } from './template-ids.js';
import {
  TEMPLATE_PARTS,
  type PreviewOptions,
  type PreviewTemplate,
  type RenderedParts,
  type RenderedTemplate,
  type TemplateHead,
  type TemplateRef,
  type TemplateRenderer,
  type TemplateSource,
} from './types.js';

// Explicitly false rather than left unset: access to prototype properties and methods stays
// denied (as by default since Handlebars 4.6), and Handlebars then does not print a console
// warning for each property name a template tries.
const RUNTIME_OPTIONS: RuntimeOptions = { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false };

const DEFAULT_CACHE_SIZE = 500;

/**
 * Renders an account's stored templates. Compiled templates are cached per (id, version):
 * a version never changes once written, so the cache needs no invalidation, and an update made
 * by another process is picked up because the latest version is read on every render.
 */
export class HandlebarsTemplateRenderer implements TemplateRenderer {
  private readonly cache = new Map<string, CompiledTemplate>();
  private readonly cacheSize: number;

  constructor(
    private readonly source: TemplateSource,
    options: { cacheSize?: number } = {},
  ) {
    this.cacheSize = Math.max(1, options.cacheSize ?? DEFAULT_CACHE_SIZE);
  }

  async render(accountId: string, ref: TemplateRef): Promise<RenderedTemplate> {
    if (ref === null || typeof ref !== 'object') throw invalidContent('template', "give the template's id or alias");
    const { head, field } = await this.resolve(accountId, ref);
    const compiled = await this.compiled(accountId, head, field);
    const parts = renderCompiled(compiled, ref.data, { name: head.alias ?? head.id, dataField: 'template.data' });
    return { templateId: head.id, version: head.version, ...parts };
  }

  preview(template: PreviewTemplate, data: unknown, options: PreviewOptions = {}): RenderedParts {
    return previewTemplate(template, data, options);
  }

  /** How many compiled versions are cached (for tests and metrics). */
  get cachedCount(): number {
    return this.cache.size;
  }

  private async resolve(accountId: string, ref: TemplateRef): Promise<{ head: TemplateHead; field: string }> {
    const hasId = ref.id !== undefined && ref.id !== null && ref.id !== '';
    const hasAlias = ref.alias !== undefined && ref.alias !== null && ref.alias !== '';
    if (!hasId && !hasAlias) throw invalidContent('template', "give the template's id or alias");
    if (hasId) {
      const id = ref.id;
      if (typeof id !== 'string') throw invalidContent('template.id', 'template.id must be text');
      const head = isTemplateId(id) ? await this.source.head(accountId, id) : null;
      if (!head) throw invalidContent('template.id', `there is no template with the id "${id}"`);
      // Both given: they must name the same template, or the sender is confused about which one goes out.
      if (hasAlias && (typeof ref.alias !== 'string' || normalizeAlias(ref.alias) !== head.alias)) {
        throw invalidContent('template.alias', `the template "${id}" does not have the alias "${String(ref.alias)}"`);
      }
      return { head, field: 'template.id' };
    }
    const alias = ref.alias;
    if (typeof alias !== 'string') throw invalidContent('template.alias', 'template.alias must be text');
    // An id-shaped alias cannot exist (aliases may not start with "tpl_"), so this is a lookup by alias only.
    const head = isTemplateId(alias) ? null : await this.source.head(accountId, normalizeAlias(alias));
    if (!head) throw invalidContent('template.alias', `there is no template with the alias "${alias}"`);
    return { head, field: 'template.alias' };
  }

  private async compiled(accountId: string, head: TemplateHead, field: string): Promise<CompiledTemplate> {
    const key = `${head.id}@${head.version}`;
    const hit = this.cache.get(key);
    if (hit) {
      // Map keeps insertion order: moving a hit to the end makes the first key the least recently used.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const view = await this.source.get(accountId, head.id, head.version);
    // Deleted between the two reads.
    if (!view) throw invalidContent(field, `there is no template "${head.alias ?? head.id}"`);
    let compiled: CompiledTemplate;
    try {
      compiled = compileTemplate(view);
    } catch (err) {
      // Saved templates were checked when saved; this only happens if Handlebars itself changed.
      if (err instanceof SmtpRejection) {
        throw invalidContent(field, `the template "${head.alias ?? head.id}" no longer compiles (${err.reply.text}); save it again`);
      }
      throw err;
    }
    this.cache.set(key, compiled);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return compiled;
  }
}

/**
 * Checks and renders a template body with sample data (`POST /api/v1/templates/{id}/render`,
 * also for bodies not saved yet); nothing is cached, as the body may change with every call.
 */
export function previewTemplate(template: PreviewTemplate, data: unknown, options: PreviewOptions = {}): RenderedParts {
  if (template === null || typeof template !== 'object') throw invalidContent('template', 'a template must be a JSON object with subject, html or text');
  const compiled = compileTemplate(template, options.fieldPrefix ?? 'template.');
  const name = template.alias ?? template.id;
  return renderCompiled(compiled, data, { name: name ?? undefined, dataField: options.dataField ?? 'data' });
}

/** Renders compiled parts after checking the data has every required variable. */
export function renderCompiled(compiled: CompiledTemplate, data: unknown, where: { name?: string; dataField: string }): RenderedParts {
  if (data !== undefined && data !== null && (typeof data !== 'object' || Array.isArray(data))) {
    throw invalidContent(where.dataField, 'the template data must be a JSON object, such as {"user": {"name": "Ada"}}');
  }
  const context = (data ?? {}) as Record<string, unknown>;
  for (const path of compiled.required) {
    const value = valueAt(context, path);
    if (value === undefined || value === null || value === '') {
      const which = where.name ? `the template "${where.name}"` : 'the template';
      throw invalidContent(`${where.dataField}.${path}`, `${which} requires "${path}", which the data does not have`);
    }
  }
  const out: RenderedParts = {};
  for (const part of TEMPLATE_PARTS) {
    const template = compiled[part];
    if (!template) continue;
    let rendered: string;
    try {
      rendered = template(context, { ...RUNTIME_OPTIONS });
    } catch (err) {
      // Handlebars' own runtime errors are about the template and the data; anything else is ours.
      if (err instanceof (handlebars as unknown as { Exception: new () => Error }).Exception) {
        throw invalidContent(where.dataField, `the ${part} could not be rendered with this data: ${(err as Error).message}`);
      }
      throw err;
    }
    // A subject is one header line: line breaks from the template or the data become one space.
    out[part] = part === 'subject' ? rendered.replace(/[ \t]*[\r\n]+[ \t]*/g, ' ').trim() : rendered;
  }
  return out;
}

/** The value at a dotted path, through own properties only (never the prototype chain). */
function valueAt(data: Record<string, unknown>, path: string): unknown {
  let current: unknown = data;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
