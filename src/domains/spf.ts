import { isIP } from 'node:net';
import { networkContains, parseNetwork } from '../core/index.js';
import { sameHost } from './names.js';
import type { DnsContext } from './types.js';

export type SpfQualifier = '+' | '-' | '~' | '?';

export interface SpfTerm {
  /** The term as written. */
  text: string;
  kind: 'mechanism' | 'modifier';
  qualifier: SpfQualifier;
  /** Lowercase mechanism or modifier name (`include`, `ip4`, `redirect`, …). */
  name: string;
  /** After `:` or `=` ('' when none); a/mx keep their `/cidr` here. */
  arg: string;
  /** a/mx written with only a prefix length (`a/24`). */
  cidr: string;
}

export interface ParsedSpf {
  terms: SpfTerm[];
  /** Terms receivers cannot read (RFC 7208 §4.6: each is a permerror). */
  errors: string[];
}

const MECHANISMS = new Set(['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists']);
/** RFC 7208 §4.6.4: the terms that cost a DNS lookup, at most 10 of them per evaluation. */
export const LOOKUP_TERMS = new Set(['include', 'a', 'mx', 'ptr', 'exists', 'redirect']);
export const MAX_SPF_LOOKUPS = 10;

/** RFC 7208 §4.5: a record is SPF when it is exactly `v=spf1`, alone or followed by a space. */
export function isSpfRecord(text: string): boolean {
  return /^v=spf1(?: |$)/i.test(text.trim());
}

export function parseSpf(text: string): ParsedSpf {
  const tokens = text.trim().split(/\s+/).slice(1);
  const terms: SpfTerm[] = [];
  const errors: string[] = [];
  for (const token of tokens) {
    if (token === '') continue;
    const modifier = /^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$/.exec(token);
    if (modifier) {
      terms.push({ text: token, kind: 'modifier', qualifier: '+', name: modifier[1].toLowerCase(), arg: modifier[2], cidr: '' });
      continue;
    }
    const mechanism = /^([+\-~?]?)([A-Za-z][A-Za-z0-9]*)(?::(.*)|(\/.*))?$/.exec(token);
    if (!mechanism || !MECHANISMS.has(mechanism[2].toLowerCase())) {
      errors.push(token);
      continue;
    }
    const name = mechanism[2].toLowerCase();
    const arg = mechanism[3] ?? '';
    if ((name === 'include' || name === 'exists' || name === 'ip4' || name === 'ip6') && arg === '') {
      errors.push(token);
      continue;
    }
    terms.push({ text: token, kind: 'mechanism', qualifier: (mechanism[1] || '+') as SpfQualifier, name, arg, cidr: mechanism[4] ?? '' });
  }
  return { terms, errors };
}

export function isAll(t: SpfTerm): boolean {
  return t.kind === 'mechanism' && t.name === 'all';
}

/**
 * The terms a receiver evaluates, in order: mechanisms up to and including `all` (nothing after
 * it is reached), then `redirect=` only when there is no `all` (RFC 7208 §6.1).
 */
export function evaluatedTerms(terms: readonly SpfTerm[]): SpfTerm[] {
  const all = terms.findIndex(isAll);
  if (all >= 0) return terms.slice(0, all + 1).filter((t) => t.kind === 'mechanism');
  const redirect = terms.find((t) => t.kind === 'modifier' && t.name === 'redirect');
  return [...terms.filter((t) => t.kind === 'mechanism'), ...(redirect ? [redirect] : [])];
}

/** The domain of an a/mx/include/exists/redirect term (its own domain when it names none). */
export function termDomain(term: SpfTerm, own: string): string {
  const domain = term.arg.split('/')[0];
  return domain === '' ? own : domain;
}

/**
 * Herald's mechanisms: the configured sending addresses (no DNS lookup needed), or else
 * `a:<heraldHostname>` — Herald's own A/AAAA records, one lookup.
 */
export function ourSpfMechanisms(context: DnsContext): string[] {
  const ips = context.sendingIps ?? [];
  if (ips.length > 0) return ips.map((ip) => `${isIP(ip.split('/')[0]) === 6 ? 'ip6' : 'ip4'}:${ip}`);
  return [`a:${context.heraldHostname.toLowerCase().replace(/\.$/, '')}`];
}

