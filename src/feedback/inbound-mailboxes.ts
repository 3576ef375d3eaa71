import PostalMime from 'postal-mime';
import {
  newMessageId,
  silentLogger,
  systemClock,
  type Clock,
  type InboundAuthentication,
  type InboundMailbox,
  type InboundMessage,
  type InboundOutcome,
  type Logger,
  type Resolver,
} from '../core/index.js';
import { checkAuthentication } from './authentication.js';
import { headerBlock } from './header-fields.js';
import type { NewInboundRecord } from './sql-inbound-store.js';

export interface InboundMailboxesOptions {
  /** Where every accepted message is kept (SqlInboundStore). */
  records: { add(record: NewInboundRecord): Promise<void> };
  /** With a resolver, each message's SPF, DKIM, DMARC and ARC verdicts are checked once. */
  authentication?: { resolver: Resolver; hostname: string };
  clock?: Clock;
  logger?: Logger;
}

type Verdict = Awaited<ReturnType<InboundMailbox['lookup']>>;

/**
 * Herald's own inbound addresses, as one `InboundMailbox` for the MX listener: an ordered list of
 * mailboxes (return-path bounces, the feedback-loop addresses, unsubscribe mail, …). For an
 * RCPT TO the first mailbox that says 'ours' wins; 'unknown-user' when none does but one knows the
 * domain; else 'not-ours'. A message is checked for SPF, DKIM, DMARC and ARC once, each mailbox
 * gets the recipients it claimed (with the verdicts and the inbound record's id), and the message
 * is kept — with its Authentication-Results fields prepended (RFC 8601) — as an inbound record
 * naming what the mailboxes made of it. Resolves once all of that is durable.
 */
export class InboundMailboxes implements InboundMailbox {
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(
    private readonly mailboxes: readonly InboundMailbox[],
    private readonly options: InboundMailboxesOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
  }

  async lookup(address: string): Promise<Verdict> {
    return (await this.claim(address)).verdict;
  }

  async receive(message: InboundMessage): Promise<void> {
    // The id comes first so the events the mailboxes record can name it; the record itself is
    // written last, with what they made of the message. If a mailbox fails, nothing is kept and
    // the client retries (the mailboxes' own records are idempotent).
    const inboundId = newMessageId(this.clock.now().getTime());
    const checked = await this.authenticate(message);
    const claimed = new Map<InboundMailbox, string[]>();
    for (const address of message.recipients) {
      const { mailbox } = await this.claim(address);
      if (!mailbox) {
        this.log.warn({ recipient: address, ip: message.clientIp }, 'no mailbox claims this recipient any more; ignoring it');
        continue;
      }
      claimed.set(mailbox, [...(claimed.get(mailbox) ?? []), address]);
    }
    const outcomes: InboundOutcome[] = [];
    for (const [mailbox, recipients] of claimed) {
      const outcome = await mailbox.receive({ ...message, recipients, authentication: checked?.verdicts, inboundId });
      if (outcome) outcomes.push(outcome);
    }
    // Several mailboxes at once is rare (one message to two of our addresses); the most telling
    // outcome — one that names a message — describes the record.
    const outcome = outcomes.find((o) => o.messageId) ?? outcomes[0];
    const { subject, from } = await headlines(message.body);
    await this.options.records.add({
      id: inboundId,
      receivedAt: message.receivedAt,
      clientIp: message.clientIp,
      helo: message.helo,
      mailFrom: message.mailFrom,
      recipients: message.recipients,
      kind: outcome?.kind ?? 'other',
      messageId: outcome?.messageId,
      accountId: outcome?.accountId,
      recipient: outcome?.recipient,
      subject,
      from,
      authentication: checked?.verdicts,
      raw: checked ? Buffer.concat([Buffer.from(checked.header), message.body]) : message.body,
    });
    this.log.info({ inboundId, kind: outcome?.kind ?? 'other', messageId: outcome?.messageId, ip: message.clientIp }, 'inbound message kept');
  }

  /** The first mailbox that says 'ours', or the best verdict any gave. */
  private async claim(address: string): Promise<{ verdict: Verdict; mailbox?: InboundMailbox }> {
    let verdict: Verdict = 'not-ours';
    for (const mailbox of this.mailboxes) {
      const answer = await mailbox.lookup(address);
      if (answer === 'ours') return { verdict: answer, mailbox };
      if (answer === 'unknown-user') verdict = answer;
    }
    return { verdict };
  }

  private async authenticate(message: InboundMessage): Promise<{ verdicts: InboundAuthentication; header: string } | undefined> {
    const auth = this.options.authentication;
    if (!auth) return undefined;
    try {
      const { header, ...verdicts } = await checkAuthentication(message.body, { ip: message.clientIp, helo: message.helo, mailFrom: message.mailFrom, ...auth });
      return { verdicts, header };
    } catch (err) {
      // The verdicts are information, not a gate: a DNS failure must not make us refuse a bounce.
      this.log.warn({ err, ip: message.clientIp }, 'could not check the message’s authentication');
      return undefined;
    }
  }
}

/** Subject and From for listings, decoded (RFC 2047); only the header block is parsed. */
async function headlines(body: Buffer): Promise<{ subject?: string; from?: string }> {
  try {
    const parsed = await PostalMime.parse(Buffer.concat([headerBlock(body), Buffer.from('\r\n')]));
    const from = parsed.from ? (parsed.from.name ? `${parsed.from.name} <${parsed.from.address ?? ''}>` : parsed.from.address) : undefined;
    return { subject: parsed.subject || undefined, from: from || undefined };
  } catch {
    return {};
  }
}
