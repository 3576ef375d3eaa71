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
}

/**
 * One kind of Herald's own inbound addresses (bounce return paths, unsubscribe mailtos, the
 * feedback-loop address). `lookup` answers for an RCPT TO: 'ours', 'unknown-user' (our domain,
 * no such address) or 'not-ours'; `receive` gets the recipients this mailbox said 'ours' to and
 * resolves once what the message means is recorded durably.
 */
export interface InboundMailbox {
  lookup(address: string): Promise<'ours' | 'unknown-user' | 'not-ours'>;
  receive(message: InboundMessage): Promise<void>;
}
