import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import type { Submission } from '../accept/index.js';
import { scopeAllows } from '../accounts/index.js';
import { ApiError, ApiErrors, batchBodyLimit } from './errors.js';
import { BATCH_MAX, submissionFromMessage, type MessageBody } from './message-request.js';
import { sendAll, tryBuild, type SendOutcome } from './sending.js';
import type { ApiDeps, ApiPrincipal } from './types.js';

/**
 * A drop-in for applications written against Postmark's sending API: the same paths, request
 * bodies, `X-Postmark-Server-Token` header (a Herald API key with the send scope) and response
 * shapes, so switching is a change of base URL. Messages go through the same pipeline as
 * /api/v1, TrackOpens and TrackLinks included (docs/tracking.md). Postmark's inline CSS and
 * server features have no equivalent here yet.
 */

interface PostmarkMessage {
  From?: string;
  To?: string;
  Cc?: string;
  Bcc?: string;
  Subject?: string;
  Tag?: string;
  HtmlBody?: string;
  TextBody?: string;
  ReplyTo?: string;
  Headers?: { Name?: string; Value?: string }[];
  Attachments?: { Name?: string; Content?: string; ContentType?: string; ContentID?: string }[];
  Metadata?: Record<string, string>;
  MessageStream?: string;
  TemplateId?: number | string;
  TemplateAlias?: string;
  TemplateModel?: Record<string, unknown>;
  TrackOpens?: boolean;
  TrackLinks?: string;
}

/** Postmark's TrackLinks values, as the sending API spells them. */
const TRACK_LINKS: Record<string, string> = { None: 'none', HtmlAndText: 'html_and_text', HtmlOnly: 'html_only', TextOnly: 'text_only' };

// Postmark's documented error codes that Herald's refusals correspond to.
const CODES = { badToken: 10, invalidRequest: 300, invalidJson: 402, rateLimited: 429, templateNotFound: 1101 } as const;

class PostmarkError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function fromApiError(err: ApiError): PostmarkError {
  if (err.status === 429) return new PostmarkError(429, CODES.rateLimited, err.message, err.headers);
  if (err.status === 401 || err.status === 403) return new PostmarkError(401, CODES.badToken, err.message);
  if (err.status >= 500) return new PostmarkError(err.status, 0, err.message, err.headers);
  const code = err.field?.startsWith('template') && /no template/i.test(err.message) ? CODES.templateNotFound : CODES.invalidRequest;
  return new PostmarkError(422, code, err.field ? `${err.message} (${postmarkField(err.field)})` : err.message);
}

/** Herald's field names in errors, spelled as the Postmark request spells them. */
function postmarkField(field: string): string {
  const map: Record<string, string> = {
    from: 'From', to: 'To', cc: 'Cc', bcc: 'Bcc', reply_to: 'ReplyTo', subject: 'Subject', text: 'TextBody', html: 'HtmlBody',
    headers: 'Headers', attachments: 'Attachments', tags: 'Tag', metadata: 'Metadata', stream: 'MessageStream', template: 'TemplateId',
    track_opens: 'TrackOpens', track_links: 'TrackLinks',
  };
  const head = /^[a-z_]+/.exec(field)?.[0] ?? field;
  return (map[head] ?? head) + field.slice(head.length);
}

/** "a@x.example, Bob <b@y.example>" → one entry per mailbox, as the sending API takes them. */
function splitList(value: string | undefined, field: string): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/[\r\n]/.test(value)) throw ApiErrors.invalid(field, `${postmarkField(field)} contains a line break`);
  return addressparser(value, { flatten: true }).map((a) => (a.name ? `${JSON.stringify(a.name)} <${a.address}>` : a.address));
}

function toMessageBody(m: PostmarkMessage, withTemplate: boolean): MessageBody {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw ApiErrors.invalid('', 'each message must be a JSON object');
  if (!m.From) throw ApiErrors.invalid('from', "Invalid 'From' address: it is missing");
  const to = splitList(m.To, 'to');
  if (!to) throw ApiErrors.invalid('to', 'Zero recipients specified');
  const body: MessageBody = {
    from: m.From,
    to,
    cc: splitList(m.Cc, 'cc'),
    bcc: splitList(m.Bcc, 'bcc'),
    reply_to: splitList(m.ReplyTo, 'reply_to'),
    subject: m.Subject,
    html: m.HtmlBody,
    text: m.TextBody,
    tags: m.Tag ? [m.Tag] : undefined,
    metadata: m.Metadata,
    stream: m.MessageStream === 'broadcast' ? 'broadcast' : 'transactional',
  };
  if (m.TrackOpens !== undefined) {
    if (typeof m.TrackOpens !== 'boolean') throw ApiErrors.invalid('track_opens', 'TrackOpens must be true or false');
    body.track_opens = m.TrackOpens;
  }
  if (m.TrackLinks !== undefined) {
    const links = typeof m.TrackLinks === 'string' ? TRACK_LINKS[m.TrackLinks] : undefined;
    if (!links) throw ApiErrors.invalid('track_links', 'TrackLinks must be None, HtmlAndText, HtmlOnly or TextOnly');
    body.track_links = links;
  }
  if (m.Headers?.length) {
    body.headers = {};
    m.Headers.forEach((h, i) => {
      if (typeof h?.Name !== 'string' || typeof h.Value !== 'string') throw ApiErrors.invalid(`headers[${i}]`, 'a header needs a Name and a Value');
      body.headers![h.Name] = h.Value;
    });
  }
  if (m.Attachments?.length) {
    body.attachments = m.Attachments.map((a, i) => {
      if (typeof a?.Name !== 'string' || typeof a.Content !== 'string') throw ApiErrors.invalid(`attachments[${i}]`, 'an attachment needs a Name and a Content (base64)');
      return {
        filename: a.Name,
        content: a.Content,
        content_type: a.ContentType,
        // Postmark writes inline ids as "cid:logo.png"; the part's Content-ID is the bare id.
        content_id: a.ContentID?.replace(/^cid:/i, ''),
      };
    });
  }
  if (withTemplate) {
    if (m.TemplateId === undefined && !m.TemplateAlias) throw ApiErrors.invalid('template', 'give a TemplateId or a TemplateAlias');
    body.template = { id: m.TemplateId === undefined ? undefined : String(m.TemplateId), alias: m.TemplateAlias, data: m.TemplateModel ?? {} };
  }
  return body;
}

