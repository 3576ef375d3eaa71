import { domainOf, normalizeAddress, normalizeDomain } from '../core/index.js';
import type { AttemptRecord, NewMessage, RecipientState } from './types.js';

/** The rules every QueueStore backend applies alike, so the contract has one source. */

/**
 * SQL (either engine) for a leased recipient given back: queued again, or deferred if it was
 * tried before; due at `dueAt`, its lease cleared. The reaps, the release at stop and postpone
 * share it; the arguments are the engine's placeholders.
 */
export function leaseBackToDue(dueAt: string, updatedAt: string): string {
  return `state = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END, next_attempt_at = ${dueAt}, lease_owner = NULL, lease_expires_at = NULL, updated_at = ${updatedAt}`;
}

export function isDue(state: RecipientState): boolean {
  return state === 'queued' || state === 'deferred';
}

/** Why a message cannot be queued, or null. Checked before it joins a group commit. */
export function checkMessage(msg: NewMessage): string | null {
  if (msg.recipients.length === 0) return 'no recipients';
  const seen = new Set<string>();
  for (const address of msg.recipients) {
    if (!domainOf(address)) return `recipient without a routable domain: ${address}`;
    if (seen.has(address)) return `duplicate recipient: ${address}`;
    seen.add(address);
  }
  return null;
}

/** Drops undefined fields, so events read back from JSON equal the ones handed to listeners. */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  for (const key of Object.keys(obj)) if (obj[key] === undefined) delete obj[key];
  return obj;
}

/** Checks an attempt record before it joins a group commit; returns the bytes of the DSNs it queues. */
export function checkAttempt(rec: AttemptRecord): number {
  for (const r of rec.results) {
    if (r.state === 'deferred' && !r.nextAttemptAt) throw new Error(`a deferred result needs nextAttemptAt (recipient ${r.recipientId})`);
  }
  for (const dsn of rec.dsns ?? []) {
    const invalid = checkMessage(dsn);
    if (invalid) throw new Error(`cannot queue DSN ${dsn.id}: ${invalid}`);
  }
  return (rec.dsns ?? []).reduce((sum, dsn) => sum + dsn.body.length, 0);
}

/** ListRequest.sender as stored mail_from compares: one address, or every sender of a domain (`@example.com`). */
export function senderFilter(sender: string): { address: string } | { domain: string } {
  return sender.startsWith('@') ? { domain: normalizeDomain(sender.slice(1)) } : { address: normalizeAddress(sender) };
}

/** Ids per metaOf query: the statement stays small however many ids a caller asks about. */
export const META_CHUNK = 1000;

/** The distinct ids in chunks of at most `size`, in the order first given. */
export function idChunks(ids: readonly string[], size = META_CHUNK): string[][] {
  const distinct = [...new Set(ids)];
  const chunks: string[][] = [];
  for (let i = 0; i < distinct.length; i += size) chunks.push(distinct.slice(i, i + size));
  return chunks;
}
