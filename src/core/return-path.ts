import { createHmac, timingSafeEqual } from 'node:crypto';
import { isMessageId, type MessageId } from './ids.js';

/**
 * Per-recipient return paths (VERP): the envelope sender of each delivery names the message and
 * the recipient, `b+<message id>.<recipient id>.<tag>@<bounce domain>`, so a bounce that comes back
 * later — to that address, from any server — says exactly which recipient failed. The tag is an
 * HMAC of the rest under the installation's secret: nobody can forge a bounce for a message they
 * did not send (or guess one from another's address).
 */

const PREFIX = 'b+';
// 12 base32 characters = 60 bits of HMAC: plenty against guessing, and the local part stays
// under RFC 5321's 64 octets (2 + 26 + 1 + ≤ 8 + 1 + 12 = 50).
const TAG_LENGTH = 12;

function tag(secret: Buffer, messageId: MessageId, recipientId: number): string {
  const mac = createHmac('sha256', secret).update(`${messageId}.${recipientId}`).digest();
  return BigInt('0x' + mac.subarray(0, 8).toString('hex')).toString(32).padStart(13, '0').slice(-TAG_LENGTH);
}

export function returnPathAddress(secret: Buffer, bounceDomain: string, messageId: MessageId, recipientId: number): string {
  return `${PREFIX}${messageId}.${recipientId.toString(36)}.${tag(secret, messageId, recipientId)}@${bounceDomain}`;
}

/** The message and recipient a return-path local part names, or null when it is not one of ours. */
export function parseReturnPath(secret: Buffer, localPart: string): { messageId: MessageId; recipientId: number } | null {
  const m = /^b\+([0-9a-z]{26})\.([0-9a-z]{1,8})\.([0-9a-v]{12})$/i.exec(localPart);
  if (!m) return null;
  const messageId = m[1].toLowerCase();
  const recipientId = parseInt(m[2], 36);
  if (!isMessageId(messageId) || !Number.isSafeInteger(recipientId)) return null;
  const expected = Buffer.from(tag(secret, messageId, recipientId));
  const given = Buffer.from(m[3].toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected) ? { messageId, recipientId } : null;
}
