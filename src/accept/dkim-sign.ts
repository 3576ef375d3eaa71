/**
 * DKIM signing (RFC 6376) with relaxed/relaxed canonicalization, RSA-SHA256 and Ed25519-SHA256
 * (RFC 8463). The accept pipeline calls `dkimSign` after the last change it makes to a message
 * and prepends the returned DKIM-Signature fields.
 *
 * Input: a message whose line endings are all CRLF and whose last line ends with CRLF (the
 * pipeline normalises both before this step, DESIGN §4). Messages may be 25 MB and more, so
 * the body is never copied: it is canonicalised and hashed in one pass over the caller's
 * Buffer, handing runs of lines that are already canonical to the hash as subarrays and writing
 * only the lines that need rewriting through a small fixed scratch buffer.
 */
import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { domainToASCII } from 'node:url';
import { findHeaderBlock } from './headers.js';
import type { SigningIdentity } from './types.js';

export type { SigningIdentity };

// Parsing a PEM key costs more than the signature itself (and OpenSSL sets up a fresh RSA key
// on its first use): keep the parsed keys of the domains that send. A rotated or deleted key
// just ages out.
const KEY_CACHE_MAX = 256;
const parsedKeys = new Map<string, KeyObject>();

function privateKeyOf(pem: string): KeyObject {
  let key = parsedKeys.get(pem);
  if (key) {
    // Map order is insertion order: re-inserting keeps the recently used keys at the end.
    parsedKeys.delete(pem);
  } else {
    key = createPrivateKey({ key: pem, format: 'pem' });
    if (parsedKeys.size >= KEY_CACHE_MAX) parsedKeys.delete(parsedKeys.keys().next().value!);
  }
  parsedKeys.set(pem, key);
  return key;
}

/**
 * Header fields signed when present, in h= order. Field names are matched case-insensitively
 * (RFC 5322 §1.2.2); every instance present is signed.
 */
export const SIGNED_HEADERS: readonly string[] = Object.freeze([
  'From',
  'To',
  'Cc',
  'Subject',
  'Date',
  'Message-ID',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Reply-To',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'In-Reply-To',
  'References',
]);

/**
 * The subset listed in h= once more than it occurs, absent ones included, so that a field of
 * that name added anywhere after signing breaks the signature (RFC 6376 §5.4.2, §8.15): these
 * are what a reader sees as sender, recipients, subject and date, and where replies go.
 */
