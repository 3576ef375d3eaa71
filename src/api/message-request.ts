import { parseLinkTracking, type MessageContent, type MessageStream, type Submission } from '../accept/index.js';
import { SmtpRejection } from '../core/index.js';
import { ApiErrors } from './errors.js';

/**
 * The sending API's request bodies (JSON, snake_case) and how they become a `Submission` for the
 * accept pipeline. The schemas validate shapes (a wrong type or an unknown field is a 400 naming
 * it); what a value means — an address that does not parse, CR/LF in a header — is the
 * pipeline's to judge (422).
 */

const addressList = {
  description: 'An address (`a@example.com` or `Name <a@example.com>`) or a list of them.',
  anyOf: [
    { type: 'string', minLength: 1, maxLength: 998 },
    { type: 'array', items: { type: 'string', minLength: 1, maxLength: 998 }, minItems: 1, maxItems: 1000 },
  ],
} as const;

const labels = {
  tags: { type: 'array', items: { type: 'string' }, maxItems: 10, description: 'Labels for search and statistics (at most 10).' },
  metadata: {
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Your own key/value strings, returned with the message and its events (at most 20 keys).',
  },
  stream: { type: 'string', enum: ['transactional', 'broadcast'], default: 'transactional' },
  send_at: { type: 'string', format: 'date-time', description: 'Scheduled sending: no attempt before this time (at most 30 days ahead).' },
  track_opens: { type: 'boolean', description: "Open tracking (a 1×1 pixel in HTML parts); the account's default when left out." },
  track_links: {
    anyOf: [{ type: 'boolean' }, { type: 'string' }],
    description:
      'Click tracking: true (links in HTML parts), false, or "html_only", "text_only", "html_and_text", "none"; the account\'s default when left out.',
  },
} as const;

export const messageSchema = {
  $id: 'Message',
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    from: { type: 'string', minLength: 1, maxLength: 998 },
    to: addressList,
    cc: addressList,
    bcc: addressList,
    reply_to: addressList,
    subject: { type: 'string', maxLength: 998 },
    text: { type: 'string' },
    html: { type: 'string' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra header fields, name → value.' },
    attachments: {
      type: 'array',
      maxItems: 100,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['filename', 'content'],
        properties: {
          filename: { type: 'string', minLength: 1 },
          content: { type: 'string', description: 'The file, base64-encoded.' },
          content_type: { type: 'string' },
          content_id: { type: 'string', description: 'Makes the attachment inline: refer to it in html as cid:<content_id>.' },
        },
      },
    },
    template: {
      type: 'object',
      additionalProperties: false,
      description: 'Render subject, html and text from a stored template (by id or alias) with data.',
      properties: { id: { type: 'string' }, alias: { type: 'string' }, data: { type: 'object' } },
    },
    ...labels,
  },
} as const;

export const rawMessageSchema = {
  $id: 'RawMessage',
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    from: { type: 'string', maxLength: 998, description: 'Envelope sender (MAIL FROM); "" for the null sender.' },
    to: addressList,
    message: { type: 'string', description: 'The complete RFC 5322 message as text.' },
    message_base64: { type: 'string', description: 'The complete message, base64-encoded (for 8-bit or binary content).' },
    ...labels,
  },
} as const;

export const BATCH_MAX = 500;

export const batchSchema = {
  $id: 'MessageBatch',
  type: 'object',
  additionalProperties: false,
  required: ['messages'],
  properties: { messages: { type: 'array', minItems: 1, maxItems: BATCH_MAX, items: { $ref: 'Message#' } } },
} as const;

export interface MessageBody {
  from: string;
  to: string | string[];
  cc?: string | string[];
  bcc?: string | string[];
  reply_to?: string | string[];
  subject?: string;
  text?: string;
  html?: string;
  headers?: Record<string, string>;
  attachments?: { filename: string; content: string; content_type?: string; content_id?: string }[];
  template?: { id?: string; alias?: string; data?: Record<string, unknown> };
  tags?: string[];
  metadata?: Record<string, string>;
  stream?: MessageStream;
  send_at?: string;
  track_opens?: boolean;
  track_links?: boolean | string;
}

export interface RawMessageBody {
  from: string;
  to: string | string[];
  message?: string;
  message_base64?: string;
  tags?: string[];
  metadata?: Record<string, string>;
  stream?: MessageStream;
  send_at?: string;
  track_opens?: boolean;
  track_links?: boolean | string;
}

const list = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/** The request's tracking choice; a field left out is the account's default. */
function tracking(body: { track_opens?: boolean; track_links?: boolean | string }): Submission['tracking'] {
  if (body.track_opens === undefined && body.track_links === undefined) return undefined;
  let links: ReturnType<typeof parseLinkTracking> | undefined;
  try {
    links = body.track_links === undefined ? undefined : parseLinkTracking(body.track_links, 'track_links');
  } catch (err) {
    if (err instanceof SmtpRejection) throw ApiErrors.invalid('track_links', err.reply.text);
    throw err;
  }
  return { opens: body.track_opens, links };
}

function sendAt(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw ApiErrors.invalid('send_at', 'send_at is not a date and time (use ISO 8601, e.g. 2030-01-02T09:00:00Z)');
  return at;
}

export function submissionFromMessage(accountId: string, body: MessageBody, receivedAt: Date): Submission {
  const content: MessageContent = {
    from: body.from,
    to: list(body.to) ?? [],
    cc: list(body.cc),
    bcc: list(body.bcc),
    replyTo: list(body.reply_to),
    subject: body.subject,
    text: body.text,
    html: body.html,
    headers: body.headers,
    attachments: body.attachments?.map((a) => ({ filename: a.filename, content: a.content, contentType: a.content_type, contentId: a.content_id })),
    template: body.template,
  };
  return {
    source: 'api',
    accountId,
    mailFrom: '',
    recipients: [],
    body: Buffer.alloc(0),
    content,
    tags: body.tags,
    metadata: body.metadata,
    stream: body.stream,
    sendAt: sendAt(body.send_at),
    tracking: tracking(body),
    receivedAt,
  };
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/;

export function submissionFromRaw(accountId: string, body: RawMessageBody, receivedAt: Date): Submission {
  if ((body.message === undefined) === (body.message_base64 === undefined)) {
    throw ApiErrors.invalid('message', 'give the message either as "message" (text) or as "message_base64", not both or neither');
  }
  let raw: Buffer;
  if (body.message !== undefined) raw = Buffer.from(body.message, 'utf8');
  else {
    if (!BASE64.test(body.message_base64!)) throw ApiErrors.invalid('message_base64', 'message_base64 is not valid base64');
    raw = Buffer.from(body.message_base64!, 'base64');
  }
  if (raw.length === 0) throw ApiErrors.invalid('message', 'the message is empty');
  return {
    source: 'api',
    accountId,
    mailFrom: body.from,
    recipients: list(body.to) ?? [],
    body: raw,
    tags: body.tags,
    metadata: body.metadata,
    stream: body.stream,
    sendAt: sendAt(body.send_at),
    tracking: tracking(body),
    receivedAt,
  };
}
