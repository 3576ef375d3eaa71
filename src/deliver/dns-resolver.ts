import { Resolver as DnsPromisesResolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { MxRecord, Resolver } from '../core/index.js';

export interface NodeDnsResolverOptions {
  /** "host[:port]" entries (IPv4, IPv6 or "[v6]:port"); the system's servers when empty. */
  servers?: readonly string[];
  /** Per-query timeout in ms (c-ares doubles it on each retry). */
  timeoutMs?: number;
  /** How many times c-ares tries each server before giving up. */
  tries?: number;
}

/**
 * The production Resolver: node:dns (c-ares), pointed at HERALD_DNS_SERVERS when set. Errors keep
 * their node:dns codes (ENOTFOUND = NXDOMAIN, ENODATA = no such record, ESERVFAIL, ETIMEOUT …),
 * which is what the router classifies on.
 */
export class NodeDnsResolver implements Resolver {
  private readonly dns: DnsPromisesResolver;

  constructor(options: NodeDnsResolverOptions = {}) {
    this.dns = new DnsPromisesResolver({ timeout: options.timeoutMs ?? 5000, tries: options.tries ?? 2 });
    const servers = (options.servers ?? []).map(toServerSpec);
    if (servers.length > 0) this.dns.setServers(servers);
  }

  resolveMx(domain: string): Promise<MxRecord[]> {
    return this.dns.resolveMx(domain);
  }
  resolve4(host: string): Promise<string[]> {
    return this.dns.resolve4(host);
  }
  resolve6(host: string): Promise<string[]> {
    return this.dns.resolve6(host);
  }
  resolveTxt(name: string): Promise<string[][]> {
    return this.dns.resolveTxt(name);
  }
  resolveCname(name: string): Promise<string[]> {
    return this.dns.resolveCname(name);
  }
  /** Abandons queries in flight (they reject with ECANCELLED). */
  cancel(): void {
    this.dns.cancel();
  }
}

/** "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353" → the form setServers() accepts. */
export function toServerSpec(entry: string): string {
  const text = entry.trim();
  if (isIP(text)) return text;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed && isIP(bracketed[1]) === 6) return bracketed[2] ? `[${bracketed[1]}]:${bracketed[2]}` : bracketed[1];
  const hostPort = /^([^:]+):(\d+)$/.exec(text);
  if (hostPort && isIP(hostPort[1]) === 4) return text;
  throw new Error(`not a DNS server address: "${entry}" (use an IP address, optionally with :port)`);
}
