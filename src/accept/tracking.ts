import {
  invalidContent,
  MAX_TRACKED_URL_BYTES,
  signTrackingToken,
  silentLogger,
  unsubscribeLocalPart,
  type Logger,
  type MessageId,
} from '../core/index.js';
import { decodeEncodedWords, findHeaderBlock, readHeaderFields } from './headers.js';
import type { MessageStream, SenderDomains, TrackingDefaults } from './types.js';

/**
 * The pipeline's `track` step: open tracking (a 1×1 pixel in each HTML part), click tracking
 * (links rewritten to go through Herald's `/t/c/` endpoint, which redirects to the original) and,
 * for the broadcast stream, the List-Unsubscribe fields of RFC 2369 / RFC 8058. It runs after the
 * message is composed and its sender checked, and before the headers and the DKIM signature, so
 * the signature covers the rewritten body.
 *
 * The MIME tree is walked here, with care: only text/html (and, when asked, text/plain) parts
 * that are not attachments are decoded (quoted-printable, base64), rewritten and encoded again;
 * every other byte stays as it was. A message whose structure cannot be followed safely is sent
 * untracked and logged, never refused.
 */

/** Which parts' links are rewritten (Postmark's TrackLinks, in snake_case). */
export type LinkTracking = 'none' | 'html_only' | 'text_only' | 'html_and_text';
export const LINK_TRACKING: readonly LinkTracking[] = ['none', 'html_only', 'text_only', 'html_and_text'];

/** A message's own choice; what it leaves out comes from the account's defaults. */
export interface TrackingRequest {
  opens?: boolean;
  links?: LinkTracking;
}

const LINKS_HELP = 'is true, false, "html_only", "text_only", "html_and_text" or "none"';

/** `track_links` as the API takes it: a boolean (true means HTML links) or one of LINK_TRACKING. */
export function parseLinkTracking(value: unknown, field: string): LinkTracking {
  if (value === true) return 'html_only';
  if (value === false) return 'none';
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if ((LINK_TRACKING as readonly string[]).includes(v)) return v as LinkTracking;
    if (v === 'true' || v === 'false') return v === 'true' ? 'html_only' : 'none';
  }
  throw invalidContent(field, `${field} ${LINKS_HELP}`);
}

/** X-Herald-Track-Opens and X-Herald-Track-Links of SMTP mail (taken out by the labels step). */
export function trackingFromHeaders(fields: readonly { name: string; value: string }[]): TrackingRequest {
  const request: TrackingRequest = {};
  for (const { name, value: encoded } of fields) {
    const value = decodeEncodedWords(encoded).trim().toLowerCase();
    switch (name.toLowerCase()) {
      case 'x-herald-track-opens':
        if (value !== 'true' && value !== 'false') throw invalidContent('X-Herald-Track-Opens', 'X-Herald-Track-Opens is true or false');
        request.opens = value === 'true';
        break;
      case 'x-herald-track-links':
        request.links = parseLinkTracking(value, 'X-Herald-Track-Links');
        break;
      default:
        break;
    }
  }
  return request;
}

/** The base URL links point at: `publicUrl`, or http://<hostname>:<httpPort> when it is unset. */
export function trackingBaseUrl(config: { publicUrl?: string; hostname: string; httpPort: number }): string {
  return (config.publicUrl ?? `http://${config.hostname}:${config.httpPort}`).replace(/\/+$/, '');
}

// ---- the step ---------------------------------------------------------------------------------

export interface MessageTrackerOptions {
  /** The installation's tracking secret (`installationSecret(db, 'tracking')`). */
  secret: Buffer;
  /** Where recipients' clients reach Herald's HTTP listener (see trackingBaseUrl). */
  baseUrl: string;
  /** The account's defaults; without them tracking is off unless the message asks for it. */
  defaults?: TrackingDefaults;
  /** Tracking hosts (track.<domain>) and bounce domains of sending domains. */
  senders?: Pick<SenderDomains, 'trackingHostFor' | 'returnPathFor'>;
  logger?: Logger;
}

export interface TrackInput {
  accountId: string;
  messageId: MessageId;
  /** The message, CRLF line endings. */
  body: Buffer;
  /** The envelope recipients left after suppression. */
  recipients: readonly string[];
  stream: MessageStream;
  /** The From header's domain. */
  fromDomain?: string;
  request: TrackingRequest;
}

/** What the message meta records about tracking. */
export interface TrackingMeta {
  opens: boolean;
  links: LinkTracking;
  /** Set when the message could not be followed safely and went out untracked. */
  skipped?: string;
}

