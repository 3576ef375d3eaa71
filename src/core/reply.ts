/** An SMTP reply: basic code, optional enhanced status code (RFC 3463), text. */
export interface SmtpReply {
  code: number;
  enhanced?: string;
  text: string;
}

const ENHANCED = /^([245]\.\d{1,3}\.\d{1,3})\s+/;

/** Parses "550 5.1.1 User unknown" or a multi-line reply into one SmtpReply. */
export function parseReply(raw: string): SmtpReply {
  const lines = raw.replace(/\r/g, '').split('\n').filter(Boolean);
  const code = Number(lines[0]?.slice(0, 3)) || 0;
  let enhanced: string | undefined;
  const texts = lines.map((line) => {
    let text = line.slice(4);
    const m = ENHANCED.exec(text);
    if (m) {
      enhanced ??= m[1];
      text = text.slice(m[0].length);
    }
    return text;
  });
  return { code, enhanced, text: texts.join(' ').trim() };
}

export function formatReply(reply: SmtpReply): string {
  return [reply.code, reply.enhanced, reply.text].filter((p) => p !== undefined && p !== '').join(' ');
}

/**
 * The one typed rejection at the SMTP edge: the code, enhanced code and public text go to the
 * client; `cause` is logged and never sent.
 */
export class SmtpRejection extends Error {
  readonly reply: SmtpReply;
  /**
   * The input field the rejection is about, as a path into the API request ("to[2]",
   * "attachments[0].filename", "template.data.name"), so the HTTP edge can name it.
   */
  field?: string;
  constructor(code: number, enhanced: string, text: string, readonly privateCause?: unknown) {
    super(`${code} ${enhanced} ${text}`);
    this.name = 'SmtpRejection';
    this.reply = { code, enhanced, text };
  }

  /** The same rejection, naming the field it is about. */
  about(field: string): this {
    this.field = field;
    return this;
  }
}

/**
 * A rejection of message content that only the API can send (bad JSON fields, a template that
 * does not render): 550 5.6.0 with our own text, naming the field.
 */
export function invalidContent(field: string, text: string): SmtpRejection {
  return new SmtpRejection(550, '5.6.0', text).about(field);
}

/** Herald's documented replies (docs/troubleshooting.md). Their texts are public interface. */
export const Replies = {
  relayDenied: () => new SmtpRejection(550, '5.7.1', 'Relaying denied'),
  userUnknown: () => new SmtpRejection(550, '5.1.1', 'Recipient address rejected: User unknown'),
  clientBlocked: (ip: string) => new SmtpRejection(550, '5.7.1', `Service unavailable; Client host [${ip}] blocked`),
  authFailed: () => new SmtpRejection(535, '5.7.8', 'Authentication credentials invalid'),
  authNeedsTls: () => new SmtpRejection(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  authRequired: () => new SmtpRejection(530, '5.7.0', 'Authentication required'),
  tooBig: (limit: number) => new SmtpRejection(552, '5.3.4', `Message size exceeds fixed limit of ${limit} bytes`),
  tooManyRecipients: () => new SmtpRejection(452, '4.5.3', 'Too many recipients'),
  storeFailed: () => new SmtpRejection(451, '4.3.0', 'Local error in processing; try again later'),
  authLockedOut: () => new SmtpRejection(454, '4.7.0', 'Too many failed login attempts, try again later'),
  tooManyConnections: () => new SmtpRejection(421, '4.7.0', 'Too many connections from your address, try again later'),
  serverBusy: () => new SmtpRejection(421, '4.7.0', 'Too many connections, try again later'),
  authUnavailable: () => new SmtpRejection(454, '4.7.0', 'Temporary authentication failure'),
  idleTimeout: () => new SmtpRejection(421, '4.4.2', 'Idle timeout, closing connection'),
  dataTimeout: () => new SmtpRejection(421, '4.4.2', 'Message transfer took too long, closing connection'),
  lineTooLong: () => new SmtpRejection(500, '5.5.2', 'Line too long'),
  bareLineEnding: () => new SmtpRejection(550, '5.6.0', 'Message contains a bare CR or LF; send lines ending in CRLF'),
  allSuppressed: () => new SmtpRejection(550, '5.1.1', "Recipient address rejected: every recipient is on this account's suppression list"),
  senderDomainNotVerified: () => new SmtpRejection(550, '5.7.1', 'Sender address rejected: domain not verified for this account'),
  badSender: () => new SmtpRejection(553, '5.1.7', 'Sender address rejected: invalid address'),
  badRecipient: () => new SmtpRejection(553, '5.1.3', 'Recipient address rejected: invalid address'),
  noRecipients: () => new SmtpRejection(554, '5.5.1', 'No valid recipients'),
  shuttingDown: () => new SmtpRejection(421, '4.3.2', 'Service shutting down, try again later'),
} as const;
