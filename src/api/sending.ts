import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Submission } from '../accept/index.js';
import { SmtpRejection } from '../core/index.js';
import { ApiError, ApiErrors, fromRejection } from './errors.js';
import type { ApiDeps, ApiPrincipal } from './types.js';

/** What sending one message produced: queued (durably), or refused with the reason. */
export type SendOutcome =
  | { ok: true; id: string; recipients: string[]; suppressed: { address: string; reason: string }[]; sendAt?: Date }
  | { ok: false; error: ApiError };

/**
 * Sends submissions through the accept pipeline after the account's rate limit allows them all.
 * Each one is judged alone (a refused one does not stop the others) and they run concurrently,
 * so a batch shares the queue's group commits. Resolves once every accepted one is durable.
 */
export async function sendAll(deps: ApiDeps, principal: ApiPrincipal, items: (Submission | ApiError)[]): Promise<SendOutcome[]> {
  const count = items.filter((s) => !(s instanceof ApiError)).length;
  if (count > 0) {
    const account = await deps.accounts.get(principal.accountId);
    const limits = { ratePerMinute: account?.ratePerMinute ?? null, ratePerDay: account?.ratePerDay ?? null };
    const taken = await deps.rateLimiter.take(principal.accountId, count, limits, deps.clock.now());
    if (!taken.ok) throw ApiErrors.rateLimited(taken.retryAfterSeconds, taken.limit);
  }
  return Promise.all(
    items.map(async (item): Promise<SendOutcome> => {
      if (item instanceof ApiError) return { ok: false, error: item };
      try {
        const accepted = await deps.accept.accept(item);
        return { ok: true, id: accepted.id, recipients: accepted.recipients, suppressed: accepted.suppressed, sendAt: item.sendAt && item.sendAt > item.receivedAt ? item.sendAt : undefined };
      } catch (err) {
        if (err instanceof SmtpRejection) return { ok: false, error: fromRejection(err) };
        if (err instanceof ApiError) return { ok: false, error: err };
        throw err;
      }
    }),
  );
}

/** Builds a submission, turning a refusal into a value so one bad batch item stays alone. */
export function tryBuild(build: () => Submission): Submission | ApiError {
  try {
    return build();
  } catch (err) {
    if (err instanceof ApiError) return err;
    if (err instanceof SmtpRejection) return fromRejection(err);
    throw err;
  }
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Runs a POST under its Idempotency-Key (when given): a retry with the same key and body gets
 * the first answer again (with `Idempotent-Replayed: true`), the same key with another body is
 * 409. Answers that say nothing was done for good (429, 5xx) are not kept, so a retry runs again.
 */
export async function idempotent(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: ApiDeps,
  run: () => Promise<{ status: number; body: unknown }>,
): Promise<unknown> {
  const header = req.headers['idempotency-key'];
  if (header === undefined) {
    const result = await run();
    return reply.code(result.status).send(result.body);
  }
  const key = Array.isArray(header) ? header[0] : header;
  if (!IDEMPOTENCY_KEY.test(key)) throw ApiErrors.badRequest('Idempotency-Key is 1 to 255 printable ASCII characters', 'Idempotency-Key');
  const accountId = req.principal!.accountId;
  const hash = createHash('sha256').update(`${req.method} ${req.routeOptions.url}\n`).update(JSON.stringify(req.body ?? null)).digest('hex');
  const begun = await deps.idempotency.begin(accountId, key, hash, deps.clock.now());
  switch (begun.kind) {
    case 'replay':
      return reply.code(begun.status).header('Idempotent-Replayed', 'true').send(JSON.parse(begun.body));
    case 'conflict':
      throw ApiErrors.conflict('this Idempotency-Key was already used with a different request body', 'Idempotency-Key');
    case 'in_progress':
      throw ApiErrors.conflict('a request with this Idempotency-Key is still being processed; retry shortly', 'Idempotency-Key');
    case 'new':
      break;
  }
  let result: { status: number; body: unknown };
  try {
    result = await run();
  } catch (err) {
    const status = err instanceof ApiError ? err.status : 500;
    if (err instanceof ApiError && status < 500 && status !== 429) {
      await deps.idempotency.complete(accountId, key, status, JSON.stringify(err.body()));
    } else {
      await deps.idempotency.abandon(accountId, key);
    }
    throw err;
  }
  if (result.status >= 500 || result.status === 429) await deps.idempotency.abandon(accountId, key);
  else await deps.idempotency.complete(accountId, key, result.status, JSON.stringify(result.body));
  return reply.code(result.status).send(result.body);
}
