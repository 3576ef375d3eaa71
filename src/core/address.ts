import { domainToASCII } from 'node:url';

/** An envelope address as given in MAIL FROM / RCPT TO; '' is the null reverse-path <>. */
export type EnvelopeAddress = string;

/**
 * Splits an address at its last '@'. The local part keeps its case (RFC 5321 §2.4: only the
 * receiving host may interpret it); the domain is lowercased and converted to its A-label form
 * so routing and grouping see one spelling per domain.
 */
export function splitAddress(address: string): { local: string; domain: string } | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  const local = address.slice(0, at);
  const domain = normalizeDomain(address.slice(at + 1));
  if (!domain) return null;
  return { local, domain };
}

// A message's addresses are split and checked several times on their way through Herald, and
// mail goes to and comes from comparatively few domains: the answers are kept (domainToASCII
// is the costly part). Longer inputs are never valid domains and are not kept.
const normalized = new Map<string, string>();
const NORMALIZED_MAX = 4096;
const NORMALIZED_KEY_MAX = 300;

/** Lowercase A-label form of a domain, or '' when it is not a valid domain name. */
export function normalizeDomain(domain: string): string {
  let answer = normalized.get(domain);
  if (answer === undefined) {
    answer = normalizeDomainNow(domain);
    if (domain.length <= NORMALIZED_KEY_MAX) {
      if (normalized.size >= NORMALIZED_MAX) normalized.clear();
      normalized.set(domain, answer);
    }
  }
  return answer;
}

function normalizeDomainNow(domain: string): string {
  let d = domain.trim();
  if (d.startsWith('[') && d.endsWith(']')) return ''; // address literals are not routed
  if (d.endsWith('.')) d = d.slice(0, -1);
  const ascii = domainToASCII(d).toLowerCase();
  if (!ascii || ascii.length > 253) return '';
  const labels = ascii.split('.');
  if (labels.length < 2) return '';
  for (const label of labels) {
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label)) return '';
  }
  return ascii;
}

/** The routing domain of an address ('' when it has none). */
export function domainOf(address: string): string {
  return splitAddress(address)?.domain ?? '';
}

// RFC 5321 §4.5.3.1: local part at most 64 octets, whole path at most 256.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** True when the address can be used as an envelope recipient or non-null sender. */
export function isValidEnvelopeAddress(address: string): boolean {
  if (!address || Buffer.byteLength(address) > 254 || CONTROL.test(address)) return false;
  const parts = splitAddress(address);
  if (!parts) return false;
  return Buffer.byteLength(parts.local) <= 64 && !/[\s<>]/.test(parts.local);
}

/** The address with its domain normalised (local part untouched). */
export function normalizeAddress(address: string): string {
  const parts = splitAddress(address);
  return parts ? `${parts.local}@${parts.domain}` : address;
}
