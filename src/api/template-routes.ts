import type { FastifyInstance } from 'fastify';
import type { TemplateInput, TemplateView } from '../templates/index.js';
import { ApiErrors, errorResponses } from './errors.js';
import { sendInertHtml } from './message-content-routes.js';
import type { ApiDeps } from './types.js';

/** Stored Handlebars templates: create, read, version, delete, and preview with sample data. */

export const templateSchema = {
  $id: 'Template',
  type: 'object',
  properties: {
    id: { type: 'string' },
    alias: { type: ['string', 'null'] },
    name: { type: ['string', 'null'] },
    version: { type: 'integer' },
    subject: { type: ['string', 'null'] },
    html: { type: ['string', 'null'] },
    text: { type: ['string', 'null'] },
    required: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const nullableString = { type: ['string', 'null'] } as const;
const templateInput = {
  type: 'object',
  additionalProperties: false,
  properties: {
    alias: { ...nullableString, description: 'A name to send with instead of the id: lowercase letters, digits, ".", "_", "-".' },
    name: nullableString,
    subject: { ...nullableString, description: 'Handlebars source; not HTML-escaped.' },
    html: { ...nullableString, description: 'Handlebars source; {{value}} is HTML-escaped, {{{value}}} is not.' },
    text: { ...nullableString, description: 'Handlebars source; not HTML-escaped.' },
    required: {
      type: ['array', 'null'],
      items: { type: 'string' },
      description: 'Data paths (e.g. "user.name") a send must provide; a missing one is a 422. Other missing variables render empty.',
    },
  },
} as const;

const errors = errorResponses(400, 401, 403, 404, 422);

const idParam = { type: 'object', properties: { id: { type: 'string', description: 'The template id or alias.' } } } as const;

export function templateView(t: TemplateView) {
  return {
    id: t.id,
    alias: t.alias,
    name: t.name,
    version: t.version,
    subject: t.subject,
    html: t.html,
    text: t.text,
    required: t.required,
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
  };
}

export function registerTemplateRoutes(api: FastifyInstance, deps: ApiDeps): void {
  // Rendered previews wait in the database (any API process can serve them) for the dashboard's
  // preview frame, which can only load a URL: the HTML is served from that URL under the same
  // inert policy as a stored message's HTML, never into the dashboard's own page.
  const { templates, previews } = deps;
  const found = async (accountId: string, id: string, version?: number) => {
    const t = await templates.get(accountId, id, version);
    if (!t) throw ApiErrors.notFound(version === undefined ? `template ${id}` : `version ${version} of template ${id}`);
    return t;
  };

  api.post<{ Body: TemplateInput }>(
    '/templates',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Create a template', tags: ['templates'], body: templateInput, response: { 201: { $ref: 'Template#' }, ...errors } },
    },
    async (req, reply) => reply.code(201).send(templateView(await templates.create(req.principal!.accountId, req.body))),
  );

  api.get<{ Querystring: { cursor?: string; limit?: string } }>(
    '/templates',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'List templates, newest first',
        tags: ['templates'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { cursor: { type: 'string' }, limit: { type: 'string', pattern: '^[0-9]{1,3}$' } },
        },
        response: {
          200: { type: 'object', properties: { templates: { type: 'array', items: { $ref: 'Template#' } }, next_cursor: { type: ['string', 'null'] } } },
          ...errors,
        },
      },
    },
    async (req) => {
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      if (limit < 1 || limit > 100) throw ApiErrors.badRequest('limit is 1 to 100', 'limit');
      const page = await templates.list(req.principal!.accountId, { limit, cursor: req.query.cursor });
      return { templates: page.templates.map(templateView), next_cursor: page.nextCursor };
    },
  );

  api.get<{ Params: { id: string }; Querystring: { version?: string } }>(
    '/templates/:id',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'A template (its latest version, or ?version=N)',
        tags: ['templates'],
        params: idParam,
        querystring: { type: 'object', additionalProperties: false, properties: { version: { type: 'string', pattern: '^[0-9]{1,9}$' } } },
        response: { 200: { $ref: 'Template#' }, ...errors },
      },
    },
    async (req) => templateView(await found(req.principal!.accountId, req.params.id, req.query.version === undefined ? undefined : Number(req.query.version))),
  );

  api.get<{ Params: { id: string } }>(
    '/templates/:id/versions',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Every version of a template, newest first',
        tags: ['templates'],
        params: idParam,
        response: { 200: { type: 'object', properties: { versions: { type: 'array', items: { $ref: 'Template#' } } } }, ...errors },
      },
    },
    async (req) => {
      const versions = await templates.versions(req.principal!.accountId, req.params.id);
      if (!versions) throw ApiErrors.notFound(`template ${req.params.id}`);
      return { versions: versions.map(templateView) };
    },
  );

  api.put<{ Params: { id: string }; Body: TemplateInput }>(
    '/templates/:id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Change a template (makes a new version; fields left out keep their value)',
        tags: ['templates'],
        params: idParam,
        body: templateInput,
        response: { 200: { $ref: 'Template#' }, ...errors },
      },
    },
    async (req) => {
      const updated = await templates.update(req.principal!.accountId, req.params.id, req.body);
      if (!updated) throw ApiErrors.notFound(`template ${req.params.id}`);
      return templateView(updated);
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/templates/:id',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Delete a template', tags: ['templates'], params: idParam, response: { 204: { type: 'null' }, ...errors } },
    },
    async (req, reply) => {
      if (!(await templates.delete(req.principal!.accountId, req.params.id))) throw ApiErrors.notFound(`template ${req.params.id}`);
      return reply.code(204).send();
    },
  );

  api.post<{ Params: { id: string }; Body: { data?: Record<string, unknown>; template?: TemplateInput } }>(
    '/templates/:id/render',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Preview a template with sample data',
        description: 'Renders the stored template (or, with `template`, unsaved changes to it) without sending anything.',
        tags: ['templates'],
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { data: { type: 'object' }, template: templateInput },
        },
        response: {
          200: { type: 'object', properties: { subject: nullableString, html: nullableString, text: nullableString } },
          ...errors,
        },
      },
    },
    async (req) => {
      const stored = await found(req.principal!.accountId, req.params.id);
      const source = { ...stored, ...(req.body?.template ?? {}) };
      const out = deps.renderer.preview(source, req.body?.data ?? {}, { fieldPrefix: req.body?.template ? 'template.' : '', dataField: 'data' });
      return { subject: out.subject ?? null, html: out.html ?? null, text: out.text ?? null };
    },
  );

  api.post<{ Body: { data?: Record<string, unknown>; template: TemplateInput } }>(
    '/templates/preview',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Preview a template that is not saved, with sample data',
        description:
          'Renders `template` (subject, html, text, required) with `data` as a send would, with the same isolated renderer; nothing is stored or sent. ' +
          '`html_url` serves the rendered HTML for ten minutes under a policy that lets no script run and loads nothing remote: show it in an <iframe sandbox>.',
        tags: ['templates'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['template'],
          properties: { data: { type: 'object' }, template: templateInput },
        },
        response: {
          200: {
            type: 'object',
            properties: { subject: nullableString, html: nullableString, text: nullableString, html_url: { ...nullableString, description: 'The rendered HTML, inert; null without an html part.' } },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const out = deps.renderer.preview(req.body.template, req.body.data ?? {}, { fieldPrefix: 'template.', dataField: 'data' });
      const html = out.html ?? null;
      return {
        subject: out.subject ?? null,
        html,
        text: out.text ?? null,
        html_url: html === null ? null : `/api/v1/templates/previews/${await previews.keep(req.principal!.accountId, html)}`,
      };
    },
  );

  api.get<{ Params: { token: string } }>(
    '/templates/previews/:token',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A preview's HTML, made inert",
        tags: ['templates'],
        params: { type: 'object', properties: { token: { type: 'string' } } },
        response: { 200: { type: 'string', description: 'text/html' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (req, reply) => {
      const html = await previews.get(req.principal!.accountId, req.params.token);
      if (html === null) throw ApiErrors.notFound(`preview ${req.params.token}`);
      return sendInertHtml(reply, html);
    },
  );
}
