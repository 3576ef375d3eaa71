import type { FastifyInstance } from 'fastify';
import {
  normalizeSuppressionAddress,
  SUPPRESSION_REASONS,
  SUPPRESSION_STREAMS,
  type SqlSuppressionStore,
  type StreamSelector,
  type SuppressionEntry,
  type SuppressionInput,
  type SuppressionReason,
  type SuppressionStream,
} from '../suppression/index.js';
import { SmtpRejection, systemClock, type Clock } from '../core/index.js';
import { ApiErrors, errorResponses } from './errors.js';

/** The suppression list: add (one or many), list and search, look an address up, remove it. */

export interface SuppressionRouteDeps {
  suppressions: Pick<SqlSuppressionStore, 'add' | 'get' | 'list' | 'remove'>;
  /** For checking `expires_at`; the system clock when omitted. */
  clock?: Clock;
}

/** The most entries one POST adds. */
export const MAX_SUPPRESSIONS_PER_REQUEST = 1000;

const errors = errorResponses(400, 401, 403, 404, 422);

const entrySchema = {
  type: 'object',
  properties: {
    address: { type: 'string' },
    stream: { type: 'string', enum: [...SUPPRESSION_STREAMS] },
    reason: { type: 'string', enum: [...SUPPRESSION_REASONS] },
    message_id: { type: ['string', 'null'], description: 'The message whose bounce, complaint or unsubscribe caused the entry.' },
    detail: { type: ['string', 'null'], description: "The remote server's reply or other words on why." },
    created_at: { type: 'string', format: 'date-time', description: 'When the address got this reason.' },
    expires_at: { type: ['string', 'null'], format: 'date-time', description: 'Manual entries only: when it stops applying.' },
  },
} as const;

const inputProperties = {
  address: { type: 'string', maxLength: 1000 },
  stream: { type: 'string', enum: [...SUPPRESSION_STREAMS, 'all'], description: 'Default all: both streams.' },
  reason: { type: 'string', enum: [...SUPPRESSION_REASONS], description: 'Default manual.' },
  expires_at: { type: 'string', description: 'ISO 8601 time; manual entries only. Default: never.' },
} as const;

const addBody = {
  type: 'object',
  additionalProperties: false,
  description: 'One address (`address`, `stream`, `reason`, `expires_at`) or many (`suppressions`).',
  properties: {
    ...inputProperties,
    suppressions: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_SUPPRESSIONS_PER_REQUEST,
      items: { type: 'object', additionalProperties: false, required: ['address'], properties: inputProperties },
    },
  },
} as const;

const addressParam = { type: 'object', properties: { address: { type: 'string', description: 'The email address (URL-encoded).' } } } as const;
const streamQuery = { type: 'string', enum: [...SUPPRESSION_STREAMS] } as const;

interface InputBody {
  address?: string;
  stream?: StreamSelector;
  reason?: SuppressionReason;
  expires_at?: string;
}

export function suppressionView(e: SuppressionEntry) {
  return {
    address: e.address,
    stream: e.stream,
    reason: e.reason,
    message_id: e.messageId,
    detail: e.detail,
    created_at: e.createdAt.toISOString(),
    expires_at: e.expiresAt ? e.expiresAt.toISOString() : null,
  };
}

/** The store's refusals (an address that does not parse, a cursor not ours) in the API's words: 422 naming the field. */
function inApiWords(err: unknown): never {
  if (err instanceof SmtpRejection) throw ApiErrors.invalid(err.field ?? 'body', err.reply.text);
  throw err;
}

function check<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    return inApiWords(err);
  }
}

/** One body entry as the store takes it; `at` is the entry's path in the request ('' or 'suppressions[3].'). */
function toInput(body: InputBody, at: string, now: number): SuppressionInput {
  const address = check(() => normalizeSuppressionAddress(body.address, `${at}address`));
  const reason = body.reason ?? 'manual';
  let expiresAt: Date | undefined;
  if (body.expires_at !== undefined) {
    const field = `${at}expires_at`;
    const t = Date.parse(body.expires_at);
    if (!/^\d{4}-\d\d-\d\dT/.test(body.expires_at) || Number.isNaN(t)) throw ApiErrors.invalid(field, `${field} must be an ISO 8601 time such as 2030-01-02T09:00:00Z`);
    if (reason !== 'manual') throw ApiErrors.invalid(field, `only manual entries expire; a ${reason} entry stays until removed`);
    if (t <= now) throw ApiErrors.invalid(field, `${field} is in the past`);
    expiresAt = new Date(t);
  }
  return { address, stream: body.stream, reason, expiresAt };
}

