import { randomBytes } from 'node:crypto';
import { formatReply, newMessageId, type RecipientOutcome } from '../core/index.js';
import type { DeliveryBatch, NewMessage } from '../queue/index.js';

/** One recipient the DSN reports on. */
export interface DsnRecipient {
  address: string;
  /** 'bounced': refused permanently; 'expired': still failing when the queue age ran out. */
  state: 'bounced' | 'expired';
  /** The last outcome (the bounce, or the last deferral before expiry). */
  outcome: RecipientOutcome;
  lastAttemptAt: Date;
}

export interface DsnInput {
  batch: Pick<DeliveryBatch, 'messageId' | 'accountId' | 'source' | 'mailFrom' | 'createdAt' | 'meta'>;
  recipients: DsnRecipient[];
  /** The original message (its header section is returned as text/rfc822-headers). */
  originalBody: Buffer;
  /** Our hostname: Reporting-MTA, From: MAILER-DAEMON@…, Message-ID. */
  hostname: string;
  now: Date;
  /** How long the DSN itself may stay queued (HERALD_MAX_QUEUE_AGE). */
  maxQueueAgeMs: number;
}

/**
 * A DSN goes only to the sender of mail that came in over SMTP (the API reports through events and
 * webhooks), never to the null sender (RFC 5321 §4.5.5: that is how bounce loops are avoided), and
 * never about a DSN.
 */
export function dsnEligible(batch: Pick<DeliveryBatch, 'source' | 'mailFrom'>): boolean {
  return batch.source === 'smtp' && batch.mailFrom !== '';
}

/** Builds an RFC 3464 delivery status notification as a message to queue, or null when not eligible. */
export function buildDsn(input: DsnInput): NewMessage | null {
  const { batch, recipients, hostname, now } = input;
  if (!dsnEligible(batch) || recipients.length === 0) return null;

  const id = newMessageId(now.getTime());
  const boundary = `=_herald_${randomBytes(12).toString('hex')}`;
  const originalHeaders = headerSection(input.originalBody);
  const subjectOf = batch.meta.subject ? ` (${oneLine(batch.meta.subject).slice(0, 120)})` : '';
  const expiredOnly = recipients.every((r) => r.state === 'expired');
  const subject = expiredOnly ? 'Undelivered Mail: delivery time expired' : 'Undelivered Mail Returned to Sender';

  const human: string[] = [
    `This is the mail system at host ${hostname}.`,
    '',
    `Your message${subjectOf} could not be delivered to ${recipients.length === 1 ? 'one recipient' : `${recipients.length} recipients`}.`,
    `It was accepted on ${batch.createdAt.toUTCString()} and has been given up on for the recipients below.`,
    '',
  ];
  for (const r of recipients) {
    human.push(`<${r.address}>:`);
    human.push(`    ${explain(r, batch.createdAt)}`);
    human.push('');
  }
  human.push('The delivery status report and the headers of your message are attached.');

  // RFC 3464 §2.2: per-message fields, then one block per recipient, separated by blank lines.
  const perMessage = [
    `Reporting-MTA: dns; ${hostname}`,
    `X-Herald-Queue-ID: ${batch.messageId}`,
    `Arrival-Date: ${rfc5322Date(batch.createdAt)}`,
  ];
  const blocks = recipients.map((r) => {
    const failure = r.outcome.kind === 'delivered' ? undefined : r.outcome.failure;
    const lines = [
      `Final-Recipient: ${addressType(r.address)}; ${r.address}`,
      'Action: failed',
      `Status: ${statusOf(r)}`,
    ];
    // Remote-MTA and an smtp Diagnostic-Code only when a remote server actually said it.
    if (failure?.host) lines.push(`Remote-MTA: dns; ${failure.host}`);
    if (failure?.reply && failure.host) lines.push(fold(`Diagnostic-Code: smtp; ${formatReply(failure.reply)}`));
    else if (failure) lines.push(fold(`Diagnostic-Code: X-Herald; ${oneLine(failure.reason)}`));
    lines.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttemptAt)}`);
    return lines.join('\r\n');
  });
  const status = [perMessage.join('\r\n'), ...blocks].join('\r\n\r\n');

  const humanText = human.join('\r\n');
  const eight = (s: string | Buffer) => (typeof s === 'string' ? /[^\x00-\x7f]/.test(s) : s.some((b) => b > 0x7f));
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${hostname}>`,
    `To: <${batch.mailFrom}>`,
    `Subject: ${subject}`,
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: <${id}@${hostname}>`,
    // RFC 3834 §5: an automatic response; auto-responders must not answer it.
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`,
  ];
  if (batch.meta.messageIdHeader) head.push(`In-Reply-To: ${batch.meta.messageIdHeader}`, `References: ${batch.meta.messageIdHeader}`);

  const parts: (string | Buffer)[] = [
    head.join('\r\n') + '\r\n\r\n',
    'This is a MIME-encapsulated message (RFC 3464 delivery status notification).\r\n\r\n',
    `--${boundary}\r\n`,
    'Content-Description: Notification\r\n',
    `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ${eight(humanText) ? '8bit' : '7bit'}\r\n\r\n`,
    humanText + '\r\n\r\n',
    `--${boundary}\r\n`,
    'Content-Description: Delivery report\r\n',
    `Content-Type: message/delivery-status\r\n\r\n`,
    status + '\r\n\r\n',
    `--${boundary}\r\n`,
    'Content-Description: Undelivered message headers\r\n',
    `Content-Type: text/rfc822-headers${eight(originalHeaders) ? '\r\nContent-Transfer-Encoding: 8bit' : ''}\r\n\r\n`,
    originalHeaders,
    '\r\n',
    `--${boundary}--\r\n`,
  ];
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));

  return {
    id,
    accountId: batch.accountId,
    source: 'dsn',
    // RFC 3464 §2 / RFC 5321 §4.5.5: notifications are sent with the null reverse-path.
    mailFrom: '',
    recipients: [batch.mailFrom],
    body,
    createdAt: now,
    expiresAt: new Date(now.getTime() + input.maxQueueAgeMs),
    meta: { subject, dsnFor: batch.messageId, messageIdHeader: `<${id}@${hostname}>` },
  };
}

