import type { Resolver } from '../core/index.js';
import { planRecords } from './records.js';
import type { SqlDomainStore } from './sql-domain-store.js';
import type { AddDomainOptions, DnsContext, DnsRecord, DomainView } from './types.js';

export interface DomainWithRecords {
  domain: DomainView;
  /** The records to publish, merged with the SPF and DMARC records published now. */
  records: DnsRecord[];
}

/** How the record plan looks at DNS. */
export interface PlanDns {
  resolver: Resolver;
  context: DnsContext;
}

/** Adds the domain and answers with the records to publish (what `herald domains add` prints). */
export async function addWithRecords(store: SqlDomainStore, accountId: string, name: string, options: AddDomainOptions, dns: PlanDns): Promise<DomainWithRecords> {
  const domain = await store.add(accountId, name, options);
  return { domain, records: await planRecords(domain, dns.resolver, dns.context) };
}

/** The domain with its records to publish; null when the account has no such domain. */
export async function showDomain(store: SqlDomainStore, accountId: string, name: string, dns: PlanDns): Promise<DomainWithRecords | null> {
  const domain = await store.get(accountId, name);
  if (!domain) return null;
  return { domain, records: await planRecords(domain, dns.resolver, dns.context) };
}