export interface TrackOutput {
  body: Buffer;
  /** Present when open or click tracking was on for the message. */
  meta?: TrackingMeta;
}

/** The track step as a function of the message; pure apart from the lookups it is given. */
export function createMessageTracker(options: MessageTrackerOptions): (input: TrackInput) => Promise<TrackOutput> {
  const log = options.logger ?? silentLogger;
  const { secret } = options;
  const publicBase = options.baseUrl.replace(/\/+$/, '');

  /** The public URL with the sender's verified tracking host, keeping its scheme, port and path. */
  const baseFor = async (accountId: string, fromDomain: string | undefined): Promise<string> => {
    const host = fromDomain ? await options.senders?.trackingHostFor(accountId, fromDomain) : null;
    if (!host) return publicBase;
    const url = new URL(publicBase);
    url.hostname = host;
    return url.href.replace(/\/+$/, '');
  };

  return async (input) => {
    const { accountId, messageId, request } = input;
    // The account is read only for what the message left open.
    const defaults = request.opens === undefined || request.links === undefined ? await options.defaults?.trackingFor(accountId) : undefined;
    const opens = request.opens ?? defaults?.opens ?? false;
    const links = request.links ?? (defaults?.links ? 'html_only' : 'none');
    // Herald stores one body per message: only a message to one recipient can name who opened it.
    const recipient = input.recipients.length === 1 ? input.recipients[0] : undefined;
    const unsubscribe = input.stream === 'broadcast' && recipient !== undefined;
    if (!opens && links === 'none' && !unsubscribe) return { body: input.body };

    const base = await baseFor(accountId, input.fromDomain);
    let body = input.body;
    const block = findHeaderBlock(body);
    const clientUnsubscribe = readHeaderFields(body, block, ['list-unsubscribe']).get('list-unsubscribe');

    let meta: TrackingMeta | undefined;
    if (opens || links !== 'none') {
      meta = { opens, links };
      // Never rewrite Herald's own tracking links, nor the sender's own unsubscribe URL.
      const keep = [`${publicBase}/t/`, `${base}/t/`, ...urlsOf(clientUnsubscribe ?? '')];
      try {
        const result = rewriteMessage(body, {
          pixel: opens ? `${base}/t/o/${signTrackingToken(secret, { kind: 'open', accountId, messageId, recipient })}` : null,
          html: links === 'html_only' || links === 'html_and_text',
          text: links === 'text_only' || links === 'html_and_text',
          clickUrl: (url) => {
            if (keep.some((prefix) => url === prefix || url.startsWith(prefix))) return null;
            if (Buffer.byteLength(url) > MAX_TRACKED_URL_BYTES) return null;
            return `${base}/t/c/${signTrackingToken(secret, { kind: 'click', accountId, messageId, recipient, url })}`;
          },
        });
        body = result.body;
        log.debug({ messageId, links: result.links, pixels: result.pixels }, 'tracking added');
      } catch (err) {
        meta.skipped = err instanceof UntrackableMessage ? err.message : 'the message could not be rewritten';
        log.warn({ messageId, err, reason: meta.skipped }, 'message sent untracked');
      }
    }

    // RFC 8058 one-click unsubscribe for bulk mail; a sender's own List-Unsubscribe wins.
    if (unsubscribe && clientUnsubscribe === undefined) {
      const url = `${base}/t/u/${signTrackingToken(secret, { kind: 'unsubscribe', accountId, messageId, recipient })}`;
      const bounceDomain = input.fromDomain ? await options.senders?.returnPathFor(accountId, input.fromDomain) : null;
      const entries = [`<${url}>`];
      if (bounceDomain) entries.push(`<mailto:${unsubscribeLocalPart(secret, messageId)}@${bounceDomain}>`);
      let fields = `List-Unsubscribe: ${entries.join(',\r\n ')}\r\n`;
      // RFC 8058 §3.1: one-click needs an HTTPS URI; receivers ignore the field without one.
      if (url.startsWith('https://')) fields += 'List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n';
      if (!block.hasHeaders && body.length > 0) fields += '\r\n';
      body = Buffer.concat([Buffer.from(fields, 'latin1'), body]);
    }
    return { body, meta };
  };
}

/** The http(s) URLs in a List-Unsubscribe value: `<https://…>, <mailto:…>`. */
function urlsOf(value: string): string[] {
  return [...value.matchAll(/<\s*(https?:[^>\s]+)\s*>/gi)].map((m) => m[1]);
}

