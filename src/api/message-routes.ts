import type { FastifyInstance } from 'fastify';
import { isMessageId, isValidEnvelopeAddress, normalizeDomain } from '../core/index.js';
import { MIN_SUBJECT_SEARCH, RECIPIENT_STATES, type RecipientState } from '../queue/index.js';
import { ApiErrors, batchBodyLimit, errorResponses } from './errors.js';
import { submissionFromMessage, submissionFromRaw, type MessageBody, type RawMessageBody } from './message-request.js';
import { idempotent, sendAll, tryBuild, type SendOutcome } from './sending.js';
import { messageDetailView, messageSummaryView } from './views.js';
import type { ApiDeps } from './types.js';

const errors = errorResponses(400, 401, 403, 409, 413, 422, 429, 503);

const idempotencyHeader = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', description: 'Makes a retry safe: the same key and body return the first answer (kept at least 24 h).' } },
};

const LIST_MAX = 100;
/** An event timeline longer than this is cut (a message retried for days has many deferrals). */
const TIMELINE_MAX = 1000;

function sendResult(outcome: Extract<SendOutcome, { ok: true }>) {
  const result: Record<string, unknown> = { id: outcome.id, status: outcome.sendAt ? 'scheduled' : 'queued', recipients: outcome.recipients };
  if (outcome.sendAt) result.send_at = outcome.sendAt.toISOString();
  if (outcome.suppressed.length) result.suppressed = outcome.suppressed;
  return result;
}

