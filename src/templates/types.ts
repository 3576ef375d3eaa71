/** The parts a template renders into, in the order they are checked and reported. */
export const TEMPLATE_PARTS = ['subject', 'html', 'text'] as const;
export type TemplatePart = (typeof TEMPLATE_PARTS)[number];

/** What a template is made of: its parts (Handlebars sources) and the data paths it needs. */
export interface TemplateBody {
  subject?: string | null;
  html?: string | null;
  text?: string | null;
  /** Dotted data paths (`user.name`) that must be present and non-empty when rendering. */
  required?: readonly string[] | null;
}

/**
 * What `create` takes. In `update` the same shape is a patch: a field left out keeps the
 * previous version's value, `null` (or '') clears it.
 */
export interface TemplateInput extends TemplateBody {
  /** Lower-cased on save; unique among the account's live templates. */
  alias?: string | null;
  name?: string | null;
}

/** One version of a stored template, as shown to the API and the dashboard. */
export interface TemplateView {
  id: string;
  alias: string | null;
  name: string | null;
  version: number;
  subject: string | null;
  html: string | null;
  text: string | null;
  required: string[];
  /** When the template (version 1) was created. */
  createdAt: Date;
  /** When this version was made. */
  updatedAt: Date;
}

/** A live template's identity and latest version: all `render` needs when the compiled form is cached. */
export interface TemplateHead {
  id: string;
  alias: string | null;
  version: number;
}

/** Where the renderer reads stored templates (SqlTemplateStore). */
export interface TemplateSource {
  head(accountId: string, idOrAlias: string): Promise<TemplateHead | null>;
  get(accountId: string, idOrAlias: string, version?: number): Promise<TemplateView | null>;
}

export interface TemplatePage {
  templates: TemplateView[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Which template an API message is rendered from, and the data to render it with. */
export interface TemplateRef {
  id?: string;
  alias?: string;
  data?: Record<string, unknown>;
}

export interface RenderedTemplate {
  templateId: string;
  version: number;
  subject?: string;
  html?: string;
  text?: string;
}

/** The rendered parts, without which template they came from. */
export type RenderedParts = Omit<RenderedTemplate, 'templateId' | 'version'>;

/** A template body to preview: a saved TemplateView, or parts not saved yet. */
export type PreviewTemplate = TemplateBody & { id?: string; alias?: string | null };

/**
 * Where preview errors point in the request. The defaults fit `POST /api/v1/templates/{id}/render`
 * with body `{ data, template }`: a broken unsaved part is `template.html`, a missing required
 * variable `data.user.name`.
 */
export interface PreviewOptions {
  fieldPrefix?: string;
  dataField?: string;
}

/** The lookup the accept pipeline calls for API messages that name a template. */
export interface TemplateRenderer {
  /**
   * Renders the account's template (by id or alias, latest version) with data. Throws
   * invalidContent naming `template.id`/`template.alias` when there is no such template, or
   * `template.data.<path>` for a missing required variable.
   */
  render(accountId: string, ref: TemplateRef): Promise<RenderedTemplate>;
  /**
   * Checks and renders a template body with sample data, saving nothing: the preview endpoint,
   * also for changes not saved yet. Throws like `render`, with fields per `PreviewOptions`.
   */
  preview(template: PreviewTemplate, data: unknown, options?: PreviewOptions): RenderedParts;
}