/** True when the (pass) term already allows what `ours` allows, judged from the text alone. */
function coversMechanism(term: SpfTerm, ours: SpfTerm): boolean {
  if (term.kind !== 'mechanism' || term.qualifier !== '+' || term.name !== ours.name) return false;
  if (term.name === 'ip4' || term.name === 'ip6') {
    try {
      const have = parseNetwork(term.arg);
      const want = parseNetwork(ours.arg);
      return have.prefix <= want.prefix && networkContains(have, ours.arg.split('/')[0]);
    } catch {
      return false;
    }
  }
  return term.cidr === ours.cidr && sameHost(term.arg, ours.arg);
}

function term(text: string): SpfTerm {
  return parseSpf(`v=spf1 ${text}`).terms[0];
}

/**
 * One SPF record that keeps everything the given records allow and adds Herald's mechanisms,
 * just before the `all` term (after `all` nothing is evaluated). With no records, a new one ending
 * in `~all` (soft fail: receivers treat strangers as suspicious while the setup settles).
 * Several records (a permerror, RFC 7208 §4.5) are combined into one: mechanisms in order without
 * repeats, the first record's `all`, and any `redirect=` that can no longer act as one (another
 * record has `all`, or a second redirect) turned into an `include:` of the same domain. A single
 * record that already allows Herald comes back unchanged.
 */
export function mergeSpf(records: readonly string[], ours: readonly string[]): string {
  if (records.length === 0) return ['v=spf1', ...ours, '~all'].join(' ');
  let terms: SpfTerm[];
  if (records.length === 1) {
    terms = parseSpf(records[0]).terms;
  } else {
    const parsed = records.map((r) => parseSpf(r).terms);
    const all = parsed.flat().find(isAll);
    const redirects = parsed.flat().filter((t) => t.kind === 'modifier' && t.name === 'redirect');
    const keptRedirect = all ? undefined : redirects[0];
    const seen = new Set<string>();
    const mechanisms: SpfTerm[] = [];
    const modifiers: SpfTerm[] = [];
    const add = (list: SpfTerm[], t: SpfTerm) => {
      const key = t.text.toLowerCase();
      if (!seen.has(key)) {
        seen.add(key);
        list.push(t);
      }
    };
    for (const t of parsed.flat()) {
      if (t.kind === 'mechanism' && t.name !== 'all') add(mechanisms, t);
      else if (t.kind === 'modifier' && t.name === 'redirect' && t !== keptRedirect) add(mechanisms, term(`include:${t.arg}`));
      else if (t.kind === 'modifier' && t.name === 'exp' && modifiers.some((m) => m.name === 'exp')) continue;
      else if (t.kind === 'modifier') add(modifiers, t);
    }
    terms = [...mechanisms, ...(all ? [all] : []), ...modifiers];
  }
  const allAt = terms.findIndex(isAll);
  const evaluated = allAt >= 0 ? terms.slice(0, allAt) : terms;
  const missing = ours.filter((o) => !evaluated.some((t) => coversMechanism(t, term(o))));
  if (records.length === 1 && missing.length === 0) return records[0].trim().replace(/\s+/g, ' ');
  // Herald written with a fail/softfail/neutral qualifier would match first: it becomes a pass in place.
  const pending: string[] = [];
  for (const o of missing) {
    const want = term(o);
    const i = evaluated.findIndex((t) => coversMechanism({ ...t, qualifier: '+' }, want));
    if (i >= 0) terms[i] = term(o);
    else pending.push(o);
  }
  let at = allAt;
  if (at < 0) {
    // No `all`: after the last mechanism, so a `redirect=` still comes after everything we add.
    let last = -1;
    terms.forEach((t, i) => {
      if (t.kind === 'mechanism') last = i;
    });
    at = last + 1;
  }
  return ['v=spf1', ...terms.slice(0, at).map((t) => t.text), ...pending, ...terms.slice(at).map((t) => t.text)].join(' ');
}