export const OVERSIGNED_HEADERS: readonly string[] = Object.freeze(['From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'Reply-To']);

const OVERSIGNED = new Set(OVERSIGNED_HEADERS.map((n) => n.toLowerCase()));

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;
const CRLF = Buffer.from('\r\n');
const DOUBLE_SP = Buffer.from('  ');
/** Lines that need rewriting pass through this much memory, however long the body is. */
const SCRATCH_BYTES = 64 * 1024;
/** Give the event loop a turn this often while hashing a large body. */
const YIELD_BYTES = 1024 * 1024;
/** Fold the signature field before this many characters per line (RFC 5322 §2.1.1: 78). */
const FOLD_AT = 76;
// RFC 6376 §3.5: d= and s= are sub-domains (RFC 5321 Let-dig [Ldh-str]) joined by dots.
const DNS_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

/** Returns the DKIM-Signature header field(s), each ending in CRLF, one per identity, in order. */
export async function dkimSign(message: Buffer, identities: readonly SigningIdentity[], options: { now?: Date } = {}): Promise<string> {
  if (identities.length === 0) return '';
  const now = options.now ?? new Date();
  const time = Math.floor(now.getTime() / 1000);
  if (!Number.isFinite(time)) throw new RangeError('dkimSign: options.now is not a valid date');
  // Settle every key and name before hashing, so a bad identity costs no body pass.
  const signers = identities.map(prepareIdentity);

  const block = findHeaderBlock(message);
  const fields = block.hasHeaders ? headerFields(message, block.end) : [];
  // RFC 6376 §5.4: the From field MUST be signed.
  if (!fields.some((f) => f.name === 'from')) throw new Error('dkimSign: the message has no From header field to sign (RFC 6376 §5.4)');

  const bodyStart = block.end < message.length ? block.end + 2 : message.length;
  // rsa-sha256 and ed25519-sha256 both hash the body with SHA-256 (RFC 8463 §3), so one
  // pass serves every identity.
  const bodyHash = (await relaxedBodyHash(message, bodyStart)).toString('base64');

  const { names, canonical } = signedHeaderData(message, fields);
  let out = '';
  for (const signer of signers) {
    const field = signatureField(signer, time, names, bodyHash);
    // RFC 6376 §3.7: the signature field itself comes last, canonicalised, with an empty b=
    // value and without its trailing CRLF.
    const data = Buffer.from(canonical + relaxedHeader(field.toString()).slice(0, -2), 'latin1');
    out += `${addBase64(field, await signData(signer, data))}\r\n`;
  }
  return out;
}

interface PreparedIdentity {
  domain: string;
  selector: string;
  algorithm: SigningIdentity['algorithm'];
  key: KeyObject;
}

function prepareIdentity(identity: SigningIdentity): PreparedIdentity {
  const domain = aLabels(identity.domain.replace(/\.$/, ''));
  const selector = aLabels(identity.selector);
  if (!DNS_NAME.test(domain)) throw new Error(`dkimSign: invalid signing domain ${JSON.stringify(identity.domain)}`);
  if (!DNS_NAME.test(selector)) throw new Error(`dkimSign: invalid selector ${JSON.stringify(identity.selector)}`);
  const key = privateKeyOf(identity.privateKey);
  const where = `${selector}._domainkey.${domain}`;
  if (identity.algorithm === 'rsa-sha256') {
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`dkimSign: ${where} is rsa-sha256 but its key is ${key.asymmetricKeyType}`);
    // RFC 8301 §3.2: verifiers reject RSA keys under 1024 bits.
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 1024) throw new Error(`dkimSign: ${where} has a ${bits}-bit RSA key; at least 1024 bits are needed (RFC 8301 §3.2)`);
  } else if (identity.algorithm === 'ed25519-sha256') {
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`dkimSign: ${where} is ed25519-sha256 but its key is ${key.asymmetricKeyType}`);
  } else {
    throw new Error(`dkimSign: unsupported algorithm ${JSON.stringify(identity.algorithm)}`);
  }
  return { domain, selector, algorithm: identity.algorithm, key };
}

/**
 * The name with each U-label converted to its A-label (RFC 5890), label by label: the WHATWG
 * host parser behind domainToASCII would read an all-digit selector such as "20240101" as an
 * IPv4 address.
 */
function aLabels(name: string): string {
  return name
    .split('.')
    .map((label) => (/^[\x00-\x7f]*$/.test(label) ? label.toLowerCase() : domainToASCII(label)))
    .join('.');
}

function signData(signer: PreparedIdentity, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, signature: Buffer) => (err ? reject(err) : resolve(signature));
    // The callback form runs in libuv's thread pool, off the event loop.
    if (signer.algorithm === 'rsa-sha256') cryptoSign('sha256', data, signer.key, done);
    // RFC 8463 §3: Ed25519 (PureEdDSA) signs the SHA-256 hash of the header data.
    else cryptoSign(null, createHash('sha256').update(data).digest(), signer.key, done);
  });
}

/** Builds a header field in lines of at most FOLD_AT characters, folding between tokens. */
class Folder {
  private readonly lines: string[];
  constructor(first: string) {
    this.lines = [first];
  }

  /** Appends `token` after `separator`, or on a new continuation line when it would not fit. */
  add(token: string, separator = ' '): this {
    const last = this.lines.length - 1;
    if (this.lines[last].length + separator.length + token.length > FOLD_AT) this.lines.push(`\t${token}`);
    else this.lines[last] += separator + token;
    return this;
  }

  toString(): string {
    return this.lines.join('\r\n');
  }
}

/** The DKIM-Signature field up to and including an empty "b=", folded (a Folder, to go on). */
function signatureField(signer: PreparedIdentity, time: number, names: readonly string[], bodyHash: string): Folder {
  // No l= (RFC 6376 §8.2: a partial body hash lets anyone append content); no x=.
  const field = new Folder('DKIM-Signature:')
    .add('v=1;')
    .add(`a=${signer.algorithm};`)
    .add('c=relaxed/relaxed;')
    .add(`d=${signer.domain};`)
    .add(`s=${signer.selector};`)
    .add(`t=${time};`);
  // h= may fold after any colon (RFC 6376 §3.5: FWS around each ":").
  names.forEach((name, i) => {
    const token = name + (i < names.length - 1 ? ':' : ';');
    if (i === 0) field.add(`h=${token}`);
    else field.add(token, '');
  });
  return field.add(`bh=${bodyHash};`).add('b=');
}

