/**
 * Events are public API (webhooks, mail log, analytics read them): add names, never rename.
 * They are written in the same transaction as the state change they describe.
 */
export const EVENT_TYPES = [
  'accepted',
  'deferred',
  'delivered',
  'bounced',
  'expired',
  'held',
  'released',
  'deleted',
  'domain.verification_changed',
  // Feedback: what recipients and their servers did after delivery.
  'complained',
  'opened',
  'clicked',
  'unsubscribed',
  // Not sent to a recipient because the address is on the account's suppression list.
  'suppressed',
  // A webhook endpoint failed every retry and was disabled (account-level, messageId '').
  'webhook.disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface MailEvent {
  /** Outbox sequence number, assigned by the store on commit. */
  seq?: number;
  type: EventType;
  /** The message the event is about; '' for account-level events (domain.verification_changed). */
  messageId: string;
  accountId: string;
  /** The recipient the event concerns; absent for message-level events (accepted, held, ...). */
  recipient?: string;
  at: Date;
  data: Record<string, unknown>;
}
