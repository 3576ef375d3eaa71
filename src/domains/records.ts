import type { Resolver } from '../core/index.js';
import { DnsLookups } from './dns-lookup.js';
import { normalizeHost, parentDomains } from './names.js';
import { isSpfRecord, mergeSpf, ourSpfMechanisms } from './spf.js';
import type { DnsContext, DnsRecord, DomainView, RecordContext } from './types.js';

/** MX priority of the return path's record; any value works when Herald is the only MX. */
export const RETURN_PATH_MX_PRIORITY = 10;
export const TRACKING_LABEL = 'track';

export function dmarcStarter(domain: string): string {
  return `v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}`;
}

export function isDmarcRecord(text: string): boolean {
  return /^v\s*=\s*DMARC1\s*(;|$)/i.test(text.trim());
}

/** "mail.example.com" and a DNS panel for "example.com" → the name to type there ("mail"). */
function relativeHint(name: string, domain: string): string {
  const relative = name === domain ? '@' : name.slice(0, -(domain.length + 1));
  return `In a DNS panel that adds your domain to names by itself, enter the name as "${relative}".`;
}

const SPLIT_HINT =
  'Enter the value as one record. Some DNS panels split long values into several quoted strings of at most 255 characters; that is fine, since receivers join them back together, but do not add quotation marks or spaces of your own.';

/**
 * The records to publish for a domain, in the order a person would enter them. The SPF records
 * are merged with what is published now (never a second SPF record): pass the current ones in
 * `context` (see `lookupExistingRecords`); `undefined` means "not known", and the advice says so.
 */
export function recordsFor(domain: DomainView, context: RecordContext): DnsRecord[] {
  const host = normalizeHost(context.heraldHostname);
  const ctx: DnsContext = { ...context, heraldHostname: host };
  const ours = ourSpfMechanisms(ctx);
  const records: DnsRecord[] = [];

  for (const key of domain.dkim) {
    const label = key.algorithm === 'rsa' ? 'RSA' : 'Ed25519';
    const intro =
      key.state === 'active'
        ? `Publishes the public half of Herald's ${label} DKIM key, so receivers can check the signature Herald adds to every message from ${domain.name}.`
        : key.state === 'pending'
          ? `Publishes the new ${label} DKIM key made by a key rotation. Herald keeps signing with the current key until it sees this record, then switches to the new one.`
          : `Keeps the replaced ${label} DKIM key published until ${key.retireAt?.toISOString() ?? 'its grace period ends'}, so mail already signed with it still verifies; remove it after that.`;
    records.push({
      name: key.recordName,
      type: 'TXT',
      value: key.recordValue,
      purpose: 'dkim',
      why: `${intro} ${SPLIT_HINT} ${relativeHint(key.recordName, domain.name)}`,
      required: key.state === 'active',
      selector: key.selector,
    });
  }

  const spfAdvice = (name: string, existing: string | null | undefined) =>
    existing === undefined
      ? `Herald could not read the SPF record ${name} has now; if it has one, add ${ours.join(' ')} to it just before its "all" term instead of publishing a second one (two SPF records make SPF fail).`
      : existing === null
        ? `${name} has no SPF record yet, so this is a new one.`
        : `This is the SPF record ${name} already has, with Herald added before its "all" term; replace the old record with it (a domain must have exactly one SPF record).`;
  records.push({
    name: domain.name,
    type: 'TXT',
    value: mergeSpf(context.existingSpf ? [context.existingSpf] : [], ours),
    purpose: 'spf',
    why: `Tells receivers that Herald may send mail with an envelope sender at ${domain.name} itself. Herald's own mail uses ${domain.returnPath} as envelope sender, so this record is recommended rather than required. ${spfAdvice(domain.name, context.existingSpf)} ${relativeHint(domain.name, domain.name)}`,
    required: false,
  });

  records.push({
    name: domain.returnPath,
    type: 'MX',
    value: `${RETURN_PATH_MX_PRIORITY} ${host}`,
    purpose: 'return-path-mx',
    why: `Bounces that arrive later (after the receiving server accepted a message) go to the envelope sender's domain, ${domain.returnPath}; this MX record brings them to Herald, which stops sending to addresses that bounce. Priority ${RETURN_PATH_MX_PRIORITY}, mail server ${host}. ${relativeHint(domain.returnPath, domain.name)}`,
    required: true,
  });

  records.push({
    name: domain.returnPath,
    type: 'TXT',
    value: mergeSpf(context.existingReturnPathSpf ? [context.existingReturnPathSpf] : [], ours),
    purpose: 'return-path-spf',
    why: `Herald sends with envelope senders at ${domain.returnPath}, so this is the SPF record receivers check for Herald's mail; it shares ${domain.name}, so DMARC counts its result for mail from ${domain.name}. ${spfAdvice(domain.returnPath, context.existingReturnPathSpf)} ${relativeHint(domain.returnPath, domain.name)}`,
    required: true,
  });

  if (!context.existingDmarc) {
    const name = `_dmarc.${domain.name}`;
    records.push({
      name,
      type: 'TXT',
      value: dmarcStarter(domain.name),
      purpose: 'dmarc',
      why: `A starting DMARC policy: p=none only asks receivers to report, it changes no delivery. Large mailbox providers expect one from bulk senders, and the reports show who sends mail in your domain's name. Reports go to dmarc-reports@${domain.name}: create that mailbox or change the address. Optional. ${relativeHint(name, domain.name)}`,
      required: false,
    });
  }

  const tracking = `${TRACKING_LABEL}.${domain.name}`;
  const target = normalizeHost(context.trackingHost ?? host);
  records.push({
    name: tracking,
    type: 'CNAME',
    value: target,
    purpose: 'tracking',
    why: `Lets open and click tracking links use your own domain (${tracking}) instead of Herald's host name, which looks more trustworthy to readers and spam filters. Optional. ${relativeHint(tracking, domain.name)}`,
    required: false,
  });
  return records;
}

