import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import type { DkimAlgorithm, SigningAlgorithm } from './types.js';

export const DKIM_ALGORITHMS: readonly DkimAlgorithm[] = ['rsa', 'ed25519'];
/** RFC 8301 §3.2: at least 1024 bits, 2048 recommended; longer keys overflow what many DNS panels accept. */
export const RSA_BITS = 2048;

export interface GeneratedKey {
  algorithm: DkimAlgorithm;
  /** The record's p= value. */
  publicKey: string;
  /** PKCS#8 PEM. */
  privateKey: string;
}

// SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410 §4): the raw 32 bytes follow it.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function isDkimAlgorithm(value: unknown): value is DkimAlgorithm {
  return value === 'rsa' || value === 'ed25519';
}

/**
 * A new key pair. Generated off the main thread (libuv's pool): a 2048-bit RSA key takes tens to
 * hundreds of milliseconds, which the SMTP and HTTP listeners sharing this thread must not wait for.
 */
export function generateDkimKey(algorithm: DkimAlgorithm): Promise<GeneratedKey> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) => {
      if (err) return reject(err);
      resolve({
        algorithm,
        publicKey: dkimPublicKeyValue(algorithm, publicKey),
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      });
    };
    if (algorithm === 'rsa') generateKeyPair('rsa', { modulusLength: RSA_BITS }, done);
    else generateKeyPair('ed25519', {}, done);
  });
}

/** The p= value: RFC 6376 §3.6.1 (base64 SubjectPublicKeyInfo) or RFC 8463 §4.2 (the raw Ed25519 key). */
export function dkimPublicKeyValue(algorithm: DkimAlgorithm, key: KeyObject): string {
  const spki = key.export({ type: 'spki', format: 'der' });
  return algorithm === 'rsa' ? spki.toString('base64') : spki.subarray(ED25519_SPKI_PREFIX.length).toString('base64');
}

/** The public key a p= value carries, as a verifier reads it; throws when it is not a whole key. */
export function dkimPublicKey(algorithm: DkimAlgorithm, p: string): KeyObject {
  const bytes = Buffer.from(p.replace(/\s+/g, ''), 'base64');
  if (algorithm === 'ed25519') {
    if (bytes.length !== 32) throw new Error(`an Ed25519 key is 32 bytes, this one is ${bytes.length}`);
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, bytes]), format: 'der', type: 'spki' });
  }
  return createPublicKey({ key: bytes, format: 'der', type: 'spki' });
}

export function dkimRecordValue(algorithm: DkimAlgorithm, publicKey: string): string {
  return `v=DKIM1; k=${algorithm}; p=${publicKey}`;
}

export function dkimRecordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

export function signingAlgorithm(algorithm: DkimAlgorithm): SigningAlgorithm {
  return algorithm === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256';
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * A dated selector, `hd` + year + month (`hd202611`; Ed25519 adds `e`: `hd202611e`), so a
 * published record says when its key was made. A selector already taken gets a letter
 * (`hd202611a`, …), then two; RSA skips a first letter `e` so its names never read as Ed25519's.
 * Selectors are never reused, even after a key retires: an old record may still be in DNS.
 */
export function chooseSelector(at: Date, algorithm: DkimAlgorithm, taken: ReadonlySet<string>): string {
  const base = `hd${at.getUTCFullYear()}${String(at.getUTCMonth() + 1).padStart(2, '0')}${algorithm === 'ed25519' ? 'e' : ''}`;
  if (!taken.has(base)) return base;
  const firsts = algorithm === 'rsa' ? LETTERS.replace('e', '') : LETTERS;
  for (const a of firsts) if (!taken.has(base + a)) return base + a;
  for (const a of firsts) for (const b of LETTERS) if (!taken.has(base + a + b)) return base + a + b;
  throw new Error(`no free DKIM selector left for ${base}: too many keys made this month`);
}
