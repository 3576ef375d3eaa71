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
