/**
 * The message composer for the HTTP API: a message described field by field (`MessageContent`)
 * becomes RFC 5322 / MIME bytes plus the envelope derived from its address fields.
 *
 * Every field is checked before anything is built, and a bad one throws `invalidContent(field,
 * text)` naming it as the JSON API spells it (`to[1]`, `headers.X-Foo`, `attachments[0].content`),
 * so the HTTP edge can answer 422. Nothing is silently stripped: a CR, LF or NUL where a header
 * is made is an injection attempt the caller must see. The bodies are the exception: bare CR and
 * LF in `text` and `html` are line breaks and are rewritten to CRLF (DESIGN §4: no bare CR or LF
 * leaves the box).
 *
 * MIME is written by mime-writer.ts in one synchronous pass, from the checked values only: it
 * reads no file and fetches no URL, whatever the input. Bcc is never handed to it at all. It
 * writes what nodemailer's MailComposer (DESIGN §6) wrote for the same message, apart from the
 * random boundaries; `composeMessageWithMailComposer` keeps that path as the reference the
 * tests compare the writer against and the benchmark (bench/compose.ts) times it against.
 *
 * Header lines are kept within RFC 5322 §2.1.1 (998 octets) and free of lines made only of white
 * space (obsolete syntax some parsers take for the end of the header block): the writer folds
 * at white space and RFC 2047-encodes any value with non-ASCII, so the limits below (field length,
 * runs of white space, trimmed ends) are what makes its folding always succeed.
 */
import MailComposer, { type MailComposerAttachment, type MailComposerOptions } from 'nodemailer/lib/mail-composer/index.js';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { detectMimeType } from 'nodemailer/lib/mime-funcs/index.js';
import { invalidContent, isValidEnvelopeAddress, normalizeAddress, Replies, type SmtpRejection } from '../core/index.js';
import { formatRfc5322Date } from './headers.js';
import { scanLines, type LineScan } from './line-endings.js';
import { writeMessage, type WriterAddress } from './mime-writer.js';
import type { AttachmentInput, MessageContent } from './types.js';

export interface ComposeOptions {
  /** The Message-ID used unless the caller gave a valid one, without <>: "01J...@mail.example.com". */
  messageId: string;
  date: Date;
  maxMessageSize: number;
  maxRecipients: number;
}

export interface Composed {
  /** The message, CRLF line endings only. */
  body: Buffer;
  /** The `from` address, domain normalised (core normalizeAddress). */
  mailFrom: string;
  /** to + cc + bcc addresses, domain normalised, each once. */
  recipients: string[];
  /** The line scan of `body` made to prove it clean, for the pipeline's line-ending step. */
  scan: LineScan;
}

export interface Mailbox {
  name?: string;
  address: string;
}

/** RFC 5322 §2.1.1: a line is at most 998 octets, CRLF excluded. */
const MAX_LINE = 998;
/** Longest run of spaces/tabs in a header value or name; see the file header. */
const MAX_WSP_RUN = 64;
const WSP_RUN = new RegExp(`[ \\t]{${MAX_WSP_RUN + 1},}`);
const MAX_NAME = 256;
const MAX_FILENAME = 255;
const MAX_CONTENT_ID = 250;

