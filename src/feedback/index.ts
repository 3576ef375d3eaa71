/**
 * feedback — what comes back after delivery, through Herald's own inbound addresses on the MX
 * listener (`InboundMailboxes` routes each recipient to the first mailbox that claims it):
 * bounces that arrive later at a message's per-recipient return path (an RFC 3464 report, or a
 * free-text bounce read with the bounce rule table) become a 'bounced' state and event on
 * exactly that recipient; complaints (ARF reports from feedback loops, to fbl@, abuse@ or
 * postmaster@ a bounce domain, or to a return path) become a 'complained' event; unsubscribe
 * mail to `u+<message>.<tag>@<bounce domain>` becomes an 'unsubscribed' event. Herald's public
 * tracking URLs (TrackingEndpoints: open pixel, click redirect, one-click unsubscribe) record
 * 'opened', 'clicked' and 'unsubscribed', flagging machine hits (machine-hits.ts). Every accepted
 * message is kept as an inbound record with its SPF/DKIM/DMARC/ARC verdicts and an
 * Authentication-Results header, for HERALD_RETENTION.
 *
 * Invariants: only addresses and tracking tokens signed with this installation's secrets are ours
 * (a click whose token fails is a 404, never a redirect; an unsubscribe needs a POST); the MX listener
 * answers 250 only after what the message means and its inbound record are recorded durably;
 * a repeated report changes nothing; a feedback report about nothing of ours is accepted, never
 * bounced.
 */
export { InboundMailboxes, type InboundMailboxesOptions } from './inbound-mailboxes.js';
export { ReturnPathBounces, type ReturnPathBouncesOptions } from './return-path-bounces.js';
export { ArfComplaintMailbox, FEEDBACK_LOCAL_PARTS, type ArfComplaintMailboxOptions } from './arf-complaints.js';
export { readFeedbackReport, type FeedbackReport, type ReturnedMessage } from './arf.js';
export { BounceRules, loadBounceRules, parseBounceRules, SHIPPED_BOUNCE_RULES, BOUNCE_RULE_TYPES, type BounceRule, type BounceRuleMatch, type BounceRuleType } from './bounce-rules.js';
export { readDeliveryReport, type DeliveryReport, type RecipientStatus } from './delivery-status.js';
export { TrackingEndpoints, PIXEL_GIF, type TrackingEndpointsOptions, type TrackingHit, type TrackingResponse } from './tracking-endpoints.js';
export { judgeHit, MACHINE_RULES, SOON_AFTER_DELIVERY_MS, type MachineVerdict, type TrackingHitFacts } from './machine-hits.js';
export { UnsubscribeMailbox, type UnsubscribeMailboxOptions } from './unsubscribe-mailbox.js';
export { checkAuthentication, type AuthenticationSummary } from './authentication.js';
export {
  SqlInboundStore,
  startInboundJanitor,
  isInboundKind,
  MAX_INBOUND_LIST_LIMIT,
  type InboundJanitor,
  type InboundListRequest,
  type InboundRecord,
  type NewInboundRecord,
} from './sql-inbound-store.js';
