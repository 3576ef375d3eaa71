import type { MailEvent } from '../core/index.js';
import type { MessageDetail, MessageSummary } from '../queue/index.js';

/** How the API shows queue records: snake_case JSON, ISO times, no internal fields. */

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export function messageSummaryView(m: MessageSummary) {
  return {
    id: m.id,
    status: m.status,
    source: m.source,
    from: m.mailFrom,
    subject: m.meta.subject ?? null,
    message_id_header: m.meta.messageIdHeader ?? null,
    tags: m.meta.tags ?? [],
    metadata: m.meta.metadata ?? {},
    stream: m.meta.stream ?? 'transactional',
    template: m.meta.template ?? null,
    size: m.size,
    recipient_count: m.recipientCount,
    created_at: iso(m.createdAt),
    send_at: m.meta.sendAt ?? null,
    expires_at: iso(m.expiresAt),
    next_attempt_at: iso(m.nextAttemptAt),
  };
}

export function eventView(e: MailEvent) {
  return { seq: e.seq ?? null, type: e.type, at: iso(e.at), recipient: e.recipient ?? null, data: e.data };
}

export function messageDetailView(m: MessageDetail, events: MailEvent[]) {
  return {
    ...messageSummaryView(m),
    recipients: m.recipients.map((r) => ({
      address: r.address,
      state: r.state,
      attempts: r.attempts,
      next_attempt_at: iso(r.nextAttemptAt),
      last_reply: r.lastReply,
      history: r.history.map((a) => ({ at: iso(a.at), host: a.host ?? null, state: a.state, reply: a.reply })),
    })),
    tracking: m.meta.tracking ?? null,
    events: events.map(eventView),
  };
}

const messageSummaryProperties = {
  id: { type: 'string' },
  status: { type: 'string', enum: ['queued', 'deferred', 'delivering', 'held', 'delivered', 'bounced', 'expired', 'partial'] },
  source: { type: 'string', enum: ['smtp', 'api', 'dsn'] },
  from: { type: 'string' },
  subject: { type: ['string', 'null'] },
  message_id_header: { type: ['string', 'null'] },
  tags: { type: 'array', items: { type: 'string' } },
  metadata: { type: 'object', additionalProperties: { type: 'string' } },
  stream: { type: 'string' },
  template: { type: ['object', 'null'], properties: { id: { type: 'string' }, version: { type: 'integer' } } },
  size: { type: 'integer' },
  recipient_count: { type: 'integer' },
  created_at: { type: 'string', format: 'date-time' },
  send_at: { type: ['string', 'null'], format: 'date-time' },
  expires_at: { type: 'string', format: 'date-time' },
  next_attempt_at: { type: ['string', 'null'], format: 'date-time' },
} as const;

export const messageSummarySchema = { $id: 'MessageSummary', type: 'object', properties: messageSummaryProperties } as const;

export const eventSchema = {
  $id: 'Event',
  type: 'object',
  properties: {
    seq: { type: ['integer', 'null'] },
    type: { type: 'string', description: 'accepted, deferred, delivered, bounced, expired, held, released, deleted' },
    at: { type: 'string', format: 'date-time' },
    recipient: { type: ['string', 'null'] },
    data: { type: 'object' },
  },
} as const;

export const messageDetailSchema = {
  $id: 'MessageDetail',
  type: 'object',
  properties: {
    ...messageSummaryProperties,
    recipients: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          address: { type: 'string' },
          state: { type: 'string' },
          attempts: { type: 'integer' },
          next_attempt_at: { type: ['string', 'null'], format: 'date-time' },
          last_reply: { type: ['string', 'null'] },
          history: {
            type: 'array',
            items: {
              type: 'object',
              properties: { at: { type: 'string' }, host: { type: ['string', 'null'] }, state: { type: 'string' }, reply: { type: 'string' } },
            },
          },
        },
      },
    },
    tracking: {
      type: ['object', 'null'],
      description: 'Open and click tracking as decided for the message (null: both off); skipped says why it went out untracked after all.',
      properties: { opens: { type: 'boolean' }, links: { type: 'string' }, skipped: { type: 'string' } },
    },
    events: { type: 'array', items: { $ref: 'Event#' } },
  },
} as const;

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'bad_request, unauthorized, forbidden, not_found, conflict, too_large, invalid, rate_limited, unavailable' },
        message: { type: 'string' },
        field: { type: 'string', description: 'The request field the error is about, e.g. "to[1]" or "attachments[0].filename".' },
        line: { type: 'integer' },
        column: { type: 'integer' },
      },
    },
  },
} as const;

export const sendResultSchema = {
  $id: 'SendResult',
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'scheduled'] },
    recipients: { type: 'array', items: { type: 'string' } },
    send_at: { type: 'string', format: 'date-time' },
  },
} as const;
