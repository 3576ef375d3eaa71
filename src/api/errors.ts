import { SmtpRejection } from '../core/index.js';

/** The one error shape of the API: `{ "error": { "code", "message", "field"? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string; line?: number; column?: number };
}

/** An API refusal: status, a stable machine code, a plain-words message and the field it is about. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
    readonly extra: { line?: number; column?: number } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    if (this.extra.line !== undefined) error.line = this.extra.line;
    if (this.extra.column !== undefined) error.column = this.extra.column;
    return { error };
  }
}

export const ApiErrors = {
  unauthorized: () => new ApiError(401, 'unauthorized', 'send an API key: Authorization: Bearer <key>', undefined, { 'WWW-Authenticate': 'Bearer' }),
  badKey: () => new ApiError(401, 'unauthorized', 'the API key is not valid or has been revoked', undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }),
  forbidden: (scope: string, needed: string) => new ApiError(403, 'forbidden', `this API key has the "${scope}" scope; this call needs "${needed}"`),
  notFound: (what: string) => new ApiError(404, 'not_found', `${what} was not found`),
  conflict: (message: string, field?: string) => new ApiError(409, 'conflict', message, field),
  invalid: (field: string, message: string) => new ApiError(422, 'invalid', message, field),
  badRequest: (message: string, field?: string) => new ApiError(400, 'bad_request', message, field),
  rateLimited: (retryAfterSeconds: number, window: string) =>
    new ApiError(429, 'rate_limited', `the account's sending limit per ${window} is reached; retry after ${retryAfterSeconds} s`, undefined, {
      'Retry-After': String(retryAfterSeconds),
    }),
};

/**
 * How the accept pipeline's refusals read over HTTP: the SMTP reply's class and enhanced code
 * decide the status (a temporary failure is 503 with Retry-After, a size limit 413, any other
 * refusal of the content 422), and the reply text becomes the message.
 */
export function fromRejection(err: SmtpRejection): ApiError {
  const { code, enhanced, text } = err.reply;
  const extra = err as SmtpRejection & { line?: number; column?: number };
  const where = { line: extra.line, column: extra.column };
  if (code >= 400 && code < 500) return new ApiError(503, 'unavailable', text, err.field, { 'Retry-After': '30' });
  if (enhanced === '5.3.4') return new ApiError(413, 'too_large', text, err.field, {}, where);
  return new ApiError(422, 'invalid', text, err.field ?? fieldOfEnvelopeReply(enhanced), {}, where);
}

/** The envelope replies of SMTP name no JSON field; these are the fields they are about. */
function fieldOfEnvelopeReply(enhanced: string | undefined): string | undefined {
  if (enhanced === '5.1.7') return 'from';
  if (enhanced === '5.1.3' || enhanced === '5.5.1') return 'to';
  return undefined;
}

/** "/attachments/0/filename" (a JSON pointer from schema validation) → "attachments[0].filename". */
export function fieldFromPointer(pointer: string, property?: string): string | undefined {
  const parts = pointer.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (property) parts.push(property);
  let field = '';
  for (const part of parts) field += /^\d+$/.test(part) ? `[${part}]` : field ? `.${part}` : part;
  return field || undefined;
}

/** The `response` entries of a route's error statuses for OpenAPI: each is the shared Error schema. */
export function errorResponses(...statuses: number[]): Record<number, { $ref: 'Error#' }> {
  return Object.fromEntries(statuses.map((status) => [status, { $ref: 'Error#' as const }]));
}

/** Requests carrying many messages (batches) may be larger than a single message's limit. */
export function batchBodyLimit(singleLimit: number | undefined): number {
  return Math.max(50 * 1024 * 1024, singleLimit ?? 0);
}
