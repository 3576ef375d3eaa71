import type { MailEvent, MessageId, RecipientOutcome } from '../core/index.js';

export type MessageSource = 'smtp' | 'api' | 'dsn';

/** A message ready to be queued: final bytes (CRLF line endings, headers added) and its envelope. */
export interface NewMessage {
  id: MessageId;
  accountId: string;
  source: MessageSource;
  /** Envelope sender; '' is the null sender <> (DSNs), which never receives a DSN itself. */
  mailFrom: string;
  /** Envelope recipients, domains normalised, duplicates removed. */
  recipients: string[];
  body: Buffer;
  createdAt: Date;
  /** When delivery gives up (createdAt + max queue age). */
  expiresAt: Date;
  /** First attempt not before (scheduled sending); defaults to createdAt. */
  notBefore?: Date;
  /** Facts shown in listings and used by DSNs. */
  meta: MessageMeta;
}

export interface MessageMeta {
  clientIp?: string;
  helo?: string;
  credential?: string;
  messageIdHeader?: string;
  subject?: string;
  /** The original message id a DSN reports on. */
  dsnFor?: string;
  /** Labels the sender gave (API `tags`, SMTP `X-Herald-Tags`), for search and statistics. */
  tags?: string[];
  /** The sender's own key/value data (API `metadata`, SMTP `X-Herald-Metadata`), returned in events. */
  metadata?: Record<string, string>;
  /** 'transactional' (default) or 'broadcast'. */
  stream?: 'transactional' | 'broadcast';
  /** The stored template the message was rendered from. */
  template?: { id: string; version: number };
  /** First attempt not before this time (scheduled sending), as ISO text. */
  sendAt?: string;
  /** The bounce domain of the sender's verified domain: delivery uses per-recipient return paths on it. */
  returnPath?: string;
  /**
   * Open and click tracking as decided for the message when either was on; `skipped` says why
   * the message went out untracked after all (a MIME structure Herald could not follow).
   */
  tracking?: { opens: boolean; links: 'none' | 'html_only' | 'text_only' | 'html_and_text'; skipped?: string };
}

/** Every recipient state; the first four are pending (waiting for an attempt), the rest final. */
export const RECIPIENT_STATES = [
  'queued', // accepted, never attempted
  'deferred', // attempted, waiting for the next try
  'delivering', // leased by a worker right now
  'held', // paused by an operator
  'delivered',
  'bounced',
  'expired',
] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

export const PENDING_STATES: readonly RecipientState[] = RECIPIENT_STATES.slice(0, 4);
export type PendingState = 'queued' | 'deferred' | 'delivering' | 'held';

export interface BatchRecipient {
  id: number;
  address: string;
  /** Attempts made before this one. */
  attempts: number;
}

/** Work claimed by one worker: one message's due recipients at one destination domain. */
export interface DeliveryBatch {
  messageId: MessageId;
  accountId: string;
  source: MessageSource;
  domain: string;
  mailFrom: string;
  createdAt: Date;
  expiresAt: Date;
  size: number;
  meta: MessageMeta;
  recipients: BatchRecipient[];
  leaseOwner: string;
  leaseExpiresAt: Date;
}

/** The result of one attempt for one recipient, with the state the retry policy decided. */
export interface RecipientResult {
  recipientId: number;
  outcome: RecipientOutcome;
  /** 'deferred' needs nextAttemptAt; 'expired' is a deferral past the message's expiry. */
  state: 'delivered' | 'deferred' | 'bounced' | 'expired';
  nextAttemptAt?: Date;
}

export interface AttemptRecord {
  batch: DeliveryBatch;
  at: Date;
  results: RecipientResult[];
  /** DSNs to queue in the same transaction (RFC 3464 reports to the sender). */
  dsns?: NewMessage[];
}

export interface LateBounce {
  messageId: MessageId;
  recipientId: number;
  at: Date;
  /** The remote report as text ("550 5.1.1 User unknown"). */
  reply: string;
  /** The host that reported it (the DSN's Reporting-MTA), when known. */
  host?: string;
  /** More facts for the event's data (e.g. the report's authentication verdicts). */
  details?: Record<string, unknown>;
}

