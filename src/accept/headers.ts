/**
 * Header-block scanning and the header fields Herald adds. Input is a message whose line
 * endings are already CRLF (see line-endings.ts). Only the header block is looked at, so a
 * large body costs one native search for the blank line and nothing more.
 */

const CRLF = Buffer.from('\r\n');
const BLANK_LINE = Buffer.from('\r\n\r\n');
// RFC 5322 §2.2 field-name: printable US-ASCII except ':'; §4.5.3 (obsolete syntax) allows
// white space before the colon, which readers must accept.
const FIELD_START = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;

export interface HeaderBlock {
  /** Length of the header block, its last CRLF included, the blank line excluded. */
  end: number;
  /**
   * False when the message does not begin with header fields (or is empty): added header
   * fields then need a blank line of their own to keep the content a body (RFC 5322 §2.1).
   */
  hasHeaders: boolean;
}

/** Finds the header block: up to the first blank line, or the whole message when it has none. */
export function findHeaderBlock(message: Buffer): HeaderBlock {
  if (message.length === 0 || (message[0] === 0x0d && message[1] === 0x0a)) return { end: 0, hasHeaders: message.length > 0 };
  const firstLineEnd = message.indexOf(CRLF);
  const firstLine = message.toString('latin1', 0, firstLineEnd === -1 ? Math.min(message.length, 1000) : Math.min(firstLineEnd, 1000));
  if (!FIELD_START.test(firstLine)) return { end: 0, hasHeaders: false };
  const blank = message.indexOf(BLANK_LINE);
  return { end: blank === -1 ? message.length : blank + 2, hasHeaders: true };
}

/**
 * The unfolded values of the first occurrence of each wanted field in the header block
 * (names matched case-insensitively, RFC 5322 §1.2.2). Values are decoded as UTF-8
 * (RFC 6532 allows UTF-8 in header fields) and left otherwise raw: no RFC 2047 decoding.
 */
export function readHeaderFields(message: Buffer, block: HeaderBlock, wanted: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  if (!block.hasHeaders) return found;
  const names = wanted.map((n) => n.toLowerCase());
  let pos = 0;
  while (pos < block.end && found.size < names.length) {
    const lineEnd = nextLineEnd(message, pos, block.end);
    let colon = pos;
    while (colon < lineEnd && message[colon] !== 0x3a) colon++;
    if (colon < lineEnd && message[pos] !== 0x20 && message[pos] !== 0x09) {
      const name = message.toString('latin1', pos, colon).trimEnd().toLowerCase();
      if (names.includes(name) && !found.has(name)) {
        // A field continues on lines starting with white space (folding, RFC 5322 §2.2.3).
        let end = lineEnd;
        while (end + 2 < block.end && (message[end + 2] === 0x20 || message[end + 2] === 0x09)) {
          end = nextLineEnd(message, end + 2, block.end);
        }
        found.set(name, message.toString('utf8', colon + 1, end).replace(/\r\n(?=[ \t])/g, '').trim());
        pos = end + 2;
        continue;
      }
    }
    pos = lineEnd + 2;
  }
  return found;
}

/**
 * Removes every header field whose name starts with `prefix` (case-insensitive) and returns
 * them, unfolded, in order. Used for Herald's own X-Herald-* instructions, which must never
 * leave the box. The message is returned unchanged (same Buffer) when it has none.
 */
