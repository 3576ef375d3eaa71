/**
 * A message the MX listener received for one of Herald's own addresses (a bounce domain's
 * return path): what `receive/` hands to `feedback/`.
 */
export interface InboundMessage {
  mailFrom: string;
  recipients: string[];
  body: Buffer;
  receivedAt: Date;
  clientIp: string;
  /** The client's EHLO name. */
  helo?: string;
  /** The SPF, DKIM, DMARC and ARC verdicts, filled in once by the inbound router before any mailbox runs. */
  authentication?: InboundAuthentication;
  /** The id of the inbound record this message is kept under (filled in by the inbound router). */
  inboundId?: string;
}

/** The verdicts of one inbound message (mailauth's result words: pass, fail, none, neutral, …). */
export interface InboundAuthentication {
  spf: string;
  dkim: string;
  dmarc: string;
  arc: string;
}

/** What an inbound message was, as its inbound record shows it. */
export const INBOUND_KINDS = ['dsn', 'free_text_bounce', 'arf', 'unsubscribe', 'other'] as const;
export type InboundKind = (typeof INBOUND_KINDS)[number];

/**
 * What a mailbox made of a message, for its inbound record: the kind and, when it named one,
 * the message and recipient it was about. A mailbox that returns nothing leaves the kind 'other'.
 */
export interface InboundOutcome {
  kind: InboundKind;
  messageId?: string;
  accountId?: string;
  recipient?: string;
}

/**
 * One kind of Herald's own inbound addresses (bounce return paths, unsubscribe mailtos, the
 * feedback-loop address). `lookup` answers for an RCPT TO: 'ours', 'unknown-user' (our domain,
 * no such address) or 'not-ours'; `receive` gets the recipients this mailbox said 'ours' to and
 * resolves once what the message means is recorded durably.
 */
export interface InboundMailbox {
  lookup(address: string): Promise<'ours' | 'unknown-user' | 'not-ours'>;
  receive(message: InboundMessage): Promise<InboundOutcome | void>;
}
