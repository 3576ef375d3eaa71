import type { BounceClass, DeliveryFailure, FailureScope } from './outcome.js';
import { parseReply, type SmtpReply } from './reply.js';

/**
 * Hard bounces (the address is bad: suppress it) versus soft ones (this message, this moment, or
 * a policy: do not suppress). The enhanced status code decides first (RFC 3463), then the reply
 * text, because many servers send a generic x.0.0 or no enhanced code at all.
 */
export function classifyBounce(reply: SmtpReply | undefined, scope: FailureScope = 'recipient', reason = ''): BounceClass {
  if (!reply || reply.code < 500) return 'soft';
  const byCode = reply.enhanced ? byEnhanced(reply.enhanced, scope) : undefined;
  if (byCode) return byCode;
  const byText = byReplyText(`${reply.text} ${reason}`);
  if (byText) return byText;
  // RFC 5321 §4.2.3: 550 mailbox unavailable, 551 user not local, 553 mailbox name not allowed —
  // about the address when said to RCPT; 552/554 and replies to DATA are about the message.
  if (scope === 'recipient' && (reply.code === 550 || reply.code === 551 || reply.code === 553)) return 'hard';
  return 'soft';
}

export function classifyFailure(failure: DeliveryFailure): BounceClass {
  return classifyBounce(failure.reply, failure.scope, failure.reason);
}

function byEnhanced(enhanced: string, scope: FailureScope): BounceClass | undefined {
  const [cls, subject, detail] = enhanced.split('.').map(Number);
  if (cls !== 5) return 'soft';
  switch (subject) {
    case 1:
      // 5.1.0 other address status is the generic "something about the address"; the text may tell.
      if (detail === 0) return undefined;
      // 5.1.1 bad mailbox, 5.1.2 bad domain, 5.1.3 bad syntax, 5.1.6 moved, 5.1.10 null MX …
      return 'hard';
    case 2:
      // 5.2.1 mailbox disabled (Gmail: "account … is disabled") is permanent; 5.2.2 mailbox full,
      // 5.2.3 message too large and 5.2.4 list expansion problems are not about the address.
      return detail === 1 ? 'hard' : detail === 0 ? undefined : 'soft';
    case 4:
      // 5.4.1 (Microsoft 365 "Recipient address rejected: Access denied") and 5.4.4 (unroutable)
      // mean the address cannot be reached; other routing codes are loops and timeouts.
      return detail === 1 || detail === 4 ? 'hard' : 'soft';
    case 7:
      // 5.7.1 said to RCPT is a per-recipient refusal (not authorised to receive from us, or
      // "relay denied" for an address that is not theirs); to MAIL/DATA it is content policy.
      if (detail === 1 && scope === 'recipient') return undefined;
      return 'soft';
    case 0:
      return undefined;
    default:
      // 5.3.x system, 5.5.x protocol, 5.6.x content: about the message or the moment.
      return 'soft';
  }
}

const HARD_TEXTS = [
  /user(?:name)? (?:is )?unknown/i,
  /unknown (?:user|recipient|mailbox)/i,
  /no such (?:user|mailbox|recipient|address)/i,
  /(?:mailbox|user|address|recipient|account) (?:does not|doesn'?t) exist/i,
  /(?:mailbox|recipient|user) (?:not found|unavailable)/i,
  /invalid (?:recipient|mailbox|address)/i,
  /recipient address rejected/i,
  /account (?:has been )?(?:disabled|closed|deactivated|suspended)/i,
  /not a valid (?:mailbox|recipient|user)/i,
  /no mailbox here/i,
  /address (?:unknown|rejected)/i,
];

const SOFT_TEXTS = [
  /(?:mailbox|inbox|quota) (?:is )?(?:full|exceeded)/i,
  /over (?:the )?quota/i,
  /insufficient (?:system )?storage/i,
  /(?:spam|junk|blocked|blacklist|blocklist|rbl|reputation|policy|dmarc|spf|dkim)/i,
  /try again later/i,
  /message (?:is )?too (?:big|large)/i,
];

function byReplyText(text: string): BounceClass | undefined {
  // Policy and capacity texts win over address texts: "550 Recipient address rejected: blocked
  // by policy" is about us, not about the address.
  if (SOFT_TEXTS.some((re) => re.test(text))) return 'soft';
  if (HARD_TEXTS.some((re) => re.test(text))) return 'hard';
  return undefined;
}

/**
 * The reply an outbox event carries: `{ code, enhanced, text }` from an attempt, or text from a
 * late report ("550 5.1.1 User unknown", "smtp; 550 …"); code 0 when that text has none.
 */
export function replyOfEvent(value: unknown): SmtpReply | undefined {
  if (value && typeof value === 'object') {
    const r = value as { code?: unknown; enhanced?: unknown; text?: unknown };
    if (typeof r.code === 'number') return { code: r.code, enhanced: typeof r.enhanced === 'string' ? r.enhanced : undefined, text: typeof r.text === 'string' ? r.text : '' };
  }
  if (typeof value === 'string' && value.trim()) {
    const text = value.trim().replace(/^smtp;\s*/i, '');
    const parsed = parseReply(text);
    return parsed.code >= 200 && parsed.code < 600 ? parsed : { code: 0, text };
  }
  return undefined;
}

const EVENT_SCOPES: readonly FailureScope[] = ['connection', 'site', 'message', 'recipient'];

/**
 * Hard or soft for a `bounced` event's data — the one rule suppression, statistics and webhooks
 * (`bounce.type`) share. A late report carries no scope (it is about its recipient), and its text
 * may have no code at all: a bounce is permanent, so such a text is read as a 5xx.
 */
export function classifyBounceEvent(data: Record<string, unknown>): BounceClass {
  const reply = replyOfEvent(data.reply);
  const reason = typeof data.reason === 'string' ? data.reason : '';
  const scope = EVENT_SCOPES.includes(data.scope as FailureScope) ? (data.scope as FailureScope) : 'recipient';
  const forClass = reply && reply.code === 0 ? { ...reply, code: 550 } : reply;
  return classifyBounce(forClass ?? { code: 550, text: reason }, scope, reason);
}
