import PostalMime from 'postal-mime';
import { bareAddress, firstField, readFields } from './header-fields.js';

/**
 * A feedback report (ARF, RFC 5965): a mailbox provider telling the sender that a recipient
 * pressed "this is spam" (or "not spam", or that the message looked like fraud or a virus).
 */
export interface FeedbackReport {
  /** abuse, fraud, virus, other, not-spam, … (RFC 5965 §7.3), lowercased. */
  feedbackType: string;
  userAgent?: string;
  version?: string;
  originalMailFrom?: string;
  /** The reported recipients (providers often redact them). */
  originalRcptTo: string[];
  arrivalDate?: string;
  reportingMta?: string;
  sourceIp?: string;
  reportedDomains: string[];
  /** The returned message (message/rfc822) or only its header (text/rfc822-headers), when present. */
  original?: ReturnedMessage;
}

/** What a report says about the message it is about, from the returned copy's header. */
export interface ReturnedMessage {
  /** The envelope sender the provider saw: Return-Path (or X-Original-Return-Path). */
  returnPath?: string;
  /** The Message-ID field, with its angle brackets. */
  messageId?: string;
  /** The addresses in To. */
  to: string[];
  /** Every header field of the returned copy (names lowercased). */
  fields: Map<string, string[]>;
}

/**
 * Reads an ARF report: the message/feedback-report part (§3.1 fields) and the returned message
 * or header (§2 part 3). Returns null for anything else — a reply by hand, a DSN, garbage — so
 * the caller can decide what such mail means.
 */
export async function readFeedbackReport(message: Buffer): Promise<FeedbackReport | null> {
  let parsed;
  try {
    parsed = await PostalMime.parse(message, { rfc822Attachments: true });
  } catch {
    return null;
  }
  const part = parsed.attachments.find((a) => a.mimeType.toLowerCase() === 'message/feedback-report');
  if (!part) return null;
  const fields = readFields(textOf(part.content));
  const feedbackType = firstField(fields, 'feedback-type')?.toLowerCase();
  if (!feedbackType || !/^[a-z0-9-]+$/.test(feedbackType)) return null;
  const returned = parsed.attachments.find((a) => /^(message\/(global|rfc822)|text\/rfc822-headers|message\/global-headers)$/i.test(a.mimeType));
  return {
    feedbackType,
    userAgent: firstField(fields, 'user-agent'),
    version: firstField(fields, 'version'),
    originalMailFrom: bareAddress(firstField(fields, 'original-mail-from')),
    originalRcptTo: (fields.get('original-rcpt-to') ?? []).map(bareAddress).filter((a): a is string => a !== undefined),
    // Some reporters write Received-Date (RFC 5965 §3.3 allows it as the older name).
    arrivalDate: firstField(fields, 'arrival-date') ?? firstField(fields, 'received-date'),
    reportingMta: stripType(firstField(fields, 'reporting-mta')),
    sourceIp: firstField(fields, 'source-ip'),
    reportedDomains: fields.get('reported-domain') ?? [],
    original: returned ? returnedMessage(textOf(returned.content)) : undefined,
  };
}

function returnedMessage(text: string): ReturnedMessage {
  const fields = readFields(text);
  const to = (fields.get('to') ?? []).flatMap((value) => value.split(',')).map(bareAddress).filter((a): a is string => a !== undefined);
  return {
    returnPath: bareAddress(firstField(fields, 'return-path') ?? firstField(fields, 'x-original-return-path')),
    messageId: /<[^<>\s]+>/.exec(firstField(fields, 'message-id') ?? '')?.[0],
    to,
    fields,
  };
}

function textOf(content: ArrayBuffer | Uint8Array | string): string {
  return typeof content === 'string' ? content : Buffer.from(content as ArrayBuffer).toString('utf8');
}

/** "dns; mx.example" → "mx.example". */
function stripType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(semi + 1)).trim() || undefined;
}
