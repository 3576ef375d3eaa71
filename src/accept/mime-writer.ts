/**
 * A one-pass MIME writer for the HTTP API's messages: the checked fields of compose.ts become
 * RFC 5322 / MIME bytes synchronously, collected as strings and written into one Buffer.
 *
 * It writes what nodemailer's MailComposer (10.x, with the options compose.ts used to give it)
 * wrote for the same input, byte for byte apart from the random part of the boundaries: the same
 * tree (multipart/mixed > multipart/alternative > multipart/related), header order, encoded
 * words, folding and transfer encodings. compose.test.ts compares the two on many messages.
 * Encoded words, folding and parameter encoding are nodemailer's own synchronous functions
 * (mime-funcs); the stream machinery, MimeNode's per-node bookkeeping and the body encoders
 * (qp.Encoder with qp.wrap, base64.Encoder) are replaced by the equivalents below.
 *
 * The input must be what compose.ts checked: no CR, LF or NUL in any header value, header
 * names that are not fields set here, attachments as canonical base64 (or, for message/*, the
 * raw bytes with CRLF lines). Nothing here reads a file or a URL.
 */
import { randomFillSync } from 'node:crypto';
import { buildHeaderValue, encodeWord, encodeWords, foldLines, quoteString } from 'nodemailer/lib/mime-funcs/index.js';
import { normalizeDomain } from 'nodemailer/lib/shared/index.js';

export interface WriterAddress {
  /** '' for none. */
  name: string;
  address: string;
}

export interface WriterAttachment {
  filename: string;
  /** A lowercase media type without parameters (compose.ts checks it). */
  contentType: string;
  /** Without <>; makes the part inline (in multipart/related when there is html). */
  contentId?: string;
  /** The content as canonical base64 without line breaks: written base64, 76 columns. */
  base64?: string;
  /** message/rfc822 and message/global only: the bytes, written as they are (RFC 2046 §5.2.1). */
  raw?: Buffer;
}

export interface WriterMessage {
  /** Extra header fields, in order, names as given. */
  headers: readonly { key: string; value: string }[];
  from: WriterAddress;
  to: readonly WriterAddress[];
  cc: readonly WriterAddress[];
  replyTo: readonly WriterAddress[];
  subject?: string;
  /** With <>. */
  messageId: string;
  /** An RFC 5322 date-time. */
  date: string;
  /** CRLF line endings. */
  text?: string;
  /** CRLF line endings. */
  html?: string;
  attachments: readonly WriterAttachment[];
}

/** RFC 2045 §6.7 (2), §6.8: encoded lines of at most 76 characters. */
const LINE = 76;
/** qp.Encoder encodes and wraps its input this many bytes at a time (see qpBody). */
const QP_SLICE = 64 * 1024;
/** qp.wrap looks for a place to break a long line in its last LINE / 3 characters. */
const QP_MARGIN = 25;
/** MimeNode's boundaries: prefix, 16 random hex digits shared by the message, node number. */
const BOUNDARY_PREFIX = '--_NmP-';

// ---------------------------------------------------------------------------------------------
// Header values, as MimeNode.encodeHeaderValue and MimeNode.buildHeaders make them.

// Needs an encoded word (RFC 2047 §5): controls, DEL, '"', non-ASCII, or text a decoder could
// take for an encoded word. CR and LF never get here.
const NEEDS_ENCODING = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f"\u0080-\uffff]|=\?/;
const HEADER_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const ALL_CONTROLS = /[\x00-\x1f\x7f]/;

const NON_LATIN = /[\x00-\x08\x0b\x0c\x0e-\x1f\u0080-\uffff]+/g;
const LETTERS = /[A-Za-z]+/g;

/**
 * 'Q' when the value has more Latin letters than controls and non-ASCII UTF-16 code units,
 * else 'B' (MimeNode's rule). Counted by native pattern matching, several times faster than a
 * loop over charCodeAt on a large body: the others all at once, the letters a run at a time
 * until they outnumber them.
 */