export function registerMessageRoutes(api: FastifyInstance, deps: ApiDeps): void {
  api.post<{ Body: MessageBody }>(
    '/messages',
    {
      config: { scope: 'send' },
      schema: {
        summary: 'Send a message',
        description: 'Queues one message. Answers 202 only after it is stored durably.',
        tags: ['messages'],
        headers: idempotencyHeader,
        body: { $ref: 'Message#' },
        response: { 202: { $ref: 'SendResult#' }, ...errors },
      },
    },
    (req, reply) =>
      idempotent(req, reply, deps, async () => {
        const submission = submissionFromMessage(req.principal!.accountId, req.body, deps.clock.now());
        const [outcome] = await sendAll(deps, req.principal!, [submission]);
        if (!outcome.ok) throw outcome.error;
        return { status: 202, body: sendResult(outcome) };
      }),
  );

  api.post<{ Body: { messages: MessageBody[] } }>(
    '/messages/batch',
    {
      config: { scope: 'send' },
      bodyLimit: batchBodyLimit(api.initialConfig.bodyLimit),
      schema: {
        summary: 'Send up to 500 messages',
        description: 'Each message is judged on its own: the results list says, in order, which were queued and why the others were refused.',
        tags: ['messages'],
        headers: idempotencyHeader,
        body: { $ref: 'MessageBatch#' },
        response: {
          200: {
            type: 'object',
            properties: {
              accepted: { type: 'integer' },
              rejected: { type: 'integer' },
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    index: { type: 'integer' },
                    id: { type: 'string' },
                    status: { type: 'string', enum: ['queued', 'scheduled', 'rejected'] },
                    recipients: { type: 'array', items: { type: 'string' } },
                    error: { $ref: 'Error#/properties/error' },
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    (req, reply) =>
      idempotent(req, reply, deps, async () => {
        const now = deps.clock.now();
        const accountId = req.principal!.accountId;
        const items = req.body.messages.map((m) => tryBuild(() => submissionFromMessage(accountId, m, now)));
        const outcomes = await sendAll(deps, req.principal!, items);
        const results = outcomes.map((o, index) =>
          o.ok ? { index, ...sendResult(o) } : { index, status: 'rejected', error: o.error.body().error },
        );
        const accepted = outcomes.filter((o) => o.ok).length;
        return { status: 200, body: { accepted, rejected: outcomes.length - accepted, results } };
      }),
  );

  api.post<{ Body: RawMessageBody }>(
    '/messages/raw',
    {
      config: { scope: 'send' },
      schema: {
        summary: 'Send a complete RFC 5322 message',
        description: 'The message is sent as given (Herald adds Received, and Message-ID and Date when missing) to the envelope recipients.',
        tags: ['messages'],
        headers: idempotencyHeader,
        body: { $ref: 'RawMessage#' },
        response: { 202: { $ref: 'SendResult#' }, ...errors },
      },
    },
    (req, reply) =>
      idempotent(req, reply, deps, async () => {
        const submission = submissionFromRaw(req.principal!.accountId, req.body, deps.clock.now());
        const [outcome] = await sendAll(deps, req.principal!, [submission]);
        if (!outcome.ok) throw outcome.error;
        return { status: 202, body: sendResult(outcome) };
      }),
  );

  api.get<{ Params: { id: string } }>(
    '/messages/:id',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'A message, its recipients and its event timeline',
        tags: ['messages'],
        params: { type: 'object', properties: { id: { type: 'string' } } },
        response: { 200: { $ref: 'MessageDetail#' }, 404: { $ref: 'Error#' } },
      },
    },
    async (req) => {
      const { id } = req.params;
      const message = isMessageId(id) ? await deps.store.get(id) : null;
      // Another account's message is "not found", never "forbidden": ids reveal nothing.
      if (!message || message.accountId !== req.principal!.accountId) throw ApiErrors.notFound(`message ${id}`);
      return messageDetailView(message, await deps.store.eventsOf(id, TIMELINE_MAX));
    },
  );

  api.get<{ Querystring: { recipient?: string; sender?: string; subject?: string; status?: RecipientState; tag?: string; from?: string; to?: string; cursor?: string; limit?: string } }>(
    '/messages',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Search messages, newest first',
        description: 'Filters combine. Pass `next_cursor` from a page as `cursor` to get the next one.',
        tags: ['messages'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            recipient: { type: 'string', description: 'An envelope recipient address.' },
            sender: { type: 'string', description: 'The envelope sender (MAIL FROM) address, or `@example.com` for every sender of a domain.' },
            subject: { type: 'string', description: `Subject contains this text, case-insensitively (at least ${MIN_SUBJECT_SEARCH} characters).` },
            status: { type: 'string', enum: [...RECIPIENT_STATES], description: 'Messages with at least one recipient in this state.' },
            tag: { type: 'string' },
            from: { type: 'string', format: 'date-time', description: 'Created at or after this time.' },
            to: { type: 'string', format: 'date-time', description: 'Created before this time.' },
            cursor: { type: 'string' },
            limit: { type: 'string', pattern: '^[0-9]{1,3}$', description: `Page size, 1 to ${LIST_MAX} (default 50).` },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { messages: { type: 'array', items: { $ref: 'MessageSummary#' } }, next_cursor: { type: ['string', 'null'] } },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const q = req.query;
      if (q.cursor !== undefined && !isMessageId(q.cursor)) throw ApiErrors.badRequest('cursor is not one this API gave out', 'cursor');
      const limit = q.limit === undefined ? 50 : Number(q.limit);
      if (limit < 1 || limit > LIST_MAX) throw ApiErrors.badRequest(`limit is 1 to ${LIST_MAX}`, 'limit');
      if (q.sender !== undefined) {
        const valid = q.sender.startsWith('@') ? normalizeDomain(q.sender.slice(1)) !== '' : isValidEnvelopeAddress(q.sender);
        if (!valid) throw ApiErrors.badRequest('sender is an email address (name@example.com) or a domain (@example.com)', 'sender');
      }
      // The search index is made of three-character pieces: a shorter text cannot be looked up.
      if (q.subject !== undefined && [...q.subject].length < MIN_SUBJECT_SEARCH) {
        throw ApiErrors.badRequest(`subject needs at least ${MIN_SUBJECT_SEARCH} characters`, 'subject');
      }
      const messages = await deps.store.list({
        accountId: req.principal!.accountId,
        limit,
        before: q.cursor,
        recipient: q.recipient,
        sender: q.sender,
        subject: q.subject,
        states: q.status ? [q.status] : undefined,
        tag: q.tag,
        since: q.from ? new Date(q.from) : undefined,
        until: q.to ? new Date(q.to) : undefined,
      });
      return {
        messages: messages.map(messageSummaryView),
        next_cursor: messages.length === limit ? messages[messages.length - 1].id : null,
      };
    },
  );
}
