import type { WebhookEndpoint } from './sql-webhook-store.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A webhook endpoint as the API and the CLI's --json show it (never its secret). */
export function webhookEndpointView(w: WebhookEndpoint, eventId: (seq: number) => string) {
  return {
    id: w.id,
    url: w.url,
    events: w.events ?? ['*'],
    description: w.description,
    enabled: w.enabled,
    status: !w.enabled ? 'disabled' : w.retry ? 'failing' : 'active',
    disabled_reason: w.disabledReason,
    disabled_at: iso(w.disabledAt),
    retry: w.retry
      ? { event_id: eventId(w.retry.seq), attempts: w.retry.attempts, next_attempt_at: w.retry.at.toISOString(), failing_since: w.retry.since.toISOString() }
      : null,
    cursor: String(w.cursor),
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
  };
}
