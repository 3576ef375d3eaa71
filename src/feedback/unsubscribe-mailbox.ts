import addressparser from 'nodemailer/lib/addressparser/index.js';
import {
  isUnsubscribeLocalPart,
  normalizeAddress,
  normalizeDomain,
  parseUnsubscribeLocalPart,
  silentLogger,
  splitAddress,
  systemClock,
  type Clock,
  type InboundMailbox,
  type InboundMessage,
  type InboundOutcome,
  type Logger,
} from '../core/index.js';
import type { QueueStore } from '../queue/index.js';
import { headerBlock, readFields } from './header-fields.js';

export interface UnsubscribeMailboxOptions {
  store: Pick<QueueStore, 'recordEvent' | 'get'>;
  /** The installation's tracking secret (the same that signs the unsubscribe URLs). */
  secret: Buffer;
  /** True for a bounce domain of some sending domain: the mailto addresses live there. */
  isBounceDomain(domain: string): Promise<boolean>;
  clock?: Clock;
  logger?: Logger;
}

/**
 * The mailto form of List-Unsubscribe (RFC 2369): mail to `u+<message id>.<tag>@<bounce domain>`
 * unsubscribes the message's recipient from the account's broadcast stream (an `unsubscribed`
 * event with `method: 'mailto'`; the suppression feeder does the rest). Herald adds the header
 * only to mail with one recipient, so the address names the person; for a message to several,
 * the sender of the unsubscribe mail (envelope or From) is unsubscribed — only if it was one of
 * the message's recipients.
 */
export class UnsubscribeMailbox implements InboundMailbox {
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly options: UnsubscribeMailboxOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
  }

  /** 'ours' for a signed unsubscribe address; a forged `u+…` on a bounce domain is an unknown user. */
  async lookup(address: string): Promise<'ours' | 'unknown-user' | 'not-ours'> {
    const parts = splitAddress(address);
    if (!parts || !isUnsubscribeLocalPart(parts.local) || !(await this.options.isBounceDomain(normalizeDomain(parts.domain)))) return 'not-ours';
    return parseUnsubscribeLocalPart(this.options.secret, parts.local) ? 'ours' : 'unknown-user';
  }

  async receive(message: InboundMessage): Promise<InboundOutcome | void> {
    let outcome: InboundOutcome | undefined;
    for (const address of message.recipients) {
      const parts = splitAddress(address);
      const messageId = parts && parseUnsubscribeLocalPart(this.options.secret, parts.local);
      if (!messageId) continue;
      const original = await this.options.store.get(messageId);
      if (!original) {
        this.log.info({ messageId, ip: message.clientIp }, 'unsubscribe mail for a message no longer kept; nothing to record');
        continue;
      }
      const recipient = this.recipientOf(original.recipients.map((r) => r.address), message);
      if (!recipient) {
        this.log.info({ messageId, ip: message.clientIp }, 'unsubscribe mail from an address that was not a recipient; nothing to record');
        continue;
      }
      await this.options.store.recordEvent({
        type: 'unsubscribed',
        messageId,
        accountId: original.accountId,
        recipient,
        at: this.clock.now(),
        data: { method: 'mailto', stream: original.meta.stream ?? 'transactional' },
      });
      this.log.info({ messageId, ip: message.clientIp }, 'recipient unsubscribed by mail');
      outcome ??= { kind: 'unsubscribe', messageId, accountId: original.accountId, recipient };
    }
    return outcome;
  }

  /** The one recipient; or, of several, the one who sent this mail (envelope sender, then From). */
  private recipientOf(recipients: string[], message: InboundMessage): string | null {
    if (recipients.length === 1) return recipients[0];
    const byAddress = new Map(recipients.map((r) => [normalizeAddress(r).toLowerCase(), r]));
    const candidates = [message.mailFrom, ...fromAddresses(message.body)].filter(Boolean);
    for (const candidate of candidates) {
      const hit = byAddress.get(normalizeAddress(candidate).toLowerCase());
      if (hit) return hit;
    }
    return null;
  }
}

function fromAddresses(body: Buffer): string[] {
  const from = readFields(headerBlock(body).toString('utf8')).get('from')?.[0];
  return from ? addressparser(from, { flatten: true }).map((a) => a.address ?? '') : [];
}
