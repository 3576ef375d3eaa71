import {
  isMessageId,
  normalizeAddress,
  normalizeDomain,
  parseReturnPath,
  silentLogger,
  splitAddress,
  systemClock,
  type Clock,
  type InboundMailbox,
  type InboundMessage,
  type InboundOutcome,
  type Logger,
  type MailEvent,
  type MessageId,
} from '../core/index.js';
import type { MessageDetail, QueueStore } from '../queue/index.js';
import { readFeedbackReport, type FeedbackReport } from './arf.js';

/** The local parts mailbox providers' feedback-loop programmes are usually pointed at. */
export const FEEDBACK_LOCAL_PARTS = ['fbl', 'abuse', 'postmaster'] as const;

export interface ArfComplaintMailboxOptions {
  store: Pick<QueueStore, 'get' | 'recordEvent' | 'eventsOf'>;
  /** The installation's return-path signing secret (see core/return-path.ts). */
  secret: Buffer;
  /** The account whose sending domain uses this bounce domain, or null when it is none. */
  bounceDomainOwner(domain: string): Promise<{ accountId: string } | null>;
  clock?: Clock;
  logger?: Logger;
}

/** Which message and recipient a report is about, as far as it says. */
type Target = { messageId: MessageId; recipientId: number } | { messageId: MessageId; addresses: string[]; accountId: string };

/**
 * Complaints (ARF reports, RFC 5965) from mailbox providers' feedback loops, sent to `fbl@`,
 * `abuse@` or `postmaster@` a bounce domain — or to a message's per-recipient return path, which
 * ReturnPathBounces hands over here. Each report about a message of ours becomes one
 * `complained` event on its recipient; the suppression feeder suppresses abuse-type complaints
 * on both streams. A report about nothing of ours is logged and accepted all the same: feedback
 * loops must never be bounced, or the provider stops sending them. Other mail to these
 * addresses (people writing to postmaster@) is accepted and kept as an inbound record.
 */
