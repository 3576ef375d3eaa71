import { randomBytes } from 'node:crypto';
import { systemClock, type Clock, type Resolver } from '../core/index.js';
import { outboxHead, type ReadEvents } from './outbox.js';
import { isPublicEventType, PUBLIC_EVENT_TYPES, type PublicEventType } from './public-events.js';
import type { SendResult, WebhookSender } from './sender.js';
import { checkWebhookUrl, WebhookUrlError } from './ssrf.js';
import type { CreatedWebhook, SqlWebhookStore, WebhookEndpoint, WebhookPatch } from './sql-webhook-store.js';

/** Creating and changing endpoints as users ask: every field checked, the URL against SSRF. */

export const MAX_WEBHOOKS_PER_ACCOUNT = 20;
const MAX_DESCRIPTION = 500;

/** A refusal of what a user asked, naming the field: the API makes it a 422 (or 409 for `limit`). */
export class WebhookError extends Error {
  constructor(
    readonly code: 'invalid' | 'limit',
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

export interface WebhookInput {
  url?: unknown;
  /** Public event types, or ["*"] / null / left out for all. */
  events?: unknown;
  description?: unknown;
  enabled?: unknown;
}

export interface WebhookAdminDeps {
  store: SqlWebhookStore;
  /** Resolves a URL's host when it is saved (the SSRF check). */
  resolver: Resolver;
  config: { webhookAllowPrivate: string };
  /** The outbox read: a new endpoint starts after its newest event. */
  readEvents: ReadEvents;
}

const policyOf = (deps: Pick<WebhookAdminDeps, 'config'>) => ({ allowPrivate: deps.config.webhookAllowPrivate === 'true' });

/** "message.bounced", "*" … → the stored list (null for all). */
export function checkEventTypes(value: unknown): PublicEventType[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw new WebhookError('invalid', 'events must be a list of event types, e.g. ["message.delivered", "message.bounced"]', 'events');
  if (value.length === 0) throw new WebhookError('invalid', 'give at least one event type, or leave events out (or ["*"]) for all of them', 'events');
  const out: PublicEventType[] = [];
  for (const [i, item] of value.entries()) {
    if (item === '*') return null;
    if (typeof item !== 'string' || !isPublicEventType(item)) {
      throw new WebhookError('invalid', `${JSON.stringify(item)} is not an event type; use one of: ${PUBLIC_EVENT_TYPES.join(', ')} (or "*" for all)`, `events[${i}]`);
    }
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

function checkDescription(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new WebhookError('invalid', 'the description must be text', 'description');
  const text = value.trim();
  if ([...text].length > MAX_DESCRIPTION || /[\u0000-\u001f\u007f]/.test(text)) {
    throw new WebhookError('invalid', `the description must be one line of at most ${MAX_DESCRIPTION} characters`, 'description');
  }
  return text || null;
}

async function checkUrl(deps: WebhookAdminDeps, value: unknown): Promise<string> {
  if (typeof value !== 'string') throw new WebhookError('invalid', 'url is required: the https:// address to send events to', 'url');
  try {
    return (await checkWebhookUrl(value, deps.resolver, policyOf(deps))).href;
  } catch (err) {
    if (err instanceof WebhookUrlError) throw new WebhookError('invalid', err.message, 'url');
    throw err;
  }
}

/** A new endpoint, sent the events recorded from now on. The secret is in this answer only. */
export async function createWebhook(deps: WebhookAdminDeps, accountId: string, input: WebhookInput): Promise<CreatedWebhook> {
  const events = checkEventTypes(input.events);
  const description = checkDescription(input.description);
  if (input.enabled !== undefined && typeof input.enabled !== 'boolean') throw new WebhookError('invalid', 'enabled must be true or false', 'enabled');
  const url = await checkUrl(deps, input.url);
  if ((await deps.store.count(accountId)) >= MAX_WEBHOOKS_PER_ACCOUNT) {
    throw new WebhookError('limit', `an account may have at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhook endpoints; delete one first`);
  }
  const cursor = await outboxHead(deps.readEvents);
  return deps.store.create(accountId, { url, events, description, enabled: input.enabled as boolean | undefined, cursor });
}

/** Changes the fields given; null when there is no such endpoint in the account. */
export async function updateWebhook(deps: WebhookAdminDeps, accountId: string, id: string, input: WebhookInput): Promise<WebhookEndpoint | null> {
  if (!(await deps.store.get(accountId, id))) return null;
  const patch: WebhookPatch = {};
  if (input.events !== undefined) patch.events = checkEventTypes(input.events);
  if (input.description !== undefined) patch.description = checkDescription(input.description);
  if (input.enabled !== undefined) {
    if (typeof input.enabled !== 'boolean') throw new WebhookError('invalid', 'enabled must be true or false', 'enabled');
    patch.enabled = input.enabled;
  }
  if (input.url !== undefined) patch.url = await checkUrl(deps, input.url);
  return deps.store.update(accountId, id, patch);
}

export interface TestDelivery extends SendResult {
  eventId: string;
}

/**
 * Sends a `webhook.test` event to the endpoint now (whether enabled or not) and says what it
 * answered; recorded in its attempts. Not from the outbox: it is never retried.
 */
export async function sendTestEvent(
  deps: { store: SqlWebhookStore; sender: WebhookSender; clock?: Clock },
  endpoint: WebhookEndpoint,
): Promise<TestDelivery> {
  const clock = deps.clock ?? systemClock;
  const at = clock.now();
  const eventId = `evt_test_${randomBytes(9).toString('base64url')}`;
  const body = JSON.stringify({
    type: 'webhook.test',
    timestamp: at.toISOString(),
    data: { event_id: eventId, webhook_id: endpoint.id, message: 'A test event from Herald: your endpoint is reachable and can check the signature.' },
  });
  const result = await deps.sender.send({ url: endpoint.url, eventId, timestamp: at, body, secrets: await deps.store.signingSecrets(endpoint.id) });
  await deps.store.recordAttempt({
    endpointId: endpoint.id,
    eventId,
    eventType: 'webhook.test',
    seq: null,
    attempt: 1,
    at,
    status: result.status,
    error: result.error,
    latencyMs: result.latencyMs,
    response: result.response,
    nextRetryAt: null,
  });
  return { ...result, eventId };
}
