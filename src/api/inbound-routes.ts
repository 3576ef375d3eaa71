import type { FastifyInstance } from 'fastify';
import { INBOUND_KINDS, isMessageId, type InboundKind } from '../core/index.js';
import { MAX_INBOUND_LIST_LIMIT, type InboundRecord, type SqlInboundStore } from '../feedback/index.js';
import { ApiErrors, errorResponses } from './errors.js';
import type { ApiPrincipal } from './types.js';

/**
 * Read-only access to the inbound records: the bounces, complaints and other mail the MX listener
 * accepted for Herald's own addresses, with their SPF/DKIM/DMARC/ARC verdicts — what a
 * `message.bounced` or `message.complained` event's `inbound_id` points at.
 */

export interface InboundRouteDeps {
  inbound: Pick<SqlInboundStore, 'get' | 'getRaw' | 'list'>;
}

const errors = errorResponses(400, 401, 403, 404);
const DEFAULT_LIMIT = 50;
// Record ids are time-ordered like message ids.
const idParam = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9a-hjkmnp-tv-z]{26}$', description: 'An inbound record id (an event’s data.inbound_id).' } },
};

const verdicts = {
  type: ['object', 'null'],
  description: 'The checks Herald made when the message arrived; null when they could not run (e.g. DNS failed).',
  properties: {
    spf: { type: 'string', description: 'pass, fail, softfail, neutral, none, temperror, permerror' },
    dkim: { type: 'string', description: 'pass when any signature verified, else the first result (none: unsigned)' },
    dmarc: { type: 'string' },
    arc: { type: 'string' },
  },
};

export const inboundRecordSchema = {
  $id: 'InboundRecord',
  type: 'object',
  properties: {
    id: { type: 'string' },
    received_at: { type: 'string', format: 'date-time' },
    kind: { type: 'string', enum: [...INBOUND_KINDS], description: 'dsn (a delivery status report), free_text_bounce, arf (a complaint), unsubscribe, other' },
    message_id: { type: ['string', 'null'], description: 'The Herald message it is about, when it named one.' },
    recipient: { type: ['string', 'null'], description: 'The recipient of that message it is about.' },
    client_ip: { type: 'string' },
    helo: { type: ['string', 'null'] },
    mail_from: { type: 'string', description: 'The envelope sender ("" for the null sender of a bounce).' },
    recipients: { type: 'array', items: { type: 'string' }, description: 'The envelope recipients (Herald’s own addresses).' },
    subject: { type: ['string', 'null'] },
    from: { type: ['string', 'null'] },
    authentication: verdicts,
    size: { type: 'integer', description: 'Bytes of the raw form, Authentication-Results included.' },
  },
} as const;

export function inboundRecordView(r: InboundRecord) {
  return {
    id: r.id,
    received_at: r.receivedAt.toISOString(),
    kind: r.kind,
    message_id: r.messageId,
    recipient: r.recipient,
    client_ip: r.clientIp,
    helo: r.helo,
    mail_from: r.mailFrom,
    recipients: r.recipients,
    subject: r.subject,
    from: r.from,
    authentication: r.authentication,
    size: r.size,
  };
}

/**
 * An account's admin sees its own records; the default account's admin — the installation's
 * operator — also sees mail that belongs to no account (to postmaster@, reports about nothing of ours).
 */
function visible(principal: ApiPrincipal, record: InboundRecord | null): record is InboundRecord {
  if (!record) return false;
  return record.accountId === principal.accountId || (record.accountId === null && principal.accountId === 'default');
}

export function registerInboundRoutes(api: FastifyInstance, deps: InboundRouteDeps): void {
  api.get<{ Querystring: { cursor?: string; limit?: string; kind?: InboundKind; message_id?: string } }>(
    '/inbound',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Inbound mail (bounces, complaints, mail to postmaster@), newest first',
        description:
          'What the MX listener accepted for Herald’s own addresses, kept as long as messages (HERALD_RETENTION). ' +
          'Pass `next_cursor` from a page as `cursor` to get the next one.',
        tags: ['inbound'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cursor: { type: 'string' },
            limit: { type: 'string', pattern: '^[0-9]{1,3}$', description: `Page size, 1 to ${MAX_INBOUND_LIST_LIMIT} (default ${DEFAULT_LIMIT}).` },
            kind: { type: 'string', enum: [...INBOUND_KINDS] },
            message_id: { type: 'string', description: 'Only records about this message.' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { inbound: { type: 'array', items: { $ref: 'InboundRecord#' } }, next_cursor: { type: ['string', 'null'] } },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const q = req.query;
      if (q.cursor !== undefined && !isMessageId(q.cursor)) throw ApiErrors.badRequest('cursor is not one this API gave out', 'cursor');
      if (q.message_id !== undefined && !isMessageId(q.message_id)) throw ApiErrors.badRequest('message_id is not a message id', 'message_id');
      const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit);
      if (limit < 1 || limit > MAX_INBOUND_LIST_LIMIT) throw ApiErrors.badRequest(`limit is 1 to ${MAX_INBOUND_LIST_LIMIT}`, 'limit');
      const principal = req.principal!;
      const records = await deps.inbound.list({
        limit,
        before: q.cursor,
        kind: q.kind,
        messageId: q.message_id,
        accountId: principal.accountId,
        includeUnlinked: principal.accountId === 'default',
      });
      return { inbound: records.map(inboundRecordView), next_cursor: records.length === limit ? records[records.length - 1].id : null };
    },
  );

  api.get<{ Params: { id: string } }>(
    '/inbound/:id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'One inbound message: what it was, what it was about, its authentication verdicts',
        description: 'The message itself, with the Authentication-Results Herald added, is at /inbound/{id}/raw.',
        tags: ['inbound'],
        params: idParam,
        response: { 200: { $ref: 'InboundRecord#' }, ...errors },
      },
    },
    async (req) => {
      const record = await deps.inbound.get(req.params.id);
      if (!visible(req.principal!, record)) throw ApiErrors.notFound(`inbound message ${req.params.id}`);
      return inboundRecordView(record);
    },
  );

  api.get<{ Params: { id: string } }>(
    '/inbound/:id/raw',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'One inbound message as received, with Authentication-Results (RFC 8601) prepended',
        tags: ['inbound'],
        params: idParam,
        produces: ['message/rfc822'],
        response: { 200: { type: 'string', description: 'The message (message/rfc822): Received-SPF and Authentication-Results fields Herald added, then the message as received.' }, ...errors },
      },
    },
    async (req, reply) => {
      const record = await deps.inbound.get(req.params.id);
      if (!visible(req.principal!, record)) throw ApiErrors.notFound(`inbound message ${req.params.id}`);
      const raw = await deps.inbound.getRaw(record.id);
      if (!raw) throw ApiErrors.notFound(`inbound message ${req.params.id}`);
      return reply.type('message/rfc822').send(raw);
    },
  );
}
