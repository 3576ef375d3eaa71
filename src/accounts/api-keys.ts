import { hash } from 'node:crypto';
import { BASE62, randomString } from './names.js';

/** What a key may do. Public API: add, never rename. */
export const API_KEY_SCOPES = ['send', 'read', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export function isApiKeyScope(value: unknown): value is ApiKeyScope {
  return typeof value === 'string' && (API_KEY_SCOPES as readonly string[]).includes(value);
}

/** admin may do everything; send and read only what they name (a send key cannot read the log). */
export function scopeAllows(scope: ApiKeyScope, needed: ApiKeyScope): boolean {
  return scope === 'admin' || scope === needed;
}

/** `hk_` + 40 base62 characters: ~238 random bits, recognisable by secret scanners by its prefix. */
export const API_KEY_PATTERN = /^hk_[A-Za-z0-9]{40}$/;
/** How much of a key listings show, so an operator can tell keys apart without the secret. */
export const API_KEY_PREFIX_LENGTH = 8;

export function generateApiKey(): string {
  return `hk_${randomString(BASE62, 40)}`;
}

export function hashApiKey(key: string): Buffer {
  // One call, no Hash object: this runs for every API request.
  return hash('sha256', key, 'buffer');
}

export function apiKeyPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX_LENGTH);
}
