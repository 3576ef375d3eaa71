import type { FastifyInstance } from 'fastify';
import type { Clock, Resolver } from '../core/index.js';
import {
  createWebhook,
  webhookEndpointView,
  PUBLIC_EVENT_TYPES,
  sendTestEvent,
  updateWebhook,
  WebhookError,
  WebhookSender,
  type ReadEvents,
  type SqlWebhookStore,
  type WebhookAttempt,
  type WebhookEndpoint,
  type WebhookInput,
} from '../notify/index.js';
import { ApiError, ApiErrors, errorResponses } from './errors.js';

/** Webhook endpoints: create (the signing secret is shown then), list, change, delete, rotate the secret, attempts, test. */

export interface WebhookRouteDeps {
  webhooks: SqlWebhookStore;
  /** The queue's outbox read: a new endpoint starts after the newest event. */
  readEvents: ReadEvents;
  /** DNS for the SSRF check of a URL when it is saved, and for the test ping. */
  resolver: Resolver;
  config: { webhookAllowPrivate: string };
  clock?: Clock;
  /** Looks at the endpoints now after a change (a re-enabled endpoint catches up at once). */
  dispatcher?: { wake(): void };
}

const errors = errorResponses(400, 401, 403, 404, 409, 422);
const idParam = { type: 'object', properties: { id: { type: 'string', description: 'The endpoint id (wh_…).' } } } as const;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

const eventsDescription = `Event types to send: ${PUBLIC_EVENT_TYPES.join(', ')}; ["*"] or left out for all.`;

const webhookProperties = {
  id: { type: 'string' },
  url: { type: 'string' },
  events: { type: 'array', items: { type: 'string' }, description: '["*"] means every type.' },
  description: { type: ['string', 'null'] },
  enabled: { type: 'boolean' },
  status: { type: 'string', enum: ['active', 'failing', 'disabled'] },
  disabled_reason: { type: ['string', 'null'] },
  disabled_at: { type: ['string', 'null'], format: 'date-time' },
  retry: {
    type: ['object', 'null'],
    description: 'While an event is failing: which, how many attempts, when the next is.',
    properties: {
      event_id: { type: 'string' },
      attempts: { type: 'integer' },
      next_attempt_at: { type: 'string', format: 'date-time' },
      failing_since: { type: 'string', format: 'date-time' },
    },
  },
  cursor: { type: 'string', description: 'The last event handled, as a pull API cursor.' },
  created_at: { type: 'string', format: 'date-time' },
  updated_at: { type: 'string', format: 'date-time' },
} as const;
const webhookSchema = { type: 'object', properties: webhookProperties } as const;
const withSecretSchema = {
  type: 'object',
  properties: { ...webhookProperties, secret: { type: 'string', description: 'The signing secret (whsec_…). Shown only now: store it.' } },
} as const;

const inputProperties = {
  url: { type: 'string', description: 'https:// URL to POST events to; it must reach a public address.' },
  events: { type: ['array', 'null'], items: { type: 'string' }, description: eventsDescription },
  description: { type: ['string', 'null'] },
  enabled: { type: 'boolean' },
} as const;

export function webhookView(w: WebhookEndpoint, eventId: (seq: number) => string) {
  return webhookEndpointView(w, eventId);
}

export function attemptView(a: WebhookAttempt) {
  return {
    id: a.id,
    event_id: a.eventId,
    event_type: a.eventType,
    attempt: a.attempt,
    at: a.at.toISOString(),
    status: a.status,
    error: a.error,
    latency_ms: a.latencyMs,
    response: a.response,
    next_retry_at: iso(a.nextRetryAt),
  };
}

function fromWebhookError(err: unknown): never {
  if (err instanceof WebhookError) {
    if (err.code === 'limit') throw ApiErrors.conflict(err.message);
    throw new ApiError(422, 'invalid', err.message, err.field);
  }
  throw err;
}

