import {
  domainOf,
  invalidContent,
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
import type { TemplateRenderer } from '../templates/index.js';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { composeMessage } from './compose.js';
import { dkimSign } from './dkim-sign.js';
import { decodeEncodedWords, findHeaderBlock, formatReceived, formatRfc5322Date, readHeaderFields, takeHeaderFields } from './headers.js';
import { checkLabels, labelsFromHeaders } from './labels.js';
import { normalizeLineEndings, scanLines, type LineScan } from './line-endings.js';
import { createMessageTracker, trackingBaseUrl, trackingFromHeaders, type TrackingRequest } from './tracking.js';
import type { Accepted, AcceptPipeline, MessageContent, MessageStream, SenderDomains, SigningIdentity, Submission, SuppressionCheck, TrackingDefaults } from './types.js';

export interface AcceptPipelineOptions {
  store: QueueStore;
  config: HeraldConfig;
  clock?: Clock;
  /** The room's logger (the composition root binds `room: 'accept'`). */
  logger?: Logger;
  /** Renders stored templates for API messages that name one. */
  templates?: TemplateRenderer;
  /**
   * Which domains an account may send as, and their DKIM keys. Without it every sender is
   * allowed and nothing is signed (tests of other steps).
   */
  senders?: SenderDomains;
  /** The account's suppression lists; suppressed recipients are left out (and reported). */
  suppressions?: SuppressionCheck;
  /**
   * Open and click tracking and List-Unsubscribe: the installation's tracking secret and the
   * accounts' defaults. Without it messages are neither tracked nor given List-Unsubscribe.
   */
  tracking?: { secret: Buffer; defaults?: TrackingDefaults };
}

/** What the steps pass along: the submission and the message being made from it. */
interface Work {
  readonly submission: Submission;
  readonly now: Date;
  readonly id: MessageId;
  mailFrom: string;
  recipients: string[];
  body: Buffer;
  /** The API's field-by-field message, with its template (if any) rendered into it. */
  content?: MessageContent;
  scan?: LineScan;
  meta: MessageMeta;
  /** The domain of the From header's address (what DMARC checks and DKIM signs for). */
  fromDomain?: string;
  stream: MessageStream;
  /** Tracking the message asked for (API fields, or X-Herald-Track-* of SMTP mail). */
  tracking: TrackingRequest;
  suppressed: { address: string; reason: string }[];
  message?: NewMessage;
}

type Step = (work: Work) => void | Promise<void>;

const SUBJECT_MAX = 200;
/** How many From header values' addresses are kept; more empties the memory. */
const FROM_MEMORY_MAX = 256;
/** How far ahead a message may be scheduled (`send_at`). */
const MAX_SCHEDULE_MS = 30 * 24 * 3600_000;

/**
 * The one clean-up pipeline every outgoing message passes, SMTP and API alike. The steps run
 * in the order of the literal list in `createAcceptPipeline`; a step rejects by throwing an
 * SmtpRejection. The pipeline resolves only after the store made the message durable.
 */
export function createAcceptPipeline(options: AcceptPipelineOptions): AcceptPipeline {
  const { store, config } = options;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  const tracker = options.tracking
    ? createMessageTracker({ secret: options.tracking.secret, baseUrl: trackingBaseUrl(config), defaults: options.tracking.defaults, senders: options.senders, logger: log })
    : undefined;

  // Steps return a promise only when they wait for something: the loop awaits only those.
  const renderTemplate: Step = (work) => {
    if (!work.content?.template) return;
    return render(work, work.content.template);
  };

  const render = async (work: Work, template: NonNullable<MessageContent['template']>): Promise<void> => {
    const content = work.content!;
    if (!options.templates) throw invalidContent('template', 'templates are not available on this server');
    const rendered = await options.templates.render(work.submission.accountId, template);
    // The template's parts win; fields given beside it fill only the parts it does not have.
    work.content = {
      ...content,
      subject: rendered.subject ?? content.subject,
      html: rendered.html ?? content.html,
      text: rendered.text ?? content.text,
    };
    work.meta.template = { id: rendered.templateId, version: rendered.version };
  };

  const compose: Step = async (work) => {
    if (!work.content) return;
    const composed = await composeMessage(work.content, {
      messageId: `${work.id}@${config.hostname}`,
      date: work.now,
      maxMessageSize: config.maxMessageSize,
      maxRecipients: config.maxRecipients,
    });
    work.body = composed.body;
    work.mailFrom = composed.mailFrom;
    work.recipients = composed.recipients;
    work.scan = composed.scan;
  };

  const validateEnvelope: Step = (work) => {
    // '' is the null reverse-path <> (RFC 5321 §4.5.5).
    if (work.mailFrom !== '' && !isValidEnvelopeAddress(work.mailFrom)) throw Replies.badSender();
    if (work.recipients.length === 0) throw Replies.noRecipients();
    const seen = new Set<string>();
    for (const rcpt of work.recipients) {
      if (!isValidEnvelopeAddress(rcpt)) throw Replies.badRecipient();
      seen.add(normalizeAddress(rcpt));
    }
    work.recipients = [...seen];
    if (work.body.length > config.maxMessageSize) throw Replies.tooBig(config.maxMessageSize);
  };

  // Tags, metadata and stream come from the API's fields, or from X-Herald-* header fields of
  // SMTP mail; those fields are Herald's instructions and are removed before anything else.
  const labels: Step = (work) => {
    const { submission } = work;
    const block = findHeaderBlock(work.body);
    const taken = takeHeaderFields(work.body, block, 'X-Herald-');
    work.body = taken.message;
    const fromHeaders = submission.source === 'smtp' ? labelsFromHeaders(taken.fields) : {};
    const checked = checkLabels({
      tags: submission.tags ?? fromHeaders.tags,
      metadata: submission.metadata ?? fromHeaders.metadata,
      stream: submission.stream ?? fromHeaders.stream,
    });
    if (checked.tags.length) work.meta.tags = checked.tags;
    if (Object.keys(checked.metadata).length) work.meta.metadata = checked.metadata;
    if (checked.stream !== 'transactional') work.meta.stream = checked.stream;
    work.stream = checked.stream;
    if (submission.source === 'smtp') work.tracking = trackingFromHeaders(taken.fields);
  };

  // A suppressed address never reaches the queue; the answer and a 'suppressed' event say why.
  const suppress: Step = async (work) => {
    if (!options.suppressions) return;
    const hits = await options.suppressions.check(work.submission.accountId, work.stream, work.recipients);
    if (hits.size === 0) return;
    work.suppressed = work.recipients.filter((r) => hits.has(r)).map((address) => ({ address, reason: hits.get(address)!.reason }));
    work.recipients = work.recipients.filter((r) => !hits.has(r));
    if (work.recipients.length === 0) throw Replies.allSuppressed().about('to');
  };

  const lineEndings: Step = (work) => {
    // A composed message comes with the scan compose made of the same bytes.
    const scan = work.scan ?? scanLines(work.body);
    // Over SMTP a bare CR or LF is how smuggling starts; an API message has no such ambiguity
    // (JSON delimits it), and raw messages written with "\n" are normal there: normalise those.
    const reject = config.bareLineEndings === 'reject' && work.submission.source === 'smtp';
    if (scan.bareCr + scan.bareLf > 0 && reject) throw Replies.bareLineEnding();
    // Normalising also ends an unterminated last line with CRLF (RFC 5322 §2.1: lines end in CRLF).
    work.body = normalizeLineEndings(work.body, scan);
    work.scan = scan;
  };

  const lineLength: Step = (work) => {
    // RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets with its CRLF (configurable upwards).
    if (work.submission.lineTooLong || work.scan!.longestLine > config.maxLineLength) throw Replies.lineTooLong();
  };

  // The addresses of a From header value, as checkSender reads them: kept, since most mail of
  // an installation comes from a handful of From values and parsing one is most of the step.
  const fromMemory = new Map<string, readonly string[]>();
  const addressesOfFrom = (value: string): readonly string[] => {
    let addresses = fromMemory.get(value);
    if (!addresses) {
      addresses = addressparser(decodeEncodedWords(value), { flatten: true }).map((a) => a.address ?? '');
      if (fromMemory.size >= FROM_MEMORY_MAX) fromMemory.clear();
      fromMemory.set(value, addresses);
    }
    return addresses;
  };

  // An account sends only as its verified domains (header From and envelope sender alike), so
  // its mail can be DKIM-signed and DMARC-aligned; development mode relaxes this for testing.
  const checkSender: Step = async (work) => {
    const block = findHeaderBlock(work.body);
    const from = readHeaderFields(work.body, block, ['from']).get('from');
    const addresses = from === undefined ? [] : addressesOfFrom(from);
    work.fromDomain = addresses.length ? domainOf(addresses[0]) : undefined;
    const senders = options.senders;
    const accountId = work.submission.accountId;
    if (!senders || (await senders.developmentMode(accountId))) return;
    const domains = [...addresses.map(domainOf), ...(work.mailFrom ? [domainOf(work.mailFrom)] : [])];
    if (domains.length === 0 || domains.some((d) => !d)) throw Replies.senderDomainNotVerified().about('from');
    for (const domain of new Set(domains)) {
      if (!(await senders.isSenderAllowed(accountId, domain))) throw Replies.senderDomainNotVerified().about('from');
    }
  };

  // Open pixel, click links and List-Unsubscribe, on the composed message: SMTP and API mail
  // alike, after suppression (the recipients left decide whether a link can name one), before
  // the headers and the signature (DKIM covers what tracking changed).
  const track: Step = async (work) => {
    if (!tracker) return;
    const tracked = await tracker({
      accountId: work.submission.accountId,
      messageId: work.id,
      body: work.body,
      recipients: work.recipients,
      stream: work.stream,
      fromDomain: work.fromDomain,
      request: work.tracking,
    });
    work.body = tracked.body;
    if (tracked.meta) work.meta.tracking = tracked.meta;
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
    // The listing shows the subject as a person reads it: decoded from the header, or as the API gave it.
    const header = fields.get('subject');
    const subject = work.content ? work.content.subject : header === undefined ? undefined : decodeEncodedWords(header);
    if (subject !== undefined) work.meta.subject = truncate(subject, SUBJECT_MAX);
  };

  // After every change Herald makes to headers and body: the signature covers what is sent.
  const sign: Step = async (work) => {
    const senders = options.senders;
    if (!senders || !work.fromDomain) return;
    const keys = await senders.signingKeysFor(work.submission.accountId, work.fromDomain);
    if (!keys || keys.length === 0) return;
    return signWith(work, senders, keys);
  };

  const signWith = async (work: Work, senders: SenderDomains, keys: SigningIdentity[]): Promise<void> => {
    const signature = await dkimSign(work.body, keys, { now: work.now });
    work.body = Buffer.concat([Buffer.from(signature, 'utf8'), work.body]);
    work.meta.returnPath = (await senders.returnPathFor(work.submission.accountId, work.fromDomain!)) ?? undefined;
  };

  const buildMessage: Step = (work) => {
    const { submission, now } = work;
    if (submission.smtp) {
      work.meta.clientIp = submission.smtp.ip;
      if (submission.smtp.helo) work.meta.helo = submission.smtp.helo;
      if (submission.smtp.credentialId) work.meta.credential = submission.smtp.credentialId;
    }
    // A scheduled message's queue lifetime starts when it is due; a time in the past means now.
    let notBefore: Date | undefined;
    if (submission.sendAt && submission.sendAt.getTime() > now.getTime()) {
      if (submission.sendAt.getTime() - now.getTime() > MAX_SCHEDULE_MS) {
        throw invalidContent('send_at', 'send_at is more than 30 days ahead; schedule it later, closer to the time');
      }
      notBefore = submission.sendAt;
      work.meta.sendAt = notBefore.toISOString();
    }
    work.message = {
      id: work.id,
      accountId: submission.accountId,
      source: submission.source,
      mailFrom: work.mailFrom === '' ? '' : normalizeAddress(work.mailFrom),
      recipients: work.recipients,
      body: work.body,
      createdAt: now,
      expiresAt: new Date((notBefore ?? now).getTime() + config.maxQueueAge),
      notBefore,
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

  // The order is the policy.
  const steps: readonly Step[] = [renderTemplate, compose, validateEnvelope, lineEndings, lineLength, labels, suppress, checkSender, track, headers, sign, buildMessage, enqueue];

  /** One 'suppressed' event per recipient left out (webhooks: message.suppressed). */
  const recordSuppressed = async (work: Work): Promise<void> => {
    if (work.suppressed.length === 0) return;
    const { accountId } = work.submission;
    await Promise.all(
      work.suppressed.map(({ address, reason }) =>
        store.recordEvent({ type: 'suppressed', messageId: work.id, accountId, recipient: address, at: work.now, data: { reason, stream: work.stream } }),
      ),
    ).catch((err: unknown) => log.error({ messageId: work.id, err }, 'could not record suppressed recipients'));
  };

  return {
    async accept(submission: Submission): Promise<Accepted> {
      const now = clock.now();
      const work: Work = {
        submission,
        now,
        id: newMessageId(now.getTime()),
        mailFrom: submission.mailFrom,
        recipients: submission.recipients,
        body: submission.body,
        content: submission.content,
        meta: {},
        stream: 'transactional',
        tracking: submission.tracking ?? {},
        suppressed: [],
      };
      try {
        for (const step of steps) {
          const waiting = step(work);
          if (waiting) await waiting;
        }
      } catch (err) {
        await recordSuppressed(work);
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
      await recordSuppressed(work);
      return { id: work.id, recipients: work.recipients, suppressed: work.suppressed };
    },
  };
}

/** At most `max` characters, never splitting a surrogate pair. */
function truncate(text: string, max: number): string {
  return text.length <= max ? text : Array.from(text.slice(0, max + 1)).slice(0, max).join('');
}
