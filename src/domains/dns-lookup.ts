import type { MxRecord, Resolver } from '../core/index.js';

/** A lookup's answer: records, none (NXDOMAIN / no data), or a failure that says nothing either way. */
export type Lookup<T> = { kind: 'found'; records: T[] } | { kind: 'none' } | { kind: 'error'; code: string };

// node:dns codes meaning "no such record"; everything else (SERVFAIL, timeout, refused) is temporary.
const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA']);

async function lookup<T>(query: () => Promise<T[]>): Promise<Lookup<T>> {
  try {
    const records = await query();
    return records.length === 0 ? { kind: 'none' } : { kind: 'found', records };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && NO_RECORD.has(code)) return { kind: 'none' };
    return { kind: 'error', code: typeof code === 'string' ? code : 'EFAILED' };
  }
}

/**
 * The lookups of one verification, each asked once (SPF includes and several checks share
 * names). TXT records come back with their strings joined: RFC 7208 §3.3 and RFC 6376 §3.6.2.2
 * read a record split into several strings as their concatenation, without spaces.
 */
export class DnsLookups {
  private readonly cache = new Map<string, Promise<Lookup<unknown>>>();

  constructor(private readonly resolver: Resolver) {}

  private once<T>(key: string, query: () => Promise<T[]>): Promise<Lookup<T>> {
    let hit = this.cache.get(key);
    if (!hit) {
      hit = lookup(query);
      this.cache.set(key, hit);
    }
    return hit as Promise<Lookup<T>>;
  }

  txt(name: string): Promise<Lookup<string>> {
    return this.once(`TXT ${name.toLowerCase()}`, async () => (await this.resolver.resolveTxt(name)).map((strings) => strings.join('')));
  }

  mx(name: string): Promise<Lookup<MxRecord>> {
    return this.once(`MX ${name.toLowerCase()}`, () => this.resolver.resolveMx(name));
  }

  cname(name: string): Promise<Lookup<string>> {
    return this.once(`CNAME ${name.toLowerCase()}`, () => this.resolver.resolveCname(name));
  }

  /** A and AAAA together; a failure of one family is ignored when the other answers. */
  async addresses(name: string): Promise<Lookup<string>> {
    const [v4, v6] = await Promise.all([
      this.once(`A ${name.toLowerCase()}`, () => this.resolver.resolve4(name)),
      this.once(`AAAA ${name.toLowerCase()}`, () => this.resolver.resolve6(name)),
    ]);
    const records = [...(v4.kind === 'found' ? v4.records : []), ...(v6.kind === 'found' ? v6.records : [])];
    if (records.length > 0) return { kind: 'found', records };
    if (v4.kind === 'error') return v4;
    if (v6.kind === 'error') return v6;
    return { kind: 'none' };
  }
}

/** A failed lookup, in plain words. */
export function describeLookupError(name: string, type: string, code: string): string {
  const why: Record<string, string> = {
    ESERVFAIL: 'the DNS server answered with a failure (SERVFAIL)',
    ETIMEOUT: 'the DNS server did not answer in time',
    ECONNREFUSED: 'the DNS server refused the connection',
    EREFUSED: 'the DNS server refused the query',
  };
  return `Herald could not look up the ${type} records of ${name}: ${why[code] ?? `the lookup failed (${code})`}. This is usually temporary; the domain's status stays as it was and Herald will check again.`;
}