// ---- the MIME walk ----------------------------------------------------------------------------

/** A message whose structure Herald cannot follow safely; it is sent as it is. */
export class UntrackableMessage extends Error {}

export interface RewriteOptions {
  /** The open pixel's URL, or null for no pixel. */
  pixel: string | null;
  /** Rewrite links in text/html parts. */
  html: boolean;
  /** Rewrite links in text/plain parts. */
  text: boolean;
  /** The tracking URL for a link, or null to leave the link as it is. */
  clickUrl(url: string): string | null;
}

export interface RewriteResult {
  body: Buffer;
  /** Links rewritten. */
  links: number;
  /** Pixels added (one per HTML part). */
  pixels: number;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;
const MAX_DEPTH = 20;
/** RFC 5322 §2.1.1: 998 octets per line without the CRLF. */
const MAX_LINE = 998;

/**
 * Rewrites the text parts of a MIME message (CRLF line endings) as the options say. Throws
 * UntrackableMessage when the structure cannot be followed (a multipart without a boundary or
 * its closing delimiter, nesting deeper than 20).
 */
export function rewriteMessage(message: Buffer, options: RewriteOptions): RewriteResult {
  const counts = { links: 0, pixels: 0 };
  const rewritten = rewriteEntity(message, options, counts, 0);
  return { body: rewritten ?? message, ...counts };
}

interface ContentType {
  type: string;
  subtype: string;
  params: Map<string, string>;
}

/** `type/subtype; name=value; name="quoted"` (RFC 2045 §5.1); lowercase type and parameter names. */
export function parseContentType(value: string): ContentType {
  const semi = value.indexOf(';');
  const [type = '', subtype = ''] = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase().split('/');
  const params = new Map<string, string>();
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*))/g;
  for (const m of value.slice(semi === -1 ? value.length : semi).matchAll(re)) {
    const name = m[1].toLowerCase();
    if (!params.has(name)) params.set(name, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]);
  }
  return { type: type.trim(), subtype: subtype.trim(), params };
}

/** The entity rewritten, or null when nothing in it changed. */
function rewriteEntity(entity: Buffer, options: RewriteOptions, counts: { links: number; pixels: number }, depth: number): Buffer | null {
  if (depth > MAX_DEPTH) throw new UntrackableMessage(`MIME parts nested deeper than ${MAX_DEPTH}`);
  const block = findHeaderBlock(entity);
  const headerEnd = block.hasHeaders ? block.end : 0;
  const bodyStart = !block.hasHeaders ? 0 : headerEnd >= entity.length ? entity.length : headerEnd + 2;
  const fields = readHeaderFields(entity, block, ['content-type', 'content-transfer-encoding', 'content-disposition']);
  const contentType = parseContentType(fields.get('content-type') ?? 'text/plain');
  const encoding = (fields.get('content-transfer-encoding') ?? '7bit').trim().toLowerCase();

  if (contentType.type === 'multipart') {
    const boundary = contentType.params.get('boundary');
    if (!boundary) throw new UntrackableMessage('a multipart part has no boundary');
    if (!['7bit', '8bit', 'binary'].includes(encoding)) throw new UntrackableMessage(`a multipart part is encoded as ${encoding}`);
    const parts = splitMultipart(entity, bodyStart, boundary);
    const out: Buffer[] = [];
    let pos = 0;
    for (const [start, end] of parts) {
      const part = rewriteEntity(entity.subarray(start, end), options, counts, depth + 1);
      if (!part) continue;
      out.push(entity.subarray(pos, start), part);
      pos = end;
    }
    if (out.length === 0) return null;
    out.push(entity.subarray(pos));
    return Buffer.concat(out);
  }

  // Attachments (a forwarded message, an .html file) are the sender's cargo: never touched.
  const disposition = (fields.get('content-disposition') ?? '').trim().toLowerCase();
  if (disposition.startsWith('attachment')) return null;
  const html = contentType.type === 'text' && contentType.subtype === 'html';
  const plain = contentType.type === 'text' && contentType.subtype === 'plain';
  if (!(html && (options.html || options.pixel)) && !(plain && options.text)) return null;
  if (!asciiCompatible(contentType.params.get('charset') ?? 'us-ascii')) return null;

  const body = entity.subarray(bodyStart);
  let decoded: Buffer;
  if (encoding === '7bit' || encoding === '8bit' || encoding === 'binary') decoded = body;
  else if (encoding === 'quoted-printable') decoded = decodeQuotedPrintable(body);
  else if (encoding === 'base64') decoded = Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  else return null;

  // One character per octet: markup is ASCII in every charset allowed above, so it is found and
  // changed without decoding; only a link's own octets are decoded, with the part's charset.
  const text = decoded.toString('latin1');
  const charset = contentType.params.get('charset') ?? 'us-ascii';
  const part = html ? rewriteHtml(text, options, charset) : rewriteTextLinks(text, options, charset);
  if (part.text === text) return null;
  counts.links += part.links;
  counts.pixels += part.pixel ? 1 : 0;
  const content = Buffer.from(part.text, 'latin1');
  const endsWithCrlf = body.length >= 2 && body[body.length - 2] === CR && body[body.length - 1] === LF;

  let header = entity.subarray(0, bodyStart);
  let encoded: Buffer;
  if (encoding === 'base64') {
    encoded = Buffer.from(base64Lines(content) + (endsWithCrlf ? '\r\n' : ''), 'latin1');
  } else if (encoding === 'quoted-printable') {
    encoded = Buffer.from(encodeQuotedPrintable(content, endsWithCrlf), 'latin1');
  } else if (longestLine(content) <= MAX_LINE) {
    encoded = content;
  } else {
    // A link made a line too long to send as it is: the part becomes quoted-printable.
    encoded = Buffer.from(encodeQuotedPrintable(content, endsWithCrlf), 'latin1');
    header = setTransferEncoding(entity, block, bodyStart, 'quoted-printable');
  }
  return Buffer.concat([header, encoded]);
}

