import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/index.js';
import { classifyBounce } from '../core/index.js';

/**
 * What a rule makes of a bounce: 'hard' (the address is bad) and 'soft' bounce the recipient with
 * the rule's status; 'ignore' records nothing (auto-replies, delay warnings sent to a return path).
 */
export const BOUNCE_RULE_TYPES = ['hard', 'soft', 'ignore'] as const;
export type BounceRuleType = (typeof BOUNCE_RULE_TYPES)[number];

export interface BounceRule {
  name: string;
  /** The pattern as written (a case-insensitive regular expression). */
  pattern: string;
  regex: RegExp;
  /** The enhanced status code the bounce is recorded with (5.x.x); absent for 'ignore'. */
  status?: string;
  type: BounceRuleType;
  /** A word for the kind of failure: mailbox_unknown, mailbox_full, blocked, dns_failure, policy, … */
  class: string;
  description: string;
  /** Where the rule comes from: the file's path, or "shipped". */
  source: string;
}

export interface BounceRuleMatch {
  rule: BounceRule;
  /** The line of the bounce that matched, trimmed to 200 characters. */
  excerpt: string;
}

/** The rule file Herald ships (rules/bounce-rules.json at the package root). */
export const SHIPPED_BOUNCE_RULES = fileURLToPath(new URL('../../rules/bounce-rules.json', import.meta.url));

const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/i;
const CLASS = /^[a-z][a-z0-9_]{0,63}$/;
const STATUS = /^5\.\d{1,3}\.\d{1,3}$/;
const MAX_PATTERN = 2000;

/**
 * The ordered bounce rules for free-text bounces (mail to a return path without a delivery status
 * report): the first rule whose pattern matches the bounce's text decides.
 */
export class BounceRules {
  constructor(readonly rules: readonly BounceRule[]) {}

  /**
   * The first rule that matches the bounce's subject or text. Only the bounce's own words are
   * read: the text is cut where the returned original message starts, whose headers
   * (X-Spam-Status, DKIM-Signature, …) would otherwise match the policy rules.
   */
  match(subject: string, text: string): BounceRuleMatch | null {
    const lines = [subject, ...ownLines(text)].map((l) => l.trim()).filter(Boolean);
    for (const rule of this.rules) {
      for (const line of lines) {
        if (rule.regex.test(line)) return { rule, excerpt: line.length > 200 ? `${line.slice(0, 197)}...` : line };
      }
    }
    return null;
  }
}

/**
 * The operator's rules (HERALD_BOUNCE_RULES), tried first, then the shipped ones. A file that
 * cannot be read or has a bad rule is a ConfigError naming the file and the rule.
 */
export function loadBounceRules(operatorFile?: string): BounceRules {
  const own = operatorFile ? parseBounceRules(readRuleFile(operatorFile), operatorFile) : [];
  return new BounceRules([...own, ...parseBounceRules(readRuleFile(SHIPPED_BOUNCE_RULES), 'shipped')]);
}

function readRuleFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`HERALD_BOUNCE_RULES: cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Reads a rule file: `{ "rules": [ … ] }` (or a bare array) of `{ name, pattern, status, type,
 * class, description }`. Each rule's status must be classified downstream (core classifyBounce,
 * the suppression feeder) as the type the rule says, so a table can never suppress what it calls
 * soft.
 */
export function parseBounceRules(json: string, source: string): BounceRule[] {
  const where = source === 'shipped' ? 'the shipped bounce rules' : `HERALD_BOUNCE_RULES (${source})`;
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`${where}: not valid JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(data) ? data : data && typeof data === 'object' ? (data as { rules?: unknown }).rules : undefined;
  if (!Array.isArray(list)) throw new ConfigError(`${where}: expected {"rules": [ … ]} or an array of rules`);
  const names = new Set<string>();
  return list.map((entry: unknown, index) => {
    const label = `rule ${index + 1}${entry && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string' ? ` "${(entry as { name: string }).name}"` : ''}`;
    const bad = (why: string) => new ConfigError(`${where}: ${label}: ${why}`);
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw bad('a rule is an object with name, pattern, status, type, class and description');
    const r = entry as Record<string, unknown>;
    const known = ['name', 'pattern', 'status', 'type', 'class', 'description'];
    const unknown = Object.keys(r).filter((k) => !known.includes(k));
    if (unknown.length) throw bad(`unknown field ${unknown.map((k) => `"${k}"`).join(', ')} (a rule has ${known.join(', ')})`);
    if (typeof r.name !== 'string' || !NAME.test(r.name)) throw bad('"name" must be 1 to 64 letters, digits, "-", "_" or "."');
    if (names.has(r.name.toLowerCase())) throw bad('another rule in the file has this name');
    names.add(r.name.toLowerCase());
    if (typeof r.pattern !== 'string' || r.pattern === '' || r.pattern.length > MAX_PATTERN) throw bad(`"pattern" must be a regular expression of 1 to ${MAX_PATTERN} characters`);
    let regex: RegExp;
    try {
      regex = new RegExp(r.pattern, 'i');
    } catch (err) {
      throw bad(`"pattern" is not a valid regular expression: ${(err as Error).message}`);
    }
    if (regex.test('')) throw bad('"pattern" matches empty text, so it would match every bounce');
    if (typeof r.type !== 'string' || !(BOUNCE_RULE_TYPES as readonly string[]).includes(r.type)) throw bad(`"type" must be one of ${BOUNCE_RULE_TYPES.join(', ')}`);
    const type = r.type as BounceRuleType;
    if (typeof r.class !== 'string' || !CLASS.test(r.class)) throw bad('"class" must be a lowercase word like mailbox_unknown (letters, digits, "_")');
    if (typeof r.description !== 'string' || r.description.trim() === '' || r.description.length > 200) throw bad('"description" must be a sentence of 1 to 200 characters');
    const description = r.description.trim();
    if (type === 'ignore') {
      if (r.status !== undefined) throw bad('an "ignore" rule records nothing, so it takes no "status"');
    } else {
      if (typeof r.status !== 'string' || !STATUS.test(r.status)) throw bad('"status" must be a permanent enhanced status code like 5.1.1 (RFC 3463)');
      const downstream = classifyBounce({ code: 550, enhanced: r.status, text: description }, 'recipient');
      if (downstream !== type) {
        throw bad(`status ${r.status} with this description is a ${downstream} bounce to the suppression list, but the rule says ${type}; pick a status of that kind (e.g. 5.1.1 hard, 5.2.2 soft)`);
      }
    }
    return { name: r.name, pattern: r.pattern, regex, status: type === 'ignore' ? undefined : (r.status as string), type, class: r.class, description, source };
  });
}

/**
 * Separator lines and header fields that start the returned original in free-text bounces
 * (Exim's "------ This is a copy of the message", qmail's "--- Below this line is a copy",
 * Sendmail's and Exchange's "Original message headers:").
 */
const ORIGINAL_STARTS = [
  /^-+ ?(this is a copy of|below this line is a copy of|original message)/i,
  /^original message headers:?$/i,
  /^(received|return-path|dkim-signature|arc-seal|arc-message-signature|authentication-results|message-id|mime-version|x-[a-z0-9-]+):/i,
];

function ownLines(text: string): string[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const end = lines.findIndex((line) => ORIGINAL_STARTS.some((re) => re.test(line.trim())));
  return end === -1 ? lines : lines.slice(0, end);
}
