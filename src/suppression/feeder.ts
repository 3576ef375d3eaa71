import {
  classifyBounceEvent,
  formatReply,
  isComplaint,
  normalizeAddress,
  parseReply,
  silentLogger,
  systemClock,
  type Clock,
  type FailureScope,
  type Logger,
  type MailEvent,
  type SmtpReply,
} from '../core/index.js';
import { followOutbox } from '../storage/index.js';
import type { SqlSuppressionStore } from './sql-suppression-store.js';
import { isSuppressionStream, SUPPRESSION_STREAMS, type FeedAction, type SoftBouncePolicy } from './types.js';

/**
 * The event types that can add to the suppression list: a commit carrying one of them is worth
 * waking the feeder for. (`delivered` is read too — it resets soft-bounce counts — but it never
 * adds an entry, so it need not wake anyone.)
 */
export const SUPPRESSION_EVENT_TYPES = ['bounced', 'expired', 'complained', 'unsubscribed'] as const;

const SCOPES: readonly FailureScope[] = ['connection', 'site', 'message', 'recipient'];

/** The reply in a bounce event: `{ code, enhanced, text }` from an attempt, a string from a late bounce (DSN). */
function replyOf(value: unknown): SmtpReply | undefined {
  if (typeof value === 'string' && /^\d{3}/.test(value)) return parseReply(value);
  if (value && typeof value === 'object' && typeof (value as SmtpReply).code === 'number') {
    const r = value as SmtpReply;
    return { code: r.code, enhanced: typeof r.enhanced === 'string' ? r.enhanced : undefined, text: typeof r.text === 'string' ? r.text : '' };
  }
  return undefined;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);

/**
 * A x.7.x reply (RFC 3463 §3.8: security or policy — a blocklisted IP, DMARC, greylisting, rate
 * limits for our reputation) is about the sender's standing, not the mailbox: counting it would
 * suppress a whole provider's recipients during one reputation incident.
 */
const aboutTheSender = (reply: SmtpReply | undefined): boolean => reply?.enhanced?.split('.')[1] === '7';

/**
 * What one outbox event means for the suppression list, or null for nothing:
 * - `bounced`, classified hard (core `classifyBounceEvent`: the address is bad) → both streams;
 * - `bounced` soft, and `expired` (days of failing) → a soft bounce, counted — unless it is about
 *   the message itself (scope `message`: its size or content) or about the sender's standing
 *   (an x.7.x policy reply): those say nothing about the address;
 * - `complained` → both streams: someone who reports mail as spam wants none of it (except the
 *   feedback types that are no complaint: not-spam, auth-failure);
 * - `unsubscribed` → the broadcast stream only, also when it came from a transactional message;
 * - `delivered` → the address works: its soft bounces so far no longer count.
 * Pure; the event's recipient is normalised like the store's addresses.
 */
export function suppressionFromEvent(event: MailEvent): FeedAction | null {
  if (!event.recipient || !event.accountId) return null;
  const base = { accountId: event.accountId, address: normalizeAddress(event.recipient) };
  const messageId = event.messageId || null;
  const data = event.data ?? {};
  switch (event.type) {
    case 'bounced': {
      const reply = replyOf(data.reply);
      // A late bounce (a DSN that came back) is about its recipient; it carries no scope.
      const scope = SCOPES.includes(data.scope as FailureScope) ? (data.scope as FailureScope) : 'recipient';
      const detail = reply ? formatReply(reply) : text(data.reason);
      if (classifyBounceEvent(data) === 'hard') {
        return { kind: 'suppress', ...base, streams: [...SUPPRESSION_STREAMS], reason: 'hard_bounce', messageId, detail };
      }
      if (scope === 'message' || aboutTheSender(reply)) return null;
      return { kind: 'soft_bounce', ...base, seq: event.seq ?? 0, at: event.at, messageId, detail };
    }
    case 'expired': {
      const reply = replyOf(data.reply);
      if (aboutTheSender(reply)) return null;
      const detail = reply ? `expired after: ${formatReply(reply)}` : (text(data.reason) ?? 'expired');
      return { kind: 'soft_bounce', ...base, seq: event.seq ?? 0, at: event.at, messageId, detail };
    }
    case 'complained':
      if (!isComplaint(event)) return null;
      return {
        kind: 'suppress',
        ...base,
        streams: [...SUPPRESSION_STREAMS],
        reason: 'complaint',
        messageId,
        detail: text(data.detail) ?? text(data.feedbackType) ?? text(data.reason),
      };
    case 'unsubscribed': {
      // Broadcast only, whichever stream the message was on: transactional mail is what the
      // recipient's own actions trigger (receipts, password resets), and unsubscribe rules
      // (RFC 8058, CAN-SPAM, the mailbox providers' bulk-sender rules) are about bulk mail.
      const from = isSuppressionStream(data.stream) && data.stream !== 'broadcast' ? ` (from a ${data.stream} message)` : '';
      const how = text(data.detail) ?? text(data.method) ?? text(data.reason);
      return { kind: 'suppress', ...base, streams: ['broadcast'], reason: 'unsubscribe', messageId, detail: how || from ? `${how ?? 'unsubscribed'}${from}` : null };
    }
    case 'delivered':
      return { kind: 'delivered', ...base };
    default:
      return null;
  }
}