/** Charsets in which ASCII octets mean ASCII characters (not UTF-16/32, UTF-7). */
function asciiCompatible(charset: string): boolean {
  return !/^(utf-?16|utf-?32|ucs-?2|ucs-?4|utf-?7|unicode)/i.test(charset.trim());
}

/**
 * The [start, end) ranges of a multipart body's parts (RFC 2046 §5.1.1): a delimiter line is
 * `--boundary` at the start of a line, with only white space after it; the CRLF before it
 * belongs to the delimiter; the close delimiter adds `--`. Preamble and epilogue are not parts.
 */
export function splitMultipart(entity: Buffer, bodyStart: number, boundary: string): [number, number][] {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: [number, number][] = [];
  let partStart = -1;
  let search = bodyStart;
  for (;;) {
    const i = entity.indexOf(delimiter, search);
    if (i === -1) throw new UntrackableMessage('a multipart part has no closing boundary');
    const atLineStart = i === bodyStart || (i >= bodyStart + 2 && entity[i - 2] === CR && entity[i - 1] === LF);
    let j = i + delimiter.length;
    const close = entity[j] === 0x2d && entity[j + 1] === 0x2d;
    if (close) j += 2;
    while (entity[j] === SP || entity[j] === TAB) j++;
    const lineEnd = entity[j] === CR && entity[j + 1] === LF ? j + 2 : j === entity.length ? j : -1;
    if (!atLineStart || lineEnd === -1) {
      // Text that merely starts like the boundary ("--b1x", or mid-line).
      search = i + 1;
      continue;
    }
    if (partStart !== -1) parts.push([partStart, Math.max(partStart, i - 2)]);
    if (close) return parts;
    partStart = lineEnd;
    search = lineEnd;
  }
}

/** The header block with its Content-Transfer-Encoding field replaced (or added). */
function setTransferEncoding(entity: Buffer, block: { end: number; hasHeaders: boolean }, bodyStart: number, encoding: string): Buffer {
  const head = entity.toString('latin1', 0, block.hasHeaders ? block.end : 0);
  const field = `Content-Transfer-Encoding: ${encoding}\r\n`;
  const re = /(^|\r\n)content-transfer-encoding[ \t]*:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/i;
  const replaced = re.test(head) ? head.replace(re, (_m, lead: string) => lead + field) : head + field;
  // An entity without header fields needs the blank line that separates them from the body.
  const blank = block.hasHeaders && block.end > 0 ? entity.toString('latin1', block.end, bodyStart) : '\r\n';
  return Buffer.from(replaced + blank, 'latin1');
}

function longestLine(b: Buffer): number {
  let longest = 0;
  let start = 0;
  for (;;) {
    const lf = b.indexOf(LF, start);
    const end = lf === -1 ? b.length : lf > start && b[lf - 1] === CR ? lf - 1 : lf;
    longest = Math.max(longest, end - start);
    if (lf === -1) return longest;
    start = lf + 1;
  }
}

