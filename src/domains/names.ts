import { normalizeDomain } from '../core/index.js';

export type DomainsErrorCode =
  | 'invalid_account'
  | 'invalid_domain'
  | 'domain_taken'
  | 'invalid_return_path'
  | 'invalid_algorithm'
  | 'rotation_in_progress';

/** A refusal with a plain-words message and a stable code the CLI and the HTTP API map to their own. */
export class DomainsError extends Error {
  constructor(
    readonly code: DomainsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainsError';
  }
}

/** The default return-path (bounce) label, so bounces come back to `bounces.<domain>`. */
export const RETURN_PATH_LABEL = 'bounces';

// Herald publishes names under the domain (`hd202611ea._domainkey.<domain>`, `bounces.<domain>`,
// `_dmarc.<domain>`); each must fit the 253-character limit of a DNS name (RFC 1035 §2.3.4).
const MAX_DOMAIN_LENGTH = 253 - 'hd202611zz._domainkey.'.length;

export function checkAccountId(accountId: string): void {
  if (typeof accountId !== 'string' || accountId === '') {
    throw new DomainsError('invalid_account', 'a domain belongs to an account: the account id is missing');
  }
}

/**
 * The sending domain in the one spelling Herald stores and compares: lowercase A-label
 * (`Bücher.Example` → `xn--bcher-kva.example`), no trailing dot. Throws `invalid_domain`.
 */
export function normalizeSendingDomain(input: string): string {
  const text = typeof input === 'string' ? input.trim() : '';
  const name = text === '' ? '' : normalizeDomain(text);
  if (!name) {
    throw new DomainsError('invalid_domain', `"${text}" is not a domain name Herald can send from: give a name such as example.com (letters, digits and hyphens, with at least one dot)`);
  }
  // normalizeDomain accepts 192.0.2.1 (all labels are valid); a top-level domain is never all digits.
  if (/^\d+$/.test(name.slice(name.lastIndexOf('.') + 1))) {
    throw new DomainsError('invalid_domain', `"${text}" is an IP address, not a domain name: give the domain your mail is from, such as example.com`);
  }
  if (name.length > MAX_DOMAIN_LENGTH) {
    throw new DomainsError('invalid_domain', `"${text}" is too long: Herald publishes records under it (such as <selector>._domainkey.${name}) that must fit DNS's 253-character limit`);
  }
  return name;
}

/**
 * The return-path domain: a subdomain of the sending domain, so SPF on it aligns with the From
 * domain under DMARC's relaxed alignment (RFC 7489 §3.1.2). Never the domain itself: its MX must
 * point at Herald, which would take over the domain's own incoming mail.
 */
export function checkReturnPath(domain: string, input: string | undefined): string {
  if (input === undefined) return `${RETURN_PATH_LABEL}.${domain}`;
  const text = typeof input === 'string' ? input.trim() : '';
  const name = text === '' ? '' : normalizeDomain(text);
  if (!name || name === domain || !name.endsWith(`.${domain}`) || name.length > 253) {
    throw new DomainsError(
      'invalid_return_path',
      `the return-path domain "${text}" must be a subdomain of ${domain}, such as ${RETURN_PATH_LABEL}.${domain}: bounces come back to it, so its MX record points at Herald, and it must share ${domain} for DMARC to count its SPF result`,
    );
  }
  return name;
}

/** `mail.example.com` → [`mail.example.com`, `example.com`]: the names a verified domain may cover. */
export function parentDomains(name: string): string[] {
  const labels = name.split('.');
  const out: string[] = [];
  for (let i = 0; i < labels.length - 1; i++) out.push(labels.slice(i).join('.'));
  return out;
}

/** Host names compared as DNS compares them: case-insensitively, a trailing dot ignored. */
export function sameHost(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');
}

export function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}
