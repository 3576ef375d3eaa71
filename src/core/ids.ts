import { randomBytes, randomFillSync } from 'node:crypto';

/** A message id: 26 characters of Crockford base32, time-ordered (48-bit ms time + 80 random bits). */
export type MessageId = string;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function encodeBase32(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/** Ids sort by creation time, which keeps queue listings and database indexes in arrival order. */
// Random bytes are drawn in blocks: one system call per 409 ids instead of one per id.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function random80(): bigint {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hi = pool.readUInt16BE(poolOffset);
  const lo = pool.readBigUInt64BE(poolOffset + 2);
  poolOffset += 10;
  return (BigInt(hi) << 64n) | lo;
}

/** `count` characters of the low bits of `value`, a whole number below 2^53 (so no BigInt is needed). */
function encodeBase32Number(value: number, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    out = ALPHABET[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

export function newMessageId(now: number = Date.now()): MessageId {
  // Made for every message: plain numbers rather than BigInt, the same characters. The 80 random
  // bits are two halves of 40 bits (8 characters each); the time is 10 characters.
  if (!Number.isSafeInteger(now) || now < 0) return encodeBase32(BigInt(now), 10) + encodeBase32(random80(), 16);
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const high = pool.readUIntBE(poolOffset, 5);
  const low = pool.readUIntBE(poolOffset + 5, 5);
  poolOffset += 10;
  return encodeBase32Number(now % 2 ** 50, 10) + encodeBase32Number(high, 8) + encodeBase32Number(low, 8);
}

/** The smallest id a message created at `ms` can have: ids below it were created earlier. */
export function firstMessageIdAt(ms: number): MessageId {
  return encodeBase32(BigInt(Math.max(0, Math.floor(ms))), 10) + '0'.repeat(16);
}

export function isMessageId(value: string): boolean {
  return /^[0-9a-hjkmnp-tv-z]{26}$/.test(value);
}

/** A random token for credentials and secrets, URL-safe. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
