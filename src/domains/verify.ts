import { systemClock, type Clock, type Resolver } from '../core/index.js';
import { describeLookupError, DnsLookups, type Lookup } from './dns-lookup.js';
import { normalizeHost, parentDomains, sameHost } from './names.js';
import { dmarcStarter, isDmarcRecord, RETURN_PATH_MX_PRIORITY, TRACKING_LABEL } from './records.js';
import { analyseSpf, type SpfIdentity } from './spf-analysis.js';
import { isSpfRecord, MAX_SPF_LOOKUPS, mergeSpf, ourSpfMechanisms, parseSpf } from './spf.js';
import type { DkimKeyView, DnsContext, DomainView, RecordCheck, RecordPurpose, VerificationResult } from './types.js';

/**
 * Checks every record of the plan against DNS, as receivers would read it, and says in plain
 * words what is missing or wrong and which record fixes it. `ok`: every required record is ok
 * (the active DKIM keys, the return path's MX and SPF; see the room header). Never throws for DNS
 * trouble: a lookup that fails for a temporary reason gives status `error` on that record.
 */
export async function verifyDomain(domain: DomainView, resolver: Resolver, context: DnsContext, clock: Clock = systemClock): Promise<VerificationResult> {
  const dns = new DnsLookups(resolver);
  const host = normalizeHost(context.heraldHostname);
  const ours = ourSpfMechanisms({ ...context, heraldHostname: host });
  const identity: SpfIdentity = { host, ips: context.sendingIps?.length ? context.sendingIps : await heraldAddresses(dns, host) };
  const records = await Promise.all([
    ...domain.dkim.map((key) => checkDkim(dns, domain, key)),
    checkSpf(dns, 'spf', domain.name, ours, identity),
    checkReturnPathMx(dns, domain.returnPath, host),
    checkSpf(dns, 'return-path-spf', domain.returnPath, ours, identity),
    checkDmarc(dns, domain.name),
    checkTracking(dns, `${TRACKING_LABEL}.${domain.name}`, normalizeHost(context.trackingHost ?? host)),
  ]);
  return { ok: records.every((r) => !r.required || r.status === 'ok'), checkedAt: clock.now(), records };
}

/** Herald's own addresses, to see whether an SPF record's ip4:/ip6: ranges or includes cover it. */
async function heraldAddresses(dns: DnsLookups, host: string): Promise<string[]> {
  const found = await dns.addresses(host);
  return found.kind === 'found' ? found.records : [];
}

const SPLIT_HINT = 'If your DNS panel asks for strings of at most 255 characters, split the value into several quoted strings within the same record.';

function lookupError(base: Omit<RecordCheck, 'found' | 'status'>, lookup: Lookup<unknown> & { kind: 'error' }, name = base.name): RecordCheck {
  return { ...base, found: [], status: 'error', problem: describeLookupError(name, base.type, lookup.code) };
}

/** RFC 6376 §3.2 tag=value list. */
function tags(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return out;
}

