import { createHmac, timingSafeEqual } from 'node:crypto';
import { isMessageId, type MessageId } from './ids.js';

/**
 * Signed tracking tokens: the last path segment of Herald's open, click and unsubscribe URLs
 * (`/t/o/<token>`, `/t/c/<token>`, `/t/u/<token>`). A token carries everything a hit needs —
 * account, message, recipient (when the message had exactly one), and for a click the original
 * URL — so answering a hit needs no lookup, and a click can only ever redirect to a URL Herald
 * itself put in a message: the MAC (HMAC-SHA256 under the installation's tracking secret,
 * truncated to 96 bits) covers every byte, and a token whose MAC fails names nothing.
 *
 * Layout, then base64url: [version·kind·flags: 1][message id: 16][account: 1+n]
 * [recipient: 1+n, when flagged][URL: rest, clicks only][MAC: 12].
 */

export type TrackingKind = 'open' | 'click' | 'unsubscribe';

export interface TrackingTarget {
  kind: TrackingKind;
  accountId: string;
  messageId: MessageId;
  /** The recipient, when the message had exactly one (Herald stores one body per message). */
  recipient?: string;
  /** The original link (clicks only). */
  url?: string;
}

const VERSION = 1;
const KINDS: readonly TrackingKind[] = ['open', 'click', 'unsubscribe'];
const HAS_RECIPIENT = 0x08;
const MAC_BYTES = 12;
const ID_BYTES = 16;
/** Longer links are left as they are: a tracking URL must stay a reasonable URL. */
export const MAX_TRACKED_URL_BYTES = 2000;
const MAX_TOKEN_CHARS = Math.ceil(((1 + ID_BYTES + 256 + 256 + MAX_TRACKED_URL_BYTES + MAC_BYTES) * 4) / 3);

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** 26 Crockford base32 characters → 16 bytes (Herald's ids use 128 of their 130 bits). */
function idToBytes(id: MessageId): Buffer {
  let value = 0n;
  for (const c of id) value = (value << 5n) | BigInt(ALPHABET.indexOf(c));
  if (value >> 128n !== 0n) throw new Error(`message id ${id} does not fit a tracking token`);
  const out = Buffer.alloc(ID_BYTES);
  for (let i = ID_BYTES - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

function bytesToId(bytes: Buffer): MessageId {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  let id = '';
  for (let i = 0; i < 26; i++) {
    id = ALPHABET[Number(value & 31n)] + id;
    value >>= 5n;
  }
  return id;
}

function mac(secret: Buffer, payload: Buffer): Buffer {
  return createHmac('sha256', secret).update(payload).digest().subarray(0, MAC_BYTES);
}

function shortField(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 255) throw new Error(`${what} is too long for a tracking token`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** The token for a target. Throws on a link longer than MAX_TRACKED_URL_BYTES (callers leave such links alone). */
export function signTrackingToken(secret: Buffer, target: TrackingTarget): string {
  if (!isMessageId(target.messageId)) throw new Error(`not a message id: ${target.messageId}`);
  const kind = KINDS.indexOf(target.kind);
  const parts = [
    Buffer.from([(VERSION << 4) | (target.recipient !== undefined ? HAS_RECIPIENT : 0) | kind]),
    idToBytes(target.messageId),
    shortField(target.accountId, 'the account id'),
  ];
  if (target.recipient !== undefined) parts.push(shortField(target.recipient, 'the recipient'));
  if (target.kind === 'click') {
    const url = Buffer.from(target.url ?? '', 'utf8');
    if (url.length === 0 || url.length > MAX_TRACKED_URL_BYTES) throw new Error('a click token needs a link of at most 2000 bytes');
    parts.push(url);
  }
  const payload = Buffer.concat(parts);
  return Buffer.concat([payload, mac(secret, payload)]).toString('base64url');
}

/**
 * What a token names, or null when it is not one of ours: malformed, altered, or signed with
 * another secret. The MAC is compared in constant time before anything in it is believed.
 */
export function verifyTrackingToken(secret: Buffer, token: string): TrackingTarget | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const raw = Buffer.from(token, 'base64url');
  // One spelling per token: trailing bits that decode to nothing would make copies of it.
  if (raw.length < 1 + ID_BYTES + 1 + MAC_BYTES || raw.toString('base64url') !== token) return null;
  const payload = raw.subarray(0, raw.length - MAC_BYTES);
  if (!timingSafeEqual(raw.subarray(raw.length - MAC_BYTES), mac(secret, payload))) return null;

  const head = payload[0];
  const kind = KINDS[head & 0x07];
  if (head >> 4 !== VERSION || !kind) return null;
  let pos = 1 + ID_BYTES;
  const field = (): string | null => {
    const len = payload[pos];
    if (len === undefined || pos + 1 + len > payload.length) return null;
    const text = payload.toString('utf8', pos + 1, pos + 1 + len);
    pos += 1 + len;
    return text;
  };
  const accountId = field();
  if (accountId === null) return null;
  const target: TrackingTarget = { kind, accountId, messageId: bytesToId(payload.subarray(1, 1 + ID_BYTES)) };
  if (head & HAS_RECIPIENT) {
    const recipient = field();
    if (recipient === null) return null;
    target.recipient = recipient;
  }
  if (kind === 'click') {
    if (pos >= payload.length) return null;
    target.url = payload.toString('utf8', pos);
  } else if (pos !== payload.length) return null;
  return target;
}

// ---- the mailto form of List-Unsubscribe -----------------------------------------------------

// The local part `u+<message id>.<tag>` must survive mail systems that fold case, so it uses
// lowercase base32 only; 60 bits of HMAC, and 41 characters (RFC 5321 allows 64).
const MAILTO_TAG_LENGTH = 12;

function mailtoTag(secret: Buffer, messageId: MessageId): string {
  const digest = createHmac('sha256', secret).update(`unsubscribe-mailto.${messageId}`).digest();
  return BigInt('0x' + digest.subarray(0, 8).toString('hex')).toString(32).padStart(13, '0').slice(-MAILTO_TAG_LENGTH);
}

/** The local part of a message's unsubscribe mailto address: `u+<message id>.<tag>`. */
export function unsubscribeLocalPart(secret: Buffer, messageId: MessageId): string {
  return `u+${messageId}.${mailtoTag(secret, messageId)}`;
}

/** True when the local part looks like an unsubscribe address at all (signed or not). */
export function isUnsubscribeLocalPart(localPart: string): boolean {
  return /^u\+/i.test(localPart);
}

/** The message an unsubscribe local part names, or null when it is not one Herald signed. */
export function parseUnsubscribeLocalPart(secret: Buffer, localPart: string): MessageId | null {
  const m = /^u\+([0-9a-z]{26})\.([0-9a-v]{12})$/i.exec(localPart);
  if (!m) return null;
  const messageId = m[1].toLowerCase();
  if (!isMessageId(messageId)) return null;
  const expected = Buffer.from(mailtoTag(secret, messageId));
  const given = Buffer.from(m[2].toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected) ? messageId : null;
}
