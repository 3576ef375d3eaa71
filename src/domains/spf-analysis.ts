import { networkContains, parseNetwork } from '../core/index.js';
import type { DnsLookups } from './dns-lookup.js';
import { sameHost } from './names.js';
import { evaluatedTerms, isSpfRecord, LOOKUP_TERMS, MAX_SPF_LOOKUPS, parseSpf, termDomain, type ParsedSpf, type SpfTerm } from './spf.js';

/** Who Herald is to SPF: its host name, and the addresses it sends from (may be empty). */
export interface SpfIdentity {
  host: string;
  ips: string[];
}

export interface SpfAnalysis {
  /** DNS lookups a receiver makes evaluating the record, includes and redirects followed. */
  lookups: number;
  /** Each lookup term of the record itself with what it costs, everything below it included. */
  costs: { term: string; lookups: number }[];
  /** Every address of Herald (or, with none known, its host name) gets `pass`. */
  allowsHerald: boolean;
  /** Permanent errors below the record itself (an include without SPF, a loop), in plain words. */
  problems: string[];
  /** A lookup below the record failed temporarily (its code): the analysis may be incomplete. */
  temporary: { name: string; code: string } | null;
}

interface SpfNode {
  domain: string;
  parsed: ParsedSpf;
  /** No SPF record at the domain. */
  empty?: boolean;
  /** How many SPF records the domain has (more than one is a permerror). */
  records?: number;
  error?: string;
  /** Included again from below itself, or nested too deep to follow. */
  loop?: boolean;
  children: Map<SpfTerm, SpfNode>;
}

// Far enough to show that a record is over the limit, near enough to bound the work.
const MAX_DEPTH = 10;
const MAX_NODES = 40;

/**
 * Walks an SPF record as a receiver would, following include: and redirect=, to count DNS
 * lookups (RFC 7208 §4.6.4: more than 10 is a permerror) and to see whether Herald passes.
 *
 * Limits, on purpose: macros (`%{i}`), `exists` and `ptr` are counted but never evaluated; `a`
 * matches Herald by host name or by the target's addresses, ignoring prefix lengths; `mx`
 * matches when an exchange is Herald's host name. A record that allows Herald only through
 * those is reported as not allowing it, and the fix adds Herald's own mechanism.
 */
export async function analyseSpf(dns: DnsLookups, domain: string, record: string, identity: SpfIdentity): Promise<SpfAnalysis> {
  const state = { nodes: 0 };
  const root = await build(dns, domain, record, 0, [domain.toLowerCase()], state);
  const costs = evaluatedTerms(root.parsed.terms)
    .filter((t) => LOOKUP_TERMS.has(t.name))
    .map((t) => ({ term: t.text, lookups: 1 + (root.children.has(t) ? count(root.children.get(t)!) : 0) }));
  const problems: string[] = [];
  let temporary: SpfAnalysis['temporary'] = null;
  const visit = (node: SpfNode) => {
    for (const [term, child] of node.children) {
      const how = term.kind === 'modifier' ? `redirect=${term.arg}` : `include:${term.arg}`;
      if (child.error) temporary ??= { name: child.domain, code: child.error };
      else if (child.loop) problems.push(`${how} (in the SPF record of ${node.domain}) leads back to itself or nests too deep, which receivers treat as a permanent error.`);
      else if (child.empty) problems.push(`${how} (in the SPF record of ${node.domain}) names a domain that has no SPF record, which receivers treat as a permanent error (RFC 7208 §5.2).`);
      else if ((child.records ?? 1) > 1) problems.push(`${child.domain}, included through ${how}, has ${child.records} SPF records; receivers treat more than one as a permanent error.`);
      else if (child.parsed.errors.length > 0) problems.push(`${child.domain}, included through ${how}, has SPF terms receivers cannot read (${child.parsed.errors.join(' ')}).`);
      visit(child);
    }
  };
  visit(root);
  const ips = identity.ips.map((ip) => ip.split('/')[0]);
  const verdicts = await Promise.all((ips.length > 0 ? ips : [null]).map((ip) => evaluate(dns, root, identity.host, ip)));
  return { lookups: count(root), costs, allowsHerald: verdicts.every((v) => v === 'pass'), problems, temporary };
}

async function build(dns: DnsLookups, domain: string, record: string | undefined, depth: number, path: string[], state: { nodes: number }): Promise<SpfNode> {
  state.nodes++;
  const node: SpfNode = { domain, parsed: { terms: [], errors: [] }, children: new Map() };
  let text = record;
  if (text === undefined) {
    const found = await dns.txt(domain);
    if (found.kind === 'error') return { ...node, error: found.code };
    const spf = found.kind === 'found' ? found.records.filter(isSpfRecord) : [];
    if (spf.length === 0) return { ...node, empty: true };
    node.records = spf.length;
    text = spf[0];
  }
  node.parsed = parseSpf(text);
  for (const term of evaluatedTerms(node.parsed.terms)) {
    if (term.name !== 'include' && term.name !== 'redirect') continue;
    // A macro (%{d}) depends on the message being checked; it cannot be followed here.
    if (term.arg.includes('%')) continue;
    const target = term.arg.toLowerCase().replace(/\.$/, '');
    if (path.includes(target) || depth >= MAX_DEPTH || state.nodes >= MAX_NODES) {
      node.children.set(term, { domain: target, parsed: { terms: [], errors: [] }, loop: true, children: new Map() });
    } else {
      node.children.set(term, await build(dns, target, undefined, depth + 1, [...path, target], state));
    }
  }
  return node;
}

function count(node: SpfNode): number {
  if (node.loop) return MAX_SPF_LOOKUPS + 1;
  let total = 0;
  for (const term of evaluatedTerms(node.parsed.terms)) {
    if (!LOOKUP_TERMS.has(term.name)) continue;
    const child = node.children.get(term);
    total += 1 + (child ? count(child) : 0);
  }
  return total;
}

function contains(network: string, ip: string): boolean {
  try {
    return networkContains(parseNetwork(network), ip);
  } catch {
    return false;
  }
}

/** check_host() for one of Herald's addresses (or, with `ip` null, its host name alone), as far as the limits above allow. */
async function evaluate(dns: DnsLookups, node: SpfNode, host: string, ip: string | null): Promise<'pass' | 'other' | 'none'> {
  for (const term of evaluatedTerms(node.parsed.terms)) {
    let matched = false;
    const target = termDomain(term, node.domain);
    switch (term.name) {
      case 'all':
        matched = true;
        break;
      case 'ip4':
      case 'ip6':
        matched = ip !== null && contains(term.arg, ip);
        break;
      case 'a':
        if (target.includes('%')) break;
        matched = sameHost(target, host);
        if (!matched && ip !== null) {
          const addresses = await dns.addresses(target);
          matched = addresses.kind === 'found' && addresses.records.some((a) => contains(a, ip));
        }
        break;
      case 'mx': {
        if (target.includes('%')) break;
        const mx = await dns.mx(target);
        matched = mx.kind === 'found' && mx.records.some((r) => sameHost(r.exchange, host));
        break;
      }
      case 'include': {
        const child = node.children.get(term);
        matched = child !== undefined && !child.loop && (await evaluate(dns, child, host, ip)) === 'pass';
        break;
      }
      case 'redirect': {
        const child = node.children.get(term);
        return child && !child.loop ? evaluate(dns, child, host, ip) : 'other';
      }
    }
    if (matched) return term.qualifier === '+' ? 'pass' : 'other';
  }
  return 'none';
}