function looksLikeDkim(text: string): boolean {
  const bare = text.replace(/"/g, '');
  return /^\s*v\s*=\s*DKIM1\b/i.test(bare) || /(^|;)\s*p\s*=/i.test(bare);
}

async function checkDkim(dns: DnsLookups, domain: DomainView, key: DkimKeyView): Promise<RecordCheck> {
  const name = key.recordName;
  const expected = key.recordValue;
  const base = { purpose: 'dkim' as const, name, type: 'TXT' as const, expected, required: key.state === 'active', selector: key.selector };
  const lookup = await dns.txt(name);
  if (lookup.kind === 'error') return lookupError(base, lookup);
  const found = lookup.kind === 'found' ? lookup.records : [];
  const keyRecords = found.filter(looksLikeDkim);
  const publish = `Publish one TXT record named ${name} with this value: ${expected} ${SPLIT_HINT}`;

  if (keyRecords.length === 0) {
    // A panel that appends the zone turns a pasted full name into <selector>._domainkey.<domain>.<domain>.
    const doubled = `${name}.${domain.name}`;
    const there = await dns.txt(doubled);
    if (there.kind === 'found' && there.records.some(looksLikeDkim)) {
      return {
        ...base,
        found,
        status: 'wrong',
        problem: `The DKIM record was published as ${doubled} instead of ${name}: the DNS panel added ${domain.name} to a name that already ended with it, so receivers do not find the key.`,
        fix: `Rename that TXT record so that its full name is ${name}: in a panel that adds your domain by itself, enter only "${key.selector}._domainkey" as the name. Keep the value: ${expected}`,
      };
    }
    const problem =
      key.state === 'active'
        ? `There is no DKIM record at ${name}, so receivers cannot check the signature Herald adds with selector ${key.selector}, and the domain cannot be verified.`
        : key.state === 'pending'
          ? `The new DKIM key made by the key rotation is not published yet at ${name}; Herald keeps signing with the current key until it is.`
          : `The replaced DKIM key's record at ${name} was removed before ${key.retireAt?.toISOString() ?? 'its grace period ended'}, so mail signed with it shortly before the rotation may fail DKIM checks.`;
    return { ...base, found, status: 'missing', problem, fix: key.state === 'retiring' ? `Publish it again until that time: ${publish}` : publish };
  }
  if (keyRecords.length > 1) {
    return {
      ...base,
      found,
      status: 'wrong',
      problem: `There are ${keyRecords.length} DKIM records at ${name}; receivers use just one of them, so signatures fail some of the time.`,
      fix: `Delete all but one, and make the one left a TXT record named ${name} with this value: ${expected}`,
    };
  }
  const value = keyRecords[0];
  const wrong = (problem: string, fix: string): RecordCheck => ({ ...base, found, status: 'wrong', problem, fix });
  const replace = `Replace the value of the TXT record at ${name} with exactly this text: ${expected} ${SPLIT_HINT}`;
  if (value.includes('"')) {
    return wrong(
      `The DKIM record at ${name} has quotation marks inside its value, so receivers cannot read the key: it was probably pasted with its quotes into a DNS panel that adds quotes of its own.`,
      `Replace the record's value with this text, without any quotation marks: ${expected}`,
    );
  }
  const t = tags(value);
  const version = t.get('v');
  if (version !== undefined && version !== 'DKIM1') return wrong(`The DKIM record at ${name} starts with v=${version}; receivers only accept v=DKIM1.`, replace);
  const p = (t.get('p') ?? '').replace(/\s+/g, '');
  const k = (t.get('k') ?? 'rsa').toLowerCase();
  if (!t.has('p')) return wrong(`The DKIM record at ${name} has no key (no p= tag).`, replace);
  if (p === key.publicKey && k === key.algorithm) return { ...base, found, status: 'ok' };
  if (p === '') return wrong(`The DKIM record at ${name} has an empty key (p=), which tells receivers the key was revoked.`, replace);
  if (k !== key.algorithm) return wrong(`The DKIM record at ${name} says k=${k}, but Herald's key for selector ${key.selector} is ${key.algorithm === 'rsa' ? 'RSA (k=rsa)' : 'Ed25519 (k=ed25519)'}.`, replace);
  if (key.publicKey.startsWith(p)) {
    return wrong(
      `The key in the DKIM record at ${name} is cut off: it has ${p.length} of its ${key.publicKey.length} characters. DNS panels that take at most 255 characters per value do this.`,
      `Replace the value with the whole text below; if the panel asks for strings of at most 255 characters, enter it as several quoted strings within the same record: ${expected}`,
    );
  }
  return wrong(`The DKIM record at ${name} holds a different key from the one Herald signs with (perhaps an older key, or another service's).`, replace);
}

async function checkSpf(dns: DnsLookups, purpose: RecordPurpose, name: string, ours: string[], identity: SpfIdentity): Promise<RecordCheck> {
  const required = purpose === 'return-path-spf';
  const base = { purpose, name, type: 'TXT' as const, required, expected: mergeSpf([], ours) };
  const lookup = await dns.txt(name);
  if (lookup.kind === 'error') return lookupError(base, lookup);
  const found = (lookup.kind === 'found' ? lookup.records : []).filter(isSpfRecord);
  const merged = mergeSpf(found, ours);
  const wrong = (problem: string, fix: string): RecordCheck => ({ ...base, expected: merged, found, status: 'wrong', problem, fix });

  if (found.length === 0) {
    return {
      ...base,
      found,
      status: 'missing',
      problem: required
        ? `There is no SPF record at ${name}. Herald's mail uses ${name} as its envelope sender, so this is where receivers check SPF, and without a record they get no result.`
        : `There is no SPF record at ${name}, so receivers cannot tell that Herald may send mail with an envelope sender at ${name}.`,
      fix: `Publish a TXT record named ${name} with this value: ${merged}`,
    };
  }
  if (found.length > 1) {
    return wrong(
      `${name} has ${found.length} SPF records; receivers treat more than one as a permanent error (RFC 7208 §4.5), so SPF fails for every message.`,
      `Delete these ${found.length} records and publish a single TXT record named ${name} that combines them: ${merged}`,
    );
  }
  const record = found[0];
  const parsed = parseSpf(record);
  if (parsed.errors.length > 0) {
    return wrong(
      `The SPF record at ${name} has ${parsed.errors.length === 1 ? 'a term' : 'terms'} receivers cannot read (${parsed.errors.join(' ')}), which makes SPF fail with a permanent error.`,
      `Replace the TXT record at ${name} with this one, which leaves out what cannot be read and allows Herald: ${merged}`,
    );
  }
  const analysis = await analyseSpf(dns, name, record, identity);
  if (analysis.temporary) return { ...base, expected: merged, found, status: 'error', problem: describeLookupError(analysis.temporary.name, 'TXT', analysis.temporary.code) };
  if (analysis.problems.length > 0) {
    return wrong(analysis.problems.join(' '), `Remove or correct the include: or redirect= named above in the TXT record at ${name}, and make sure it allows Herald: ${merged}`);
  }
  const ourCost = ours.some((m) => m.startsWith('a:')) && !analysis.allowsHerald ? 1 : 0;
  if (analysis.lookups > MAX_SPF_LOOKUPS) {
    const costs = analysis.costs.map((c) => `${c.term} ${c.lookups}`).join(', ');
    return wrong(
      `Checking the SPF record at ${name} takes ${analysis.lookups} DNS lookups once its includes are followed; receivers stop at ${MAX_SPF_LOOKUPS} and treat SPF as failed (RFC 7208 §4.6.4).`,
      `Bring the record at ${name} down to ${MAX_SPF_LOOKUPS} lookups or fewer: remove include: entries of services you no longer send through, or replace an include with the ip4:/ip6: ranges it lists. Lookups per term: ${costs}.${analysis.allowsHerald ? '' : ` It must also allow Herald, for example: ${merged}`}`,
    );
  }
  if (!analysis.allowsHerald) {
    const who = identity.ips.length > 0 ? `${identity.host}, ${identity.ips.join(', ')}` : identity.host;
    const over =
      analysis.lookups + ourCost > MAX_SPF_LOOKUPS
        ? ` That makes ${analysis.lookups + ourCost} DNS lookups, over the limit of ${MAX_SPF_LOOKUPS}: configure Herald's sending IP addresses so that it lists them as ip4:/ip6: (no lookup), or remove an include you no longer need.`
        : '';
    return wrong(
      `The SPF record at ${name} does not allow Herald (${who}) to send, so receivers do not see SPF pass for Herald's mail.`,
      `Replace the TXT record at ${name} with this one, which keeps everything the current record allows and adds Herald before its "all" term: ${merged}${over}`,
    );
  }
  return { ...base, expected: record, found, status: 'ok' };
}

async function checkReturnPathMx(dns: DnsLookups, name: string, host: string): Promise<RecordCheck> {
  const base = { purpose: 'return-path-mx' as const, name, type: 'MX' as const, required: true, expected: `${RETURN_PATH_MX_PRIORITY} ${host}` };
  const lookup = await dns.mx(name);
  if (lookup.kind === 'error') return lookupError(base, lookup);
  const records = lookup.kind === 'found' ? lookup.records : [];
  const found = records.map((r) => `${r.priority} ${r.exchange === '' ? '.' : r.exchange}`);
  const fix = `Make Herald the only MX of ${name}: an MX record named ${name} with priority ${RETURN_PATH_MX_PRIORITY} and mail server ${host}.`;
  if (records.length === 0) {
    return {
      ...base,
      found,
      status: 'missing',
      problem: `There is no MX record for ${name}, so bounces that arrive after sending never reach Herald, and addresses that bounce keep being mailed.`,
      fix: `Publish an MX record named ${name} with priority ${RETURN_PATH_MX_PRIORITY} and mail server ${host}.`,
    };
  }
  if (records.some((r) => r.exchange === '' || r.exchange === '.')) {
    return { ...base, found, status: 'wrong', problem: `${name} has a "null MX" record, which says it takes no mail at all, so bounces cannot reach Herald.`, fix };
  }
  const best = Math.min(...records.map((r) => r.priority));
  if (records.some((r) => r.priority === best && sameHost(r.exchange, host))) return { ...base, found, status: 'ok' };
  const first = records.filter((r) => r.priority === best).map((r) => r.exchange);
  const problem = records.some((r) => sameHost(r.exchange, host))
    ? `The MX records of ${name} send bounces to ${first.join(', ')} before Herald (${host}), so most of them never reach Herald.`
    : `The MX records of ${name} point to ${first.join(', ')}, not to Herald (${host}), so bounces never reach Herald.`;
  return { ...base, found, status: 'wrong', problem, fix };
}

async function checkDmarc(dns: DnsLookups, domain: string): Promise<RecordCheck> {
  const name = `_dmarc.${domain}`;
  const base = { purpose: 'dmarc' as const, name, type: 'TXT' as const, required: false, expected: dmarcStarter(domain) };
  const lookup = await dns.txt(name);
  if (lookup.kind === 'error') return lookupError(base, lookup);
  const found = (lookup.kind === 'found' ? lookup.records : []).filter(isDmarcRecord);
  if (found.length === 1) return { ...base, expected: found[0], found, status: 'ok' };
  if (found.length > 1) {
    return {
      ...base,
      expected: found[0],
      found,
      status: 'wrong',
      problem: `There are ${found.length} DMARC records at ${name}; receivers ignore DMARC altogether when there is more than one (RFC 7489 §6.6.3).`,
      fix: `Keep a single TXT record at ${name}, for example: ${found[0]}`,
    };
  }
  // A parent's record covers subdomains (RFC 7489 §6.6.3, the organizational domain).
  for (const parent of parentDomains(domain).slice(1)) {
    const up = await dns.txt(`_dmarc.${parent}`);
    const records = up.kind === 'found' ? up.records.filter(isDmarcRecord) : [];
    if (records.length > 0) return { ...base, expected: records[0], found: records, status: 'ok', note: `There is no record at ${name}, but the DMARC record at _dmarc.${parent} covers ${domain} too.` };
  }
  // Common misplacements: on the domain itself, at dmarc.<domain>, or with the name doubled.
  for (const wrongName of [domain, `dmarc.${domain}`, `${name}.${domain}`]) {
    const there = await dns.txt(wrongName);
    const records = there.kind === 'found' ? there.records.filter(isDmarcRecord) : [];
    if (records.length > 0) {
      return {
        ...base,
        expected: records[0],
        found,
        status: 'wrong',
        problem: `The DMARC record was published at ${wrongName} instead of ${name}; receivers look for it only at ${name}, so it has no effect.`,
        fix: `Publish the same value as a TXT record named ${name} (in a DNS panel that adds your domain by itself, the name is "_dmarc"), then delete the one at ${wrongName}: ${records[0]}`,
      };
    }
  }
  return {
    ...base,
    found,
    status: 'missing',
    problem: `There is no DMARC record at ${name}. It is optional, but large mailbox providers expect one from bulk senders, and its reports show who sends mail in your domain's name.`,
    fix: `Publish a TXT record named ${name} with this value: ${base.expected}`,
  };
}

async function checkTracking(dns: DnsLookups, name: string, target: string): Promise<RecordCheck> {
  const base = { purpose: 'tracking' as const, name, type: 'CNAME' as const, required: false, expected: target };
  const lookup = await dns.cname(name);
  if (lookup.kind === 'error') return lookupError(base, lookup);
  const found = lookup.kind === 'found' ? lookup.records : [];
  const fix = `Publish a CNAME record named ${name} pointing to ${target}.`;
  if (found.length === 0) {
    return { ...base, found, status: 'missing', problem: `There is no CNAME record at ${name}, so open and click tracking links cannot use your own domain.`, fix };
  }
  if (found.some((f) => sameHost(f, target))) return { ...base, found, status: 'ok' };
  return { ...base, found, status: 'wrong', problem: `${name} points to ${found.join(', ')} instead of ${target}, so tracking links on it do not reach Herald.`, fix: `Change the CNAME record at ${name} to point to ${target}.` };
}
