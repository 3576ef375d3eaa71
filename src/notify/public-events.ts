import { BatchLookupCache, classifyBounceEvent, replyOfEvent, type EventType, type MailEvent, type SmtpReply } from '../core/index.js';

/**
 * Herald's events as the outside world sees them, in webhooks and in the pull API alike: public
 * type names (`message.delivered`), snake_case fields, ISO times, the message's labels, and a
 * bounce explained. Like the internal names these are public API: add, never rename.
 */

export const PUBLIC_EVENT_TYPES = [
  'message.accepted',
  'message.delivered',
  'message.deferred',
  'message.bounced',
  'message.expired',
  'message.complained',
  'message.opened',
  'message.clicked',
  'message.unsubscribed',
  'message.suppressed',
  'domain.verification_changed',
  'webhook.disabled',
] as const;
export type PublicEventType = (typeof PUBLIC_EVENT_TYPES)[number];

export function isPublicEventType(value: string): value is PublicEventType {
  return (PUBLIC_EVENT_TYPES as readonly string[]).includes(value);
}

/** Internal outbox names → public ones. held, released and deleted are operator actions on the queue, not sent. */
const PUBLIC_NAME: Partial<Record<EventType | 'webhook.disabled', PublicEventType>> = {
  accepted: 'message.accepted',
  delivered: 'message.delivered',
  deferred: 'message.deferred',
  bounced: 'message.bounced',
  expired: 'message.expired',
  complained: 'message.complained',
  opened: 'message.opened',
  clicked: 'message.clicked',
  unsubscribed: 'message.unsubscribed',
  suppressed: 'message.suppressed',
  'domain.verification_changed': 'domain.verification_changed',
  'webhook.disabled': 'webhook.disabled',
};

export function publicTypeOf(type: string): PublicEventType | null {
  return PUBLIC_NAME[type as EventType] ?? null;
}

/** The body of a webhook request, and one entry of the pull API. */
export interface PublicEvent {
  type: PublicEventType;
  /** When it happened (ISO 8601). */
  timestamp: string;
  data: { event_id: string } & Record<string, unknown>;
}

/**
 * The event id: the same for every delivery of one outbox event (it is the `webhook-id`, which
 * receivers deduplicate on). The installation tag keeps ids unique if the database is ever
 * started afresh and sequence numbers begin again.
 */
export function publicEventId(tag: string, seq: number): string {
  return `evt_${tag}_${seq}`;
}

// ---- bounces --------------------------------------------------------------------------------

export const BOUNCE_CLASSES = ['mailbox_unknown', 'mailbox_full', 'blocked', 'dns_failure', 'policy', 'message_too_large', 'other'] as const;
export type BounceReasonClass = (typeof BOUNCE_CLASSES)[number];