/** What is published now, for the record plan; a failed lookup leaves its field undefined. */
export async function lookupExistingRecords(
  resolver: Resolver | DnsLookups,
  domain: Pick<DomainView, 'name' | 'returnPath'>,
): Promise<Pick<RecordContext, 'existingSpf' | 'existingDmarc' | 'existingReturnPathSpf'>> {
  const dns = resolver instanceof DnsLookups ? resolver : new DnsLookups(resolver);
  const spfOf = async (name: string): Promise<string | null | undefined> => {
    const found = await dns.txt(name);
    if (found.kind === 'error') return undefined;
    const spf = found.kind === 'found' ? found.records.filter(isSpfRecord) : [];
    // Several SPF records are merged into the one to publish in their place.
    return spf.length === 0 ? null : spf.length === 1 ? spf[0] : mergeSpf(spf, []);
  };
  const [existingSpf, existingReturnPathSpf, existingDmarc] = await Promise.all([spfOf(domain.name), spfOf(domain.returnPath), findDmarc(dns, domain.name)]);
  return { existingSpf, existingReturnPathSpf, existingDmarc: existingDmarc === undefined ? undefined : existingDmarc !== null };
}

/**
 * The DMARC record that applies to the domain: its own at `_dmarc.<domain>`, else a parent's
 * (RFC 7489 §6.6.3 falls back to the organizational domain; without the public suffix list,
 * Herald tries each parent down to two labels). null: none; undefined: a lookup failed.
 */
export async function findDmarc(dns: DnsLookups, domain: string): Promise<{ name: string; records: string[] } | null | undefined> {
  for (const name of parentDomains(domain)) {
    const found = await dns.txt(`_dmarc.${name}`);
    if (found.kind === 'error') return undefined;
    const records = found.kind === 'found' ? found.records.filter(isDmarcRecord) : [];
    if (records.length > 0) return { name: `_dmarc.${name}`, records };
  }
  return null;
}

/** The record plan with what is published now looked up first. */
export async function planRecords(domain: DomainView, resolver: Resolver, context: DnsContext): Promise<DnsRecord[]> {
  return recordsFor(domain, { ...context, ...(await lookupExistingRecords(resolver, domain)) });
}