export function takeHeaderFields(message: Buffer, block: HeaderBlock, prefix: string): { message: Buffer; fields: { name: string; value: string }[] } {
  const fields: { name: string; value: string }[] = [];
  if (!block.hasHeaders) return { message, fields };
  const wanted = prefix.toLowerCase();
  const head = message.toString('latin1', 0, block.end).toLowerCase();
  if (!head.startsWith(wanted) && !head.includes(`\r\n${wanted}`)) return { message, fields };
  const kept: Buffer[] = [];
  let pos = 0;
  while (pos < block.end) {
    let end = nextLineEnd(message, pos, block.end);
    while (end + 2 < block.end && (message[end + 2] === 0x20 || message[end + 2] === 0x09)) end = nextLineEnd(message, end + 2, block.end);
    const colon = message.indexOf(0x3a, pos);
    const name = colon !== -1 && colon < end ? message.toString('latin1', pos, colon).trimEnd() : '';
    if (name.toLowerCase().startsWith(wanted)) {
      fields.push({ name, value: message.toString('utf8', colon + 1, end).replace(/\r\n(?=[ \t])/g, '').trim() });
    } else {
      kept.push(message.subarray(pos, Math.min(end + 2, block.end)));
    }
    pos = end + 2;
  }
  kept.push(message.subarray(block.end));
  return { message: Buffer.concat(kept), fields };
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/**
 * Decodes RFC 2047 encoded-words ("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=") in an unstructured header
 * value, for display and for Herald's own X-Herald-* fields (clients such as nodemailer encode
 * any value with quotes or non-ASCII). White space between two encoded-words is dropped
 * (§6.2); an unknown charset or a malformed word is left as it is.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  return value.replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?)/g, '$1').replace(ENCODED_WORD, (word, charset: string, encoding: string, text: string) => {
    try {
      const bytes =
        encoding.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
      // RFC 2231 §5 allows a language after the charset: "UTF-8*en".
      return new TextDecoder(charset.split('*')[0], { fatal: true }).decode(bytes);
    } catch {
      return word;
    }
  });
}

function nextLineEnd(message: Buffer, from: number, limit: number): number {
  const i = message.indexOf(CRLF, from);
  return i === -1 || i > limit ? limit : i;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 §3.3 date-time in UTC: "Tue, 14 May 2024 09:05:00 +0000". */
export function formatRfc5322Date(date: Date): string {
  return (
    `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}

export interface ReceivedInfo {
  /** The EHLO/HELO name; absent for mail that did not come over SMTP. */
  helo?: string;
  ip?: string;
  hostname: string;
  /** RFC 3848 protocol: ESMTP, ESMTPS, ESMTPA, ESMTPSA, or e.g. HTTP for the API. */
  protocol: string;
  id: string;
  tls?: { protocol: string; cipher: string };
  date: Date;
}

// The EHLO argument is client-controlled. smtp-server already refuses control characters, but
// the header must not carry anything that could end the field or open a comment: keep
// printable ASCII without "(", ")", "\\" and ";" (the date separator of RFC 5321 §4.4).
function safeToken(text: string): string {
  return text.replace(/[^\x21-\x7e]|[()\\;]/g, '');
}

/** RFC 6874-free address literal (RFC 5321 §4.1.3): [192.0.2.1] or [IPv6:2001:db8::1]. */
function addressLiteral(ip: string): string {
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4mapped) return `[${v4mapped[1]}]`;
  return ip.includes(':') ? `[IPv6:${safeToken(ip)}]` : `[${safeToken(ip)}]`;
}

/**
 * The trace field of RFC 5321 §4.4, folded over several lines:
 *   Received: from helo ([ip])
 *   \t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
 *   \tby host (Herald) with ESMTPSA id ID;
 *   \tTue, 14 May 2024 09:05:00 +0000
 */
export function formatReceived(info: ReceivedInfo): string {
  const lines: string[] = [];
  if (info.helo !== undefined || info.ip) {
    const helo = safeToken(info.helo ?? '') || 'unknown';
    lines.push(`Received: from ${helo}${info.ip ? ` (${addressLiteral(info.ip)})` : ''}`);
  }
  if (info.tls) lines.push(`(using ${safeToken(info.tls.protocol)} with cipher ${safeToken(info.tls.cipher)})`);
  const by = `by ${safeToken(info.hostname)} (Herald) with ${safeToken(info.protocol)} id ${safeToken(info.id)};`;
  if (lines.length === 0) lines.push(`Received: ${by}`);
  else lines.push(by);
  lines.push(formatRfc5322Date(info.date));
  return lines.join('\r\n\t') + '\r\n';
}