/** Appends the b= value; FWS inside base64 is ignored by verifiers (RFC 6376 §3.5). */
function addBase64(field: Folder, signature: Buffer): string {
  const b64 = signature.toString('base64');
  for (let i = 0; i < b64.length; i += 16) field.add(b64.slice(i, i + 16), '');
  return field.toString();
}

interface HeaderField {
  /** Lower-cased field name. */
  name: string;
  start: number;
  /** End of the field's last line, before its CRLF. */
  end: number;
}

/** The header fields of the block [0, end) as positions; nothing is copied. */
function headerFields(message: Buffer, end: number): HeaderField[] {
  const fields: HeaderField[] = [];
  let current: HeaderField | null = null;
  let pos = 0;
  while (pos < end) {
    const found = message.indexOf(CRLF, pos);
    const lineEnd = found === -1 || found > end ? end : found;
    if (message[pos] === SP || message[pos] === TAB) {
      // A continuation line (RFC 5322 §2.2.3 folding) extends the field above it.
      if (current) current.end = lineEnd;
    } else {
      const colon = message.indexOf(0x3a, pos);
      if (colon !== -1 && colon < lineEnd) {
        // RFC 5322 §4.5.3 (obsolete syntax): white space may come before the colon.
        current = { name: message.toString('latin1', pos, colon).replace(/[ \t]+$/, '').toLowerCase(), start: pos, end: lineEnd };
        fields.push(current);
      } else {
        current = null;
      }
    }
    pos = lineEnd + 2;
  }
  return fields;
}

/**
 * The h= names and the canonicalised fields they select. For each name the verifier takes
 * instances from the bottom of the header up (RFC 6376 §5.4.2); a name listed more often than
 * it occurs selects nothing, and so signs the absence of a further instance.
 */
function signedHeaderData(message: Buffer, fields: readonly HeaderField[]): { names: string[]; canonical: string } {
  const names: string[] = [];
  let canonical = '';
  for (const name of SIGNED_HEADERS) {
    const lower = name.toLowerCase();
    const instances = fields.filter((f) => f.name === lower);
    const listed = instances.length + (OVERSIGNED.has(lower) ? 1 : 0);
    for (let i = 0; i < listed; i++) names.push(name);
    for (let i = instances.length - 1; i >= 0; i--) {
      // latin1 maps bytes 1:1 to code units, so UTF-8 values (RFC 6532) pass through intact.
      canonical += relaxedHeader(message.toString('latin1', instances[i].start, instances[i].end));
    }
  }
  return { names, canonical };
}

/**
 * RFC 6376 §3.4.2 relaxed header canonicalization of one field (given without its final
 * CRLF, as latin1 text): name lower-cased, continuation lines unfolded, WSP runs reduced to one
 * SP, WSP around the colon and at the end removed. Only SP and HTAB count as WSP, so UTF-8
 * bytes are never touched.
 */
function relaxedHeader(field: string): string {
  const colon = field.indexOf(':');
  const name = field.slice(0, colon).replace(/[ \t]+$/, '').toLowerCase();
  const value = field
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
  return `${name}:${value}\r\n`;
}

/**
 * RFC 6376 §3.4.4 relaxed body canonicalization + SHA-256, in one pass over message[start..]:
 * WSP at the end of a line is ignored, WSP runs within a line become one SP, empty lines at
 * the end of the body are ignored, and a non-empty body ends with CRLF (an empty body hashes
 * as nothing at all). The event loop gets a turn after each YIELD_BYTES of body.
 */
async function relaxedBodyHash(message: Buffer, start: number): Promise<Buffer> {
  const body = new RelaxedBodyHash(message, start);
  for (let until = start + YIELD_BYTES; !body.advance(until); until += YIELD_BYTES) await nextTurn();
  return body.digest();
}

/**
 * The state of one relaxed body hash. Most lines (base64, quoted-printable, ordinary text) are
 * already canonical, and consecutive ones go to the hash as one subarray of the message. Lines
 * that need rewriting go through one fixed scratch buffer. Empty lines are held back as a count
 * until a non-empty line follows, because only then is it known that they are not at the end.
 */