export function registerWebhookRoutes(api: FastifyInstance, deps: WebhookRouteDeps): void {
  const { webhooks } = deps;
  const admin = { store: webhooks, resolver: deps.resolver, config: deps.config, readEvents: deps.readEvents };
  const view = (w: WebhookEndpoint) => webhookView(w, (seq) => webhooks.eventId(seq));
  const found = async (accountId: string, id: string) => {
    const w = await webhooks.get(accountId, id);
    if (!w) throw ApiErrors.notFound(`webhook ${id}`);
    return w;
  };
  let sender: WebhookSender | null = null;
  api.addHook('onClose', async () => sender?.close());

  api.post<{ Body: WebhookInput }>(
    '/webhooks',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Add a webhook endpoint',
        description: 'Events recorded from now on are POSTed to the URL, signed (Standard Webhooks). The answer has the signing secret — the only time it is shown.',
        tags: ['webhooks'],
        body: { type: 'object', additionalProperties: false, required: ['url'], properties: inputProperties },
        response: { 201: withSecretSchema, ...errors },
      },
    },
    async (req, reply) => {
      const created = await createWebhook(admin, req.principal!.accountId, req.body).catch(fromWebhookError);
      deps.dispatcher?.wake();
      return reply.code(201).send({ ...view(created.endpoint), secret: created.secret });
    },
  );

  api.get(
    '/webhooks',
    {
      config: { scope: 'admin' },
      schema: { summary: "The account's webhook endpoints", tags: ['webhooks'], response: { 200: { type: 'object', properties: { webhooks: { type: 'array', items: webhookSchema } } }, ...errors } },
    },
    async (req) => ({ webhooks: (await webhooks.list(req.principal!.accountId)).map(view) }),
  );

  api.get<{ Params: { id: string } }>(
    '/webhooks/:id',
    {
      config: { scope: 'admin' },
      schema: { summary: 'A webhook endpoint and its state', tags: ['webhooks'], params: idParam, response: { 200: webhookSchema, ...errors } },
    },
    async (req) => view(await found(req.principal!.accountId, req.params.id)),
  );

  api.patch<{ Params: { id: string }; Body: WebhookInput }>(
    '/webhooks/:id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Change a webhook endpoint',
        description: 'Fields left out keep their value. `enabled: true` on a disabled endpoint sends every event it missed, from where it stopped.',
        tags: ['webhooks'],
        params: idParam,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: inputProperties },
        response: { 200: webhookSchema, ...errors },
      },
    },
    async (req) => {
      const updated = await updateWebhook(admin, req.principal!.accountId, req.params.id, req.body).catch(fromWebhookError);
      if (!updated) throw ApiErrors.notFound(`webhook ${req.params.id}`);
      deps.dispatcher?.wake();
      return view(updated);
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/webhooks/:id',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Remove a webhook endpoint and its attempts', tags: ['webhooks'], params: idParam, response: { 204: { type: 'null' }, ...errors } },
    },
    async (req, reply) => {
      if (!(await webhooks.delete(req.principal!.accountId, req.params.id))) throw ApiErrors.notFound(`webhook ${req.params.id}`);
      return reply.code(204).send();
    },
  );

  api.post<{ Params: { id: string } }>(
    '/webhooks/:id/rotate-secret',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Make a new signing secret',
        description: 'The answer has the new secret (shown only now). For 24 hours requests carry two signatures, with the new and the old secret, so receivers can switch without missing a request.',
        tags: ['webhooks'],
        params: idParam,
        response: { 200: withSecretSchema, ...errors },
      },
    },
    async (req) => {
      const rotated = await webhooks.rotateSecret(req.principal!.accountId, req.params.id);
      if (!rotated) throw ApiErrors.notFound(`webhook ${req.params.id}`);
      return { ...view(rotated.endpoint), secret: rotated.secret };
    },
  );

  api.get<{ Params: { id: string }; Querystring: { limit?: string; before?: string } }>(
    '/webhooks/:id/attempts',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Delivery attempts to an endpoint, newest first',
        description: 'What the endpoint answered: status, latency, the first 500 bytes of the answer, and when a failed event is tried next. Kept 30 days (at most 1000 per endpoint).',
        tags: ['webhooks'],
        params: idParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'string', pattern: '^[0-9]{1,3}$' }, before: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'next_cursor of the previous page' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              attempts: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'integer' },
                    event_id: { type: 'string' },
                    event_type: { type: 'string' },
                    attempt: { type: 'integer' },
                    at: { type: 'string', format: 'date-time' },
                    status: { type: ['integer', 'null'], description: 'The HTTP status; null when there was no answer.' },
                    error: { type: ['string', 'null'] },
                    latency_ms: { type: 'integer' },
                    response: { type: ['string', 'null'] },
                    next_retry_at: { type: ['string', 'null'], format: 'date-time' },
                  },
                },
              },
              next_cursor: { type: ['string', 'null'] },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const endpoint = await found(req.principal!.accountId, req.params.id);
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      if (limit < 1 || limit > 100) throw ApiErrors.badRequest('limit is 1 to 100', 'limit');
      const attempts = await webhooks.attempts(endpoint.id, { limit, before: req.query.before === undefined ? undefined : Number(req.query.before) });
      return { attempts: attempts.map(attemptView), next_cursor: attempts.length === limit ? String(attempts[attempts.length - 1].id) : null };
    },
  );

  api.post<{ Params: { id: string } }>(
    '/webhooks/:id/test',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Send a test event now',
        description: 'POSTs a signed `webhook.test` event to the endpoint (enabled or not) and answers with what it replied. Never retried.',
        tags: ['webhooks'],
        params: idParam,
        response: {
          200: {
            type: 'object',
            properties: {
              event_id: { type: 'string' },
              ok: { type: 'boolean' },
              status: { type: ['integer', 'null'] },
              error: { type: ['string', 'null'] },
              latency_ms: { type: 'integer' },
              response: { type: ['string', 'null'] },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const endpoint = await found(req.principal!.accountId, req.params.id);
      sender ??= new WebhookSender({ resolver: deps.resolver, policy: { allowPrivate: deps.config.webhookAllowPrivate === 'true' } });
      const result = await sendTestEvent({ store: webhooks, sender, clock: deps.clock }, endpoint);
      return { event_id: result.eventId, ok: result.ok, status: result.status, error: result.error, latency_ms: Math.round(result.latencyMs), response: result.response };
    },
  );
}
