import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes for SMTP credentials and dashboard users: scrypt with a random 16-byte salt per
 * password, stored with its parameters (`scrypt$N=…,r=…,p=…$salt$hash`) so the cost can be raised
 * later without breaking the hashes already stored. Checks run on libuv's thread pool, so they
 * never hold up the event loop for the tens of milliseconds scrypt costs.
 */

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/**
 * For passwords Herald generates (SMTP credentials, 120+ random bits): N=2^14, r=8, p=1, the
 * parameters RFC 7914 §2 suggests for interactive logins — ~50 ms per check.
 */
export const GENERATED_PASSWORD_COST: ScryptCost = { N: 16384, r: 8, p: 1 };
/** For passwords people choose (dashboard users): N=2^15, OWASP's minimum for scrypt; ~100 ms. */
export const CHOSEN_PASSWORD_COST: ScryptCost = { N: 32768, r: 8, p: 1 };

const KEYLEN = 32;
const MAXMEM = 96 * 1024 * 1024;

export interface PasswordHash extends ScryptCost {
  salt: Buffer;
  hash: Buffer;
}

function encode(cost: ScryptCost, salt: Buffer, hash: Buffer): string {
  return `scrypt$N=${cost.N},r=${cost.r},p=${cost.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** The stored form's parts, or null when it is not one of these hashes. */
export function parsePasswordHash(encoded: string): PasswordHash | null {
  const m = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(encoded);
  if (!m) return null;
  return { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]), salt: Buffer.from(m[4], 'base64'), hash: Buffer.from(m[5], 'base64') };
}

export function hashPasswordSync(password: string, cost: ScryptCost): string {
  const salt = randomBytes(16);
  return encode(cost, salt, scryptSync(password, salt, KEYLEN, { ...cost, maxmem: MAXMEM }));
}

export async function hashPassword(password: string, cost: ScryptCost): Promise<string> {
  const salt = randomBytes(16);
  return encode(cost, salt, await scryptAsync(password, salt, KEYLEN, cost));
}

/** True when the password matches; compared in constant time. */
export async function passwordMatches(password: string, stored: PasswordHash): Promise<boolean> {
  const computed = await scryptAsync(password, stored.salt, stored.hash.length, stored);
  return timingSafeEqual(computed, stored.hash);
}

const dummies = new Map<string, PasswordHash>();

/**
 * Checks a password against a stored hash; with none (an unknown user) a made-up hash of the
 * same cost is checked all the same, so a miss costs as long as a wrong password and the timing
 * does not tell which names exist.
 */
export async function verifyPassword(password: string, stored: string | null, cost: ScryptCost): Promise<boolean> {
  const real = stored === null ? null : parsePasswordHash(stored);
  const key = `${cost.N},${cost.r},${cost.p}`;
  let dummy = dummies.get(key);
  if (!dummy) {
    dummy = parsePasswordHash(await hashPassword(randomBytes(16).toString('base64'), cost))!;
    dummies.set(key, dummy);
  }
  const matches = await passwordMatches(password, real ?? dummy);
  return matches && real !== null;
}

function scryptAsync(password: string, salt: Buffer, keylen: number, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { N: cost.N, r: cost.r, p: cost.p, maxmem: MAXMEM }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
