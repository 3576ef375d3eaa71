/**
 * suppression — each account's list of addresses Herald will not send to, per stream
 * (transactional, broadcast), with why (hard_bounce, complaint, unsubscribe, soft_bounces,
 * manual), the message that caused it and since when; the check the accept pipeline makes for
 * every message; the feeder that fills the list from the event outbox; and CSV import.
 *
 * Invariants:
 * - Scoped by account: one account's list never affects or shows another's.
 * - Addresses are compared as the queue compares recipients: domain case-insensitive (stored
 *   lowercased, as an A-label), local part exact (RFC 5321 §2.4).
 * - An entry is per stream; "both streams" is two rows. Re-adding never weakens an entry: the
 *   first reason stays unless a stronger one arrives, and only manual entries may expire.
 * - `check` is one indexed query for all of a message's recipients.
 * - The feeder moves its outbox cursor in the same transaction as the entries it adds, so a
 *   restart resumes where it stopped and counts no event twice.
 */
export {
  SqlSuppressionStore,
  MAX_LIST_LIMIT,
  normalizeSuppressionAddress,
  SQLITE_SUPPRESSION_MIGRATIONS,
  POSTGRES_SUPPRESSION_MIGRATIONS,
} from './sql-suppression-store.js';
export { startSuppressionFeeder, suppressionFromEvent, SUPPRESSION_EVENT_TYPES, type SuppressionFeeder, type SuppressionFeederOptions } from './feeder.js';
export {
  importSuppressionCsv,
  type CsvImportCounts,
  type CsvImportOptions,
  type CsvImportResult,
  type InvalidCsvLine,
  type SuppressionAdder,
} from './csv-import.js';
export {
  SUPPRESSION_REASONS,
  SUPPRESSION_STREAMS,
  isStreamSelector,
  isSuppressionReason,
  isSuppressionStream,
  reasonRank,
  streamsOf,
  type AddResult,
  type FeedAction,
  type FedSuppression,
  type SoftBouncePolicy,
  type StreamSelector,
  type SuppressionCheck,
  type SuppressionEntry,
  type SuppressionHit,
  type SuppressionInput,
  type SuppressionListOptions,
  type SuppressionPage,
  type SuppressionReason,
  type SuppressionStream,
} from './types.js';
