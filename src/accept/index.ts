/**
 * accept — the single clean-up pipeline every outgoing message passes, whichever edge it came
 * through: validate the envelope → line endings → line length → trace and missing headers →
 * enqueue (later: suppress, render template, track, DKIM-sign), as one literal list of steps
 * in pipeline.ts.
 *
 * Invariants: `accept` resolves only once the store has made the message durable, so the edge
 * may answer 250/202; every refusal is an SmtpRejection with a documented reply, and anything
 * else (a store failure, our own bug) becomes 451 4.3.0 with the cause logged, never sent; no
 * bare CR or LF is ever stored (rejected, or rewritten to CRLF with bareLineEndings=normalize).
 */
export type { Submission, SmtpClientInfo, ListenerKind, Accepted, AcceptPipeline, MessageContent, AttachmentInput, TemplateRef, MessageStream, SenderDomains, SigningIdentity } from './types.js';
export { createAcceptPipeline, type AcceptPipelineOptions } from './pipeline.js';
export { dkimSign, SIGNED_HEADERS } from './dkim-sign.js';
