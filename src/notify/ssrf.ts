import { isIP, type LookupFunction } from 'node:net';
import type { Resolver } from '../core/index.js';

/**
 * The SSRF guard for webhook URLs. A webhook URL is chosen by a user, and Herald POSTs to it from
 * inside the operator's network, so by default it may only reach public addresses: never
 * loopback, private, link-local (cloud metadata at 169.254.169.254), CGNAT, multicast or any
 * IPv6 form that embeds one of those. The URL is checked when it is saved (a clear 422) and the
 * addresses again at every connection (`guardedLookup`), because a name's DNS answer can change
 * between the check and the request (DNS rebinding). HERALD_WEBHOOK_ALLOW_PRIVATE=true lifts the
 * address rules (and allows http://) for tests and receivers on the operator's own network.
 */

export interface WebhookTargetPolicy {
  /** HERALD_WEBHOOK_ALLOW_PRIVATE: any address, and http:// as well as https://. */
  allowPrivate: boolean;
}

/** A URL or address Herald refuses to send to; the message says why in plain words. */
export class WebhookUrlError extends Error {
  readonly code = 'ERR_WEBHOOK_TARGET';
  constructor(message: string) {
    super(message);
    this.name = 'WebhookUrlError';
  }
}

const MAX_URL_LENGTH = 2048;

// ---- addresses ------------------------------------------------------------------------------

interface Range {
  base: bigint;
  prefix: number;
  why: string;
}

const v4 = (text: string): bigint => text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);

const PRIVATE = 'a private address (RFC 1918)';
const DOCUMENTATION = 'a documentation address';

// RFC 6890 special-purpose ranges that are not globally reachable, or that reach this host.
const V4_RANGES: Range[] = [
  ['0.0.0.0', 8, 'an unspecified ("this network") address'],
  ['10.0.0.0', 8, PRIVATE],
  ['100.64.0.0', 10, 'a carrier-grade NAT address (RFC 6598)'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address (this includes cloud metadata at 169.254.169.254)'],
  ['172.16.0.0', 12, PRIVATE],
  ['192.0.0.0', 24, 'an IETF protocol assignment (RFC 6890)'],
  ['192.0.2.0', 24, DOCUMENTATION],
  ['192.88.99.0', 24, 'a 6to4 relay anycast address'],
  ['192.168.0.0', 16, PRIVATE],
  ['198.18.0.0', 15, 'a benchmarking address (RFC 2544)'],
  ['198.51.100.0', 24, DOCUMENTATION],
  ['203.0.113.0', 24, DOCUMENTATION],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved address (this includes broadcast)'],
].map(([base, prefix, why]) => ({ base: v4(base as string), prefix: prefix as number, why: why as string }));

function inRange(value: bigint, width: number, range: Range): boolean {
  const shift = BigInt(width - range.prefix);
  return value >> shift === range.base >> shift;
}

function v4Reason(value: bigint): string | null {
  return V4_RANGES.find((r) => inRange(value, 32, r))?.why ?? null;
}

/** "2001:db8::1", "::ffff:1.2.3.4", "fe80::1%eth0" → 128-bit value; null when not IPv6. */
export function ipv6Value(text: string): bigint | null {
  const ip = text.replace(/%.*$/, '');
  if (isIP(ip) !== 6) return null;
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const groupsOf = (part: string | undefined): number[] => {
    if (!part) return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const n = Number(v4(piece));
        out.push(n >>> 16, n & 0xffff);
      } else out.push(parseInt(piece, 16));
    }
    return out;
  };
  const left = groupsOf(head);
  const right = groupsOf(tail);
  const groups = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

const v6 = (text: string) => ipv6Value(text)!;
const low32 = (value: bigint) => value & 0xffffffffn;
const top = (value: bigint, bits: number) => value >> BigInt(128 - bits);