class RelaxedBodyHash {
  private readonly hash = createHash('sha256');
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private used = 0;
  private pos: number;
  /** [runStart, runEnd): canonical bytes not hashed yet, ending after a non-empty line. */
  private runStart: number;
  private runEnd: number;
  /** Empty lines seen since runEnd. */
  private held = 0;
  /** Each held line was a bare CRLF, so they are exactly the bytes after runEnd. */
  private heldVerbatim = true;
  /** The next TAB and double SP, found by native search and kept until passed. */
  private nextTab: number;
  private nextDouble: number;

  constructor(private readonly buf: Buffer, start: number) {
    this.pos = this.runStart = this.runEnd = start;
    this.nextTab = buf.indexOf(TAB, start);
    this.nextDouble = buf.indexOf(DOUBLE_SP, start);
  }

  /** Consumes the lines that start before `until`; true once the whole body is consumed. */
  advance(until: number): boolean {
    const buf = this.buf;
    const len = buf.length;
    let pos = this.pos;
    while (pos < len && pos < until) {
      const crlf = nextCrlf(buf, pos);
      const terminated = crlf !== -1;
      const eol = terminated ? crlf : len;
      const next = terminated ? eol + 2 : len;
      let trimmed = eol;
      while (trimmed > pos && (buf[trimmed - 1] === SP || buf[trimmed - 1] === TAB)) trimmed--;

      if (trimmed === pos) {
        this.held++;
        if (eol !== pos) this.heldVerbatim = false;
      } else if (terminated && trimmed === eol && !this.needsRewrite(pos, eol)) {
        if (this.held > 0 && !this.heldVerbatim) {
          this.flushRun();
          this.releaseHeld();
          this.runStart = pos;
        }
        this.held = 0;
        this.runEnd = next;
      } else {
        this.flushRun();
        this.releaseHeld();
        // Also ends an unterminated last line: a non-empty body ends with CRLF (§3.4.4 b).
        this.rewriteLine(pos, trimmed);
        this.runStart = this.runEnd = next;
      }
      pos = next;
    }
    this.pos = pos;
    return pos >= len;
  }

  digest(): Buffer {
    // Lines still held are the empty lines at the end of the body: never hashed.
    this.flushRun();
    this.flushScratch();
    return this.hash.digest();
  }

  /** Whether the line [pos, eol), which has no trailing WSP, holds a TAB or a run of SPs. */
  private needsRewrite(pos: number, eol: number): boolean {
    if (this.nextTab !== -1 && this.nextTab < pos) this.nextTab = this.buf.indexOf(TAB, pos);
    if (this.nextDouble !== -1 && this.nextDouble < pos) this.nextDouble = this.buf.indexOf(DOUBLE_SP, pos);
    return (this.nextTab !== -1 && this.nextTab < eol) || (this.nextDouble !== -1 && this.nextDouble < eol);
  }

  private flushRun(): void {
    if (this.runEnd > this.runStart) {
      this.flushScratch();
      this.hash.update(this.buf.subarray(this.runStart, this.runEnd));
    }
    this.runStart = this.runEnd;
  }

  private releaseHeld(): void {
    for (; this.held > 0; this.held--) this.writeCrlf();
    this.heldVerbatim = true;
  }

  /** The line's content [start, end) with each run of WSP reduced to one SP, then CRLF. */
  private rewriteLine(start: number, end: number): void {
    const buf = this.buf;
    const scratch = this.scratch;
    let used = this.used;
    let inWsp = false;
    for (let i = start; i < end; i++) {
      let c = buf[i];
      if (c === SP || c === TAB) {
        if (inWsp) continue;
        inWsp = true;
        c = SP;
      } else {
        inWsp = false;
      }
      if (used === SCRATCH_BYTES) {
        this.hash.update(scratch);
        used = 0;
      }
      scratch[used++] = c;
    }
    this.used = used;
    this.writeCrlf();
  }

  private writeCrlf(): void {
    if (this.used > SCRATCH_BYTES - 2) this.flushScratch();
    this.scratch[this.used++] = CR;
    this.scratch[this.used++] = LF;
  }

  private flushScratch(): void {
    if (this.used > 0) this.hash.update(this.scratch.subarray(0, this.used));
    this.used = 0;
  }
}

/** The next CRLF at or after `from`, found through its LF: a one-byte search is several times faster. */
function nextCrlf(buf: Buffer, from: number): number {
  for (let lf = buf.indexOf(LF, from); lf !== -1; lf = buf.indexOf(LF, lf + 1)) {
    if (lf > from && buf[lf - 1] === CR) return lf - 1;
  }
  return -1;
}
