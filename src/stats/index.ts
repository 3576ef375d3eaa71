/**
 * stats — turns the event outbox into roll-ups that answer statistics fast: counters per
 * account × UTC hour (and day) × stream × dimension (the whole account, the recipient's domain,
 * each of the message's tags), and per UTC minute for the whole account over the last 48 hours,
 * for sent, delivered, deferred, bounced (hard/soft), expired, complained, opened and clicked
 * (unique, total, human/machine), unsubscribed and suppressed; the feeder that fills them; and
 * the reading behind `GET /api/v1/stats` and `herald stats`.
 *
 * Invariants:
 * - The feeder counts a page of events and moves its outbox cursor in ONE transaction: after a
 *   crash or restart no event is counted twice and none is skipped.
 * - Unique opens, clicks, complaints and unsubscribes are decided by a first-sighting table
 *   written in that same transaction; it is purged with HERALD_RETENTION.
 * - Hard or soft is core `classifyBounceEvent`, the rule suppression and webhooks use.
 * - Reading never scans the event table, only the roll-ups: day rows for whole days, hour rows
 *   for group_by=hour and a range's partial days, minute rows for the partial hours at the ends
 *   of a range of the whole account's figures within the last 48 hours (other ranges round out
 *   to whole hours; the answer says which range was counted). Every time is UTC.
 * - Scoped by account: one account's numbers never include another's.
 * - One store class over storage's `SqlDatabase`, the same on SQLite and PostgreSQL. Feeders of
 *   several nodes on one database take turns: a page counts only where the cursor still is.
 */
export {
  SqlStatsStore,
  SQLITE_STATS_MIGRATIONS,
  POSTGRES_STATS_MIGRATIONS,
  MAX_GROUPS,
  MINUTE_RETENTION_MS,
  emptyCounters,
  type StatsGroup,
  type StatsQueryResult,
} from './sql-stats-store.js';
export { startStatsFeeder, type StatsFeeder, type StatsFeederOptions, type StatsLabelLookup } from './feeder.js';
export { COUNTED_EVENT_TYPES, rollupEvent, type Contribution, type FirstTime, type SeenKind } from './rollup.js';
export { parseStatsQuery, statsReport, statsView, ratesOf, figuresOf, DEFAULT_RANGE_DAYS, MAX_HOURLY_RANGE_HOURS, MAX_RANGE_HOURS, type StatsParams } from './report.js';
export {
  COUNTERS,
  GROUP_BYS,
  STATS_STREAMS,
  type Counter,
  type StatsCounters,
  type StatsDimension,
  type StatsFigures,
  type StatsGroupBy,
  type StatsLabels,
  type StatsQuery,
  type StatsRates,
  type StatsReport,
  type StatsRow,
  type StatsStream,
} from './types.js';