const TOO_LARGE = /(?:message|mail) (?:is )?too (?:big|large)|size (?:limit )?exceed|exceeds? (?:the )?(?:maximum|size)/i;
const FULL = /(?:mailbox|inbox|quota|storage) (?:is )?(?:full|exceeded)|over (?:the )?quota|insufficient (?:system )?storage/i;
const BLOCKED = /spam|blocked|black ?list|block ?list|\brbl\b|reputation|spamhaus|\blisted\b|poor sender/i;
const DNS = /nxdomain|domain .*(?:does not exist|not found)|no (?:mx|such domain)|null mx|accepts no mail|host (?:or domain name )?not found|dns/i;
const UNKNOWN =
  /user(?:name)? (?:is )?unknown|unknown (?:user|recipient|mailbox)|no such (?:user|mailbox|recipient|address)|(?:mailbox|user|address|recipient|account) (?:does not|doesn'?t) exist|(?:mailbox|recipient|user) (?:not found|unavailable)|invalid (?:recipient|mailbox|address)|account (?:has been )?(?:disabled|closed|deactivated)|no mailbox here/i;
const POLICY = /policy|dmarc|\bspf\b|dkim|not authori[sz]ed|authentication|relay(?:ing)? (?:denied|not permitted)|access denied/i;

/**
 * What kind of bounce, for people and dashboards: the enhanced status code first (RFC 3463),
 * then known reply texts, because many servers send a generic x.0.0 or none at all. Whether the
 * address is bad for good (hard) is `classifyBounce`'s decision; this only names the cause.
 */
export function bounceReasonClass(reply: SmtpReply | undefined, reason = ''): BounceReasonClass {
  const text = `${reply?.text ?? ''} ${reason}`;
  const [, subject, detail] = (reply?.enhanced ?? '').split('.').map(Number);
  switch (`${subject}.${detail}`) {
    case '1.1': // bad destination mailbox
    case '1.3': // bad mailbox syntax
    case '1.6': // mailbox moved
    case '2.1': // mailbox disabled
    case '4.1': // Microsoft 365: "Recipient address rejected: Access denied" for an unknown address
      return 'mailbox_unknown';
    case '1.2': // bad destination system
    case '1.10': // null MX (RFC 7505)
    case '4.3': // directory or routing server failure
    case '4.4': // unable to route
      return 'dns_failure';
    case '2.2':
      return 'mailbox_full';
    case '2.3':
    case '3.4':
      return 'message_too_large';
    default:
      break;
  }
  if (subject === 7) return BLOCKED.test(text) ? 'blocked' : 'policy';
  if (TOO_LARGE.test(text)) return 'message_too_large';
  if (FULL.test(text)) return 'mailbox_full';
  if (BLOCKED.test(text)) return 'blocked';
  if (DNS.test(text)) return 'dns_failure';
  if (UNKNOWN.test(text)) return 'mailbox_unknown';
  if (POLICY.test(text)) return 'policy';
  return 'other';
}

/** The reply as recorded: an object from an attempt, or text ("smtp; 550 5.1.1 …") from a late report. */
const replyOf = replyOfEvent;

function replyView(reply: SmtpReply | undefined) {
  if (!reply) return null;
  return { code: reply.code || null, enhanced: reply.enhanced ?? null, text: reply.text };
}

export function bounceView(data: Record<string, unknown>) {
  const reply = replyOf(data.reply);
  const reason = typeof data.reason === 'string' ? data.reason : '';
  // A late report's text may have no code at all; a bounce is permanent, so read it as a 5xx.
  const forClass = reply && reply.code === 0 ? { ...reply, code: 550 } : reply;
  return {
    // Hard or soft by the rule suppression and statistics use too.
    type: classifyBounceEvent(data),
    class: bounceReasonClass(forClass, reason),
    diagnostic: reply?.text || reason,
    ...(data.late === true ? { late: true } : {}),
  };
}

// ---- building public events -----------------------------------------------------------------

/** A message's labels, as its stored meta has them. */
export interface MessageLabels {
  tags?: string[];
  metadata?: Record<string, string>;
  stream?: string;
}

/** Looks messages' labels up, many in one call (the queue's message meta); a message not found is left out. */
export type MessageLabelLookup = (messageIds: readonly string[]) => Promise<ReadonlyMap<string, MessageLabels>>;

const COMMON_FIELDS = ['event_id', 'message_id', 'recipient', 'tags', 'metadata', 'stream'];
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);

function snakeKeys(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [snake(k), v]));
}