export class ArfComplaintMailbox implements InboundMailbox {
  private readonly clock: Clock;
  private readonly log: Logger;
  // Reports about one recipient are recorded one at a time, so two copies arriving together
  // cannot both pass the duplicate check.
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly options: ArfComplaintMailboxOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
  }

  async lookup(address: string): Promise<'ours' | 'unknown-user' | 'not-ours'> {
    const parts = splitAddress(address);
    if (!parts || !(await this.options.bounceDomainOwner(normalizeDomain(parts.domain)))) return 'not-ours';
    // Local parts are case-insensitive here: providers' forms often upper-case them.
    return (FEEDBACK_LOCAL_PARTS as readonly string[]).includes(parts.local.toLowerCase()) ? 'ours' : 'not-ours';
  }

  async receive(message: InboundMessage): Promise<InboundOutcome | void> {
    // The account whose bounce domain the mail came to: its inbound record belongs to it.
    const owner = await this.ownerOf(message.recipients);
    const report = await readFeedbackReport(message.body);
    if (!report) {
      this.log.info({ ip: message.clientIp, recipients: message.recipients, inboundId: message.inboundId }, 'mail to a feedback address that is not a feedback report: kept as an inbound record');
      return { kind: 'other', accountId: owner?.accountId };
    }
    const target = await this.targetOf(report, owner);
    if (!target) {
      this.log.info(
        { ip: message.clientIp, feedbackType: report.feedbackType, userAgent: report.userAgent, inboundId: message.inboundId },
        'feedback report about no message of ours: accepted, nothing recorded',
      );
      return { kind: 'arf', accountId: owner?.accountId };
    }
    return this.record(report, target, message);
  }

  /**
   * A report that came to a per-recipient return path: the address already names the message
   * and recipient (and its signature proves they are ours).
   */
  async receiveAtReturnPath(report: FeedbackReport, target: { messageId: MessageId; recipientId: number }, message: InboundMessage): Promise<InboundOutcome> {
    return this.record(report, target, message);
  }

  /**
   * The message a report sent to a feedback address is about: the returned copy's Return-Path
   * when it is one of our signed return paths (it names the recipient exactly), else its
   * Message-ID when Herald made it (`<message id@hostname>`) and the message belongs to the
   * account whose bounce domain the report came to — a Message-ID is no secret, so it is only
   * believed for that account's own feedback address.
   */
  private async targetOf(report: FeedbackReport, owner: { accountId: string } | null): Promise<Target | null> {
    const original = report.original;
    for (const candidate of [original?.returnPath, report.originalMailFrom]) {
      const parts = candidate ? splitAddress(candidate) : null;
      const named = parts && (await this.options.bounceDomainOwner(parts.domain)) ? parseReturnPath(this.options.secret, parts.local) : null;
      if (named) return named;
    }
    const local = original?.messageId ? /^<([^@<>]+)@[^<>]+>$/.exec(original.messageId)?.[1].toLowerCase() : undefined;
    if (!local || !isMessageId(local) || !owner) return null;
    const addresses = [...report.originalRcptTo, ...(original?.to ?? [])];
    return { messageId: local, addresses, accountId: owner.accountId };
  }

  private async ownerOf(recipients: string[]): Promise<{ accountId: string } | null> {
    for (const address of recipients) {
      const parts = splitAddress(address);
      const owner = parts ? await this.options.bounceDomainOwner(parts.domain) : null;
      if (owner) return owner;
    }
    return null;
  }

  private async record(report: FeedbackReport, target: Target, message: InboundMessage): Promise<InboundOutcome> {
    const found = await this.options.store.get(target.messageId);
    const detail = found && (!('accountId' in target) || found.accountId === target.accountId) ? found : null;
    const facts = { messageId: target.messageId, feedbackType: report.feedbackType, ip: message.clientIp, inboundId: message.inboundId };
    if (!detail) {
      this.log.info(facts, 'feedback report about a message this account does not have (any more): accepted, nothing recorded');
      return { kind: 'arf', accountId: 'accountId' in target ? target.accountId : undefined };
    }
    const recipient = recipientOf(detail, target);
    if (!recipient) {
      this.log.info(facts, 'feedback report names no recipient of the message: accepted, nothing recorded');
      return { kind: 'arf', messageId: detail.id, accountId: detail.accountId };
    }
    const key = `${detail.id}\n${recipient.toLowerCase()}\n${report.feedbackType}`;
    const previous = this.inFlight.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.recordOnce(report, detail, recipient, message));
    this.inFlight.set(key, run);
    try {
      await run;
    } finally {
      if (this.inFlight.get(key) === run) this.inFlight.delete(key);
    }
    return { kind: 'arf', messageId: detail.id, accountId: detail.accountId, recipient };
  }

  private async recordOnce(report: FeedbackReport, detail: MessageDetail, recipient: string, message: InboundMessage): Promise<void> {
    // Providers resend a report when our 250 got lost, and some send one per copy: the same
    // complaint type about the same recipient of the same message is recorded once.
    const earlier = await this.options.store.eventsOf(detail.id, 100_000);
    if (earlier.some((e) => e.type === 'complained' && e.recipient === recipient && e.data.feedbackType === report.feedbackType)) {
      this.log.info({ messageId: detail.id, recipient, feedbackType: report.feedbackType }, 'repeated feedback report: already recorded');
      return;
    }
    const event: MailEvent = {
      type: 'complained',
      messageId: detail.id,
      accountId: detail.accountId,
      recipient,
      at: this.clock.now(),
      data: compact({
        feedbackType: report.feedbackType,
        userAgent: report.userAgent,
        reportingMta: report.reportingMta,
        sourceIp: report.sourceIp,
        arrivalDate: report.arrivalDate,
        stream: detail.meta.stream ?? 'transactional',
        authentication: message.authentication,
        inbound_id: message.inboundId,
      }),
    };
    await this.options.store.recordEvent(event);
    this.log.info({ messageId: detail.id, recipient, feedbackType: report.feedbackType, userAgent: report.userAgent, inboundId: message.inboundId }, 'complaint recorded');
  }
}

/** The recipient's address as the queue stores it, or undefined when the report names none of them. */
function recipientOf(detail: MessageDetail, target: Target): string | undefined {
  if ('recipientId' in target) return detail.recipients.find((r) => r.id === target.recipientId)?.address;
  const wanted = new Set(target.addresses.map((a) => normalizeAddress(a).toLowerCase()));
  const match = detail.recipients.find((r) => wanted.has(r.address.toLowerCase()));
  if (match) return match.address;
  // Providers often redact the recipient (Microsoft's JMRP does); a message to one recipient
  // still names it.
  return detail.recipients.length === 1 ? detail.recipients[0].address : undefined;
}

function compact(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined && v !== null && v !== ''));
}