function textEncoding(value: string): 'Q' | 'B' {
  const others = value.length - value.replace(NON_LATIN, '').length;
  let letters = 0;
  LETTERS.lastIndex = 0;
  while (letters <= others) {
    const run = LETTERS.exec(value);
    if (!run) return 'B';
    letters += run[0].length;
  }
  return 'Q';
}

/** An unstructured value (RFC 5322 §3.2.5): as it is, or wholly RFC 2047-encoded. */
function unstructured(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  // Controls fit only in an encoded word; the whole value is encoded (some clients drop the
  // white space around a partly encoded value).
  return HEADER_CONTROL.test(value) ? encodeWord(value, textEncoding(value), 52) : encodeWords(value, textEncoding(value), 52, true);
}

/** A msg-id field (RFC 5322 §3.6.4): controls but HT dropped, angle brackets ensured. */
function msgIdValue(value: string): string {
  let v = value.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
  if (v.charAt(0) !== '<') v = `<${v}`;
  if (v.charAt(v.length - 1) !== '>') v = `${v}>`;
  return v;
}

/** References: each id in angle brackets, white space inside the brackets removed. */
function referencesValue(value: string): string {
  const elm = value.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '').trim();
  let closed = '';
  let pos = 0;
  for (;;) {
    const open = elm.indexOf('<', pos);
    const close = open < 0 ? -1 : elm.indexOf('>', open + 1);
    if (close < 0) break;
    closed += elm.slice(pos, open) + elm.slice(open, close + 1).replace(/\s/g, '');
    pos = close + 1;
  }
  closed += elm.slice(pos);
  return closed
    .split(/\s+/)
    .map((id) => msgIdValue(id))
    .join(' ')
    .trim();
}

/** A caller's header field value, encoded by its name as MimeNode does. */
function customValue(key: string, value: string): string {
  switch (key) {
    case 'In-Reply-To':
    case 'Content-ID':
    case 'Message-ID':
      return msgIdValue(value);
    case 'References':
      return referencesValue(value);
    // A structured field (RFC 9651): an encoded word would change its meaning.
    case 'OTP-Token':
      return value.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
    default:
      return unstructured(value);
  }
}

/** Field names in MimeNode's Camel-Case ("x-tag" → "X-Tag", "mime-x" → "MIME-X", "-id" → "-ID"). */
function normalizeHeaderKey(key: string): string {
  return key
    .replace(/[\s\x00-\x20\x7f:]/g, '')
    .toLowerCase()
    .replace(/^X-SMTPAPI$|^(MIME|DKIM|ARC|BIMI)\b|^OTP(?=-Token$)|^[a-z]|-(SPF|FBL|ID|MD5)$|-[a-z]/gi, (c) => c.toUpperCase())
    .replace(/^Content-Features$/i, 'Content-features');
}

