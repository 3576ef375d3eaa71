import {
  classifyBounce,
  formatReply,
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
import type { SqliteSuppressionStore } from './sqlite-suppression-store.js';
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
 * - `bounced`, classified hard (core `classifyBounce`: the address is bad) → both streams;
 * - `bounced` soft, and `expired` (days of failing) → a soft bounce, counted — unless it is about
 *   the message itself (scope `message`: its size or content) or about the sender's standing
 *   (an x.7.x policy reply): those say nothing about the address;
 * - `complained` → both streams: someone who reports mail as spam wants none of it;
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
      const reason = text(data.reason) ?? '';
      const detail = reply ? formatReply(reply) : text(data.reason);
      if (classifyBounce(reply, scope, reason) === 'hard') {
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
  store: Pick<SqliteSuppressionStore, 'feedCursor' | 'applyFeed' | 'hasSoftBounces' | 'purgeExpired' | 'purgeSoftBounces'>;
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

/** A cursor that only moved over events with nothing to write is saved after this many events … */
const SAVE_EVERY_EVENTS = 50_000;
/** … or this long. Re-reading such events after a crash writes nothing, so this only saves work. */
const SAVE_EVERY_MS = 60_000;
const PURGE_EVERY_MS = 3_600_000;

/**
 * Adds suppressions from the event outbox: hard bounces, complaints and unsubscribes at once,
 * soft bounces once `softBounceLimit` of them fall within `softBounceWindow`. It reads the outbox
 * after a cursor kept in the suppression tables and moves the cursor in the same transaction as
 * the entries it adds, so after a crash or restart it resumes where it was and counts nothing
 * twice. Wake-ups are hints; the periodic scan is the truth. One feeder per database.
 */
export function startSuppressionFeeder(options: SuppressionFeederOptions): SuppressionFeeder {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  const pageSize = options.pageSize ?? 1000;
  const intervalMs = options.intervalMs ?? 30_000;
  const policy: SoftBouncePolicy = { limit: options.config.softBounceLimit, windowMs: options.config.softBounceWindow };
  const counting = policy.limit > 0 && policy.windowMs > 0;

  let running: Promise<number> | null = null;
  let again = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastPurge = 0;
  // Where reading continues, and what the database holds; they differ while only events with
  // nothing to write have been read since the last save.
  let cursor: number | null = null;
  let saved = 0;
  let savedAt = 0;

  const save = (upTo: number, actions: FeedAction[]): boolean => {
    const outcome = store.applyFeed(saved, upTo, actions, policy);
    if (!outcome.applied) {
      // The cursor moved under us: start again from what the database says.
      log.warn({ expected: saved }, 'the suppression feed cursor was moved by someone else; reading on from there');
      cursor = null;
      return false;
    }
    for (const s of outcome.suppressed) {
      log.info({ messageId: s.messageId ?? undefined, account: s.accountId, recipient: s.address, streams: s.streams, reason: s.reason }, 'address suppressed');
    }
    saved = upTo;
    savedAt = clock.now().getTime();
    return true;
  };

  const drain = async (): Promise<number> => {
    let read = 0;
    while (!stopped) {
      if (cursor === null) {
        cursor = saved = store.feedCursor();
        savedAt = clock.now().getTime();
      }
      const events = await options.readEvents(cursor, pageSize);
      if (events.length === 0) break;
      const actions: FeedAction[] = [];
      const softInPage = new Set<string>();
      for (const event of events) {
        if (event.seq === undefined) throw new Error('an outbox event without a seq: the feed cannot keep its place');
        const action = suppressionFromEvent(event);
        if (!action) continue;
        if (action.kind === 'suppress') actions.push(action);
        else if (!counting) continue;
        else if (action.kind === 'soft_bounce') {
          actions.push(action);
          softInPage.add(`${action.accountId}\n${action.address}`);
        } else if (softInPage.has(`${action.accountId}\n${action.address}`) || store.hasSoftBounces(action.accountId, action.address)) {
          // Most deliveries are to addresses that never soft-bounced: those need no write at all.
          actions.push(action);
        }
      }
      const last = events[events.length - 1].seq!;
      read += events.length;
      if (actions.length > 0 || last - saved >= SAVE_EVERY_EVENTS || clock.now().getTime() - savedAt >= SAVE_EVERY_MS) {
        if (!save(last, actions)) continue;
      }
      cursor = last;
      if (events.length < pageSize) break;
    }
    purge();
    return read;
  };

  const purge = () => {
    const now = clock.now().getTime();
    if (now - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = now;
    const expired = store.purgeExpired(new Date(now));
    if (counting) store.purgeSoftBounces(new Date(now - policy.windowMs));
    if (expired > 0) log.info({ entries: expired }, 'removed expired manual suppressions');
  };

  const runOnce = (): Promise<number> => {
    if (running) {
      // The run in progress may have read the outbox before the caller's events: go round again.
      again = true;
      return running;
    }
    running = (async () => {
      let read = 0;
      try {
        do {
          again = false;
          read += await drain();
        } while (again && !stopped);
      } finally {
        running = null;
      }
      return read;
    })();
    return running;
  };

  const wake = () => {
    if (stopped) return;
    runOnce().catch((err: unknown) => log.error({ err }, 'reading the outbox for suppressions failed; trying again at the next wake-up'));
  };

  const schedule = () => {
    if (stopped || intervalMs <= 0) return;
    timer = setTimeout(() => {
      wake();
      schedule();
    }, intervalMs);
    timer.unref();
  };

  // Catch up at once with what was committed while Herald was down.
  wake();
  schedule();

  return {
    wake,
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
      // Keep the place reached over events that needed no write, so a restart does not re-read them.
      if (cursor !== null && cursor > saved) {
        try {
          save(cursor, []);
        } catch (err) {
          log.warn({ err }, 'could not save how far the suppression feed read; it will re-read those events');
        }
      }
    },
  };
}
