/**
 * api — the HTTP edge: the sending API (/api/v1/messages, batch, raw), message search and
 * timelines, templates, the Postmark-compatible endpoints, /healthz and /openapi.json, dashboard
 * sign-in (session cookie with a CSRF token) and the dashboard's built files at `/`. Every
 * send goes through the same accept pipeline as SMTP; management calls go to the rooms' index.ts.
 *
 * Invariants: 202 only after the durable commit; every error is `{ "error": { "code",
 * "message", "field"? } }` (Postmark's own shape on its endpoints); an account only ever sees
 * its own messages and templates (another's is a 404); nothing in a request can make Herald
 * read a local file or fetch a URL.
 */
export { createHttpServer, bodyLimitFor, type HttpServer } from './http-server.js';
export { defaultDashboardDir, DASHBOARD_CSP } from './dashboard-routes.js';
export { SqlIdempotencyStore, startIdempotencyJanitor } from './sql-idempotency-store.js';
export { SqlPreviewStore } from './sql-preview-store.js';
export type { ApiDeps, ApiPrincipal } from './types.js';