const LINE_BREAK_OR_NUL = /[\r\n\0]/;
const LIST_OR_GROUP = /[,;:]/;
const CONTROL = /[\x00-\x1f\x7f]/;
// RFC 5322 §3.2.3 atext plus RFC 6532 UTF8-non-ascii (C1 controls excluded); a dot-atom.
const ATEXT = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\\u00a0-\\u{10ffff}]";
const DOT_ATOM = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*$`, 'u');
// RFC 5322 specials that cannot appear in an unquoted display name ('.' is allowed, obs-phrase §4.1).
const NAME_SPECIALS = /[()<>[\]:;@\\,"]/;
// RFC 5322 §3.6.2 field-name: printable US-ASCII except ':'.
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
// RFC 5322 §3.6.4 msg-id, kept to its simple printable-ASCII form "<left@right>".
const MSG_ID = /^<[!-;=?A-~]+@[!-;=?A-~]+>$/;
// RFC 6838 §4.2 restricted-name, type "/" subtype, no parameters.
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** RFC 4648 §4 alphabet value of each character code (the BASE64 pattern has checked them). */
const BASE64_VALUE = new Uint8Array(128);
for (let i = 0; i < 64; i++) BASE64_VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/** Header fields Herald sets itself, lowercase name → what the caller should do instead. */
const RESERVED_HEADERS: ReadonlyMap<string, string> = new Map([
  ['from', 'use the "from" field'],
  ['to', 'use the "to" field'],
  ['cc', 'use the "cc" field'],
  ['bcc', 'use the "bcc" field'],
  ['reply-to', 'use the "reply_to" field'],
  ['subject', 'use the "subject" field'],
  ['date', 'Herald sets it'],
  ['sender', 'Herald sets it'],
  ['mime-version', 'Herald sets it'],
  ['content-type', 'Herald sets it from text, html and attachments'],
  ['content-transfer-encoding', 'Herald sets it from text, html and attachments'],
  ['content-disposition', 'Herald sets it from text, html and attachments'],
  ['received', 'Herald sets it'],
  ['return-path', 'Herald sets it (the receiving server adds it from the envelope sender)'],
  ['dkim-signature', 'Herald signs the message itself'],
]);

/** A value quoted for an error text: JSON escapes make CR, LF and NUL visible, long ones are cut. */
function show(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

/**
 * One mailbox: `addr@example.com`, `Display Name <addr@example.com>` or `"Quoted, Name"
 * <addr@example.com>`. A list or a group in one string, CR/LF/NUL or any other control
 * character anywhere, an unquoted name holding RFC 5322 specials, a quoted local part or an
 * address `isValidEnvelopeAddress` refuses all throw `invalidContent(field, ...)`.
 * IDN domains and UTF-8 local parts (RFC 6531/6532) are accepted; the address is returned as
 * given (no normalisation), the name without quotes and escapes.
 */
export function parseMailbox(input: string, field: string): Mailbox {
  if (typeof input !== 'string') throw invalidContent(field, `${field}: must be a string`);
  if (LINE_BREAK_OR_NUL.test(input)) {
    throw invalidContent(field, `${field}: ${show(input)} contains a line break (CR or LF) or NUL, which an address cannot hold`);
  }
  if (CONTROL.test(input)) throw invalidContent(field, `${field}: ${show(input)} contains a control character`);
  const text = input.trim();
  if (!text) throw invalidContent(field, `${field}: is empty`);

  // Structure first, as a mail reader would see it: one string must be one mailbox. addressparser
  // splits a field only at ',' and ';' (lists) and ':' (groups), so a string with none of them is
  // one mailbox at most, as most are: those skip the parse.
  if (LIST_OR_GROUP.test(text)) {
    const parsed = addressparser(text);
    if (parsed.some((entry) => entry.group)) {
      throw invalidContent(field, `${field}: ${show(input)} is an address group; give each address as its own list entry`);
    }
    if (parsed.length > 1) {
      throw invalidContent(
        field,
        `${field}: ${show(input)} holds ${parsed.length} addresses; give each address as its own list entry (a display name with a comma goes in double quotes)`,
      );
    }
  }

  // Then the strict grammar: addressparser is lenient and would turn "a@b.example c@d.example"
  // into a display name plus an address; here that is an error, never a guess.
  let name: string | undefined;
  let address: string;
  if (text.startsWith('"') && text.endsWith('>')) {
    const quoted = /^"((?:[^"\\]|\\.)*)"\s*<([^<>]*)>$/s.exec(text);
    if (!quoted) throw invalidContent(field, `${field}: ${show(input)} is not a mailbox; write "Display Name" <addr@example.com>`);
    name = quoted[1]!.replace(/\\(.)/gs, '$1');
    address = quoted[2]!.trim();
  } else if (text.endsWith('>')) {
    const lt = text.indexOf('<');
    const angle = /^<([^<>]*)>$/.exec(text.slice(lt));
    if (lt < 0 || !angle) throw invalidContent(field, `${field}: ${show(input)} is not a mailbox; write Display Name <addr@example.com>`);
    name = text.slice(0, lt).trim();
    if (NAME_SPECIALS.test(name)) {
      throw invalidContent(field, `${field}: ${show(input)} has a display name with ( ) < > [ ] : ; @ \\ , or "; put the name in double quotes`);
    }
    address = angle[1]!.trim();
  } else {
    address = text;
  }

  if (name !== undefined) {
    name = name.trim();
    if (!name) name = undefined;
    else if (name.length > MAX_NAME) throw invalidContent(field, `${field}: the display name is longer than ${MAX_NAME} characters`);
    else if (WSP_RUN.test(name)) throw invalidContent(field, `${field}: the display name has more than ${MAX_WSP_RUN} spaces or tabs in a row`);
  }
  checkAddress(address, field, input);
  return name === undefined ? { address } : { name, address };
}

