/**
 * feedback — what comes back after delivery: bounces that arrive later at a message's
 * per-recipient return path (read from their RFC 3464 report) become a 'bounced' state and event
 * on exactly that recipient. (ARF complaints and tracking hits join here later.)
 *
 * Invariants: only addresses signed with this installation's secret are ours; the MX listener
 * answers 250 only after the bounce is recorded durably; a repeated report changes nothing.
 */
export { ReturnPathBounces, type ReturnPathBouncesOptions } from './return-path-bounces.js';
export { readDeliveryReport, type DeliveryReport, type RecipientStatus } from './delivery-status.js';
export { checkAuthentication, type AuthenticationSummary } from './authentication.js';
