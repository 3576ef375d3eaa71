import PostalMime from 'postal-mime';

/** One per-recipient block of an RFC 3464 delivery status notification. */
export interface RecipientStatus {
  finalRecipient?: string;
  /** failed, delayed, delivered, relayed or expanded (RFC 3464 §2.3.3). */
  action?: string;
  /** The enhanced status code, e.g. "5.1.1" (RFC 3463). */
  status?: string;
  /** The remote server's reply, e.g. "550 5.1.1 User unknown" (the "smtp;" type stripped). */
  diagnostic?: string;
}

export interface DeliveryReport {
  reportingMta?: string;
  recipients: RecipientStatus[];
}

/**
 * Reads the message/delivery-status part of a DSN (RFC 3464 §2): a block of per-message fields,
 * then one block per recipient, separated by blank lines. Returns null when the message has no
 * such part — many servers still send free-text bounces.
 */
export async function readDeliveryReport(message: Buffer): Promise<DeliveryReport | null> {
  const parsed = await PostalMime.parse(message);
  const part = parsed.attachments.find((a) => /^message\/(global-)?delivery-status$/i.test(a.mimeType));
  if (!part) return null;
  const text = typeof part.content === 'string' ? part.content : Buffer.from(part.content as ArrayBuffer).toString('utf8');
  const blocks = text.replace(/\r\n/g, '\n').split(/\n\s*\n/).map(fieldsOf).filter((f) => f.size > 0);
  const [perMessage, ...perRecipient] = blocks;
  return {
    reportingMta: stripType(perMessage?.get('reporting-mta')),
    recipients: perRecipient.map((f) => ({
      finalRecipient: stripType(f.get('final-recipient') ?? f.get('original-recipient')),
      action: f.get('action')?.toLowerCase(),
      status: /\d\.\d{1,3}\.\d{1,3}/.exec(f.get('status') ?? '')?.[0],
      diagnostic: stripType(f.get('diagnostic-code')),
    })),
  };
}

/** Header-style fields of one block, names lowercased, folded lines joined. */
function fieldsOf(block: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last: string | undefined;
  for (const line of block.split('\n')) {
    if (/^[ \t]/.test(line) && last) {
      fields.set(last, `${fields.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    fields.set(last, line.slice(colon + 1).trim());
  }
  return fields;
}

/** "rfc822; ann@example.com" → "ann@example.com"; "smtp; 550 …" → "550 …" (RFC 3464 §2.1.2). */
function stripType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(semi + 1)).trim() || undefined;
}