function checkAddress(address: string, field: string, input: string): void {
  const at = address.lastIndexOf('@');
  // isValidEnvelopeAddress checks the domain (IDN allowed, converted to A-labels) and the
  // RFC 5321 lengths; the local part must also be a dot-atom so that the header and the
  // envelope carry the very same address (a quoted local part would be rewritten by either).
  if (!isValidEnvelopeAddress(address) || at <= 0 || !DOT_ATOM.test(address.slice(0, at))) {
    const why = address.startsWith('"') ? ' (quoted local parts are not supported)' : '';
    throw invalidContent(field, `${field}: ${show(input)} is not an email address${why}`);
  }
}

function checkList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidContent(field, `${field}: must be a list of addresses`);
  return value as string[];
}

/**
 * A header value that the writer turns into one or more header lines: surrounding white
 * space trimmed (it would fold into a line of white space alone), CR/LF/NUL refused, long runs
 * of white space refused, `name: value` within the 998-octet line limit. Other control
 * characters and non-ASCII are RFC 2047-encoded by the writer.
 */
function checkHeaderText(value: string, field: string, name: string): string {
  if (LINE_BREAK_OR_NUL.test(value)) {
    throw invalidContent(field, `${field}: contains a line break (CR or LF) or NUL, which would end the header field`);
  }
  const trimmed = value.trim();
  if (WSP_RUN.test(trimmed)) {
    throw invalidContent(field, `${field}: has more than ${MAX_WSP_RUN} spaces or tabs in a row, which cannot be folded into a header line`);
  }
  const length = Buffer.byteLength(name) + 2 + Buffer.byteLength(trimmed);
  if (length > MAX_LINE) {
    throw invalidContent(field, `${field}: the header field "${name}: ..." is ${length} octets; at most ${MAX_LINE} fit on a line (RFC 5322 §2.1.1)`);
  }
  return trimmed;
}

interface CustomHeaders {
  list: { key: string; value: string }[];
  messageId?: string;
}

function checkHeaders(headers: unknown): CustomHeaders {
  const out: CustomHeaders = { list: [] };
  if (headers === undefined || headers === null) return out;
  if (typeof headers !== 'object' || Array.isArray(headers)) throw invalidContent('headers', 'headers: must be an object of header names and values');
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const field = `headers.${name}`;
    if (!FIELD_NAME.test(name)) {
      throw invalidContent(field, `${field}: ${show(name)} is not a header name (printable ASCII without spaces or ":")`);
    }
    const lower = name.toLowerCase();
    const instead = RESERVED_HEADERS.get(lower) ?? (lower.startsWith('x-herald-') ? 'Herald sets X-Herald- fields itself' : undefined);
    if (instead) throw invalidContent(field, `${field}: cannot be set in headers; ${instead}`);
    // Names are case-insensitive (RFC 5322 §1.2.2): "X-Tag" and "x-tag" would be two fields.
    if (seen.has(lower)) throw invalidContent(field, `${field}: given twice (header names are case-insensitive)`);
    seen.add(lower);
    if (typeof value !== 'string') throw invalidContent(field, `${field}: must be a string`);
    const text = checkHeaderText(value, field, name);
    if (!text) throw invalidContent(field, `${field}: is empty`);
    if (lower === 'message-id') {
      if (!MSG_ID.test(text)) throw invalidContent(field, `${field}: ${show(text)} is not a message id like <unique@example.com>`);
      out.messageId = text;
      continue;
    }
    out.list.push({ key: name, value: text });
  }
  return out;
}