// IPv6 ranges that embed an IPv4 address: the IPv4 address decides.
const EMBEDDED_V4: { base: bigint; prefix: number; extract: (value: bigint) => bigint; name: string }[] = [
  { base: v6('::ffff:0:0'), prefix: 96, extract: low32, name: 'IPv4-mapped' },
  // IPv4-translated (RFC 2765 ::ffff:0:a.b.c.d).
  { base: v6('::ffff:0:0:0'), prefix: 96, extract: low32, name: 'IPv4-translated' },
  // NAT64 well-known prefix (RFC 6052): a public IPv4 address behind it is fine.
  { base: v6('64:ff9b::'), prefix: 96, extract: low32, name: 'NAT64' },
  // 6to4 (RFC 3056): the IPv4 address is bits 16–47.
  { base: v6('2002::'), prefix: 16, extract: (value) => (value >> 80n) & 0xffffffffn, name: '6to4' },
];

const V6_RANGES: Range[] = [
  ['64:ff9b:1::', 48, 'a local-use NAT64 address (RFC 8215)'],
  ['100::', 64, 'a discard-only address (RFC 6666)'],
  ['2001::', 32, 'a Teredo tunnel address'],
  ['2001:2::', 48, 'a benchmarking address (RFC 5180)'],
  ['2001:db8::', 32, DOCUMENTATION],
  ['fc00::', 7, 'a unique-local address (fc00::/7)'],
  ['fe80::', 10, 'a link-local address (fe80::/10)'],
  ['fec0::', 10, 'a site-local address (fec0::/10, deprecated)'],
  ['ff00::', 8, 'a multicast address'],
].map(([base, prefix, why]) => ({ base: v6(base as string), prefix: prefix as number, why: why as string }));

/**
 * Why Herald must not connect to this address by default, or null when it may. Accepts IPv4 and
 * IPv6 text (any form node:net accepts); anything else is refused as not an address.
 */
export function blockedAddressReason(ip: string): string | null {
  const family = isIP(ip.replace(/%.*$/, ''));
  if (family === 4) return v4Reason(v4(ip));
  if (family !== 6) return 'not an IP address';
  const value = ipv6Value(ip)!;
  if (value === 0n) return 'an unspecified address (::)';
  if (value === 1n) return 'a loopback address (::1)';
  for (const e of EMBEDDED_V4) {
    if (top(value, e.prefix) === top(e.base, e.prefix)) {
      const why = v4Reason(e.extract(value));
      return why ? `an ${e.name} form of ${why}` : null;
    }
  }
  // ::/96 minus the two above: deprecated IPv4-compatible addresses (::a.b.c.d), never routed.
  if (top(value, 96) === 0n) return 'an IPv4-compatible IPv6 address (deprecated, RFC 4291)';
  return V6_RANGES.find((r) => inRange(value, 128, r))?.why ?? null;
}

// ---- URLs -----------------------------------------------------------------------------------

/** RFC 6761: localhost and every name under it are the loopback host, whatever DNS says. */
function isLocalhostName(host: string): boolean {
  const name = host.replace(/\.$/, '').toLowerCase();
  return name === 'localhost' || name.endsWith('.localhost');
}

/** The host of a parsed URL as node:net wants it: IPv6 literals without brackets. */
export function urlHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Parses and checks a webhook URL's form: https:// (http:// only when private targets are
 * allowed: a payload in clear text belongs on the operator's own network), a host, no user name
 * or password, no fragment. A literal IP host — in any form WHATWG URL parsing normalises, such
 * as 2130706433, 0x7f.1 or 0177.0.0.1 — is checked here; a name is checked by `checkWebhookUrl`.
 */
