/**
 * templates — an account's stored Handlebars templates (subject, html, text), every version of
 * them, and the safe renderer the accept pipeline calls for API messages that name a template.
 *
 * Invariants:
 * - A template is checked by compiling it when saved; a broken one is refused with the part,
 *   line and column (`TemplateSyntaxRejection`), so sending never meets a syntax error.
 * - Versions are immutable (1, 2, 3…); an update writes a new one. Everything is scoped by
 *   account: another account's id or alias is simply not found.
 * - Rendering runs in Handlebars' own isolated environment: only if, unless, each, with and
 *   lookup; no partials, decorators or `log`; prototype access denied. HTML is escaped,
 *   subject and text are not, and a subject is always one line.
 * - Required variables are checked before rendering; any other missing variable renders empty.
 */
export { SqlTemplateStore, MAX_LIST_LIMIT } from './sql-template-store.js';
export { HandlebarsTemplateRenderer, previewTemplate } from './handlebars-renderer.js';
export {
  compileTemplate,
  isTemplateSyntaxRejection,
  MAX_EXPRESSIONS,
  MAX_NESTING,
  MAX_PART_BYTES,
  type CompiledTemplate,
  type TemplateSyntaxRejection,
} from './handlebars-compile.js';
export { isTemplateId } from './template-ids.js';
export {
  TEMPLATE_PARTS,
  type PreviewOptions,
  type PreviewTemplate,
  type RenderedParts,
  type RenderedTemplate,
  type TemplateBody,
  type TemplateHead,
  type TemplateInput,
  type TemplatePage,
  type TemplatePart,
  type TemplateRef,
  type TemplateRenderer,
  type TemplateSource,
  type TemplateView,
} from './types.js';