/** The header section of a message with its final CRLF (no blank line). */
export function headerSection(body: Buffer): Buffer {
  const end = body.indexOf('\r\n\r\n');
  return end >= 0 ? body.subarray(0, end + 2) : body;
}

/** RFC 3464 §2.3.4 / RFC 3463: the status code for a recipient. */
function statusOf(r: DsnRecipient): string {
  const reply = r.outcome.kind === 'delivered' ? undefined : r.outcome.failure.reply;
  if (r.state === 'expired') {
    // The last transient code says most about why; 4.4.7 "delivery time expired" otherwise.
    return reply?.enhanced?.startsWith('4.') ? reply.enhanced : '4.4.7';
  }
  if (reply?.enhanced?.startsWith('5.')) return reply.enhanced;
  return '5.0.0';
}

function explain(r: DsnRecipient, createdAt: Date): string {
  const failure = r.outcome.kind === 'delivered' ? undefined : r.outcome.failure;
  const reason = failure ? oneLine(failure.reason) : 'unknown reason';
  if (r.state === 'expired') {
    const hours = Math.max(1, Math.round((r.lastAttemptAt.getTime() - createdAt.getTime()) / 3_600_000));
    return `Delivery kept failing temporarily and Herald gave up after ${hours} hour${hours === 1 ? '' : 's'}. The last problem was: ${reason}`;
  }
  return `The recipient's mail server refused the message permanently: ${reason}`;
}

/** RFC 6533 §3: non-ASCII addresses use the utf-8 address type. */
function addressType(address: string): string {
  return /[^\x00-\x7f]/.test(address) ? 'utf-8' : 'rfc822';
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Folds a long header-style field at spaces (RFC 5322 §2.2.3) so no line exceeds 78 octets. */
function fold(field: string): string {
  const words = oneLine(field).split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > 76) {
      lines.push(line);
      line = ` ${w}`;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join('\r\n');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 §3.3 date-time in UTC. */
export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
