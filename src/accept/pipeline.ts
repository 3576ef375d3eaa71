import {
  isValidEnvelopeAddress,
  newMessageId,
  normalizeAddress,
  Replies,
  SmtpRejection,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
  type MessageId,
} from '../core/index.js';
import type { HeraldConfig } from '../config/index.js';
import type { MessageMeta, NewMessage, QueueStore } from '../queue/index.js';
import { findHeaderBlock, formatReceived, formatRfc5322Date, readHeaderFields } from './headers.js';
import { normalizeLineEndings, scanLines, type LineScan } from './line-endings.js';
import type { Accepted, AcceptPipeline, Submission } from './types.js';

export interface AcceptPipelineOptions {
  store: QueueStore;
  config: HeraldConfig;
  clock?: Clock;
  /** The room's logger (the composition root binds `room: 'accept'`). */
  logger?: Logger;
}

/** What the steps pass along: the submission and the message being made from it. */
interface Work {
  readonly submission: Submission;
  readonly now: Date;
  readonly id: MessageId;
  recipients: string[];
  body: Buffer;
  scan?: LineScan;
  meta: MessageMeta;
  message?: NewMessage;
}

type Step = (work: Work) => void | Promise<void>;

const SUBJECT_MAX = 200;

/**
 * The one clean-up pipeline every outgoing message passes, SMTP and API alike. The steps run
 * in the order of the literal list in `createAcceptPipeline`; a step rejects by throwing an
 * SmtpRejection. The pipeline resolves only after the store made the message durable.
 */
export function createAcceptPipeline(options: AcceptPipelineOptions): AcceptPipeline {
  const { store, config } = options;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;

  const validateEnvelope: Step = (work) => {
    const { submission } = work;
    // '' is the null reverse-path <> (RFC 5321 §4.5.5).
    if (submission.mailFrom !== '' && !isValidEnvelopeAddress(submission.mailFrom)) throw Replies.badSender();
    if (submission.recipients.length === 0) throw Replies.noRecipients();
    const seen = new Set<string>();
    for (const rcpt of submission.recipients) {
      if (!isValidEnvelopeAddress(rcpt)) throw Replies.badRecipient();
      seen.add(normalizeAddress(rcpt));
    }
    work.recipients = [...seen];
    if (submission.body.length > config.maxMessageSize) throw Replies.tooBig(config.maxMessageSize);
  };

  const lineEndings: Step = (work) => {
    const scan = scanLines(work.body);
    if (scan.bareCr + scan.bareLf > 0 && config.bareLineEndings === 'reject') throw Replies.bareLineEnding();
    // Normalising also ends an unterminated last line with CRLF (RFC 5322 §2.1: lines end in CRLF).
    work.body = normalizeLineEndings(work.body, scan);
    work.scan = scan;
  };

  const lineLength: Step = (work) => {
    // RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets with its CRLF (configurable upwards).
    if (work.submission.lineTooLong || work.scan!.longestLine > config.maxLineLength) throw Replies.lineTooLong();
  };

  const headers: Step = (work) => {
    const { submission, id, now } = work;
    const block = findHeaderBlock(work.body);
    const fields = readHeaderFields(work.body, block, ['message-id', 'date', 'subject']);
    const smtp = submission.smtp;
    const added: string[] = [
      // RFC 5321 §4.4: a relay prepends its trace field; RFC 3848 names the protocol.
      formatReceived({
        helo: smtp ? (smtp.helo ?? '') : undefined,
        ip: smtp?.ip,
        hostname: config.hostname,
        protocol: smtp ? `ESMTP${smtp.tls ? 'S' : ''}${smtp.authUser ? 'A' : ''}` : 'HTTP',
        id,
        tls: smtp?.tls,
        date: now,
      }),
    ];
    let messageIdHeader = fields.get('message-id');
    if (!messageIdHeader) {
      // RFC 5322 §3.6.4: a message should have a Message-ID; §3.6 requires Date. The submission
      // server adds what the client left out (RFC 6409 §8.2, §8.3).
      messageIdHeader = `<${id}@${config.hostname}>`;
      added.push(`Message-ID: ${messageIdHeader}\r\n`);
    }
    if (!fields.has('date')) added.push(`Date: ${formatRfc5322Date(now)}\r\n`);
    if (!block.hasHeaders && work.body.length > 0) added.push('\r\n');
    work.body = Buffer.concat([Buffer.from(added.join(''), 'utf8'), work.body]);
    work.meta.messageIdHeader = messageIdHeader;
    const subject = fields.get('subject');
    if (subject !== undefined) work.meta.subject = truncate(subject, SUBJECT_MAX);
  };

  const buildMessage: Step = (work) => {
    const { submission, now } = work;
    if (submission.smtp) {
      work.meta.clientIp = submission.smtp.ip;
      if (submission.smtp.helo) work.meta.helo = submission.smtp.helo;
      if (submission.smtp.credentialId) work.meta.credential = submission.smtp.credentialId;
    }
    work.message = {
      id: work.id,
      accountId: submission.accountId,
      source: submission.source,
      mailFrom: submission.mailFrom === '' ? '' : normalizeAddress(submission.mailFrom),
      recipients: work.recipients,
      body: work.body,
      createdAt: now,
      expiresAt: new Date(now.getTime() + config.maxQueueAge),
      meta: work.meta,
    };
  };

  const enqueue: Step = async (work) => {
    try {
      await store.enqueue(work.message!);
    } catch (err) {
      log.error({ messageId: work.id, err }, 'queue store failed to enqueue the message');
      throw Replies.storeFailed();
    }
  };

  // The order is the policy. Later steps (suppress, template, track, DKIM-sign) go in this list.
  const steps: readonly Step[] = [validateEnvelope, lineEndings, lineLength, headers, buildMessage, enqueue];

  return {
    async accept(submission: Submission): Promise<Accepted> {
      const now = clock.now();
      const work: Work = { submission, now, id: newMessageId(now.getTime()), recipients: [], body: submission.body, meta: {} };
      try {
        for (const step of steps) await step(work);
      } catch (err) {
        if (!(err instanceof SmtpRejection)) {
          log.error({ messageId: work.id, err }, 'accept pipeline failed');
          throw Replies.storeFailed();
        }
        log.info({ messageId: work.id, reply: err.message, source: submission.source }, 'message rejected');
        throw err;
      }
      log.info(
        { messageId: work.id, source: submission.source, accountId: submission.accountId, size: work.body.length, recipients: work.recipients.length },
        'message accepted',
      );
      return { id: work.id, recipients: work.recipients };
    },
  };
}

/** At most `max` characters, never splitting a surrogate pair. */
function truncate(text: string, max: number): string {
  return text.length <= max ? text : Array.from(text.slice(0, max + 1)).slice(0, max).join('');
}
