import type { FastifyInstance } from 'fastify';
import type { SmtpCredential, SqlCredentialStore } from '../accounts/index.js';
import { ApiErrors, errorResponses } from './errors.js';

/**
 * The account's SMTP credentials (username and generated password for AUTH on 587/465), what
 * `herald credentials` manages. Network credentials (relay without AUTH from an address range)
 * are left to the operator's CLI: an account admin must not be able to open a relay.
 */

export interface CredentialRouteDeps {
  credentials: Pick<SqlCredentialStore, 'create' | 'list' | 'revoke'>;
}

const errors = errorResponses(400, 401, 403, 404, 409, 422);

const credentialSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string', enum: ['password', 'network'] },
    username: { type: ['string', 'null'], description: 'The SMTP AUTH username (password credentials).' },
    networks: { type: 'array', items: { type: 'string' }, description: 'Client networks that may relay without AUTH (network credentials, made with the CLI).' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

function credentialView(c: SmtpCredential) {
  return { id: c.id, name: c.name, kind: c.kind, username: c.username ?? null, networks: c.networks ?? [], created_at: c.createdAt.toISOString() };
}

export function registerCredentialRoutes(api: FastifyInstance, deps: CredentialRouteDeps): void {
  api.get(
    '/credentials',
    {
      config: { scope: 'admin' },
      schema: {
        summary: "The account's active SMTP credentials (never the passwords)",
        tags: ['account'],
        response: { 200: { type: 'object', properties: { credentials: { type: 'array', items: credentialSchema } } }, ...errors },
      },
    },
    async (req) => ({ credentials: (await deps.credentials.list()).filter((c) => c.accountId === req.principal!.accountId).map(credentialView) }),
  );

  api.post<{ Body: { name: string } }>(
    '/credentials',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Create an SMTP credential (the password is in this answer only)',
        description: 'A generated username and password for SMTP AUTH on the submission ports. Herald keeps only a hash of the password.',
        tags: ['account'],
        body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' } } },
        response: { 201: { type: 'object', properties: { ...credentialSchema.properties, password: { type: 'string' } } }, ...errors },
      },
    },
    async (req, reply) => {
      let created;
      try {
        created = await deps.credentials.create({ name: req.body.name, accountId: req.principal!.accountId });
      } catch (err) {
        const message = (err as Error).message;
        if (/already exists/.test(message)) throw ApiErrors.conflict(message, 'name');
        throw ApiErrors.invalid('name', message);
      }
      const listed = (await deps.credentials.list()).find((c) => c.id === created.id);
      return reply.code(201).send({
        id: created.id,
        name: created.name,
        kind: 'password',
        username: created.username ?? null,
        networks: [],
        password: created.password,
        created_at: (listed?.createdAt ?? new Date()).toISOString(),
      });
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/credentials/:id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Revoke an SMTP credential (by id or name); it can no longer send',
        tags: ['account'],
        params: { type: 'object', properties: { id: { type: 'string' } } },
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      const key = req.params.id;
      // The store revokes an id in any account: look it up within the caller's account first.
      const own = (await deps.credentials.list()).find((c) => c.accountId === req.principal!.accountId && (c.id === key || c.name === key));
      if (!own || !(await deps.credentials.revoke(own.id, req.principal!.accountId))) throw ApiErrors.notFound(`credential ${key}`);
      return reply.code(204).send();
    },
  );
}
