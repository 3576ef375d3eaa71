import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TrackingEndpoints } from './types.js';

/**
 * Herald's public tracking URLs on the HTTP listener: no API key (recipients' mail clients call
 * them), answered by the feedback room. The token is the rest of the path: click tokens carry
 * the link and can be longer than a route parameter may be.
 *
 *   GET|HEAD /t/o/<token>   the open pixel
 *   GET|HEAD /t/c/<token>   a click: 302 to the original link, or 404
 *   GET|HEAD /t/u/<token>   the unsubscribe page (asks; never unsubscribes)
 *   POST     /t/u/<token>   unsubscribe (the page's button, or RFC 8058 one-click)
 */

/** Largest unsubscribe POST body read: a one-click body is 26 bytes. */
const UNSUBSCRIBE_BODY_LIMIT = 16 * 1024;

function hitOf(req: FastifyRequest) {
  const agent = req.headers['user-agent'];
  return { method: req.method, ip: req.ip, userAgent: (Array.isArray(agent) ? agent[0] : agent) ?? '' };
}

function tokenOf(req: FastifyRequest): string {
  return (req.params as { '*': string })['*'] ?? '';
}

function send(reply: FastifyReply, response: { status: number; headers: Record<string, string>; body: Buffer | string }) {
  return reply.code(response.status).headers(response.headers).send(response.body);
}

export function registerTrackingRoutes(app: FastifyInstance, tracking: TrackingEndpoints): void {
  const hidden = { schema: { hide: true } };
  app.get('/t/o/*', hidden, async (req, reply) => send(reply, await tracking.open(tokenOf(req), hitOf(req))));
  app.get('/t/c/*', hidden, async (req, reply) => send(reply, await tracking.click(tokenOf(req), hitOf(req))));
  app.get('/t/u/*', hidden, async (req, reply) => send(reply, tracking.unsubscribePage(tokenOf(req))));
  // Mail clients post the one-click body as multipart/form-data or urlencoded (RFC 8058 §3.2):
  // within this scope any body is read as text, whatever its type.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: UNSUBSCRIBE_BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.post('/t/u/*', hidden, async (req, reply) => send(reply, await tracking.unsubscribe(tokenOf(req), hitOf(req), typeof req.body === 'string' ? req.body : '')));
  });
}