interface CheckedAttachment {
  filename: string;
  contentType: string;
  contentId?: string;
  /** The content as canonical base64 without white space: what the message carries. */
  base64: string;
  /** Decoded size in octets. */
  size: number;
  /** The decoded bytes, for message/* only (they are carried as they are, not base64). */
  bytes?: Buffer;
}

/**
 * Strict base64: the standard alphabet (RFC 4648 §4), padded to a multiple of four, with
 * canonical padding bits, so that re-encoding gives back the input. ASCII white space (space,
 * tab, CR, LF) anywhere is ignored, because MIME-style line-wrapped base64 (RFC 2045 §6.8, 76
 * columns) is what many clients send. Anything else — base64url, missing padding, a data: URL —
 * is refused rather than guessed at.
 *
 * Checked in steps, so that nothing is decoded before the size is known to fit: the white
 * space removed (`withoutWhiteSpace`), the shape (`base64Shape`), the size, then the alphabet
 * (`decodeStrict`) and the final bits (`canonicalEnd`). The base64 without white space is what
 * the message carries: the attachment is not encoded again.
 */
function withoutWhiteSpace(content: string): string {
  // Most clients send it unwrapped; four native scans are much cheaper than a regular expression.
  const wrapped = content.indexOf('\n') >= 0 || content.indexOf('\r') >= 0 || content.indexOf(' ') >= 0 || content.indexOf('\t') >= 0;
  return wrapped ? content.replace(/[ \t\r\n]+/g, '') : content;
}

/** Whole 4-character groups, at most two "=" at the end. */
function base64Shape(clean: string): boolean {
  const n = clean.length;
  return n % 4 === 0 && !(n >= 3 && clean.charCodeAt(n - 3) === 0x3d && clean.charCodeAt(n - 2) === 0x3d && clean.charCodeAt(n - 1) === 0x3d);
}

function notBase64(field: string, clean: string): SmtpRejection {
  const hint = /^data:/i.test(clean) ? ' (it is a data: URL; send only the base64 after the comma)' : '';
  return invalidContent(field, `${field}: is not valid base64 (standard alphabet, padded with "=" to a multiple of 4 characters)${hint}`);
}

function decodedSize(clean: string): number {
  const padding = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  return (clean.length / 4) * 3 - padding;
}

/**
 * The bytes when `clean` (of base64Shape) is in the standard alphabet with "=" only at the end
 * (the BASE64 pattern), else undefined. Node's decoder skips what is not in its alphabet, and
 * every character skipped leaves at least one octet fewer than `decodedSize` counts; its
 * alphabet also takes base64url's "-" and "_", which are looked for first. A native decode is
 * several times faster than the pattern on a large attachment.
 */
function decodeStrict(clean: string): Buffer | undefined {
  if (clean.indexOf('-') >= 0 || clean.indexOf('_') >= 0) return undefined;
  const bytes = Buffer.from(clean, 'base64');
  return bytes.length === decodedSize(clean) ? bytes : undefined;
}

/**
 * Re-encoding the decoded bytes gives back `clean` exactly when the bits after the last whole
 * octet are zero (RFC 4648 §3.5): the low 4 bits of the character before "==", the low 2
 * before "=".
 */
function canonicalEnd(clean: string): boolean {
  const n = clean.length;
  if (n === 0 || clean.charCodeAt(n - 1) !== 0x3d) return true;
  if (clean.charCodeAt(n - 2) === 0x3d) return (BASE64_VALUE[clean.charCodeAt(n - 3)]! & 0x0f) === 0;
  return (BASE64_VALUE[clean.charCodeAt(n - 2)]! & 0x03) === 0;
}

