import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { SmtpRejection } from '../core/index.js';
import { scopeAllows, type ApiKeyScope } from '../accounts/index.js';
import { ApiError, ApiErrors, fieldFromPointer, fromRejection } from './errors.js';
import { batchSchema, messageSchema, rawMessageSchema } from './message-request.js';
import { errorSchema, eventSchema, messageDetailSchema, messageSummarySchema, sendResultSchema } from './views.js';
import { registerMessageRoutes } from './message-routes.js';
import { registerTemplateRoutes, templateSchema } from './template-routes.js';
import { registerPostmarkRoutes } from './postmark-routes.js';
import { registerAccountRoutes } from './account-routes.js';
import { domainSchema, registerDomainRoutes } from './domain-routes.js';
import { registerWebhookRoutes } from './webhook-routes.js';
import { registerEventRoutes } from './event-routes.js';
import { registerSuppressionRoutes } from './suppression-routes.js';
import { registerTrackingRoutes } from './tracking-routes.js';
import { inboundRecordSchema, registerInboundRoutes } from './inbound-routes.js';
import { registerStatsRoutes } from './stats-routes.js';
import { registerSessionRoutes, sessionPrincipal } from './session-routes.js';
import { registerMessageContentRoutes } from './message-content-routes.js';
import { messageActionResultSchema, registerMessageActionRoutes } from './message-action-routes.js';
import { registerEventStreamRoutes } from './event-stream-routes.js';
import { registerCredentialRoutes } from './credential-routes.js';
import { registerDashboardRoutes } from './dashboard-routes.js';
import { registerOperationsRoutes } from './operations-routes.js';
import type { ApiDeps, ApiPrincipal } from './types.js';

export interface HttpServer {
  /** For tests and benchmarks: the Fastify instance (inject requests without a socket). */
  readonly app: FastifyInstance;
  start(port: number, host?: string): Promise<{ address: string; port: number }>;
  /** Graceful stop: new requests get 503 with Retry-After; resolves when those running are answered. */
  drain(): Promise<void>;
  /** Drains for at most `graceMs` (default HERALD_SHUTDOWN_TIMEOUT), then closes every connection. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: ApiPrincipal;
  }
  interface FastifyContextConfig {
    /** The API key scope a route needs; routes without one are public. */
    scope?: ApiKeyScope;
  }
}

/** The base64 of the largest message, plus room for the JSON around it. */
export function bodyLimitFor(maxMessageSize: number): number {
  return Math.ceil(maxMessageSize * 1.37) + 1024 * 1024;
}

export function createHttpServer(deps: ApiDeps): HttpServer {
  const app = Fastify({
    logger: false,
    bodyLimit: bodyLimitFor(deps.config.maxMessageSize),
    // Behind a reverse proxy the client address comes from X-Forwarded-For only when configured.
    trustProxy: false,
    ajv: {
      // Unknown fields and wrong types are errors that name the field, not silently dropped or coerced.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false },
    },
  });
  // Response schemas document the API (OpenAPI); they do not filter what is sent.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  for (const schema of [errorSchema, messageSchema, rawMessageSchema, batchSchema, sendResultSchema, messageSummarySchema, eventSchema, messageDetailSchema, templateSchema, domainSchema, inboundRecordSchema, messageActionResultSchema]) {
    app.addSchema(schema);
  }

  void app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Herald API',
        version: deps.version,
        description: 'Send mail, follow what happened to it, and manage templates. Authenticate with `Authorization: Bearer <API key>`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A Herald API key (herald api-keys create).' } } },
      security: [{ apiKey: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });

  app.decorateRequest('principal', undefined);
  // First: while stopping, new requests are refused before anything else runs.
  const operations = registerOperationsRoutes(app, deps);
  app.addHook('onRequest', async (req) => {
    const needed = req.routeOptions.config?.scope;
    if (!needed) return;
    req.principal = await authenticate(req, deps);
    if (!scopeAllows(req.principal.scope, needed)) throw ApiErrors.forbidden(req.principal.scope, needed);
  });

  app.setErrorHandler((err: FastifyError | ApiError | SmtpRejection, req: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500) deps.logger.error({ err, url: req.url }, 'API request failed');
    void reply.code(apiError.status).headers(apiError.headers).send(apiError.body());
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(new ApiError(404, 'not_found', `no route for ${req.method} ${req.url.split('?')[0]}`).body());
  });

  // Liveness: 200 while the queue store answers. Readiness (/readyz) is in operations-routes.ts.
  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      const queue = await deps.store.countByState();
      return { status: 'ok', version: deps.version, queue };
    } catch (err) {
      deps.logger.error({ err }, 'health check: queue store unavailable');
      return reply.code(503).send({ status: 'unavailable', error: { code: 'store_unavailable', message: 'the queue store is not answering' } });
    }
  });

  // A node without the api role answers only the operations endpoints above.
  if (deps.serveApi !== false) registerApi(app, deps);

  let stopping: Promise<void> | null = null;
  return {
    app,
    async start(port, host) {
      await app.listen({ port, host: host ?? '::' });
      const addr = app.server.address();
      if (!addr || typeof addr === 'string') throw new Error('HTTP listener has no address');
      return { address: addr.address, port: addr.port };
    },
    drain: () => operations.drain(),
    stop(options = {}) {
      // Requests running get their time to be answered; then every connection ends.
      stopping ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const graceMs = options.graceMs ?? deps.config.shutdownTimeout;
        await Promise.race([operations.drain(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
        clearTimeout(timer);
        const closing = app.close();
        app.server.closeAllConnections();
        await closing;
      })();
      return stopping;
    },
  };
}

