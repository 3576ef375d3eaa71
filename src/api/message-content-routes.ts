import type { FastifyInstance, FastifyReply } from 'fastify';
import PostalMime from 'postal-mime';
import { isMessageId } from '../core/index.js';
import type { QueueStore } from '../queue/index.js';
import { ApiErrors, errorResponses } from './errors.js';

/**
 * A stored message's content: its HTML part for the dashboard's preview frame, its headers and
 * text part as JSON, each attachment and the raw source for download. The HTML is whatever the
 * sender wrote, so it is answered with a policy under which it can do nothing: no script, no remote images, fonts or styles sheets (which would tell
 * the sender it was looked at), no forms, no plug-ins, and a `sandbox` that gives it an opaque
 * origin of its own even when the URL is opened on its own, outside the dashboard's frame.
 */

export const MESSAGE_HTML_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox";

/** Answers with HTML that can run nothing and load nothing (a message's, a template preview's). */
export function sendInertHtml(reply: FastifyReply, html: string): FastifyReply {
  return reply
    .headers({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': MESSAGE_HTML_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'private, no-store',
    })
    .send(html);
}

export interface MessageContentDeps {
  store: Pick<QueueStore, 'get' | 'getBody'>;
}

const idParam = { type: 'object', properties: { id: { type: 'string' } } } as const;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The name to save an attachment under: the sender chose it, so only its last path segment is
 * kept, without control characters, at most 200 characters long; a name left empty (or only
 * dots) becomes `attachment-<index>`.
 */
export function attachmentName(filename: string | null | undefined, index: number): string {
  const base = (filename ?? '').split(/[\\/]/).pop() ?? '';
  // Lone surrogates too: they cannot be encoded as UTF-8.
  const cleaned = base.replace(/[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '').trim();
  const name = [...cleaned].slice(0, 200).join('');
  return name && !/^\.+$/.test(name) ? name : `attachment-${index}`;
}

/** RFC 8187 ext-value characters: percent-encoded UTF-8 except letters, digits and !#$&+-.^_`|~. */
function encodeFilename(name: string): string {
  return encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function registerMessageContentRoutes(api: FastifyInstance, deps: MessageContentDeps): void {
  /** The account's message and its body, or a 404 (another account's message is not found either). */
  const load = async (id: string, accountId: string): Promise<Buffer> => {
    const message = isMessageId(id) ? await deps.store.get(id) : null;
    const body = message && message.accountId === accountId ? await deps.store.getBody(id) : null;
    if (!body) throw ApiErrors.notFound(`message ${id}`);
    return body;
  };

  api.get<{ Params: { id: string } }>(
    '/messages/:id/html',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The message's HTML, made inert",
        description:
          'The HTML part as sent (or the text part, escaped, when there is no HTML), under a Content-Security-Policy that lets no script run and loads nothing remote. ' +
          'Show it in an <iframe sandbox> without allow-scripts and without allow-same-origin.',
        tags: ['messages'],
        params: idParam,
        response: { 200: { type: 'string', description: 'text/html' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (req, reply) => {
      const parsed = await PostalMime.parse(await load(req.params.id, req.principal!.accountId));
      const html = parsed.html ?? `<!doctype html><meta charset="utf-8"><pre style="white-space:pre-wrap;font:14px/1.5 monospace">${escapeHtml(parsed.text ?? '')}</pre>`;
      return sendInertHtml(reply, html);
    },
  );

  api.get<{ Params: { id: string } }>(
    '/messages/:id/content',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The message's headers, text part and attachments, parsed",
        description:
          'What the message page shows besides the HTML: every header in the order written (decoded), the text part, ' +
          'whether there is an HTML part (GET /messages/{id}/html shows it inert), and the attachments by name, type and size.',
        tags: ['messages'],
        params: idParam,
        response: {
          200: {
            type: 'object',
            required: ['headers', 'text', 'has_html', 'attachments'],
            properties: {
              headers: {
                type: 'array',
                items: { type: 'object', required: ['name', 'value'], properties: { name: { type: 'string' }, value: { type: 'string' } } },
              },
              text: { type: ['string', 'null'], description: 'The text/plain part; null when the message has none.' },
              has_html: { type: 'boolean' },
              attachments: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['filename', 'mime_type', 'size'],
                  properties: { filename: { type: ['string', 'null'] }, mime_type: { type: 'string' }, size: { type: 'integer', description: 'Bytes, decoded.' } },
                },
              },
            },
          },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (req) => {
      const parsed = await PostalMime.parse(await load(req.params.id, req.principal!.accountId));
      return {
        headers: parsed.headers.map((h) => ({ name: h.originalKey ?? h.key, value: h.value })),
        text: parsed.text ?? null,
        has_html: parsed.html !== undefined,
        attachments: parsed.attachments.map((a) => ({
          filename: a.filename ?? null,
          mime_type: a.mimeType,
          size: typeof a.content === 'string' ? a.content.length : a.content.byteLength,
        })),
      };
    },
  );

  api.get<{ Params: { id: string; index: string } }>(
    '/messages/:id/attachments/:index',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'One attachment of the message, for download',
        description:
          'The attachment at this position in the list GET /messages/{id}/content answers (from 0), decoded. ' +
          "Always application/octet-stream with Content-Disposition: attachment, whatever the attachment's own type, so a browser saves it and never shows it.",
        tags: ['messages'],
        params: { type: 'object', properties: { id: { type: 'string' }, index: { type: 'string', description: 'The position in `attachments`, from 0.' } } },
        response: {
          200: { description: 'The attachment, decoded.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (req, reply) => {
      const parsed = await PostalMime.parse(await load(req.params.id, req.principal!.accountId));
      const index = /^\d{1,6}$/.test(req.params.index) ? Number(req.params.index) : -1;
      const attachment = parsed.attachments[index];
      if (!attachment) throw ApiErrors.notFound(`attachment ${req.params.index} of message ${req.params.id}`);
      const raw = attachment.content;
      const content = typeof raw === 'string' ? Buffer.from(raw) : raw instanceof ArrayBuffer ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      return reply
        .headers({
          // Never the attachment's own type: an HTML or SVG file must not render in Herald's origin.
          'Content-Type': 'application/octet-stream',
          'Content-Disposition': `attachment; filename*=UTF-8''${encodeFilename(attachmentName(attachment.filename, index))}`,
          'X-Content-Type-Options': 'nosniff',
          'Cache-Control': 'private, no-store',
        })
        .send(content);
    },
  );

  api.get<{ Params: { id: string } }>(
    '/messages/:id/raw',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'The message source as stored (RFC 5322), for download',
        tags: ['messages'],
        params: idParam,
        response: { 200: { type: 'string', description: 'message/rfc822' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (req, reply) => {
      const body = await load(req.params.id, req.principal!.accountId);
      return reply
        .headers({
          'Content-Type': 'message/rfc822',
          'Content-Disposition': `attachment; filename="${req.params.id}.eml"`,
          'X-Content-Type-Options': 'nosniff',
          'Cache-Control': 'private, no-store',
        })
        .send(body);
    },
  );
}
