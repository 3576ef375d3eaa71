import { classifyBounceEvent, isComplaint, type EventType, type MailEvent } from '../core/index.js';
import type { Counter } from './types.js';

/** The outbox events that count in statistics: a commit carrying one is worth waking the feeder for. */
export const COUNTED_EVENT_TYPES: readonly EventType[] = [
  'accepted',
  'delivered',
  'deferred',
  'bounced',
  'expired',
  'complained',
  'opened',
  'clicked',
  'unsubscribed',
  'suppressed',
];


/**
 * Facts counted once per message and recipient, as the seen table stores them: o opened,
 * oh opened by a person, om opened by a machine, c clicked, x complained, u unsubscribed.
 */
export type SeenKind = 'o' | 'oh' | 'om' | 'c' | 'x' | 'u';

/**
 * True the first time (message, recipient, kind) is seen. The store decides it inside the
 * transaction that counts the event, so a replayed event finds its own earlier sighting.
 * `rollupEvent` asks an event the same questions whatever the answers, so the store gathers a
 * page's questions first and answers them together.
 */
export type FirstTime = (messageId: string, recipient: string, kind: SeenKind) => boolean;

/** What one event adds: `counters` go up by `weight` in the account's, stream's and tags' rows, and by each domain's share in its domain's row. */
export interface Contribution {
  counters: Counter[];
  weight: number;
  /** [domain, recipients]; empty when the recipient (and so its domain) is unknown. */
  domains: [string, number][];
}

/** The routing domain of a recipient as the queue stores it (domain already normalised). */
export function recipientDomain(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

const one = (counters: Counter[], recipient: string | undefined): Contribution => {
  const domain = recipient ? recipientDomain(recipient) : '';
  return { counters, weight: 1, domains: domain ? [[domain, 1]] : [] };
};

/**
 * What an outbox event adds to the roll-ups, or null for nothing. Pure but for `firstTime`.
 * - accepted: every recipient is sent (by domain: each domain's recipients);
 * - bounced: hard or soft by core `classifyBounceEvent`, the rule suppression and webhooks use;
 * - opened / clicked: every one counts in the totals; the unique counts once per message and
 *   recipient — an event without a recipient (a message with several has one tracking token
 *   for all) once per message. `data.machine` marks machine opens and clicks (privacy proxies,
 *   link scanners);
 * - complained / unsubscribed: once per message and recipient, however many reports come
 *   (feedback reports that are no complaint — not-spam, auth-failure — not at all).
 */
export function rollupEvent(event: MailEvent, firstTime: FirstTime): Contribution | null {
  const data = event.data ?? {};
  const recipient = event.recipient ?? '';
  switch (event.type) {
    case 'accepted': {
      const recipients = Array.isArray(data.recipients) ? (data.recipients as unknown[]).filter((r): r is string => typeof r === 'string') : [];
      if (recipients.length === 0) return null;
      const domains = new Map<string, number>();
      for (const r of recipients) {
        const d = recipientDomain(r);
        if (d) domains.set(d, (domains.get(d) ?? 0) + 1);
      }
      return { counters: ['sent'], weight: recipients.length, domains: [...domains] };
    }
    case 'delivered':
      return one(['delivered'], recipient);
    case 'deferred':
      return one(['deferred'], recipient);
    case 'expired':
      return one(['expired'], recipient);
    case 'suppressed':
      return one(['suppressed'], recipient);
    case 'bounced':
      return one([classifyBounceEvent(data) === 'hard' ? 'bounced_hard' : 'bounced_soft'], recipient);
    case 'opened': {
      const machine = data.machine === true;
      const counters: Counter[] = ['opened_total'];
      if (firstTime(event.messageId, recipient, 'o')) counters.push('opened_unique');
      if (firstTime(event.messageId, recipient, machine ? 'om' : 'oh')) counters.push(machine ? 'opened_unique_machine' : 'opened_unique_human');
      return one(counters, recipient);
    }
    case 'clicked': {
      const counters: Counter[] = ['clicked_total'];
      if (data.machine === true) counters.push('clicked_machine');
      if (firstTime(event.messageId, recipient, 'c')) counters.push('clicked_unique');
      return one(counters, recipient);
    }
    case 'complained':
      if (!isComplaint(event)) return null;
      return firstTime(event.messageId, recipient, 'x') ? one(['complained'], recipient) : null;
    case 'unsubscribed':
      return firstTime(event.messageId, recipient, 'u') ? one(['unsubscribed'], recipient) : null;
    default:
      return null;
  }
}
