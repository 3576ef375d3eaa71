import { normalizeDomain, parseReturnPath, silentLogger, splitAddress, systemClock, type Clock, type InboundMessage, type Logger, type Resolver } from '../core/index.js';
import { checkAuthentication } from './authentication.js';
import type { QueueStore } from '../queue/index.js';
import { readDeliveryReport, type RecipientStatus } from './delivery-status.js';

export interface ReturnPathBouncesOptions {
  store: Pick<QueueStore, 'recordLateBounce'>;
  /** The installation's return-path signing secret (see core/return-path.ts). */
  secret: Buffer;
  /** True for a bounce domain of some sending domain. */
  isBounceDomain(domain: string): boolean;
  /** With a resolver, each report's SPF, DKIM, DMARC and ARC verdicts go into its event. */
  authentication?: { resolver: Resolver; hostname: string };
  clock?: Clock;
  logger?: Logger;
}

/**
 * Bounces that come back to a per-recipient return path (`b+<message>.<recipient>.<tag>@<bounce
 * domain>`) after the remote server first accepted the message. The address itself says which
 * message and recipient failed; the report (RFC 3464, when there is one) says why. A report
 * that only says "delayed" or "delivered" changes nothing.
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
    if (!parts || !this.options.isBounceDomain(normalizeDomain(parts.domain))) return 'not-ours';
    return parseReturnPath(this.options.secret, parts.local) ? 'ours' : 'unknown-user';
  }

  /** Records the bounce on each addressed recipient; resolves once that is durable. */
  async receive(message: InboundMessage): Promise<void> {
    const report = await readDeliveryReport(message.body).catch(() => null);
    const failed = report ? report.recipients.find((r) => r.action === 'failed' || r.status?.startsWith('5.')) : undefined;
    if (report && !failed) {
      this.log.info({ ip: message.clientIp, actions: report.recipients.map((r) => r.action) }, 'delivery report without a failure: nothing to record');
      return;
    }
    const auth = this.options.authentication;
    const verdicts = auth
      ? await checkAuthentication(message.body, { ip: message.clientIp, helo: message.helo, mailFrom: message.mailFrom, ...auth }).then(
          ({ header: _header, ...summary }) => summary,
          (err: unknown) => {
            this.log.warn({ err, ip: message.clientIp }, 'could not check the report’s authentication');
            return undefined;
          },
        )
      : undefined;
    for (const address of message.recipients) {
      const parts = splitAddress(address);
      const target = parts && parseReturnPath(this.options.secret, parts.local);
      if (!target) continue;
      const recorded = await this.options.store.recordLateBounce({
        ...target,
        at: this.clock.now(),
        reply: replyText(failed),
        host: report?.reportingMta,
        details: verdicts ? { authentication: verdicts } : undefined,
      });
      this.log.info({ messageId: target.messageId, recipient: recorded?.address, ip: message.clientIp, recorded: !!recorded }, 'late bounce received');
    }
  }
}

/** The remote reply as the queue shows it: the diagnostic when given, else the status code. */
function replyText(status: RecipientStatus | undefined): string {
  if (!status) return '550 5.0.0 The recipient\'s server sent a bounce without a delivery status report';
  if (status.diagnostic) return status.diagnostic;
  return `550 ${status.status ?? '5.0.0'} The recipient's server reported the delivery failed`;
}
