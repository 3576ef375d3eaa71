/**
 * The counters kept per account, UTC hour, stream and dimension value. Their names are public
 * (API fields, CLI columns): add, never rename. The stored column order is this order.
 */
export const COUNTERS = [
  // Recipients in accepted messages (suppressed recipients are left out of a message, so not sent).
  'sent',
  'delivered',
  // Attempts that were deferred: one recipient deferred three times counts three.
  'deferred',
  'bounced_hard',
  'bounced_soft',
  'expired',
  // Once per message and recipient, however many reports arrive.
  'complained',
  // Recipients (per message) who opened at all / with a person's open / with a machine's open.
  'opened_unique',
  'opened_unique_human',
  'opened_unique_machine',
  // Every open, human or machine.
  'opened_total',
  // Recipients (per message) who clicked at least one link; every click; the machine clicks among them.
  'clicked_unique',
  'clicked_total',
  'clicked_machine',
  // Once per message and recipient.
  'unsubscribed',
  // Recipients left out of a message because they were on the suppression list.
  'suppressed',
] as const;
export type Counter = (typeof COUNTERS)[number];
export type StatsCounters = Record<Counter, number>;

/** What the roll-ups are kept by: the whole account, the recipient's domain, each of the message's tags. */
export type StatsDimension = 'all' | 'domain' | 'tag';

export const GROUP_BYS = ['day', 'hour', 'domain', 'tag', 'stream'] as const;
export type StatsGroupBy = (typeof GROUP_BYS)[number];

export const STATS_STREAMS = ['transactional', 'broadcast'] as const;
export type StatsStream = (typeof STATS_STREAMS)[number];

/** A checked question for the roll-ups. */
export interface StatsQuery {
  accountId: string;
  /** Inclusive, on a whole UTC minute (the store may count from the whole hour before: SqlStatsStore.query). */
  from: Date;
  /** Exclusive, on a whole UTC minute (the store may count to the whole hour after). */
  to: Date;
  groupBy: StatsGroupBy;
  stream?: StatsStream;
  tag?: string;
  domain?: string;
}

/** The rates users watch, as fractions (0.25 is 25%); null when the denominator is 0. */
export interface StatsRates {
  /** delivered / sent */
  delivery_rate: number | null;
  /** (bounced_hard + bounced_soft) / sent */
  bounce_rate: number | null;
  /** complained / delivered */
  complaint_rate: number | null;
  /** opened_unique / delivered */
  open_rate: number | null;
  /** clicked_unique / delivered */
  click_rate: number | null;
}

/** Every counter, the bounces together, and the rates. */
export type StatsFigures = StatsCounters & { bounced: number } & StatsRates;

export interface StatsRow extends StatsFigures {
  /** The group: a day (2030-03-01), an hour (2030-03-01T10:00:00Z), a domain, a tag or a stream. */
  key: string;
}

export interface StatsReport {
  /** The range counted: to the minute for the account's figures within the last 48 hours, else whole hours. */
  from: Date;
  to: Date;
  groupBy: StatsGroupBy;
  filters: { stream: StatsStream | null; tag: string | null; domain: string | null };
  totals: StatsFigures;
  rows: StatsRow[];
  /** More domains or tags matched than one answer lists (the largest by sent are listed). */
  truncated: boolean;
  /** When the roll-ups last took events in (null: never): the numbers are as of then. */
  updatedAt: Date | null;
}

/** A message's labels as the queue keeps them (its meta), or what is left of them. */
export interface StatsLabels {
  tags?: readonly string[];
  stream?: string;
  /** Set on the delivery reports Herald itself sends: those are not the account's mail. */
  dsnFor?: string;
}