// ---- quoted-printable and base64 --------------------------------------------------------------

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/**
 * RFC 2045 §6.7, leniently: "=XX" escapes, "=" CRLF soft line breaks (also with transport
 * padding before the CRLF), white space at a line's end removed (rule 3), and anything malformed
 * kept as it is.
 */
export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.alloc(input.length);
  let o = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c === 0x3d) {
      if (isHex(input[i + 1]) && isHex(input[i + 2])) {
        out[o++] = parseInt(String.fromCharCode(input[i + 1], input[i + 2]), 16);
        i += 2;
        continue;
      }
      let j = i + 1;
      while (input[j] === SP || input[j] === TAB) j++;
      if (input[j] === CR && input[j + 1] === LF) {
        i = j + 1;
        continue;
      }
      if (input[j] === LF || j === input.length) {
        i = j;
        continue;
      }
      out[o++] = c;
      continue;
    }
    if (c === SP || c === TAB) {
      let j = i;
      while (input[j] === SP || input[j] === TAB) j++;
      if (j === input.length || (input[j] === CR && input[j + 1] === LF)) {
        i = j - 1;
        continue;
      }
    }
    out[o++] = c;
  }
  return out.subarray(0, o);
}

/**
 * Quoted-printable with CRLF as hard line breaks and soft breaks keeping lines to 76 characters
 * (RFC 2045 §6.7). When the original ended with a line break and the content does not, a final
 * soft break keeps the part's last CRLF without adding one to the content.
 */
