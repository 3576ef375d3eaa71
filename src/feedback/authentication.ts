import type { Resolver } from '../core/index.js';

/** The verdicts of one inbound message, as recorded in its event. */
export interface AuthenticationSummary {
  spf: string;
  dkim: string;
  dmarc: string;
  arc: string;
  /** The Authentication-Results (and Received-SPF) header fields, ready to prepend (RFC 8601). */
  header: string;
}

/**
 * Checks a message that arrived on the MX listener: SPF for the client and envelope sender,
 * every DKIM signature, DMARC for the From domain, and the ARC chain — all through Herald's
 * Resolver, so HERALD_DNS_SERVERS (and tests' local DNS) apply.
 */
export async function checkAuthentication(
  message: Buffer,
  context: { ip: string; helo?: string; mailFrom: string; hostname: string; resolver: Resolver },
): Promise<AuthenticationSummary> {
  // Loaded on first use: the CLI reads this room's records without needing mailauth.
  const { authenticate } = await import('mailauth');
  const result = await authenticate(message, {
    ip: context.ip,
    helo: context.helo,
    sender: context.mailFrom,
    mta: context.hostname,
    resolver: mailauthResolver(context.resolver),
    disableBimi: true,
  });
  const dkim = result.dkim.results.length === 0 ? 'none' : result.dkim.results.some((r) => r.status.result === 'pass') ? 'pass' : result.dkim.results[0].status.result;
  return {
    spf: result.spf ? result.spf.status.result : 'none',
    dkim,
    dmarc: result.dmarc ? result.dmarc.status.result : 'none',
    arc: result.arc ? result.arc.status.result : 'none',
    header: result.headers.endsWith('\r\n') ? result.headers : `${result.headers}\r\n`,
  };
}

/** mailauth asks `(name, type)` like dns.promises.resolve; answer from our Resolver. */
function mailauthResolver(resolver: Resolver) {
  return async (name: string, rrtype: string): Promise<string[][] | string[]> => {
    switch (rrtype.toUpperCase()) {
      case 'TXT':
        return resolver.resolveTxt(name);
      case 'MX':
        return (await resolver.resolveMx(name)) as unknown as string[];
      case 'A':
        return resolver.resolve4(name);
      case 'AAAA':
        return resolver.resolve6(name);
      case 'CNAME':
        return resolver.resolveCname(name);
      default:
        // PTR and the rest: the Resolver has no such lookup; SPF treats "not found" as no match.
        throw Object.assign(new Error(`no ${rrtype} lookups here`), { code: 'ENOTFOUND' });
    }
  };
}