function checkAttachmentMeta(input: AttachmentInput, i: number, contentIds: Set<string>): Pick<CheckedAttachment, 'filename' | 'contentType' | 'contentId'> {
  const at = `attachments[${i}]`;
  if (typeof input !== 'object' || input === null) throw invalidContent(at, `${at}: must be an object`);

  const { filename } = input;
  const fField = `${at}.filename`;
  if (typeof filename !== 'string' || filename === '') throw invalidContent(fField, `${fField}: is required`);
  if (LINE_BREAK_OR_NUL.test(filename)) throw invalidContent(fField, `${fField}: contains a line break (CR or LF) or NUL`);
  if (CONTROL.test(filename)) throw invalidContent(fField, `${fField}: contains a control character`);
  if (/[/\\]/.test(filename)) throw invalidContent(fField, `${fField}: ${show(filename)} contains "/" or "\\"; give a file name, not a path`);
  if (filename === '.' || filename === '..') throw invalidContent(fField, `${fField}: ${show(filename)} is not a file name`);
  if (filename.length > MAX_FILENAME) throw invalidContent(fField, `${fField}: is longer than ${MAX_FILENAME} characters`);
  if (WSP_RUN.test(filename)) throw invalidContent(fField, `${fField}: has more than ${MAX_WSP_RUN} spaces or tabs in a row`);

  let contentType: string;
  const tField = `${at}.content_type`;
  if (input.contentType === undefined || input.contentType === null) {
    contentType = detectMimeType(filename); // application/octet-stream when the extension is unknown
  } else {
    if (typeof input.contentType !== 'string' || !MEDIA_TYPE.test(input.contentType)) {
      throw invalidContent(tField, `${tField}: ${show(String(input.contentType))} is not a media type like application/pdf (type/subtype, no parameters)`);
    }
    contentType = input.contentType.toLowerCase();
  }
  // A multipart type would need parts of its own, not bytes (MailComposer built an empty
  // multipart node); message/external-body and message/partial point outside the message.
  if (contentType.startsWith('multipart/')) {
    throw invalidContent(tField, `${tField}: ${contentType} cannot be attached; send the bytes as application/octet-stream`);
  }
  if (contentType.startsWith('message/') && contentType !== 'message/rfc822' && contentType !== 'message/global') {
    throw invalidContent(tField, `${tField}: ${contentType} cannot be attached; use message/rfc822 or application/octet-stream`);
  }

  let contentId: string | undefined;
  const cField = `${at}.content_id`;
  if (input.contentId !== undefined && input.contentId !== null) {
    const cid = input.contentId;
    if (typeof cid !== 'string' || cid === '') throw invalidContent(cField, `${cField}: must be a non-empty string`);
    if (LINE_BREAK_OR_NUL.test(cid)) throw invalidContent(cField, `${cField}: contains a line break (CR or LF) or NUL`);
    if (!/^[\x21-\x3b\x3d\x3f-\x7e]+$/.test(cid)) {
      throw invalidContent(cField, `${cField}: ${show(cid)} may hold only printable ASCII without spaces, "<" or ">" (write it without the angle brackets)`);
    }
    if (cid.length > MAX_CONTENT_ID) throw invalidContent(cField, `${cField}: is longer than ${MAX_CONTENT_ID} characters`);
    if (contentIds.has(cid)) throw invalidContent(cField, `${cField}: ${show(cid)} is already used by another attachment`);
    contentIds.add(cid);
    contentId = cid;
  }
  return { filename, contentType, contentId };
}

/**
 * message/rfc822 and message/global parts cannot be base64-encoded (RFC 2046 §5.2.1), so
 * their bytes are written as they are: they must already be valid message lines.
 */
function checkEmbeddedMessage(content: Buffer, field: string, contentType: string): void {
  const scan = scanLines(content);
  if (content.includes(0) || scan.bareCr > 0 || scan.bareLf > 0 || scan.longestLine > MAX_LINE + 2) {
    throw invalidContent(
      field,
      `${field}: a ${contentType} attachment is included as it is, so it must use CRLF line endings, hold no NUL and no line longer than ${MAX_LINE} octets; send it as application/octet-stream otherwise`,
    );
  }
}

/** Bare CR and bare LF become CRLF (DESIGN §4); the input's meaning (line breaks) is kept. */
function crlf(text: string): string {
  // Without CR only LF can change, which a plain search-and-replace does faster.
  return text.indexOf('\r') < 0 ? text.replace(/\n/g, '\r\n') : text.replace(/\r\n|\r|\n/g, '\r\n');
}

/** Everything the message is built from, checked. */
interface CheckedMessage {
  from: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  replyTo: Mailbox[];
  subject?: string;
  text?: string;
  html?: string;
  headers: { key: string; value: string }[];
  /** With <>. */
  messageId: string;
  date: string;
  attachments: CheckedAttachment[];
  mailFrom: string;
  recipients: string[];
}