function principalOf(req: FastifyRequest, deps: ApiDeps): Promise<ApiPrincipal> {
  const token = req.headers['x-postmark-server-token'];
  const key = Array.isArray(token) ? token[0] : token;
  const fail = () => new PostmarkError(401, CODES.badToken, 'No valid server token was supplied in the X-Postmark-Server-Token header.');
  if (!key) return Promise.reject(fail());
  return Promise.resolve(deps.accounts.authenticate(key)).then((p) => {
    if (!p || !scopeAllows(p.scope, 'send')) throw fail();
    return p;
  });
}

function resultOf(outcome: SendOutcome, to: string | undefined, at: Date) {
  if (outcome.ok) return { To: to ?? '', SubmittedAt: at.toISOString(), MessageID: outcome.id, ErrorCode: 0, Message: 'OK' };
  const err = fromApiError(outcome.error);
  return { ErrorCode: err.errorCode, Message: err.message };
}

export function registerPostmarkRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Postmark's clients send `Accept: application/json` and JSON bodies; errors use its shape.
  app.setErrorHandler((err: Error, req: FastifyRequest, reply: FastifyReply) => {
    let pm: PostmarkError;
    if (err instanceof PostmarkError) pm = err;
    else if (err instanceof ApiError) pm = fromApiError(err);
    else if ((err as { statusCode?: number }).statusCode === 400) pm = new PostmarkError(422, CODES.invalidJson, 'The request body is not valid JSON.');
    else if ((err as { statusCode?: number }).statusCode === 413) pm = new PostmarkError(413, CODES.invalidRequest, 'The request body is too large.');
    else {
      deps.logger.error({ err, url: req.url }, 'Postmark-compatible request failed');
      pm = new PostmarkError(500, 0, 'Something went wrong on our side; the request may be retried.');
    }
    void reply.code(pm.status).headers(pm.headers).send({ ErrorCode: pm.errorCode, Message: pm.message });
  });

  const single = (withTemplate: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const principal = await principalOf(req, deps);
    const m = req.body as PostmarkMessage;
    const now = deps.clock.now();
    const submission = submissionFromMessage(principal.accountId, toMessageBody(m, withTemplate), now);
    const [outcome] = await sendAll(deps, principal, [submission]);
    if (!outcome.ok) throw fromApiError(outcome.error);
    return reply.code(200).send(resultOf(outcome, m.To, now));
  };

  const batch = (withTemplate: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const principal = await principalOf(req, deps);
    const list = (withTemplate ? (req.body as { Messages?: unknown })?.Messages : req.body) as PostmarkMessage[] | undefined;
    if (!Array.isArray(list)) throw new PostmarkError(422, CODES.invalidRequest, withTemplate ? 'Send {"Messages": [...]}.' : 'Send a JSON array of messages.');
    if (list.length > BATCH_MAX) throw new PostmarkError(422, 410, `At most ${BATCH_MAX} messages per batch.`);
    const now = deps.clock.now();
    const items: (Submission | ApiError)[] = list.map((m) => tryBuild(() => submissionFromMessage(principal.accountId, toMessageBody(m, withTemplate), now)));
    const outcomes = await sendAll(deps, principal, items);
    return reply.code(200).send(outcomes.map((o, i) => resultOf(o, list[i]?.To, now)));
  };

  const hide = { schema: { hide: true } };
  const batchLimit = { ...hide, bodyLimit: batchBodyLimit(app.initialConfig.bodyLimit) };
  app.post('/email', hide, single(false));
  app.post('/email/withTemplate', hide, single(true));
  app.post('/email/batch', batchLimit, batch(false));
  app.post('/email/batchWithTemplates', batchLimit, batch(true));
}
