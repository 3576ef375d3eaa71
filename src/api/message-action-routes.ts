import type { FastifyInstance } from 'fastify';
import { isMessageId } from '../core/index.js';
import { PENDING_STATES, type MessageDetail } from '../queue/index.js';
import { ApiError, ApiErrors, errorResponses } from './errors.js';
import type { ApiDeps } from './types.js';

/**
 * Operator actions on queued messages — what `herald queue retry|hold|release|delete` do, for one
 * message or many, limited to the caller's account.
 */

export const MESSAGE_ACTIONS = ['retry', 'hold', 'release', 'cancel'] as const;
export type MessageAction = (typeof MESSAGE_ACTIONS)[number];

export const BULK_ACTION_MAX = 1000;

const errors = errorResponses(400, 401, 403, 404, 409);

export const messageActionResultSchema = {
  $id: 'MessageActionResult',
  type: 'object',
  properties: {
    id: { type: 'string' },
    action: { type: 'string', enum: [...MESSAGE_ACTIONS] },
    recipients: { type: 'integer', description: 'How many recipients the action changed (for cancel: the pending recipients that will not be delivered).' },
    status: { type: ['string', 'null'], description: "The message's status afterwards; null after cancel (the message is gone)." },
  },
} as const;

type ActionOutcome = { ok: true; recipients: number; status: string | null } | { ok: false; error: ApiError };

/** What each action may change, in words for the 409 answer. */
const NOTHING_TO_DO: Record<MessageAction, string> = {
  retry: 'no queued or deferred recipients to retry',
  hold: 'no queued or deferred recipients to hold',
  release: 'no held recipients to release',
  cancel: 'no recipients waiting for delivery to cancel',
};

async function ownMessage(deps: ApiDeps, accountId: string, id: string): Promise<MessageDetail | null> {
  const message = isMessageId(id) ? await deps.store.get(id) : null;
  // Another account's message is "not found", never "forbidden": ids reveal nothing.
  return message && message.accountId === accountId ? message : null;
}

async function apply(deps: ApiDeps, accountId: string, id: string, action: MessageAction): Promise<ActionOutcome> {
  const message = await ownMessage(deps, accountId, id);
  if (!message || !isMessageId(id)) return { ok: false, error: ApiErrors.notFound(`message ${id}`) };
  const now = deps.clock.now();
  let changed: number;
  switch (action) {
    case 'retry':
      changed = await deps.store.retryNow(id, now);
      break;
    case 'hold':
      changed = await deps.store.hold(id, now);
      break;
    case 'release':
      changed = await deps.store.release(id, now);
      break;
    case 'cancel': {
      // Cancelling a finished message would only erase its history: refuse it like the others.
      changed = message.recipients.filter((r) => PENDING_STATES.includes(r.state)).length;
      if (changed > 0 && !(await deps.store.remove(id, now))) return { ok: false, error: ApiErrors.notFound(`message ${id}`) };
      break;
    }
  }
  if (changed === 0) return { ok: false, error: ApiErrors.conflict(`message ${id} has ${NOTHING_TO_DO[action]} (its status is ${message.status})`, 'id') };
  const status = action === 'cancel' ? null : ((await deps.store.get(id))?.status ?? null);
  return { ok: true, recipients: changed, status };
}

export function registerMessageActionRoutes(api: FastifyInstance, deps: ApiDeps): void {
  const describe: Record<MessageAction, { summary: string; description: string }> = {
    retry: { summary: 'Retry a message now', description: 'Makes its queued and deferred recipients due now, ahead of the retry schedule.' },
    hold: { summary: 'Hold a message', description: 'Pauses delivery of its queued and deferred recipients until it is released (a recipient being delivered right now finishes its attempt).' },
    release: { summary: 'Release a held message', description: 'Its held recipients are due again now.' },
    cancel: {
      summary: 'Cancel a message',
      description: 'Removes it from the queue with its body: recipients still waiting are never delivered (and get no bounce). A message with no recipient waiting cannot be cancelled (409).',
    },
  };

  for (const action of MESSAGE_ACTIONS) {
    api.post<{ Params: { id: string } }>(
      `/messages/:id/${action}`,
      {
        config: { scope: 'admin' },
        schema: {
          ...describe[action],
          tags: ['messages'],
          params: { type: 'object', properties: { id: { type: 'string' } } },
          response: { 200: { $ref: 'MessageActionResult#' }, ...errors },
        },
      },
      async (req) => {
        const outcome = await apply(deps, req.principal!.accountId, req.params.id, action);
        if (!outcome.ok) throw outcome.error;
        return { id: req.params.id, action, recipients: outcome.recipients, status: outcome.status };
      },
    );
  }

  api.post<{ Body: { action: MessageAction; ids: string[] } }>(
    '/messages/actions',
    {
      config: { scope: 'admin' },
      schema: {
        summary: `Retry, hold, release or cancel up to ${BULK_ACTION_MAX} messages`,
        description: 'Each message is judged on its own, in order: the results say which were changed and why the others were not (the same errors as the single-message calls).',
        tags: ['messages'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action', 'ids'],
          properties: {
            action: { type: 'string', enum: [...MESSAGE_ACTIONS] },
            ids: { type: 'array', minItems: 1, maxItems: BULK_ACTION_MAX, items: { type: 'string' }, description: `Message ids, 1 to ${BULK_ACTION_MAX}.` },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              action: { type: 'string' },
              succeeded: { type: 'integer' },
              failed: { type: 'integer' },
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    ok: { type: 'boolean' },
                    recipients: { type: 'integer' },
                    status: { type: ['string', 'null'] },
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
    async (req) => {
      const { action } = req.body;
      const accountId = req.principal!.accountId;
      const results: Record<string, unknown>[] = [];
      // A repeated id is acted on once; its answer is given for each place it appears.
      const done = new Map<string, ActionOutcome>();
      for (const id of req.body.ids) {
        let outcome = done.get(id);
        if (!outcome) {
          outcome = await apply(deps, accountId, id, action);
          done.set(id, outcome);
        }
        results.push(outcome.ok ? { id, ok: true, recipients: outcome.recipients, status: outcome.status } : { id, ok: false, error: outcome.error.body().error });
      }
      const succeeded = results.filter((r) => r.ok).length;
      return { action, succeeded, failed: results.length - succeeded, results };
    },
  );
}
