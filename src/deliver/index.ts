/**
 * deliver — turns due recipients into outcomes: the scheduler (claims under a lease, concurrency
 * overall and per destination, backoff after site failures), the router (MX by preference per
 * RFC 5321 §5.1, implicit MX, null MX per RFC 7505, or a smart host), the SMTP transport
 * (nodemailer's SMTPConnection with opportunistic STARTTLS, pipelining and our own per-host
 * connection reuse), the retry policy and DSN generation (RFC 3464).
 *
 * Invariants:
 * - Every claimed recipient gets exactly one outcome per attempt; a remote 4xx/5xx is data, and
 *   anything unexpected (our bug, a dropped connection) defers — it never bounces.
 * - One recipient's refusal never changes another's outcome; a 421 or a lost connection defers
 *   only the recipients that had no final answer yet.
 * - Retries are anchored to the message's creation and end at its expiry ('expired').
 * - DSNs go only to the non-null envelope sender of SMTP-submitted mail, never about a DSN, and
 *   are recorded in the same store transaction as the attempt that caused them.
 * - No bare CR or LF leaves: bodies are CRLF-normalised at acceptance, SMTPConnection dot-stuffs.
 * - Imports only core, config (types) and queue (types).
 */
export { NodeDnsResolver, toServerSpec, type NodeDnsResolverOptions } from './dns-resolver.js';
export { MxRouter, type MxRouterOptions, type Route, type RouteHost, type Router } from './router.js';
export { SmtpMxTransport, messageNeeds, type SmtpMxTransportOptions, type Transport, type TransportResult } from './smtp-transport.js';
export { decideRetry, nextSlot, type RetryDecision, type RetryInput } from './retry-policy.js';
export { buildDsn, dsnEligible, headerSection, type DsnInput, type DsnRecipient } from './dsn.js';
export { DeliveryScheduler, type DeliverySchedulerOptions } from './scheduler.js';
export { createDelivery } from './create.js';
