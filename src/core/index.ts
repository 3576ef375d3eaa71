/**
 * core — Herald's shared vocabulary: ids, addresses, SMTP replies, outcomes, events, durations,
 * network ranges, signed return paths and tracking tokens, a batched lookup cache, and the
 * injected-world interfaces (clock, DNS resolver, logger).
 *
 * Invariants: pure types and functions only. No I/O, no imports from any other room.
 */
export * from './ids.js';
export * from './address.js';
export * from './reply.js';
export * from './outcome.js';
export * from './events.js';
export * from './duration.js';
export * from './cidr.js';
export * from './world.js';
export * from './bytes.js';
export * from './thread-entry.js';
export * from './return-path.js';
export * from './bounce-classifier.js';
export * from './inbound.js';
export * from './tracking-token.js';
export * from './batch-cache.js';
