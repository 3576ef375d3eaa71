import type { FastifyInstance } from 'fastify';
import { addWithRecords, DomainsError, showDomain, type DkimAlgorithm, type DnsRecord, type DomainView, type RecordCheck } from '../domains/index.js';
import { ApiError, ApiErrors, errorResponses } from './errors.js';
import type { ApiDeps } from './types.js';

/** Sending domains: add (with the records to publish), show, verify, rotate the DKIM key, delete. */

const errors = errorResponses(400, 401, 403, 404, 409, 422);
const nameParam = { type: 'object', properties: { name: { type: 'string', description: 'The domain, e.g. example.com.' } } } as const;

const recordSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    type: { type: 'string', enum: ['TXT', 'MX', 'CNAME'] },
    value: { type: 'string' },
    purpose: { type: 'string', enum: ['dkim', 'spf', 'return-path-spf', 'return-path-mx', 'dmarc', 'tracking'] },
    why: { type: 'string' },
    required: { type: 'boolean' },
  },
} as const;

const checkSchema = {
  type: 'object',
  properties: {
    purpose: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string' },
    status: { type: 'string', enum: ['ok', 'missing', 'wrong', 'error'] },
    required: { type: 'boolean' },
    expected: { type: 'string' },
    found: { type: 'array', items: { type: 'string' } },
    problem: { type: 'string' },
    fix: { type: 'string' },
    note: { type: 'string' },
  },
} as const;

export const domainSchema = {
  $id: 'Domain',
  type: 'object',
  properties: {
    name: { type: 'string' },
    status: { type: 'string', enum: ['unverified', 'verified', 'failing'] },
    return_path: { type: 'string' },
    verified_at: { type: ['string', 'null'], format: 'date-time' },
    sending_stops_at: { type: ['string', 'null'], format: 'date-time', description: 'For a failing domain: when it may no longer send unless fixed.' },
    checked_at: { type: ['string', 'null'], format: 'date-time' },
    dkim: {
      type: 'array',
      items: { type: 'object', properties: { selector: { type: 'string' }, algorithm: { type: 'string' }, state: { type: 'string', enum: ['pending', 'active', 'retiring'] } } },
    },
    checks: { type: 'array', items: checkSchema, description: 'The last verification, record by record.' },
    records: { type: 'array', items: recordSchema, description: 'The DNS records to publish.' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function checkView(c: RecordCheck) {
  return { purpose: c.purpose, name: c.name, type: c.type, status: c.status, required: c.required, expected: c.expected, found: c.found, problem: c.problem, fix: c.fix, note: c.note };
}

function domainView(d: DomainView, records?: DnsRecord[]) {
  return {
    name: d.name,
    status: d.status,
    return_path: d.returnPath,
    verified_at: iso(d.verifiedAt),
    sending_stops_at: iso(d.sendingStopsAt),
    checked_at: iso(d.checkedAt),
    dkim: d.dkim.map((k) => ({ selector: k.selector, algorithm: k.algorithm, state: k.state })),
    checks: (d.verification?.records ?? []).map(checkView),
    ...(records ? { records: records.map((r) => ({ name: r.name, type: r.type, value: r.value, purpose: r.purpose, why: r.why, required: r.required })) } : {}),
    created_at: d.createdAt.toISOString(),
  };
}

/** The domains room's refusals in the API's words. */
function fromDomainsError(err: unknown): never {
  if (err instanceof DomainsError) {
    if (err.code === 'domain_taken' || err.code === 'rotation_in_progress') throw ApiErrors.conflict(err.message, 'name');
    const field = err.code === 'invalid_return_path' ? 'return_path' : err.code === 'invalid_algorithm' ? 'dkim' : 'name';
    throw new ApiError(422, 'invalid', err.message, field);
  }
  throw err;
}

export function registerDomainRoutes(api: FastifyInstance, deps: ApiDeps): void {
  const dns = { resolver: deps.resolver, context: deps.dnsContext };
  const notFound = (name: string) => ApiErrors.notFound(`domain ${name}`);

  api.post<{ Body: { name: string; return_path?: string; dkim?: DkimAlgorithm[] } }>(
    '/domains',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Add a sending domain',
        description: 'Makes its DKIM key(s) and answers with every DNS record to publish. Then publish them and call verify.',
        tags: ['domains'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string' },
            return_path: { type: 'string', description: 'Where bounces come back; default bounces.<name>.' },
            dkim: { type: 'array', items: { type: 'string', enum: ['rsa', 'ed25519'] }, minItems: 1, description: 'Default ["rsa"]; add "ed25519" for a second signature.' },
          },
        },
        response: { 201: { $ref: 'Domain#' }, ...errors },
      },
    },
    async (req, reply) => {
      const added = await addWithRecords(deps.domains, req.principal!.accountId, req.body.name, { returnPath: req.body.return_path, dkim: req.body.dkim }, dns).catch(fromDomainsError);
      return reply.code(201).send(domainView(added.domain, added.records));
    },
  );

  api.get(
    '/domains',
    {
      config: { scope: 'read' },
      schema: { summary: "The account's sending domains", tags: ['domains'], response: { 200: { type: 'object', properties: { domains: { type: 'array', items: { $ref: 'Domain#' } } } }, ...errors } },
    },
    async (req) => ({ domains: (await deps.domains.list(req.principal!.accountId)).map((d) => domainView(d)) }),
  );

  api.get<{ Params: { name: string } }>(
    '/domains/:name',
    {
      config: { scope: 'read' },
      schema: { summary: 'A domain, its keys, its last check and the records to publish', tags: ['domains'], params: nameParam, response: { 200: { $ref: 'Domain#' }, ...errors } },
    },
    async (req) => {
      const shown = await showDomain(deps.domains, req.principal!.accountId, req.params.name, dns).catch(fromDomainsError);
      if (!shown) throw notFound(req.params.name);
      return domainView(shown.domain, shown.records);
    },
  );

  api.post<{ Params: { name: string } }>(
    '/domains/:name/verify',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Check the records now',
        description: 'Each record is reported as ok, missing or wrong, with the exact fix. A change is also sent as a domain.verification_changed event.',
        tags: ['domains'],
        params: nameParam,
        response: { 200: { $ref: 'Domain#' }, ...errors },
      },
    },
    async (req) => {
      const outcome = await deps.domainMonitor.check(req.principal!.accountId, req.params.name).catch(fromDomainsError);
      if (!outcome) throw notFound(req.params.name);
      return domainView(outcome.domain);
    },
  );

  api.post<{ Params: { name: string } }>(
    '/domains/:name/rotate-dkim',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Make a new DKIM key',
        description: 'The new key is used once its record is published and verified; the old one stays valid for 7 days.',
        tags: ['domains'],
        params: nameParam,
        response: { 200: { $ref: 'Domain#' }, ...errors },
      },
    },
    async (req) => {
      const rotated = await deps.domains.rotateDkim(req.principal!.accountId, req.params.name).catch(fromDomainsError);
      if (!rotated) throw notFound(req.params.name);
      const shown = await showDomain(deps.domains, req.principal!.accountId, req.params.name, dns);
      return domainView(shown!.domain, shown!.records);
    },
  );

  api.delete<{ Params: { name: string } }>(
    '/domains/:name',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Remove a sending domain and its keys', tags: ['domains'], params: nameParam, response: { 204: { type: 'null' }, ...errors } },
    },
    async (req, reply) => {
      if (!(await deps.domains.delete(req.principal!.accountId, req.params.name))) throw notFound(req.params.name);
      return reply.code(204).send();
    },
  );
}
