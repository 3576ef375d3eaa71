/**
 * domains — an account's sending domains: their DKIM keys, the DNS records to publish for them
 * (DKIM, SPF, the return path's MX and SPF, a starter DMARC, a tracking CNAME), verification of
 * those records as receivers read them, and a monitor that re-checks them.
 *
 * Invariants:
 * - Scoped by account: another account's domain is simply not found. A domain (lowercase
 *   A-label) belongs to one account at a time.
 * - Verified means: the DKIM record of every active key is published with the right key, and the
 *   return-path domain has Herald as its (most preferred) MX and an SPF record that gives Herald
 *   `pass`. Those records are `required`; the domain's own SPF, DMARC and the tracking CNAME are
 *   checked and advised on but never block. A check that fails only on a temporary DNS error
 *   changes nothing.
 * - A verified domain whose required records break becomes `failing` and still signs and sends
 *   for a grace period (72 h by default), then becomes `unverified`; fixing the records within it
 *   makes it `verified` again. Only verified or failing domains sign (`signingKeysFor`) and allow
 *   senders (`isSenderAllowed`); a From domain is allowed when it equals such a domain or is a
 *   subdomain of one, and the signature then uses that domain as d= (DMARC relaxed alignment;
 *   a DMARC record with adkim=s makes subdomain mail fail — add the subdomain itself then).
 *   Development mode (per account, local testing only) allows any sender.
 * - DKIM rotation never leaves a gap: the new key is `pending` until a check sees its record, then
 *   active; the old key stays `retiring` (record should stay published) for 7 days, then is
 *   retired with its private key destroyed. Selectors are dated (`hd202611`, `hd202611e` for
 *   Ed25519) and never reused.
 * - Private keys are stored in the clear (PKCS#8 PEM): the data directory, or the PostgreSQL
 *   database, must be readable by Herald alone.
 * - All DNS goes through the injected Resolver, all time through the Clock; SPF merging never
 *   produces a second SPF record.
 */
export { SqlDomainStore, RETIRE_AFTER_MS, FAILING_GRACE_MS, type DomainStoreOptions } from './sql-domain-store.js';
export { recordsFor, planRecords, lookupExistingRecords, dmarcStarter, RETURN_PATH_MX_PRIORITY, TRACKING_LABEL } from './records.js';
export { verifyDomain } from './verify.js';
export { startDomainMonitor, MONITOR_INTERVAL_MS, UNVERIFIED_INTERVAL_MS, type DomainMonitor, type DomainMonitorOptions } from './monitor.js';
export { addWithRecords, showDomain, type DomainWithRecords, type PlanDns } from './show.js';
export { mergeSpf, parseSpf, isSpfRecord, ourSpfMechanisms, MAX_SPF_LOOKUPS, type SpfTerm, type ParsedSpf } from './spf.js';
export { dkimPublicKey, dkimRecordValue, RSA_BITS } from './dkim-keys.js';
export { DomainsError, normalizeSendingDomain, type DomainsErrorCode } from './names.js';
export type {
  AddDomainOptions,
  DkimAlgorithm,
  DkimKeyState,
  DkimKeyView,
  DnsContext,
  DnsRecord,
  DomainChange,
  DomainStatus,
  DomainView,
  RecordCheck,
  RecordContext,
  RecordPurpose,
  RecordStatus,
  RecordType,
  SigningAlgorithm,
  SigningKey,
  VerificationOutcome,
  VerificationResult,
} from './types.js';
export { verificationChangedEvent, dnsContextOf } from './events.js';