// RFC 5322 §3.2.3 atext plus the non-ASCII of RFC 6532; a local part of these is a dot-atom.
const ATEXT = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\\x80-\\uFFFF]";
const DOT_ATOM = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*$`);
const QUOTED_STRING = /^"(?:[^"\\]|\\[\s\S])*"$/;
// An address without specials can stand without angle brackets.
const PLAIN_ADDRESS = /^[^\s"(),:;<>@[\\\]]+@[^\s"(),:;<>@[\\\]]+$/;
const DOMAIN_LITERAL_TAIL = /@(\[[^[\]\\]*\])$/;

/** A local part as a dot-atom, or else as a quoted-string (RFC 5322 §3.4.1). */
function localPart(user: string): string {
  return DOT_ATOM.test(user) || QUOTED_STRING.test(user) ? user : quoteString(user);
}

const domains = new Map<string, string>();

/**
 * nodemailer's normalizeDomain (domainToASCII, and back to U-labels when `unicode`), remembered
 * for the last 1024 domains asked about: a sender's domain comes back with every message.
 */
function headerDomain(domain: string, unicode: boolean): string {
  const key = unicode ? `u:${domain}` : `a:${domain}`;
  let value = domains.get(key);
  if (value === undefined) {
    try {
      value = normalizeDomain(domain, unicode);
    } catch {
      value = domain; // kept as given
    }
    if (domains.size >= 1024) domains.clear();
    domains.set(key, value);
  }
  return value;
}

/** The address as a header carries it: A-label domain, or U-labels with a UTF-8 local part. */
function headerAddress(input: string): string {
  const address = input.replace(/[\x00-\x1F\x7F<>]+/g, ' ').trim();
  if (!address) return address;
  const literal = address.endsWith(']') ? DOMAIN_LITERAL_TAIL.exec(address) : null;
  const at = literal ? address.length - literal[1]!.length - 1 : address.lastIndexOf('@');
  if (at < 0) return localPart(address);
  const user = address.slice(0, at);
  const domain = address.slice(at + 1);
  // RFC 6532 §3.2: a UTF-8 local part needs SMTPUTF8, so the domain stays UTF-8 beside it.
  return `${localPart(user)}@${headerDomain(domain, /[\x80-\uFFFF]/.test(user))}`;
}

/** A display name (RFC 5322 §3.2.5 phrase): an atom, a quoted-string or an encoded word. */
function displayName(name: string): string {
  if (/^[\w ]*$/.test(name)) return name;
  if (/^[\x20-\x7e]*$/.test(name)) return quoteString(name);
  return encodeWord(name, textEncoding(name), 52);
}

function addressList(list: readonly WriterAddress[]): string {
  let out = '';
  for (const box of list) {
    const address = headerAddress(box.address);
    if (!address) continue;
    if (out) out += ', ';
    if (box.name) out += `${displayName(box.name)} <${address}>`;
    else out += PLAIN_ADDRESS.test(address) ? address : `<${address}>`;
  }
  return out;
}

/** One header field, folded at white space to 76 columns where it is longer (RFC 5322 §2.2.3). */
function field(key: string, value: string): string {
  const line = `${key}: ${value}`;
  return line.length < LINE ? line : foldLines(line, LINE);
}

/** A filename as the Content-Type name parameter (not RFC 2231: some clients read only this). */
function nameParam(filename: string): string {
  let param = ALL_CONTROLS.test(filename) ? encodeWord(filename, textEncoding(filename), 52) : unstructuredFilename(filename);
  if (param !== filename || /[\s'"\\;:/=(),<>@[\]?]|^-/.test(param)) param = JSON.stringify(param);
  return param;
}

function unstructuredFilename(filename: string): string {
  return NEEDS_ENCODING.test(filename) ? encodeWords(filename, textEncoding(filename), 52, true) : filename;
}

// ---------------------------------------------------------------------------------------------
// Bodies.

// RFC 2045 §6.7 (1), (2): octets written as they are; everything else becomes =XX.
const QP_LITERAL = new Uint8Array(256);
for (let i = 0; i < 256; i++) QP_LITERAL[i] = i === 0x09 || i === 0x0a || i === 0x0d || (i >= 0x20 && i <= 0x7e && i !== 0x3d) ? 1 : 0;
const HEX = '0123456789ABCDEF';

/**
 * Quoted-printable of buf[start, end) without line wrapping. White space before a line break,
 * or at the end of the input (`next` undefined), is encoded (RFC 2045 §6.7 (3)).
 */
function qpEncode(buf: Buffer, start: number, end: number, next: number | undefined): string {
  const out = Buffer.allocUnsafe((end - start) * 3);
  let o = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (QP_LITERAL[c]) {
      if (c !== 0x20 && c !== 0x09) {
        out[o++] = c;
        continue;
      }
      const following = i + 1 < end ? buf[i + 1] : next;
      if (following !== undefined && following !== 0x0a && following !== 0x0d) {
        out[o++] = c;
        continue;
      }
    }
    out[o++] = 0x3d;
    out[o++] = HEX.charCodeAt(c >> 4);
    out[o++] = HEX.charCodeAt(c & 15);
  }
  return out.toString('latin1', 0, o);
}

function isWsp(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09;
}

// A character that 7bit text cannot hold.
const NOT_SEVEN_BIT = /[^\t\n\r\x20-\x7f]/;

/**
 * Printable ASCII (tab and DEL included) in lines of at most 76 characters, and at most 128 KiB
 * of it: the text MimeNode sends as 7bit (mime-funcs isPlainText and hasLongerLines). `s` has
 * CRLF line breaks only. A character class and a search from LF to LF scan several times faster
 * than a loop over charCodeAt or a multiline pattern.
 */
function sevenBitText(s: string): boolean {
  if (s.length > 128 * 1024 || NOT_SEVEN_BIT.test(s)) return false;
  let start = 0;
  for (;;) {
    const lf = s.indexOf('\n', start);
    const end = lf < 0 ? s.length : lf > 0 && s.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf;
    if (end - start > LINE) return false;
    if (lf < 0) return true;
    start = lf + 1;
  }
}

function isQpBreakAfter(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x2e || c === 0x2c || c === 0x21 || c === 0x3f; // SP HT . , ! ?
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** str[end - 3, end) is an escape "=XX" that lies within [start, end). */
function escapeBefore(str: string, start: number, end: number): boolean {
  return end - start >= 3 && str.charCodeAt(end - 3) === 0x3d && isHex(str.charCodeAt(end - 2)) && isHex(str.charCodeAt(end - 1));
}

/**
 * Soft line breaks ("=" CRLF, RFC 2045 §6.7 (5)) for quoted-printable text, lines of at most 76
 * characters: the very breaks nodemailer's qp.wrap(str, 76) makes, found by index arithmetic
 * instead of a substring and up to six regular expressions per line. `str` must have every LF
 * right after a CR (qpEncode output of CRLF text, the last character may be a lone CR), which
 * leaves out the branches of qp.wrap for lines ending in a bare LF. A line ends:
 *   - after a CRLF within the next 76 characters;
 *   - else, when over 51 characters, after its last space, tab, ".", ",", "!" or "?" in the
 *     last 25;
 *   - else before an incomplete escape at its end, and before escapes of UTF-8 continuation
 *     octets (with their lead octet), so no character is split across lines;
 *   - with room for the "=": 76 characters lose their last escape or last character.
 */
export function qpSoftBreaks(str: string): string {
  const len = str.length;
  if (len <= LINE) return str;
  let out = '';
  let pos = 0;
  let hard = str.indexOf('\r\n');
  while (pos < len) {
    if (hard !== -1 && hard < pos) hard = str.indexOf('\r\n', pos);
    const windowEnd = Math.min(pos + LINE, len);
    if (hard !== -1 && hard + 2 <= windowEnd) {
      out += str.slice(pos, hard + 2);
      pos = hard + 2;
      continue;
    }
    let end = windowEnd;
    let atBreak = false;
    if (end - pos > LINE - QP_MARGIN) {
      let k = end - 1;
      while (k >= end - QP_MARGIN && !isQpBreakAfter(str.charCodeAt(k))) k--;
      if (k >= end - QP_MARGIN) {
        end = k + 1;
        atBreak = true;
      }
    }
    if (!atBreak) {
      const last = str.charCodeAt(end - 1);
      const partial = end - pos >= 2 && str.charCodeAt(end - 2) === 0x3d && isHex(last) ? 2 : last === 0x3d ? 1 : 0;
      if (partial || escapeBefore(str, pos, end)) {
        end -= partial;
        // Keep a UTF-8 sequence on one line: drop escapes of continuation octets (0x80-0xBF)
        // and the lead octet (0xC0-) before them, unless the line is all escapes (1 to 4).
        while (end - pos > 3 && end < len && !allEscapes(str, pos, end) && escapeBefore(str, pos, end)) {
          const octet = parseInt(str.slice(end - 2, end), 16);
          if (octet < 0x80) break;
          end -= 3;
          if (octet >= 0xc0) break;
        }
      }
    }
    if (end === pos) end = windowEnd;
    if (end < len && str.charCodeAt(end - 1) !== 0x0a) {
      if (end - pos === LINE) end -= escapeBefore(str, pos, end) ? 3 : 1;
      out += `${str.slice(pos, end)}=\r\n`;
    } else {
      out += str.slice(pos, end);
    }
    pos = end;
  }
  return out;
}

/** str[start, end) is one to four escapes "=XX" and nothing else. */
function allEscapes(str: string, start: number, end: number): boolean {
  const n = end - start;
  if (n % 3 !== 0 || n < 3 || n > 12) return false;
  for (let i = start; i < end; i += 3) if (!escapeBefore(str, i, i + 3)) return false;
  return true;
}

interface QpState {
  out: string;
  /** The last line, not yet known to need a soft line break. */
  line: string;
}

function qpSlices(state: QpState, b: Buffer): void {
  for (let start = 0; start < b.length; start += QP_SLICE) {
    const stop = Math.min(start + QP_SLICE, b.length);
    const wrapped = qpSoftBreaks(state.line + qpEncode(b, start, stop, stop < b.length ? b[stop] : undefined));
    const lf = wrapped.lastIndexOf('\n');
    state.line = wrapped.substring(lf + 1);
    state.out += wrapped.substring(0, lf + 1);
  }
}

/**
 * A text body as quoted-printable, soft-wrapped at 76 columns: what qp.Encoder makes of the
 * body written to it as one chunk. The encoder holds back trailing white space until the end
 * and encodes and wraps 64 KiB at a time, which decides where the soft line breaks fall.
 */
function qpBody(input: Buffer): string {
  let buf = input;
  let rest: Buffer | undefined;
  let end = buf.length;
  while (end > 0 && isWsp(buf[end - 1])) end--;
  if (buf.length - end <= QP_SLICE) {
    rest = end < buf.length ? buf.subarray(end) : undefined;
    buf = buf.subarray(0, end);
  }
  const state: QpState = { out: '', line: '' };
  qpSlices(state, buf);
  if (rest) qpSlices(state, rest);
  return state.out + state.line;
}

// ---------------------------------------------------------------------------------------------
// The output: strings, raw Buffers and base64 runs to be wrapped, assembled into one Buffer.

type Chunk = string | Buffer | { base64: string };

class Output {
  private readonly chunks: Chunk[] = [];
  private text = '';

  add(s: string): void {
    this.text += s;
  }

  raw(b: Buffer): void {
    this.flush();
    this.chunks.push(b);
  }

  /** Base64 without line breaks, written in lines of 76 (RFC 2045 §6.8) joined by CRLF. */
  base64(s: string): void {
    this.flush();
    if (s) this.chunks.push({ base64: s });
  }

  /** Ends the output with CRLF unless it ends with one, as MimeNode's LastNewline does (the bodies have no bare CR). */
  endLine(): void {
    this.flush();
    const last = this.chunks[this.chunks.length - 1];
    const byte = typeof last === 'string' ? last.charCodeAt(last.length - 1) : Buffer.isBuffer(last) ? last[last.length - 1] : undefined;
    if (byte !== 0x0a) this.text = '\r\n';
  }

  private flush(): void {
    if (this.text) this.chunks.push(this.text);
    this.text = '';
  }

  toBuffer(): Buffer {
    this.flush();
    let size = 0;
    for (const c of this.chunks) {
      if (typeof c === 'string') size += Buffer.byteLength(c);
      else if (Buffer.isBuffer(c)) size += c.length;
      else size += c.base64.length + 2 * (Math.ceil(c.base64.length / LINE) - 1);
    }
    const out = Buffer.allocUnsafe(size);
    let pos = 0;
    for (const c of this.chunks) {
      if (typeof c === 'string') pos += out.write(c, pos, 'utf8');
      else if (Buffer.isBuffer(c)) pos += c.copy(out, pos);
      else pos = writeBase64Lines(out, pos, c.base64);
    }
    if (pos !== size) throw new Error(`mime-writer: wrote ${pos} of ${size} octets`);
    return out;
  }
}

/**
 * Writes the base64 text at `pos`, then moves its lines apart from the last one back to make
 * room for the CRLFs; one native copy for the text and one per line, nothing allocated.
 */
function writeBase64Lines(out: Buffer, pos: number, s: string): number {
  const n = out.write(s, pos, 'latin1');
  const lines = Math.ceil(n / LINE);
  for (let l = lines - 1; l > 0; l--) {
    const from = pos + l * LINE;
    const to = from + 2 * l;
    out.copyWithin(to, from, Math.min(pos + n, from + LINE));
    out[to - 2] = 0x0d;
    out[to - 1] = 0x0a;
  }
  return pos + n + 2 * (lines - 1);
}

// ---------------------------------------------------------------------------------------------
// The tree (MailComposer.compile) and the parts (MimeNode.stream).

interface TextNode {
  kind: 'text';
  /** 'text/plain; charset=utf-8' or 'text/html; charset=utf-8'. */
  contentType: string;
  content: string;
}
interface FileNode {
  kind: 'file';
  file: WriterAttachment;
}
interface MultiNode {
  kind: 'multi';
  /** Content-Type before the boundary parameter. */
  contentType: string;
  children: Node[];
}
type Node = TextNode | FileNode | MultiNode;

const BOUNDARY_POOL = Buffer.alloc(8 * 256);
let poolAt = BOUNDARY_POOL.length;

/** 64 random bits in hex, from a pool refilled 256 messages at a time. */
function randomHex(): string {
  if (poolAt === BOUNDARY_POOL.length) {
    randomFillSync(BOUNDARY_POOL);
    poolAt = 0;
  }
  poolAt += 8;
  return BOUNDARY_POOL.toString('hex', poolAt - 8, poolAt);
}

/**
 * The tree MailComposer builds: text and html as multipart/alternative; html with the parts
 * that have a content id as multipart/related (RFC 2387); everything in multipart/mixed with
 * the other attachments; a single part when there is nothing to combine.
 */
function tree(m: WriterMessage): Node {
  const text: TextNode | undefined = m.text ? { kind: 'text', contentType: 'text/plain; charset=utf-8', content: m.text } : undefined;
  const html: TextNode | undefined = m.html ? { kind: 'text', contentType: 'text/html; charset=utf-8', content: m.html } : undefined;
  // Without html there is nothing to relate to: parts with a content id are plain attachments.
  const related: Node[] = [];
  const attached: Node[] = [];
  for (const file of m.attachments) (html && file.contentId ? related : attached).push({ kind: 'file', file });

  let body: Node = (html ?? text)!;
  if (html && related.length) body = { kind: 'multi', contentType: 'multipart/related; type="text/html"', children: [html, ...related] };
  if (text && html) body = { kind: 'multi', contentType: 'multipart/alternative', children: [text, body] };
  if (!attached.length) return body;
  return { kind: 'multi', contentType: 'multipart/mixed', children: [body, ...attached] };
}

interface Writer {
  out: Output;
  base: string;
  /** Nodes numbered in the order written (pre-order), as MimeNode numbers them. */
  nodes: number;
}

/** The header fields of the top-level part that come before its own Content-* fields. */
function messageFields(m: WriterMessage): string[] {
  const fields: string[] = [];
  for (const { key, value } of m.headers) {
    const name = normalizeHeaderKey(key);
    const encoded = customValue(name, value);
    // MimeNode leaves out a field whose value is only white space.
    if (encoded.trim()) fields.push(field(name, encoded));
  }
  fields.push(field('From', addressList([m.from])));
  if (m.to.length) fields.push(field('To', addressList(m.to)));
  if (m.cc.length) fields.push(field('Cc', addressList(m.cc)));
  if (m.replyTo.length) fields.push(field('Reply-To', addressList(m.replyTo)));
  if (m.subject) fields.push(field('Subject', unstructured(m.subject)));
  fields.push(field('Message-ID', msgIdValue(m.messageId)));
  fields.push(field('Date', unstructured(m.date)));
  return fields;
}

function writeNode(w: Writer, node: Node, top: string[] | undefined): void {
  const id = ++w.nodes;
  const { out } = w;
  if (node.kind === 'multi') {
    const boundary = `${BOUNDARY_PREFIX}${w.base}-Part_${id}`;
    const contentType = field('Content-Type', `${node.contentType}; boundary="${boundary}"`);
    const fields = top ? [...top, 'MIME-Version: 1.0', contentType] : [contentType];
    out.add(`${fields.join('\r\n')}\r\n\r\n`);
    // RFC 2046 §5.1.1: a delimiter line before each part, the close delimiter after the last.
    for (let i = 0; i < node.children.length; i++) {
      out.add(`${i > 0 ? '\r\n' : ''}--${boundary}\r\n`);
      writeNode(w, node.children[i]!, undefined);
    }
    out.add(`\r\n--${boundary}--\r\n`);
    return;
  }

  if (node.kind === 'text') {
    const { content } = node;
    // 7bit for printable ASCII with lines of at most 76 characters (RFC 2045 §2.7 allows 998;
    // MimeNode keeps to 76); otherwise quoted-printable when most of it is Latin letters,
    // base64 when not (RFC 2045 §6.7, §6.8).
    const encoding = sevenBitText(content) ? '7bit' : textEncoding(content) === 'Q' ? 'quoted-printable' : 'base64';
    const contentType = field('Content-Type', node.contentType);
    const cte = `Content-Transfer-Encoding: ${encoding}`;
    const fields = top ? [...top, cte, 'MIME-Version: 1.0', contentType] : [contentType, cte];
    out.add(`${fields.join('\r\n')}\r\n\r\n`);
    if (encoding === '7bit') out.add(content);
    else if (encoding === 'quoted-printable') out.add(qpBody(Buffer.from(content, 'utf8')));
    else out.base64(Buffer.from(content, 'utf8').toString('base64'));
    return;
  }

  // An attachment is never the top-level part: a message has a text or an html body.
  const { file } = node;
  const fields = [field('Content-Type', `${file.contentType}; name=${nameParam(file.filename)}`)];
  if (file.contentId) fields.push(field('Content-ID', msgIdValue(`<${file.contentId.replace(/[<>]/g, '')}>`)));
  // message/* cannot be encoded (RFC 2046 §5.2.1): 7bit when it is ASCII, 8bit when not
  // (compose.ts has checked its lines).
  const encoding = file.raw ? (isAscii(file.raw) ? '7bit' : '8bit') : 'base64';
  fields.push(`Content-Transfer-Encoding: ${encoding}`);
  // RFC 2183; the filename parameter RFC 2231-encoded when it is not a short ASCII token.
  const disposition = buildHeaderValue({ value: file.contentId ? 'inline' : 'attachment', params: { filename: file.filename } });
  fields.push(field('Content-Disposition', disposition));
  out.add(`${fields.join('\r\n')}\r\n\r\n`);
  if (file.raw) out.raw(file.raw);
  else out.base64(file.base64 ?? '');
}

function isAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i]! > 0x7f) return false;
  return true;
}

/**
 * The boundary must not occur in the content (RFC 2046 §5.1.1). Only text written as it is can
 * hold it: base64 has no '-' and quoted-printable keeps the text's own characters, so drawing
 * 64 random bits again whenever the text or a raw part holds them makes a collision impossible,
 * not just unlikely.
 */
function boundaryBase(m: WriterMessage, random: () => string): string {
  for (;;) {
    const base = random();
    if (m.text?.includes(base) || m.html?.includes(base) || m.attachments.some((a) => a.raw?.includes(base))) continue;
    return base;
  }
}

/** The message, CRLF line endings, ending with CRLF. `random` gives 16 hex digits (tests set it). */
export function writeMessage(m: WriterMessage, random: () => string = randomHex): Buffer {
  const root = tree(m);
  const w: Writer = { out: new Output(), base: root.kind === 'multi' ? boundaryBase(m, random) : '', nodes: 0 };
  writeNode(w, root, messageFields(m));
  w.out.endLine();
  return w.out.toBuffer();
}