export function registerSuppressionRoutes(api: FastifyInstance, deps: SuppressionRouteDeps): void {
  const { suppressions } = deps;
  const clock = deps.clock ?? systemClock;

  api.post<{ Body: InputBody & { suppressions?: InputBody[] } }>(
    '/suppressions',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Suppress addresses',
        description:
          'Adds one address or up to 1000. Idempotent: an address already suppressed keeps its first reason unless the new one is stronger (manual < soft_bounces < unsubscribe < hard_bounce < complaint).',
        tags: ['suppressions'],
        body: addBody,
        response: {
          200: {
            type: 'object',
            properties: {
              added: { type: 'integer', description: 'Entries (address and stream) that are new.' },
              updated: { type: 'integer', description: 'Entries given a stronger reason or a later expiry.' },
              unchanged: { type: 'integer' },
              suppressions: { type: 'array', items: entrySchema, description: 'The entries of the addresses as they now are.' },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const body = req.body;
      const single = body.address !== undefined || body.stream !== undefined || body.reason !== undefined || body.expires_at !== undefined;
      if (single === (body.suppressions !== undefined)) {
        throw ApiErrors.badRequest('send one address as {"address": …} or many as {"suppressions": [{"address": …}, …]}, not both');
      }
      if (single && body.address === undefined) throw ApiErrors.badRequest('address is required', 'address');
      const now = clock.now().getTime();
      const inputs = body.suppressions ? body.suppressions.map((s, i) => toInput(s, `suppressions[${i}].`, now)) : [toInput(body, '', now)];
      const accountId = req.principal!.accountId;
      const result = await suppressions.add(accountId, inputs).catch(inApiWords);
      const addresses = [...new Set(inputs.map((i) => i.address))];
      const entries = await Promise.all(addresses.map((a) => suppressions.get(accountId, a)));
      return { ...result, suppressions: entries.flat().map(suppressionView) };
    },
  );

  api.get<{ Querystring: { stream?: SuppressionStream; reason?: SuppressionReason; search?: string; limit?: string; cursor?: string } }>(
    '/suppressions',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'List suppressed addresses, by address',
        tags: ['suppressions'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            stream: streamQuery,
            reason: { type: 'string', enum: [...SUPPRESSION_REASONS] },
            search: { type: 'string', maxLength: 320, description: 'Part of the address, case-insensitive.' },
            limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: '1 to 1000, default 100.' },
            cursor: { type: 'string' },
          },
        },
        response: {
          200: { type: 'object', properties: { suppressions: { type: 'array', items: entrySchema }, next_cursor: { type: ['string', 'null'] } } },
          ...errors,
        },
      },
    },
    async (req) => {
      const { stream, reason, search, cursor } = req.query;
      const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
      if (limit < 1 || limit > 1000) throw ApiErrors.badRequest('limit is 1 to 1000', 'limit');
      const page = await suppressions.list(req.principal!.accountId, { stream, reason, search: search || undefined, limit, cursor }).catch(inApiWords);
      return { suppressions: page.entries.map(suppressionView), next_cursor: page.nextCursor };
    },
  );

  api.get<{ Params: { address: string }; Querystring: { stream?: SuppressionStream } }>(
    '/suppressions/:address',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Is this address suppressed, on which streams, and why',
        description: 'A 404 means Herald sends to it (on the stream given, or on both).',
        tags: ['suppressions'],
        params: addressParam,
        querystring: { type: 'object', additionalProperties: false, properties: { stream: streamQuery } },
        response: {
          200: { type: 'object', properties: { address: { type: 'string' }, suppressions: { type: 'array', items: entrySchema } } },
          ...errors,
        },
      },
    },
    async (req) => {
      const address = check(() => normalizeSuppressionAddress(req.params.address));
      const entries = await suppressions.get(req.principal!.accountId, address, req.query.stream);
      if (entries.length === 0) throw ApiErrors.notFound(`a suppression of ${address}${req.query.stream ? ` on the ${req.query.stream} stream` : ''}`);
      return { address, suppressions: entries.map(suppressionView) };
    },
  );

  api.delete<{ Params: { address: string }; Querystring: { stream?: StreamSelector } }>(
    '/suppressions/:address',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Remove an address from the list',
        description: 'From the stream given, or from both. Herald sends to it again, and its soft bounces start counting afresh.',
        tags: ['suppressions'],
        params: addressParam,
        querystring: { type: 'object', additionalProperties: false, properties: { stream: { type: 'string', enum: [...SUPPRESSION_STREAMS, 'all'] } } },
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      const address = check(() => normalizeSuppressionAddress(req.params.address));
      if ((await suppressions.remove(req.principal!.accountId, address, req.query.stream).catch(inApiWords)) === 0) {
        throw ApiErrors.notFound(`a suppression of ${address}${req.query.stream && req.query.stream !== 'all' ? ` on the ${req.query.stream} stream` : ''}`);
      }
      return reply.code(204).send();
    },
  );
}
