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

/**
 * Whether a `complained` event is a complaint. Feedback reports of type "not-spam" (RFC 5965
 * §7.3: the recipient took the message out of the junk folder) and "auth-failure" (RFC 6591: it
 * failed authentication somewhere) are recorded, but they are no reason to stop mailing the
 * address, and statistics do not count them.
 */
export function isComplaint(event: Pick<MailEvent, 'type' | 'data'>): boolean {
  if (event.type !== 'complained') return false;
  const type = event.data?.feedbackType;
  return !(typeof type === 'string' && ['not-spam', 'auth-failure'].includes(type.toLowerCase()));
}
