/** The message streams a suppression applies to (the `stream` label of a message). */
export const SUPPRESSION_STREAMS = ['transactional', 'broadcast'] as const;
export type SuppressionStream = (typeof SUPPRESSION_STREAMS)[number];
/** Where an input names streams: one of them, or `all` for both (stored as one row per stream). */
export type StreamSelector = SuppressionStream | 'all';

/**
 * Why an address is suppressed. Listed weakest first: re-adding an address keeps the reason it
 * has unless the new one ranks higher (see `reasonRank`).
 */
export const SUPPRESSION_REASONS = ['manual', 'soft_bounces', 'unsubscribe', 'hard_bounce', 'complaint'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export function isSuppressionStream(value: unknown): value is SuppressionStream {
  return typeof value === 'string' && (SUPPRESSION_STREAMS as readonly string[]).includes(value);
}

export function isStreamSelector(value: unknown): value is StreamSelector {
  return value === 'all' || isSuppressionStream(value);
}

export function isSuppressionReason(value: unknown): value is SuppressionReason {
  return typeof value === 'string' && (SUPPRESSION_REASONS as readonly string[]).includes(value);
}

/** 0 for `manual` up to 4 for `complaint`: evidence from recipients and their servers outranks an operator's note. */
export function reasonRank(reason: SuppressionReason): number {
  return SUPPRESSION_REASONS.indexOf(reason);
}

/** The streams a selector covers; undefined means both. */
export function streamsOf(selector: StreamSelector | undefined): SuppressionStream[] {
  return selector === undefined || selector === 'all' ? [...SUPPRESSION_STREAMS] : [selector];
}

/** One address to suppress, as `add` takes it. */
export interface SuppressionInput {
  address: string;
  /** Default: both streams. */
  stream?: StreamSelector;
  reason: SuppressionReason;
  /** The message whose bounce, complaint or unsubscribe caused it. */
  messageId?: string | null;
  /** The remote reply or other words on why (kept to 1,000 characters). */
  detail?: string | null;
  /** Only for `manual`: the entry stops applying then. */
  expiresAt?: Date | null;
}

/** One stored suppression: an address on one stream. */
export interface SuppressionEntry {
  /** Domain lowercased (A-label), local part as given (core `normalizeAddress`). */
  address: string;
  stream: SuppressionStream;
  reason: SuppressionReason;
  messageId: string | null;
  detail: string | null;
  createdAt: Date;
  expiresAt: Date | null;
}

/** What `check` says about a suppressed recipient. */
export interface SuppressionHit {
  reason: SuppressionReason;
  createdAt: Date;
}

/** Per stream row: new, changed (a stronger reason, or a longer manual expiry), or left as it was. */
export interface AddResult {
  added: number;
  updated: number;
  unchanged: number;
}

export interface SuppressionListOptions {
  stream?: SuppressionStream;
  reason?: SuppressionReason;
  /** Part of the address, case-insensitive. */
  search?: string;
  limit: number;
  cursor?: string | null;
}

export interface SuppressionPage {
  entries: SuppressionEntry[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** The lookup the accept pipeline calls for every message. */
export interface SuppressionCheck {
  /**
   * The given recipients that are suppressed on the stream, keyed by the address exactly as
   * passed in; addresses not in the map may be sent to.
   */
  check(accountId: string, stream: SuppressionStream, addresses: readonly string[]): Promise<Map<string, SuppressionHit>>;
}

/** What one outbox event asks of the suppression list (see `suppressionFromEvent`). */
export type FeedAction =
  | {
      kind: 'suppress';
      accountId: string;
      address: string;
      streams: SuppressionStream[];
      reason: SuppressionReason;
      messageId: string | null;
      detail: string | null;
    }
  | {
      /** A soft bounce or an expiry: counted, and suppressed once the limit is reached in the window. */
      kind: 'soft_bounce';
      accountId: string;
      address: string;
      /** The event's outbox seq: a replayed event is never counted twice. */
      seq: number;
      at: Date;
      messageId: string | null;
      detail: string | null;
    }
  | {
      /** A delivery: the address works, its soft bounces so far no longer count. */
      kind: 'delivered';
      accountId: string;
      address: string;
    };

export interface SoftBouncePolicy {
  /** Soft bounces within the window that suppress; 0 disables. */
  limit: number;
  /** In milliseconds; 0 disables. */
  windowMs: number;
}

/** An entry the feed added or strengthened, for the log. */
export interface FedSuppression {
  accountId: string;
  address: string;
  streams: SuppressionStream[];
  reason: SuppressionReason;
  messageId: string | null;
}
