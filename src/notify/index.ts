/**
 * notify — turns committed events into the outside world's notifications: the in-process event
 * bus (live view, tests), webhooks pushed to users' endpoints, and the pull API's event feed.
 *
 * Invariants:
 * - Only durable events leave: the bus is fed from the store's commits, and webhooks and the
 *   feed read the outbox (`readEvents`), which is the truth; commit hints only wake them.
 * - Webhooks are at least once and per endpoint in outbox order: an endpoint's cursor moves past
 *   an event only when it and every event before it were answered 2xx (or are not for it). A
 *   redelivery carries the same event id (`webhook-id`). Cursor and retry state are stored, so
 *   a restart resumes. An endpoint failing every retry for over a day is disabled
 *   (`webhook.disabled`); enabling it again sends what it missed.
 * - Requests are signed per Standard Webhooks, never follow redirects, and reach only public
 *   addresses — checked when a URL is saved and again at every connection — unless
 *   HERALD_WEBHOOK_ALLOW_PRIVATE is true.
 * - Public event names and fields are public API: add, never rename. Internal held, released
 *   and deleted are not published.
 * - This room imports core and storage only; the outbox, message labels and DNS are injected.
 */
export { EventBus, type EventListener } from './event-bus.js';
export {
  PUBLIC_EVENT_TYPES,
  BOUNCE_CLASSES,
  EventPresenter,
  bounceReasonClass,
  isPublicEventType,
  publicEventId,
  publicTypeOf,
  type BounceReasonClass,
  type MessageLabelLookup,
  type MessageLabels,
  type PublicEvent,
  type PublicEventType,
} from './public-events.js';
export {
  SqlWebhookStore,
  SQLITE_NOTIFY_MIGRATIONS,
  POSTGRES_NOTIFY_MIGRATIONS,
  isWebhookId,
  newWebhookSecret,
  ATTEMPT_RETENTION_MS,
  ATTEMPTS_PER_ENDPOINT,
  PREVIOUS_SECRET_GRACE_MS,
  type CreatedWebhook,
  type NewWebhook,
  type WebhookAttempt,
  type WebhookEndpoint,
  type WebhookPatch,
  type WebhookRetry,
} from './sql-webhook-store.js';
export { outboxHead, OutboxReader, type ReadEvents, type RecordEvent } from './outbox.js';
export { startWebhookDispatcher, RETRY_SCHEDULE_MS, type DispatcherOptions, type WebhookDispatcher, type WebhookDispatcherDeps } from './dispatcher.js';
export { WebhookSender, signWebhook, DEFAULT_TIMEOUT_MS, RESPONSE_EXCERPT_BYTES, type SendResult, type WebhookRequest, type WebhookSenderOptions } from './sender.js';
export {
  blockedAddressReason,
  checkWebhookUrl,
  guardedLookup,
  parseWebhookUrl,
  resolveTarget,
  WebhookUrlError,
  type WebhookTargetPolicy,
} from './ssrf.js';
export {
  createWebhook,
  updateWebhook,
  sendTestEvent,
  checkEventTypes,
  WebhookError,
  MAX_WEBHOOKS_PER_ACCOUNT,
  type TestDelivery,
  type WebhookAdminDeps,
  type WebhookInput,
} from './webhook-admin.js';
export { readFeed, type FeedEvent, type FeedPage, type FeedRequest } from './event-feed.js';
export { webhookEndpointView } from './endpoint-view.js';