/**
 * Composes the API message. Throws `invalidContent` for a bad field, `Replies.tooBig` (named
 * after the field that crossed the limit) when the message would exceed `maxMessageSize`.
 * `content.template` is ignored: the template was rendered into subject/text/html before.
 */
export async function composeMessage(content: MessageContent, options: ComposeOptions): Promise<Composed> {
  const m = checkMessage(content, options);
  const body = writeMessage({
    headers: m.headers,
    from: box(m.from),
    to: m.to.map(box),
    cc: m.cc.map(box),
    replyTo: m.replyTo.map(box),
    subject: m.subject,
    messageId: m.messageId,
    date: m.date,
    text: m.text,
    html: m.html,
    attachments: m.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      ...(a.contentId ? { contentId: a.contentId } : {}),
      ...(a.bytes ? { raw: a.bytes } : { base64: a.base64 }),
    })),
  });
  return finish(m, body, options.maxMessageSize);
}

/**
 * The same message built by nodemailer's MailComposer, as composeMessage did before the writer:
 * the reference compose.test.ts holds the writer to and bench/compose.ts measures it against.
 * Not used to send mail.
 */
export async function composeMessageWithMailComposer(content: MessageContent, options: ComposeOptions): Promise<Composed> {
  const m = checkMessage(content, options);
  // Only values built above reach MailComposer: strings, Buffers and {name, address} objects
  // (objects, so it does not parse the addresses a second time). No path, href, raw, bcc,
  // envelope, icalEvent, attachDataUrls or list.
  const mail: MailComposerOptions = {
    from: box(m.from),
    to: m.to.length ? m.to.map(box) : undefined,
    cc: m.cc.length ? m.cc.map(box) : undefined,
    replyTo: m.replyTo.length ? m.replyTo.map(box) : undefined,
    subject: m.subject,
    text: m.text,
    html: m.html,
    headers: m.headers,
    messageId: m.messageId,
    date: m.date,
    attachments: m.attachments.map(
      (a): MailComposerAttachment => ({
        filename: a.filename,
        content: a.bytes ?? Buffer.from(a.base64, 'base64'),
        contentType: a.contentType,
        // With a content id the part is inline: MailComposer puts it in multipart/related
        // beside the html (it would only mark images inline by itself).
        contentDisposition: a.contentId ? 'inline' : 'attachment',
        ...(a.contentId ? { cid: a.contentId } : {}),
        // message/* parts are 7bit/8bit by RFC 2046 §5.2.1 (MailComposer picks which); every
        // other attachment is base64, so its bytes travel unchanged whatever they are.
        ...(a.contentType.startsWith('message/') ? {} : { contentTransferEncoding: 'base64' }),
      }),
    ),
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  const body = await new MailComposer(mail).compile().build();
  return finish(m, body, options.maxMessageSize);
}

function checkMessage(content: MessageContent, options: ComposeOptions): CheckedMessage {
  if (!/^[!-;=?A-~]+@[!-;=?A-~]+$/.test(options.messageId)) throw new Error(`composeMessage: bad options.messageId ${show(options.messageId)}`);

  // Envelope and address fields. The count is checked before any address is parsed.
  const from = parseMailbox(content.from, 'from');
  const to = checkList(content.to, 'to');
  const cc = checkList(content.cc, 'cc');
  const bcc = checkList(content.bcc, 'bcc');
  const replyTo = checkList(content.replyTo, 'reply_to');
  const total = to.length + cc.length + bcc.length;
  if (total === 0) throw invalidContent('to', 'to: at least one recipient is required (in to, cc or bcc)');
  if (total > options.maxRecipients) {
    throw invalidContent('to', `to: ${total} recipients given in to, cc and bcc together; at most ${options.maxRecipients} are allowed per message`);
  }
  const toBoxes = to.map((a, i) => parseMailbox(a, `to[${i}]`));
  const ccBoxes = cc.map((a, i) => parseMailbox(a, `cc[${i}]`));
  const bccBoxes = bcc.map((a, i) => parseMailbox(a, `bcc[${i}]`));
  const replyToBoxes = replyTo.map((a, i) => parseMailbox(a, `reply_to[${i}]`));
  // One envelope recipient per address; the domain is case-insensitive (normalizeAddress
  // lowercases it and converts it to A-labels), the local part is not (RFC 5321 §2.4).
  const recipients = [...new Set([...toBoxes, ...ccBoxes, ...bccBoxes].map((box) => normalizeAddress(box.address)))];

  let subject: string | undefined;
  if (content.subject !== undefined && content.subject !== null) {
    if (typeof content.subject !== 'string') throw invalidContent('subject', 'subject: must be a string');
    subject = checkHeaderText(content.subject, 'subject', 'Subject') || undefined;
  }

  for (const key of ['text', 'html'] as const) {
    const value = content[key];
    if (value !== undefined && value !== null && typeof value !== 'string') throw invalidContent(key, `${key}: must be a string`);
  }
  const text = content.text ? crlf(content.text) : undefined;
  const html = content.html ? crlf(content.html) : undefined;
  if (!text && !html) throw invalidContent('text', 'text: a message needs a text or an html body (or both)');

  const custom = checkHeaders(content.headers);

  // Size: the decoded content is counted before anything is decoded or built.
  const limit = options.maxMessageSize;
  let size = 0;
  for (const [key, body] of [['text', text], ['html', html]] as const) {
    size += body ? Buffer.byteLength(body) : 0;
    if (size > limit) throw Replies.tooBig(limit).about(key);
  }

  const inputs = content.attachments ?? [];
  if (!Array.isArray(inputs)) throw invalidContent('attachments', 'attachments: must be a list');
  const contentIds = new Set<string>();
  const attachments: CheckedAttachment[] = [];
  for (const [i, input] of inputs.entries()) {
    const meta = checkAttachmentMeta(input, i, contentIds);
    const field = `attachments[${i}].content`;
    if (typeof input.content !== 'string') throw invalidContent(field, `${field}: must be a base64 string`);
    const clean = withoutWhiteSpace(input.content);
    if (!base64Shape(clean)) throw notBase64(field, clean);
    const decoded = decodedSize(clean);
    size += decoded;
    if (size > limit) {
      // Bad base64 is reported before the size, whatever the limit.
      if (!BASE64.test(clean)) throw notBase64(field, clean);
      throw Replies.tooBig(limit).about(field);
    }
    const bytes = decodeStrict(clean);
    if (!bytes) throw notBase64(field, clean);
    if (!canonicalEnd(clean)) throw invalidContent(field, `${field}: is not valid base64 (its last character has bits that do not decode)`);
    const message = meta.contentType.startsWith('message/');
    if (message) checkEmbeddedMessage(bytes, field, meta.contentType);
    attachments.push({ ...meta, base64: clean, size: decoded, ...(message ? { bytes } : {}) });
  }

  return {
    from,
    to: toBoxes,
    cc: ccBoxes,
    replyTo: replyToBoxes,
    subject,
    text,
    html,
    headers: custom.list,
    messageId: custom.messageId ?? `<${options.messageId}>`,
    date: formatRfc5322Date(options.date),
    attachments,
    mailFrom: normalizeAddress(from.address),
    recipients,
  };
}

function finish(m: CheckedMessage, body: Buffer, limit: number): Composed {
  // The inputs were made safe above; this is the proof, not a second line of input checks.
  const scan = scanLines(body);
  if (scan.bareCr > 0 || scan.bareLf > 0 || scan.longestLine > MAX_LINE + 2) {
    throw new Error(`composeMessage produced a bare CR/LF or a line over ${MAX_LINE} octets`);
  }
  // Encoding (base64 +37%, quoted-printable) can take a message that fits when decoded over it.
  if (body.length > limit) throw Replies.tooBig(limit).about(largestPart(m.attachments, m.text, m.html));
  return { body, mailFrom: m.mailFrom, recipients: m.recipients, scan };
}

function box(mailbox: Mailbox): WriterAddress {
  return { name: mailbox.name ?? '', address: mailbox.address };
}

/** The field to name when the encoded message is too big: the largest attachment, else a body. */
function largestPart(attachments: CheckedAttachment[], text?: string, html?: string): string {
  let field = html && (!text || html.length >= text.length) ? 'html' : 'text';
  let largest = 0;
  attachments.forEach((a, i) => {
    if (a.size > largest) {
      largest = a.size;
      field = `attachments[${i}].content`;
    }
  });
  return field;
}
