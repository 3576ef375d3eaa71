import { isIP } from 'node:net';
import type { DeliveryFailure, MxRecord, Resolver } from '../core/index.js';

/** One address to try, in order. */
export interface RouteHost {
  /** The MX (or smart host) name: SNI, logs, Remote-MTA. */
  name: string;
  /** What to connect to: an IP address (or, for a smart host, its name, resolved by the system). */
  address: string;
  port: number;
  /** Implicit TLS from the first byte (smtps:// smart host); otherwise opportunistic STARTTLS. */
  implicitTls: boolean;
  auth?: { user: string; pass: string };
}

export type Route =
  | { kind: 'hosts'; hosts: RouteHost[]; viaSmartHost: boolean }
  /** The domain cannot be routed now ('deferred') or ever ('bounced'). */
  | { kind: 'failed'; outcome: 'deferred' | 'bounced'; failure: DeliveryFailure };

export interface Router {
  route(domain: string): Promise<Route>;
}

export interface MxRouterOptions {
  resolver: Resolver;
  /** Port on remote MX hosts (HERALD_OUTBOUND_PORT). */
  outboundPort: number;
  /** HERALD_SMART_HOST: every domain goes there. */
  smartHost?: URL;
  /** Source of randomness for shuffling equal preferences (tests may pin it). */
  random?: () => number;
}

const NO_RECORD = new Set(['ENODATA', 'ENOTFOUND']);

function dnsCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'EUNKNOWN';
}

/**
 * Recipient domain → ordered list of hosts to try (RFC 5321 §5.1), or a smart host.
 * Permanent answers (NXDOMAIN, null MX) bounce; anything else that fails defers.
 */
export class MxRouter implements Router {
  private readonly random: () => number;

  constructor(private readonly options: MxRouterOptions) {
    this.random = options.random ?? Math.random;
  }

  async route(domain: string): Promise<Route> {
    if (this.options.smartHost) return { kind: 'hosts', hosts: [smartHostRoute(this.options.smartHost)], viaSmartHost: true };
    const { resolver } = this.options;

    let mx: MxRecord[];
    try {
      mx = await resolver.resolveMx(domain);
    } catch (err) {
      const code = dnsCode(err);
      if (code === 'ENOTFOUND') {
        // NXDOMAIN is authoritative: the domain does not exist, retrying cannot help.
        return bounce(550, '5.1.2', `Domain ${domain} does not exist (DNS: NXDOMAIN)`);
      }
      if (code !== 'ENODATA') return defer(`DNS lookup of MX records for ${domain} failed (${code})`);
      mx = [];
    }

    // RFC 7505 §3: a single MX with an empty exchange (".") means "accepts no mail".
    if (mx.some((r) => r.exchange === '' || r.exchange === '.')) {
      return bounce(556, '5.1.10', `Domain ${domain} accepts no mail (null MX, RFC 7505)`);
    }

    // RFC 5321 §5.1: no MX records → the domain itself is the implicit MX with preference 0.
    const exchanges = mx.length > 0 ? this.order(mx) : [domain];
    const hosts: RouteHost[] = [];
    let temporary: string | undefined;
    for (const name of exchanges) {
      const found = await this.addresses(name);
      if (found.temporary) temporary ??= found.temporary;
      for (const address of found.addresses) {
        hosts.push({ name, address, port: this.options.outboundPort, implicitTls: false });
      }
    }
    if (hosts.length > 0) return { kind: 'hosts', hosts, viaSmartHost: false };
    if (temporary) return defer(temporary);
    if (mx.length === 0) {
      // No MX and no A/AAAA, though the name exists: nothing to deliver to (RFC 5321 §5.1).
      return bounce(550, '5.1.2', `Domain ${domain} has no MX or address records`);
    }
    // The MX targets have no addresses: often a transient misconfiguration on their side.
    return defer(`No address found for the MX hosts of ${domain} (${exchanges.join(', ')})`);
  }

  /** Sorted by preference, equal preferences shuffled (RFC 5321 §5.1 "randomize"). */
  private order(records: MxRecord[]): string[] {
    const keyed = records.map((r) => ({ name: r.exchange.replace(/\.$/, '').toLowerCase(), priority: r.priority, tiebreak: this.random() }));
    keyed.sort((a, b) => a.priority - b.priority || a.tiebreak - b.tiebreak);
    return [...new Set(keyed.map((k) => k.name))];
  }

  /**
   * IPv4 first, then IPv6: a sender without working IPv6 (or without IPv6 reverse DNS, which big
   * receivers demand) then loses nothing, and a host reachable only over IPv6 still works.
   */
  private async addresses(name: string): Promise<{ addresses: string[]; temporary?: string }> {
    if (isIP(name)) return { addresses: [name] };
    const { resolver } = this.options;
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
    const addresses: string[] = [];
    let temporary: string | undefined;
    for (const result of [v4, v6]) {
      if (result.status === 'fulfilled') addresses.push(...result.value);
      else if (!NO_RECORD.has(dnsCode(result.reason))) temporary = `DNS lookup of ${name} failed (${dnsCode(result.reason)})`;
    }
    return { addresses, temporary };
  }
}

function smartHostRoute(url: URL): RouteHost {
  const implicitTls = url.protocol === 'smtps:';
  const name = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const host: RouteHost = { name, address: name, port: Number(url.port) || (implicitTls ? 465 : 25), implicitTls };
  if (url.username) host.auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
  return host;
}

function bounce(code: number, enhanced: string, reason: string): Route {
  return { kind: 'failed', outcome: 'bounced', failure: { scope: 'site', reason, reply: { code, enhanced, text: reason } } };
}

function defer(reason: string): Route {
  return { kind: 'failed', outcome: 'deferred', failure: { scope: 'site', reason, reply: { code: 451, enhanced: '4.4.3', text: reason } } };
}