export interface ClaimRequest {
  owner: string;
  now: Date;
  /** Maximum number of batches. */
  limit: number;
  leaseMs: number;
  /** Domains not to claim now (e.g. backing off after a site failure). */
  skipDomains?: readonly string[];
}

export interface AttemptView {
  at: Date;
  host?: string;
  state: RecipientResult['state'];
  /** The remote reply as text ("550 5.1.1 User unknown") or our own reason. */
  reply: string;
}

export interface RecipientView {
  id: number;
  address: string;
  state: RecipientState;
  attempts: number;
  nextAttemptAt: Date | null;
  lastReply: string | null;
  history: AttemptView[];
}

/** Queue depth and age per pending state, and the outbox head (see QueueStore.gauges). */
export interface QueueGauges {
  pending: Record<PendingState, { count: number; oldestCreatedAt: Date | null }>;
  lastEventSeq: number;
}

/** The overall status of a message, derived from its recipients. */
export type MessageStatus = 'queued' | 'deferred' | 'delivering' | 'held' | 'delivered' | 'bounced' | 'expired' | 'partial';

export interface MessageSummary {
  id: MessageId;
  accountId: string;
  source: MessageSource;
  mailFrom: string;
  createdAt: Date;
  expiresAt: Date;
  size: number;
  meta: MessageMeta;
  status: MessageStatus;
  recipientCount: number;
  nextAttemptAt: Date | null;
}

export interface MessageDetail extends MessageSummary {
  recipients: RecipientView[];
}

/** The shortest ListRequest.subject: the SQLite search index is made of three-character pieces. */
export const MIN_SUBJECT_SEARCH = 3;

export interface ListRequest {
  /** Only messages with at least one recipient in one of these states. */
  states?: RecipientState[];
  limit: number;
  /** Messages with ids strictly before this one (listing is newest first). */
  before?: MessageId;
  /** Only this account's messages. */
  accountId?: string;
  /** Only messages with this envelope recipient (domain case-insensitive). */
  recipient?: string;
  /** Only messages carrying this tag. */
  tag?: string;
  /**
   * Only messages with this envelope sender (domain case-insensitive, like `recipient`), or
   * `@example.com` for every sender of that domain.
   */
  sender?: string;
  /**
   * Only messages whose subject contains this text, case-insensitively. At least
   * MIN_SUBJECT_SEARCH characters (callers check; the SQLite index finds nothing shorter).
   */
  subject?: string;
  /** Only messages created at or after this time. */
  since?: Date;
  /** Only messages created before this time. */
  until?: Date;
}

/**
 * The durable queue. SqliteQueueStore and PostgresQueueStore pass the same contract suite.
 * Every method that changes state writes its events in the same transaction.
 */
