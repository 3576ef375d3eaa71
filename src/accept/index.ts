/**
 * accept — the single clean-up pipeline every outgoing message passes, whichever edge it came
 * through: render template → compose → validate the envelope → line endings → line length →
 * labels → suppress → sender check → track (open pixel, click links, List-Unsubscribe) → trace
 * and missing headers → DKIM-sign → enqueue, as one literal list of steps in pipeline.ts.
 *
 * Invariants: `accept` resolves only once the store has made the message durable, so the edge
 * may answer 250/202; every refusal is an SmtpRejection with a documented reply, and anything
 * else (a store failure, our own bug) becomes 451 4.3.0 with the cause logged, never sent; no
 * bare CR or LF is ever stored (rejected, or rewritten to CRLF with bareLineEndings=normalize);
 * tracking changes only text parts' links and adds a pixel, before signing — a message whose MIME
 * structure it cannot follow goes out untracked, never refused.
 */
export type { Submission, SmtpClientInfo, ListenerKind, Accepted, AcceptPipeline, MessageContent, AttachmentInput, TemplateRef, MessageStream, SenderDomains, SigningIdentity, TrackingDefaults } from './types.js';
export { parseLinkTracking, trackingBaseUrl, LINK_TRACKING, type LinkTracking, type TrackingRequest } from './tracking.js';
export { createAcceptPipeline, type AcceptPipelineOptions } from './pipeline.js';
export { dkimSign, SIGNED_HEADERS } from './dkim-sign.js';
