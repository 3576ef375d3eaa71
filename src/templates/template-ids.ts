import { invalidContent, isMessageId, newMessageId } from '../core/index.js';

const ID_PREFIX = 'tpl_';

/**
 * "tpl_" + a time-ordered id (core's message id form): ids sort by creation time, so the newest
 * first listing is an index scan and its cursor is simply the last id shown.
 */
export function newTemplateId(now: number): string {
  return ID_PREFIX + newMessageId(now);
}

export function isTemplateId(value: string): boolean {
  return value.startsWith(ID_PREFIX) && isMessageId(value.slice(ID_PREFIX.length));
}

// Lower-case letters and digits, then also '.', '_' and '-': safe in URLs, file names and logs.
const ALIAS = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Aliases are matched case-insensitively: they are stored and looked up lower-cased. */
export function normalizeAlias(alias: string): string {
  return alias.trim().toLowerCase();
}

/** The alias as stored, or throws invalidContent naming `field`. */
export function checkAlias(alias: unknown, field = 'alias'): string {
  if (typeof alias !== 'string') throw invalidContent(field, 'the alias must be text');
  const normal = normalizeAlias(alias);
  if (!ALIAS.test(normal)) {
    throw invalidContent(field, `"${alias}" is not a valid alias: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  // Ids and aliases share one lookup (`/templates/{idOrAlias}`), so neither may look like the other.
  if (normal.startsWith(ID_PREFIX)) throw invalidContent(field, `an alias may not start with "${ID_PREFIX}", which is how template ids start`);
  return normal;
}
