import type { FastifyInstance } from 'fastify';
import { AccountsError, API_KEY_SCOPES, type ApiKey, type ApiKeyScope } from '../accounts/index.js';
import { ApiError, ApiErrors, errorResponses } from './errors.js';
import type { ApiDeps } from './types.js';

/** The calling key's account, and the account's API keys (what the dashboard manages). */

const errors = errorResponses(400, 401, 403, 404, 409, 422);

const apiKeySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    scope: { type: 'string', enum: [...API_KEY_SCOPES] },
    prefix: { type: 'string', description: 'The first characters of the key, to tell keys apart.' },
    created_at: { type: 'string', format: 'date-time' },
    last_used_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

function apiKeyView(k: ApiKey) {
  return { id: k.id, name: k.name, scope: k.scope, prefix: k.prefix, created_at: k.createdAt.toISOString(), last_used_at: k.lastUsedAt?.toISOString() ?? null };
}

/** The account room's refusals in the API's words. */
function fromAccountsError(err: unknown): never {
  if (err instanceof AccountsError) {
    if (err.code === 'name_taken') throw ApiErrors.conflict(err.message, 'name');
    throw new ApiError(422, 'invalid', err.message, err.code === 'invalid_scope' ? 'scope' : 'name');
  }
  throw err;
}

export function registerAccountRoutes(api: FastifyInstance, deps: ApiDeps): void {
  api.get(
    '/account',
    {
      config: { scope: 'send' },
      schema: {
        summary: "The calling key's account and scope",
        tags: ['account'],
        response: {
          200: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              name: { type: 'string' },
              rate_per_minute: { type: ['integer', 'null'] },
              rate_per_day: { type: ['integer', 'null'] },
              track_opens: { type: 'boolean', description: 'Default open tracking for messages that do not choose (herald accounts set-tracking).' },
              track_links: { type: 'boolean', description: 'Default click tracking (HTML links) for messages that do not choose.' },
              key: { type: 'object', properties: { id: { type: 'string' }, scope: { type: 'string' } } },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const p = req.principal!;
      const account = await deps.accounts.get(p.accountId);
      if (!account) throw ApiErrors.notFound(`account ${p.accountId}`);
      return {
        id: account.id,
        name: account.name,
        rate_per_minute: account.ratePerMinute,
        rate_per_day: account.ratePerDay,
        track_opens: account.trackOpens,
        track_links: account.trackLinks,
        key: { id: p.keyId, scope: p.scope },
      };
    },
  );

  api.get(
    '/api-keys',
    {
      config: { scope: 'admin' },
      schema: {
        summary: "The account's active API keys (never the keys themselves)",
        tags: ['account'],
        response: { 200: { type: 'object', properties: { api_keys: { type: 'array', items: apiKeySchema } } }, ...errors },
      },
    },
    async (req) => ({ api_keys: (await deps.accounts.listApiKeys(req.principal!.accountId)).map(apiKeyView) }),
  );

  api.post<{ Body: { name: string; scope: ApiKeyScope } }>(
    '/api-keys',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Create an API key (the key is in this answer only)',
        tags: ['account'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'scope'],
          properties: { name: { type: 'string' }, scope: { type: 'string', enum: [...API_KEY_SCOPES] } },
        },
        response: { 201: { type: 'object', properties: { ...apiKeySchema.properties, key: { type: 'string' } } }, ...errors },
      },
    },
    async (req, reply) => {
      try {
        const created = await deps.accounts.createApiKey({ accountId: req.principal!.accountId, name: req.body.name, scope: req.body.scope });
        return reply.code(201).send({ id: created.id, name: created.name, scope: created.scope, key: created.key, created_at: created.createdAt.toISOString() });
      } catch (err) {
        fromAccountsError(err);
      }
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/api-keys/:id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Revoke an API key (by id or name); it stops working at once',
        tags: ['account'],
        params: { type: 'object', properties: { id: { type: 'string' } } },
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      if (!(await deps.accounts.revokeApiKey(req.params.id, req.principal!.accountId))) throw ApiErrors.notFound(`API key ${req.params.id}`);
      return reply.code(204).send();
    },
  );
}