async function authenticate(req: FastifyRequest, deps: ApiDeps): Promise<ApiPrincipal> {
  const header = req.headers.authorization;
  if (!header) {
    // The dashboard: its session cookie stands in for a key (an Authorization header always wins).
    const session = deps.users ? await sessionPrincipal(req, deps.users) : null;
    if (session) return session;
    throw ApiErrors.unauthorized();
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw ApiErrors.unauthorized();
  const principal = await deps.accounts.authenticate(match[1]);
  if (!principal) throw ApiErrors.badKey();
  return principal;
}

function toApiError(err: FastifyError | ApiError | SmtpRejection): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof SmtpRejection) return fromRejection(err);
  const fe = err as FastifyError;
  if (fe.validation?.length) {
    const v = fe.validation[0];
    const params = v.params as { missingProperty?: string; additionalProperty?: string };
    const field = fieldFromPointer(v.instancePath, params.missingProperty);
    if (params.additionalProperty) {
      const where = fieldFromPointer(v.instancePath);
      return ApiErrors.badRequest(`unknown field "${params.additionalProperty}"${where ? ` in ${where}` : ''}`, fieldFromPointer(v.instancePath, params.additionalProperty));
    }
    const text = params.missingProperty ? `${field} is required` : `${field ?? 'the body'} ${v.message ?? 'is not valid'}`;
    return ApiErrors.badRequest(text, field);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'too_large', 'the request body is larger than this server accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return ApiErrors.badRequest('the request body is empty; send a JSON object');
    default:
      break;
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors (malformed JSON and the like): its message is already plain.
    return ApiErrors.badRequest(fe.message);
  }
  return new ApiError(500, 'internal', 'something went wrong on our side; the request may be retried');
}

/** The API, its OpenAPI document, the Postmark-compatible routes, tracking links and the dashboard. */
function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  void app.register(async (api) => {
    registerMessageRoutes(api, deps);
    registerTemplateRoutes(api, deps);
    registerAccountRoutes(api, deps);
    registerDomainRoutes(api, deps);
    registerWebhookRoutes(api, { ...deps, dispatcher: { wake: deps.wakeWebhooks } });
    registerSuppressionRoutes(api, deps);
    registerStatsRoutes(api, deps);
    registerEventRoutes(api, { readEvents: deps.readEvents, messageMeta: deps.messageMeta, eventTag: deps.webhooks.eventTag });
    registerInboundRoutes(api, deps);
    registerMessageContentRoutes(api, deps);
    registerMessageActionRoutes(api, deps);
    if (deps.credentials) registerCredentialRoutes(api, { credentials: deps.credentials });
    if (deps.subscribeEvents) {
      registerEventStreamRoutes(api, { readEvents: deps.readEvents, messageMeta: deps.messageMeta, eventTag: deps.webhooks.eventTag, subscribe: deps.subscribeEvents, logger: deps.logger });
    }
    if (deps.users) registerSessionRoutes(api, { users: deps.users, accounts: deps.accounts, config: deps.config });
  }, { prefix: '/api/v1' });
  void app.register(async (postmark) => registerPostmarkRoutes(postmark, deps));
  // Public: recipients' mail clients follow these links (no API key).
  if (deps.tracking) registerTrackingRoutes(app, deps.tracking);
  // The dashboard's single-page app at / (every path the routes above leave).
  if (deps.dashboardDir) registerDashboardRoutes(app, { dir: deps.dashboardDir });
}
