import type { SmtpReply } from './reply.js';

/**
 * What one attempt did to one recipient. A remote 4xx/5xx is data, not an exception; anything
 * unexpected is a temporary failure (we defer, never bounce, on our own bug).
 */
export type FailureScope = 'connection' | 'site' | 'message' | 'recipient';

export interface DeliveryFailure {
  scope: FailureScope;
  reply?: SmtpReply;
  reason: string;
  /** The MX host (or smart host) the failure came from, when a connection was made. */
  host?: string;
}

export type RecipientOutcome =
  | { kind: 'delivered'; host: string; reply: SmtpReply }
  | { kind: 'deferred'; failure: DeliveryFailure; notBefore?: Date }
  | { kind: 'bounced'; failure: DeliveryFailure };

/** Hard bounces are suppressed; soft ones (e.g. mailbox full reported as 5xx) are not. */
export type BounceClass = 'hard' | 'soft';