export function encodeQuotedPrintable(content: Buffer, endWithLineBreak: boolean): string {
  let out = '';
  let line = '';
  const hex = (c: number) => `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
  for (let i = 0; i < content.length; i++) {
    const c = content[i];
    if (c === CR && content[i + 1] === LF) {
      out += `${line}\r\n`;
      line = '';
      i++;
      continue;
    }
    const atLineEnd = i + 1 === content.length || (content[i + 1] === CR && content[i + 2] === LF);
    const token = (c >= 33 && c <= 126 && c !== 0x3d) || ((c === SP || c === TAB) && !atLineEnd) ? String.fromCharCode(c) : hex(c);
    // 75 characters and the "=" of a soft break make 76.
    if (line.length + token.length > 75) {
      out += `${line}=\r\n`;
      line = '';
    }
    line += token;
  }
  out += line;
  if (endWithLineBreak && !out.endsWith('\r\n')) out += '=\r\n';
  return out;
}

function base64Lines(content: Buffer): string {
  const text = content.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return lines.join('\r\n');
}

// ---- HTML and text links ----------------------------------------------------------------------

interface PartRewrite {
  text: string;
  links: number;
  pixel: boolean;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Character references in an attribute value (HTML §13.2.5.72), the common named ones and every numeric one. */
export function decodeHtmlEntities(value: string): string {
  return value.replace(/&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]{2,8}));?/g, (whole, dec?: string, hexa?: string, name?: string) => {
    if (name !== undefined) return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
    const code = dec !== undefined ? Number(dec) : parseInt(hexa!, 16);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/** The octets of `latin1` (one character per octet) read in the part's charset. */
function decodeOctets(latin1: string, charset: string): string {
  const bytes = Buffer.from(latin1, 'latin1');
  try {
    return new TextDecoder(charset.trim().toLowerCase() === 'us-ascii' ? 'utf-8' : charset.trim()).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** A link as a browser reads the attribute: entities decoded, tabs and line breaks dropped, trimmed. */
function linkOf(rawValue: string, charset: string): string | null {
  const url = decodeHtmlEntities(decodeOctets(rawValue, charset))
    .replace(/[\t\r\n]/g, '')
    .trim();
  if (!/^https?:\/\//i.test(url)) return null;
  try {
    new URL(url);
  } catch {
    return null;
  }
  return url;
}

interface Attribute {
  name: string;
  /** Where the value is, quotes included, in the document. */
  start: number;
  end: number;
  /** The value without its quotes. */
  value: string;
}

/** The attributes of the tag whose name ends at `from`, and where the tag ends; null when it never does. */
function readAttributes(html: string, from: number): { attributes: Attribute[]; end: number } | null {
  const attributes: Attribute[] = [];
  let i = from;
  const n = html.length;
  const space = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f';
  for (;;) {
    while (i < n && (space(html[i]) || html[i] === '/')) i++;
    if (i >= n) return null;
    if (html[i] === '>') return { attributes, end: i + 1 };
    const nameStart = i;
    while (i < n && !space(html[i]) && html[i] !== '=' && html[i] !== '>' && html[i] !== '/') i++;
    const name = html.slice(nameStart, i).toLowerCase();
    let j = i;
    while (j < n && space(html[j])) j++;
    if (html[j] !== '=') {
      attributes.push({ name, start: i, end: i, value: '' });
      continue;
    }
    j++;
    while (j < n && space(html[j])) j++;
    if (j >= n) return null;
    const quote = html[j];
    if (quote === '"' || quote === "'") {
      const close = html.indexOf(quote, j + 1);
      if (close === -1) return null;
      attributes.push({ name, start: j, end: close + 1, value: html.slice(j + 1, close) });
      i = close + 1;
    } else {
      let k = j;
      while (k < n && !space(html[k]) && html[k] !== '>') k++;
      attributes.push({ name, start: j, end: k, value: html.slice(j, k) });
      i = k;
    }
  }
}

const PIXEL_STYLE = 'display:block;width:1px;height:1px;border:0;margin:0;padding:0';

/**
 * Rewrites `<a href="http(s)://…">` links (not mailto:, tel:, anchors, relative links, or an `a`
 * with a `data-herald-notrack` attribute) and adds the open pixel before `</body>` (or `</html>`,
 * or at the end). `html` holds one character per octet.
 */
export function rewriteHtml(html: string, options: Pick<RewriteOptions, 'pixel' | 'html' | 'clickUrl'>, charset = 'utf-8'): PartRewrite {
  let links = 0;
  let out = '';
  let pos = 0;
  if (options.html) {
    const anchor = /<a(?=[\s/>])/gi;
    for (let m = anchor.exec(html); m; m = anchor.exec(html)) {
      const tag = readAttributes(html, m.index + 2);
      if (!tag) break;
      anchor.lastIndex = tag.end;
      if (tag.attributes.some((a) => a.name === 'data-herald-notrack')) continue;
      const href = tag.attributes.find((a) => a.name === 'href');
      if (!href) continue;
      const url = linkOf(href.value, charset);
      const tracked = url === null ? null : options.clickUrl(url);
      if (tracked === null) continue;
      out += `${html.slice(pos, href.start)}"${tracked}"`;
      pos = href.end;
      links++;
    }
  }
  out += html.slice(pos);
  if (!options.pixel) return { text: out, links, pixel: false };
  const img = `<img src="${options.pixel}" width="1" height="1" alt="" style="${PIXEL_STYLE}">`;
  const lower = out.toLowerCase();
  let at = lower.lastIndexOf('</body');
  if (at === -1) at = lower.lastIndexOf('</html');
  if (at === -1) {
    // No closing tag: at the end, before the final line break if there is one.
    at = out.endsWith('\r\n') ? out.length - 2 : out.length;
  }
  return { text: out.slice(0, at) + img + out.slice(at), links, pixel: true };
}

// A URL in plain text ends at white space, angle brackets or quotes; punctuation right after it
// belongs to the sentence.
const TEXT_URL = /\bhttps?:\/\/[^ <>"'\u0000-\u0020\u007f]+/gi;

/** Rewrites http(s) URLs in plain text. `text` holds one character per octet. */
export function rewriteTextLinks(text: string, options: Pick<RewriteOptions, 'clickUrl'>, charset = 'utf-8'): PartRewrite {
  let links = 0;
  const out = text.replace(TEXT_URL, (found: string) => {
    let raw = found;
    for (;;) {
      const last = raw[raw.length - 1];
      if (/[.,;:!?]/.test(last)) raw = raw.slice(0, -1);
      // A closing bracket ends the URL unless the URL opened it: "(see https://x.example/a)".
      else if ((last === ')' && count(raw, '(') < count(raw, ')')) || (last === ']' && count(raw, '[') < count(raw, ']'))) raw = raw.slice(0, -1);
      else break;
    }
    const url = decodeOctets(raw, charset);
    let valid = true;
    try {
      new URL(url);
    } catch {
      valid = false;
    }
    const tracked = valid ? options.clickUrl(url) : null;
    if (tracked === null) return found;
    links++;
    return tracked + found.slice(raw.length);
  });
  return { text: out, links, pixel: false };
}

function count(text: string, c: string): number {
  let n = 0;
  for (const x of text) if (x === c) n++;
  return n;
}
