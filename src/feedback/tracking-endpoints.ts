import { normalizeAddress, silentLogger, systemClock, verifyTrackingToken, type Clock, type Logger, type MailEvent, type TrackingTarget } from '../core/index.js';
import type { MessageDetail, QueueStore } from '../queue/index.js';
import { judgeHit, type MachineVerdict } from './machine-hits.js';

/**
 * What Herald's public tracking URLs do (`/t/o/<token>`, `/t/c/<token>`, `/t/u/<token>`), as
 * plain responses the HTTP edge sends as they are:
 * - open: always the 1×1 GIF (a broken image would spoil the mail's look), recording `opened`
 *   only for a valid token;
 * - click: a 302 to the link the token signs (http/https only), recording `clicked`; a token
 *   that does not verify is a 404 and redirects nowhere, so the endpoint is no open redirect;
 * - unsubscribe: GET shows a page with a button (scanners follow links, so a GET never
 *   unsubscribes); POST — the button, or a mail client's RFC 8058 one-click
 *   `List-Unsubscribe=One-Click` — records `unsubscribed`, which the suppression feeder turns
 *   into a broadcast suppression.
 * Machine hits (see machine-hits.ts) are recorded with `machine: true` and the reason.
 */

export interface TrackingHit {
  method: string;
  ip: string;
  userAgent: string;
}

export interface TrackingResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

export interface TrackingEndpointsOptions {
  store: Pick<QueueStore, 'recordEvent' | 'get'>;
  /** The installation's tracking secret (`installationSecret(db, 'tracking')`). */
  secret: Buffer;
  clock?: Clock;
  logger?: Logger;
}

/** The smallest transparent GIF: 1×1, 43 bytes. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

const NO_STORE = { 'cache-control': 'no-store, private', 'x-robots-tag': 'noindex, nofollow' };
const HTML = { ...NO_STORE, 'content-type': 'text/html; charset=utf-8', 'referrer-policy': 'no-referrer' };
/** Longest user agent kept in an event. */
const USER_AGENT_MAX = 512;