export function parseWebhookUrl(raw: string, policy: WebhookTargetPolicy): URL {
  if (typeof raw !== 'string' || raw.trim() === '') throw new WebhookUrlError('give the URL to send events to, e.g. https://example.com/herald-events');
  if (raw.length > MAX_URL_LENGTH) throw new WebhookUrlError(`the URL is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new WebhookUrlError(`"${raw}" is not a URL; use e.g. https://example.com/herald-events`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookUrlError('the URL must start with https://');
  if (url.protocol === 'http:' && !policy.allowPrivate) {
    throw new WebhookUrlError('the URL must use https:// (http:// is allowed only with HERALD_WEBHOOK_ALLOW_PRIVATE=true)');
  }
  if (url.username || url.password) throw new WebhookUrlError('put no user name or password in the URL; check the webhook signature instead');
  if (url.hash) throw new WebhookUrlError('the URL must not have a #fragment (it is never sent to the server)');
  const host = urlHost(url);
  if (!host) throw new WebhookUrlError('the URL has no host');
  if (!policy.allowPrivate) {
    if (isIP(host)) {
      const why = blockedAddressReason(host);
      if (why) throw new WebhookUrlError(`the URL's host ${host} is ${why}; webhooks may only reach public addresses`);
    } else if (isLocalhostName(host)) {
      throw new WebhookUrlError(`the URL's host ${host} is the loopback host; webhooks may only reach public addresses`);
    }
  }
  return url;
}

const errorCode = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;

/**
 * Every address a host name has (A and AAAA through the Resolver), each checked. Rejects with a
 * WebhookUrlError when any address is refused — one bad address is enough, since the connection
 * may use any of them — or with the DNS error (its node:dns `code`) when the name has none.
 */
export async function resolveTarget(host: string, resolver: Resolver, policy: WebhookTargetPolicy): Promise<string[]> {
  if (isIP(host)) {
    const why = policy.allowPrivate ? null : blockedAddressReason(host);
    if (why) throw new WebhookUrlError(`${host} is ${why}; webhooks may only reach public addresses`);
    return [host];
  }
  if (isLocalhostName(host)) {
    if (!policy.allowPrivate) throw new WebhookUrlError(`${host} is the loopback host; webhooks may only reach public addresses`);
    return ['127.0.0.1', '::1'];
  }
  const name = host.replace(/\.$/, '');
  const [a, aaaa] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const addresses = [...(a.status === 'fulfilled' ? a.value : []), ...(aaaa.status === 'fulfilled' ? aaaa.value : [])];
  if (addresses.length === 0) {
    const failure = [a, aaaa].find((r): r is PromiseRejectedResult => r.status === 'rejected' && !['ENOTFOUND', 'ENODATA'].includes(errorCode(r.reason) ?? ''));
    const err = new Error(failure ? `could not look up ${name}: ${String(failure.reason?.message ?? failure.reason)}` : `${name} has no address (no A or AAAA record)`);
    (err as Error & { code: string }).code = failure ? (errorCode(failure.reason) ?? 'ESERVFAIL') : 'ENOTFOUND';
    throw err;
  }
  if (!policy.allowPrivate) {
    for (const address of addresses) {
      const why = blockedAddressReason(address);
      if (why) throw new WebhookUrlError(`${name} resolves to ${address}, ${why}; webhooks may only reach public addresses`);
    }
  }
  return addresses;
}

/**
 * The full check when a URL is saved: its form, then its host's addresses. A name that does not
 * exist is refused (a typo is caught now rather than after a day of retries); a temporary DNS
 * failure is not held against the URL — the addresses are checked again at every connection.
 */
export async function checkWebhookUrl(raw: string, resolver: Resolver, policy: WebhookTargetPolicy): Promise<URL> {
  const url = parseWebhookUrl(raw, policy);
  try {
    await resolveTarget(urlHost(url), resolver, policy);
  } catch (err) {
    if (err instanceof WebhookUrlError) throw err;
    const code = errorCode(err);
    if (code === 'ENOTFOUND' || code === 'ENODATA') throw new WebhookUrlError(`the URL's host ${urlHost(url)} has no address in DNS (no A or AAAA record)`);
  }
  return url;
}

/**
 * A `lookup` for http.request / https.request that resolves through the Resolver and refuses
 * the connection when any address is not allowed: the check happens at connect time, on the
 * addresses actually used, so a DNS answer that changes after the URL was saved cannot point a
 * webhook at an internal service. (node:net skips `lookup` for IP literals: the sender checks
 * those itself before connecting.)
 */
export function guardedLookup(resolver: Resolver, policy: WebhookTargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolveTarget(hostname, resolver, policy).then(
      (found) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const entries = found.map((address) => ({ address, family: isIP(address) })).filter((e) => wanted === 0 || e.family === wanted);
        if (entries.length === 0) {
          const err = Object.assign(new Error(`${hostname} has no IPv${wanted} address`), { code: 'ENOTFOUND' });
          callback(err, '', 0);
          return;
        }
        if (options.all) callback(null, entries);
        else callback(null, entries[0].address, entries[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
