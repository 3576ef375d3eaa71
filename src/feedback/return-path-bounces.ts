import PostalMime from 'postal-mime';
import {
  normalizeDomain,
  parseReturnPath,
  silentLogger,
  splitAddress,
  systemClock,
  type Clock,
  type InboundKind,
  type InboundMessage,
  type InboundOutcome,
  type Logger,
  type MessageId,
} from '../core/index.js';
import type { QueueStore } from '../queue/index.js';
import { readDeliveryReport, type RecipientStatus } from './delivery-status.js';
import { readFeedbackReport, type FeedbackReport } from './arf.js';
import type { BounceRuleMatch, BounceRules } from './bounce-rules.js';

export interface ReturnPathBouncesOptions {
  store: Pick<QueueStore, 'recordLateBounce'>;
  /** The installation's return-path signing secret (see core/return-path.ts). */
  secret: Buffer;
  /** True for a bounce domain of some sending domain. */
  isBounceDomain(domain: string): Promise<boolean>;
  /** The bounce rule table that reads bounces without a delivery status report. */
  rules?: BounceRules;
  /** Where a complaint (ARF report) sent to a return path goes; without it, it is read as a bounce. */
  complaints?: {
    receiveAtReturnPath(report: FeedbackReport, target: { messageId: MessageId; recipientId: number }, message: InboundMessage): Promise<InboundOutcome>;
  };
  clock?: Clock;
  logger?: Logger;
}

/**
 * Bounces that come back to a per-recipient return path (`b+<message>.<recipient>.<tag>@<bounce
 * domain>`) after the remote server first accepted the message. The address itself says which
 * message and recipient failed; the report (RFC 3464, when there is one) says why, and a free-text
 * bounce is read with the bounce rule table. A report that only says "delayed" or "delivered",
 * and an auto-reply, change nothing. A complaint (ARF) that comes to a return path — some
 * feedback loops send to the envelope sender — goes to the complaints mailbox.
 */
export class ReturnPathBounces {
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly options: ReturnPathBouncesOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
  }

  /** For RCPT TO on the MX listener: one of our return paths, an unknown one, or not our domain. */
  async lookup(address: string): Promise<'ours' | 'unknown-user' | 'not-ours'> {
    const parts = splitAddress(address);
    if (!parts || !(await this.options.isBounceDomain(normalizeDomain(parts.domain)))) return 'not-ours';
    return parseReturnPath(this.options.secret, parts.local) ? 'ours' : 'unknown-user';
  }

  /** Records the bounce on each addressed recipient; resolves once that is durable. */
  async receive(message: InboundMessage): Promise<InboundOutcome | void> {
    const targets = message.recipients
      .map((address) => splitAddress(address))
      .map((parts) => (parts ? parseReturnPath(this.options.secret, parts.local) : null))
      .filter((t): t is { messageId: MessageId; recipientId: number } => t !== null);
    if (targets.length === 0) return;
    const first = { messageId: targets[0].messageId };
    const facts = { ip: message.clientIp, inboundId: message.inboundId };

    if (this.options.complaints) {
      const complaint = await readFeedbackReport(message.body);
      if (complaint) {
        let outcome: InboundOutcome | undefined;
        for (const target of targets) {
          const result = await this.options.complaints.receiveAtReturnPath(complaint, target, message);
          outcome ??= result;
        }
        return outcome;
      }
    }

    const report = await readDeliveryReport(message.body).catch(() => null);
    let kind: InboundKind;
    let reply: string;
    let rule: BounceRuleMatch | null = null;
    if (report) {
      kind = 'dsn';
      const failed = report.recipients.find((r) => r.action === 'failed' || r.status?.startsWith('5.'));
      if (!failed) {
        this.log.info({ ...facts, actions: report.recipients.map((r) => r.action) }, 'delivery report without a failure: nothing to record');
        return { kind, ...first };
      }
      reply = replyText(failed);
    } else {
      kind = 'free_text_bounce';
      const { subject, text } = await readText(message.body);
      rule = this.options.rules?.match(subject, text) ?? null;
      if (rule?.rule.type === 'ignore') {
        this.log.info({ ...facts, messageId: first.messageId, rule: rule.rule.name }, `mail to a return path that is not a bounce (${rule.rule.description}): nothing to record`);
        return { kind: 'other', ...first };
      }
      reply = rule ? `550 ${rule.rule.status} ${rule.rule.description}` : replyText(undefined);
    }
    let outcome: InboundOutcome = { kind, ...first };
    for (const target of targets) {
      const recorded = await this.options.store.recordLateBounce({
        ...target,
        at: this.clock.now(),
        reply,
        host: report?.reportingMta,
        details: {
          ...(message.authentication && { authentication: message.authentication }),
          ...(message.inboundId && { inbound_id: message.inboundId }),
          ...(rule && { rule: { name: rule.rule.name, class: rule.rule.class, matched: rule.excerpt } }),
        },
      });
      if (recorded && !outcome.recipient) outcome = { kind, messageId: target.messageId, accountId: recorded.accountId, recipient: recorded.address };
      this.log.info({ ...facts, messageId: target.messageId, recipient: recorded?.address, recorded: !!recorded, rule: rule?.rule.name }, 'late bounce received');
    }
    return outcome;
  }
}

/** The remote reply as the queue shows it: the diagnostic when given, else the status code. */
function replyText(status: RecipientStatus | undefined): string {
  if (!status) return '550 5.0.0 The recipient\'s server sent a bounce without a delivery status report';
  if (status.diagnostic) return status.diagnostic;
  return `550 ${status.status ?? '5.0.0'} The recipient's server reported the delivery failed`;
}

/** A free-text bounce's subject and words (its HTML as text when it has no text part). */
async function readText(body: Buffer): Promise<{ subject: string; text: string }> {
  try {
    const parsed = await PostalMime.parse(body, { rfc822Attachments: true });
    const text = parsed.text ?? (parsed.html ? parsed.html.replace(/<(br|p|div|tr|li)\b[^>]*>/gi, '\n').replace(/<[^>]*>/g, ' ') : '');
    return { subject: parsed.subject ?? '', text };
  } catch {
    return { subject: '', text: body.toString('latin1') };
  }
}