export class TrackingEndpoints {
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly options: TrackingEndpointsOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
  }

  async open(token: string, hit: TrackingHit): Promise<TrackingResponse> {
    const target = this.verify(token, 'open');
    if (target) await this.record('opened', target, hit, {});
    return { status: 200, headers: { ...NO_STORE, 'content-type': 'image/gif' }, body: PIXEL_GIF };
  }

  async click(token: string, hit: TrackingHit): Promise<TrackingResponse> {
    const target = this.verify(token, 'click');
    const location = target?.url ? redirectTarget(target.url) : null;
    if (!target || !location) return notFound('This link is not valid. If you copied it from an email, check that it is complete.');
    await this.record('clicked', target, hit, { url: target.url });
    return { status: 302, headers: { ...NO_STORE, location, 'referrer-policy': 'no-referrer', 'content-type': 'text/plain; charset=utf-8' }, body: `Redirecting to ${location}\n` };
  }

  /** GET: a page that asks; never unsubscribes by itself. */
  unsubscribePage(token: string): TrackingResponse {
    const target = this.verify(token, 'unsubscribe');
    if (!target?.recipient) return notFound('This unsubscribe link is not valid. If you copied it from an email, check that it is complete.');
    return page(
      'Unsubscribe',
      `<p>Stop receiving these emails at <strong>${escapeHtml(target.recipient)}</strong>?</p>` +
        '<form method="post"><input type="hidden" name="unsubscribe" value="confirm"><button type="submit">Unsubscribe</button></form>',
    );
  }

  /** POST: the page's button, or a mail client's one-click request (RFC 8058 §3.2). */
  async unsubscribe(token: string, hit: TrackingHit, body: string): Promise<TrackingResponse> {
    const target = this.verify(token, 'unsubscribe');
    if (!target?.recipient) return notFound('This unsubscribe link is not valid. If you copied it from an email, check that it is complete.');
    const method = isOneClick(body) ? 'one-click' : 'page';
    const event: MailEvent = {
      type: 'unsubscribed',
      messageId: target.messageId,
      accountId: target.accountId,
      recipient: target.recipient,
      at: this.clock.now(),
      // Only broadcast mail carries Herald's unsubscribe link.
      data: { method, stream: 'broadcast', ip: hit.ip, userAgent: hit.userAgent.slice(0, USER_AGENT_MAX) },
    };
    // The answer says "done" only once the event is durable: the feeder will suppress from it.
    await this.options.store.recordEvent(event);
    this.log.info({ messageId: target.messageId, method }, 'recipient unsubscribed');
    return page('Unsubscribed', `<p><strong>${escapeHtml(target.recipient)}</strong> will no longer receive these emails.</p>`);
  }

  private verify(token: string, kind: TrackingTarget['kind']): TrackingTarget | null {
    const target = verifyTrackingToken(this.options.secret, token);
    return target && target.kind === kind ? target : null;
  }

  /** Records the hit, flagged when it looks like a machine; a failure to record never breaks the answer. */
  private async record(type: 'opened' | 'clicked', target: TrackingTarget, hit: TrackingHit, extra: Record<string, unknown>): Promise<void> {
    const at = this.clock.now();
    const facts = { kind: type === 'opened' ? ('open' as const) : ('click' as const), method: hit.method, ip: hit.ip, userAgent: hit.userAgent, at };
    let verdict: MachineVerdict = judgeHit(facts);
    if (!verdict.machine) verdict = judgeHit({ ...facts, deliveredAt: await this.deliveredAt(target, at) });
    try {
      await this.options.store.recordEvent({
        type,
        messageId: target.messageId,
        accountId: target.accountId,
        recipient: target.recipient,
        at,
        data: { ...extra, userAgent: hit.userAgent.slice(0, USER_AGENT_MAX), ip: hit.ip, ...verdict },
      });
    } catch (err) {
      this.log.error({ err, messageId: target.messageId, type }, 'could not record a tracking hit');
    }
  }

  /**
   * When the message reached the recipient's server: the token's recipient's delivery, or — for
   * a message to several — the latest delivery before the hit. Undefined when not known.
   */
  private async deliveredAt(target: TrackingTarget, at: Date): Promise<Date | undefined> {
    let message: MessageDetail | null;
    try {
      message = await this.options.store.get(target.messageId);
    } catch (err) {
      this.log.warn({ err, messageId: target.messageId }, 'could not read the message for a tracking hit');
      return undefined;
    }
    if (!message) return undefined;
    const wanted = target.recipient === undefined ? null : normalizeAddress(target.recipient);
    let latest: Date | undefined;
    for (const r of message.recipients) {
      if (wanted !== null && normalizeAddress(r.address) !== wanted) continue;
      for (const attempt of r.history) {
        if (attempt.state !== 'delivered' || attempt.at.getTime() > at.getTime()) continue;
        if (!latest || attempt.at > latest) latest = attempt.at;
      }
    }
    return latest;
  }
}

/** The link as a Location header value, or null when it is not http(s). */
function redirectTarget(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** RFC 8058 §3.2: the POST body holds `List-Unsubscribe=One-Click` (urlencoded or as a form-data field). */
function isOneClick(body: string): boolean {
  if (/(^|&)List-Unsubscribe=One-Click(&|$)/i.test(body.trim())) return true;
  return /name="?List-Unsubscribe"?\s*\r?\n\r?\n\s*One-Click/i.test(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, content: string, status = 200): TrackingResponse {
  return {
    status,
    headers: HTML,
    body:
      `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${title}</title></head>\n<body style="font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em;line-height:1.5">` +
      `<h1 style="font-size:1.4em">${title}</h1>${content}</body></html>\n`,
  };
}

function notFound(text: string): TrackingResponse {
  return page('Link not valid', `<p>${escapeHtml(text)}</p>`, 404);
}