/** The type-specific part of `data`. */
function detailsOf(event: MailEvent): Record<string, unknown> {
  const d = event.data;
  switch (event.type) {
    case 'accepted':
      return { from: str(d.mailFrom), recipients: Array.isArray(d.recipients) ? d.recipients : [], size: num(d.size), source: str(d.source) };
    case 'delivered':
      return { host: str(d.host), reply: replyView(replyOf(d.reply)), attempt: num(d.attempt) };
    case 'deferred':
      return {
        host: str(d.host),
        reply: replyView(replyOf(d.reply)),
        reason: str(d.reason),
        attempt: num(d.attempt),
        next_attempt_at: str(d.nextAttemptAt),
      };
    case 'bounced':
      return {
        host: str(d.host),
        reply: replyView(replyOf(d.reply)),
        bounce: bounceView(d),
        attempt: num(d.attempt),
        ...(d.authentication ? { authentication: d.authentication } : {}),
        // A late bounce: the inbound record holding the report (GET /api/v1/inbound/{id}) and the bounce rule that read it.
        ...(typeof d.inbound_id === 'string' ? { inbound_id: d.inbound_id } : {}),
        ...(d.rule && typeof d.rule === 'object' ? { rule: d.rule } : {}),
      };
    case 'expired':
      return { host: str(d.host), reply: replyView(replyOf(d.reply)), reason: str(d.reason), attempt: num(d.attempt) };
    default: {
      // Feedback events (complained, opened, clicked, unsubscribed, suppressed): their details as
      // recorded, never overriding the fields every message event has.
      const details = snakeKeys(d);
      for (const key of COMMON_FIELDS) delete details[key];
      return details;
    }
  }
}

/** The message whose labels an event carries, or null (account-level and unpublished events). */
function labelledMessage(event: MailEvent): string | null {
  const type = publicTypeOf(event.type);
  if (!type || type === 'domain.verification_changed' || type === 'webhook.disabled') return null;
  return event.messageId || null;
}

/**
 * Turns outbox events into public ones. Message labels are looked up once per message and kept
 * (they never change), so many events of one message — and many endpoints — share one lookup;
 * `prefetch` looks up a whole page's in one call.
 */
export class EventPresenter {
  private readonly labels: BatchLookupCache<MessageLabels>;

  constructor(
    private readonly options: { eventTag: string; messageLabels: MessageLabelLookup; cacheSize?: number },
  ) {
    this.labels = new BatchLookupCache({
      lookup: async (ids) => {
        const metas = await options.messageLabels(ids);
        return new Map([...metas].map(([id, meta]) => [id, { tags: meta.tags, metadata: meta.metadata, stream: meta.stream }]));
      },
      size: options.cacheSize ?? 5000,
      // An event is read from the outbox only after its message was committed: absent is gone.
      rememberMissing: true,
    });
  }

  eventId(seq: number): string {
    return publicEventId(this.options.eventTag, seq);
  }

  /**
   * Starts one lookup of the labels of the events' messages not known yet, so that presenting a
   * page of events costs one call, not one per message; present() waits for it. A failed lookup
   * surfaces in present() (and is not remembered).
   */
  prefetch(events: Iterable<MailEvent>): void {
    const ids: string[] = [];
    for (const event of events) {
      const id = labelledMessage(event);
      if (id) ids.push(id);
    }
    this.labels.getMany(ids);
  }

  /** The public event, or null for internal events that are not published. */
  async present(event: MailEvent): Promise<PublicEvent | null> {
    const type = publicTypeOf(event.type);
    if (!type) return null;
    const base = { event_id: this.eventId(event.seq ?? 0) };
    const timestamp = event.at.toISOString();
    if (type === 'domain.verification_changed') {
      return { type, timestamp, data: { ...base, domain: str(event.data.domain), before: str(event.data.before), after: str(event.data.after), changed: event.data.changed ?? [] } };
    }
    if (type === 'webhook.disabled') {
      return { type, timestamp, data: { ...base, ...snakeKeys(event.data) } };
    }
    const id = labelledMessage(event);
    const labels = id ? await this.labels.getMany([id]).get(id) : null;
    return {
      type,
      timestamp,
      data: {
        ...base,
        message_id: event.messageId,
        recipient: event.recipient ?? null,
        tags: labels?.tags ?? [],
        metadata: labels?.metadata ?? {},
        stream: labels?.stream ?? 'transactional',
        ...detailsOf(event),
      },
    };
  }

}