export interface SuppressionFeederOptions {
  store: Pick<SqlSuppressionStore, 'feedCursor' | 'applyFeed' | 'hasSoftBounces' | 'purgeExpired' | 'purgeSoftBounces'>;
  /** The queue's outbox: events with seq > afterSeq, in seq order, at most `limit`. */
  readEvents(afterSeq: number, limit: number): Promise<MailEvent[]>;
  config: { softBounceLimit: number; softBounceWindow: number };
  clock?: Clock;
  logger?: Logger;
  /** The periodic scan that catches whatever a missed wake-up would lose; default 30 s; 0: none. */
  intervalMs?: number;
  /** Events read per page; default 1,000. */
  pageSize?: number;
}

export interface SuppressionFeeder {
  /** A hint that events were committed (the queue's onCommit): reads the outbox soon. */
  wake(): void;
  /**
   * Reads the outbox up to its end and applies it; resolves with how many events were read once
   * every event committed before the call is taken into account.
   */
  runOnce(): Promise<number>;
  /** Stops the timer, waits for a run in progress and saves how far it read. */
  stop(): Promise<void>;
}

const PURGE_EVERY_MS = 3_600_000;

/**
 * Adds suppressions from the event outbox: hard bounces, complaints and unsubscribes at once,
 * soft bounces once `softBounceLimit` of them fall within `softBounceWindow`. It reads the outbox
 * after a cursor kept in the suppression tables and moves the cursor in the same transaction as
 * the entries it adds (storage `followOutbox`), so after a crash or restart it resumes where it
 * was and counts nothing twice. Wake-ups are hints; the periodic scan is the truth. One feeder per
 * database.
 */
export function startSuppressionFeeder(options: SuppressionFeederOptions): SuppressionFeeder {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  const policy: SoftBouncePolicy = { limit: options.config.softBounceLimit, windowMs: options.config.softBounceWindow };
  const counting = policy.limit > 0 && policy.windowMs > 0;
  let lastPurge = 0;

  const purge = async () => {
    const now = clock.now().getTime();
    if (now - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = now;
    const expired = await store.purgeExpired(new Date(now));
    if (counting) await store.purgeSoftBounces(new Date(now - policy.windowMs));
    if (expired > 0) log.info({ entries: expired }, 'removed expired manual suppressions');
  };

  return followOutbox<FeedAction[]>({
    name: 'suppression feed',
    readEvents: options.readEvents,
    loadCursor: () => store.feedCursor(),
    async prepare(events) {
      // Deliveries are kept only for addresses with soft bounces being counted (earlier in the
      // page, or stored): most never soft-bounced, and those need no write at all.
      const candidates: { action: FeedAction; key: string; stored: boolean }[] = [];
      const softInPage = new Set<string>();
      const toLookUp = new Map<string, { accountId: string; address: string }>();
      for (const event of events) {
        const action = suppressionFromEvent(event);
        if (!action) continue;
        const key = `${action.accountId}\n${action.address}`;
        if (action.kind === 'suppress') candidates.push({ action, key, stored: false });
        else if (!counting) continue;
        else if (action.kind === 'soft_bounce') {
          candidates.push({ action, key, stored: false });
          softInPage.add(key);
        } else if (softInPage.has(key)) {
          candidates.push({ action, key, stored: false });
        } else {
          candidates.push({ action, key, stored: true });
          toLookUp.set(key, action);
        }
      }
      // The stored counts are looked up once per address, all at once.
      const lookups = [...toLookUp];
      const found = await Promise.all(lookups.map(([, a]) => store.hasSoftBounces(a.accountId, a.address)));
      const softBouncing = new Set(lookups.filter((_, i) => found[i]).map(([key]) => key));
      const actions = candidates.filter((c) => !c.stored || softBouncing.has(c.key)).map((c) => c.action);
      return actions.length > 0 ? actions : null;
    },
    async commit(from, to, actions) {
      const outcome = await store.applyFeed(from, to, actions ?? [], policy);
      if (!outcome.applied) return false;
      for (const s of outcome.suppressed) {
        log.info({ messageId: s.messageId ?? undefined, account: s.accountId, recipient: s.address, streams: s.streams, reason: s.reason }, 'address suppressed');
      }
      return true;
    },
    afterDrain: purge,
    clock,
    logger: log,
    intervalMs: options.intervalMs ?? 30_000,
    pageSize: options.pageSize ?? 1000,
  });
}