export interface QueueStore {
  /** Resolves only when the messages and their 'accepted' events are durable. */
  enqueue(msg: NewMessage): Promise<void>;
  claimDue(req: ClaimRequest): Promise<DeliveryBatch[]>;
  recordAttempt(rec: AttemptRecord): Promise<void>;
  /**
   * Gives a claimed batch back untried: its recipients still held by this batch's lease are due
   * again at `until`, with no attempt counted, no attempt row and no event. For work held back
   * by a limit of Herald's own (the destination's rate, or its connection slots across a
   * cluster), which is not an attempt and must not move the message along its retry schedule. A stale lease changes nothing. Returns how
   * many recipients.
   */
  postpone(batch: DeliveryBatch, until: Date, now: Date): Promise<number>;
  /**
   * Crash recovery: expired leases go back to due now. Returns how many recipients.
   * `all`: every lease counts as expired — for a process starting up as the only user of its
   * store (the embedded SQLite deployment), where any lease left belongs to a dead process.
   */
  reapExpiredLeases(now: Date, options?: { all?: boolean }): Promise<number>;
  /** Earliest time a pending, unleased, unheld recipient is due; null when none. */
  nextDueAt(): Promise<Date | null>;
  getBody(id: MessageId): Promise<Buffer | null>;
  get(id: MessageId): Promise<MessageDetail | null>;
  /**
   * The meta of those of `ids` that exist (absent ones are left out; repeated ones count once):
   * one query per thousand ids, without the recipients and attempts `get` reads. For the readers
   * that only want a message's labels (statistics, event payloads), a page of events at a time.
   */
  metaOf(ids: readonly MessageId[]): Promise<Map<MessageId, MessageMeta>>;
  list(req: ListRequest): Promise<MessageSummary[]>;
  /** Makes pending recipients due now (one message or all); returns recipients affected. */
  retryNow(id: MessageId | 'all', now: Date): Promise<number>;
  hold(id: MessageId, now: Date): Promise<number>;
  release(id: MessageId, now: Date): Promise<number>;
  /** Removes a message, its body and recipients; records a 'deleted' event. */
  remove(id: MessageId, now: Date): Promise<boolean>;
  /**
   * Retention (HERALD_RETENTION): removes messages created before `olderThan` whose recipients
   * are all final (delivered, bounced, expired) — message, body, recipients, attempts — at most
   * `limit` per call, oldest first. Returns how many messages were removed. A message with a
   * pending recipient is never removed. Events stay: purgeEvents has its own retention.
   */
  purgeFinished(olderThan: Date, limit: number): Promise<number>;
  /**
   * Retention of the outbox (HERALD_EVENT_RETENTION): removes events that happened before
   * `olderThan`, at most `limit` per call, oldest first, in one short transaction. Returns how
   * many were removed. Events of a pending message go too: the timeline is history, the
   * recipient rows hold the state. A reader still behind the removed events (readEvents) goes on
   * from the oldest one kept.
   */
  purgeEvents(olderThan: Date, limit: number): Promise<number>;
  /**
   * A bounce that arrived after the attempt (an asynchronous DSN to the message's return path):
   * the recipient becomes 'bounced' — also when it was 'delivered', which only meant the next hop
   * took it — with the report as its last reply and a 'bounced' event (`data.late: true`).
   * Resolves once durable, with the recipient's address, or null when there is no such
   * recipient or it is already bounced or expired (a repeated report changes nothing).
   */
  recordLateBounce(report: LateBounce): Promise<{ accountId: string; address: string } | null>;
  /** Writes an event that goes with no queue change (e.g. a domain's verification changed) to the outbox; resolves once durable. */
  recordEvent(event: MailEvent): Promise<void>;
  /** Outbox read: events with seq > afterSeq in order. */
  readEvents(afterSeq: number, limit: number): Promise<MailEvent[]>;
  /** One message's events in order (its timeline), at most `limit`. */
  eventsOf(id: MessageId, limit: number): Promise<MailEvent[]>;
  /** Counts of recipients per state (metrics, `herald queue list` footer). */
  countByState(): Promise<Record<RecipientState, number>>;
  /**
   * Graceful stop: this owner's leases go back to due now (as a reap would), so another worker —
   * or this node after its restart — takes the work at once instead of after the lease expires.
   * Returns how many recipients.
   */
  releaseLeases(owner: string, now: Date): Promise<number>;
  /**
   * What /metrics shows of the queue: per pending state, how many recipients and when the oldest
   * of their messages was accepted; and the outbox head (the last event seq; 0 when none).
   * Reads only the pending recipients, so it stays cheap however many finished ones are kept.
   */
  gauges(): Promise<QueueGauges>;
  /**
   * Called after each commit with the events it made durable (seq filled in), before the call
   * that committed resolves. Also called, with no events, when a commit made work due without an
   * event (retryNow, reapExpiredLeases), so a scheduler can use it as its wake-up.
   */
  onCommit(listener: (events: MailEvent[]) => void): void;
  /** Commits what is still waiting for a group commit, then closes. Calling it again is a no-op. */
  close(): Promise<void>;
}
