/**
 * DNS fixtures for the domains room: turns a record plan (`recordsFor`) into zone entries for
 * the test DNS server, publishing long TXT values as several strings of at most 255 characters,
 * as DNS panels do (RFC 7208 §3.3, RFC 6376 §3.6.2.2: receivers join them).
 *
 *   dns.setZone(zoneFor(recordsFor(domain, { heraldHostname: 'herald.example.net' }), {
 *     'herald.example.net': { A: ['192.0.2.25'] },
 *   }));
 */
import type { DnsRecord } from '../../src/domains/index.js';
import type { Zone, ZoneRecords } from './dns-server.js';

/** A TXT value as one record of 255-character strings. */
export function txtStrings(value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i += 255) out.push(value.slice(i, i + 255));
  return out.length > 0 ? out : [''];
}

/** Adds the plan's records (all of them, or those `filter` keeps) to `base`, merging names that carry several types. */
export function zoneFor(records: readonly DnsRecord[], base: Zone = {}, filter: (r: DnsRecord) => boolean = () => true): Zone {
  const zone: Zone = { ...base };
  for (const record of records.filter(filter)) {
    const existing = zone[record.name];
    const entry: ZoneRecords = existing && existing !== 'SERVFAIL' ? { ...existing } : {};
    if (record.type === 'TXT') entry.TXT = [...(entry.TXT ?? []), txtStrings(record.value)];
    if (record.type === 'MX') {
      const [priority, exchange] = record.value.split(' ');
      entry.MX = [...(entry.MX ?? []), { preference: Number(priority), exchange }];
    }
    if (record.type === 'CNAME') entry.CNAME = record.value;
    zone[record.name] = entry;
  }
  return zone;
}
