import type { FastifyInstance } from 'fastify';
import { anyNetworkContains } from '../core/index.js';
import { ApiError } from './errors.js';
import type { ApiDeps } from './types.js';

/** Paths a stopping node still answers: load balancers and scrapers must see it go. */
const OPERATIONS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** GET /api/v1/events/stream: open for as long as the client wants, so not waited for. */
const STREAM_PATH = '/api/v1/events/stream';

/** Seconds a client is told to wait before trying again while this node stops. */
const RETRY_AFTER_SECONDS = 5;

export interface OperationsRoutes {
  /**
   * Graceful stop, first half: every new request (but /healthz, /readyz, /metrics) gets 503 with
   * Retry-After, /readyz says "stopping", and the promise resolves once the requests that were
   * already running have been answered.
   */
  drain(): Promise<void>;
}

/**
 * /readyz (ready to take traffic: the store answers, migrations are current, not stopping),
 * /metrics (Prometheus, to HERALD_METRICS_ALLOW only), the latency of every request, and the
 * refusal of new requests while the node stops. Registered before every other route.
 */
export function registerOperationsRoutes(app: FastifyInstance, deps: ApiDeps): OperationsRoutes {
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | null = null;
  let drainPromise: Promise<void> | null = null;

  const settle = () => {
    if (draining && inFlight === 0 && drained) drained();
  };

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0];
    if (draining && !OPERATIONS_PATHS.has(path)) {
      const refusal = new ApiError(503, 'shutting_down', 'this Herald node is shutting down; send the request again (to another node, or here after the restart)');
      // Connection: close sends keep-alive clients to a fresh connection (a node still running).
      return reply.code(503).headers({ 'Retry-After': String(RETRY_AFTER_SECONDS), Connection: 'close' }).send(refusal.body());
    }
    // A live event stream lasts until its client leaves; it is ended with the connections.
    if (path === STREAM_PATH) return;
    inFlight++;
    // 'close' comes once for every response, answered or cut off by its client (a load
    // generator hanging up mid-request, say); onResponse misses the second kind.
    reply.raw.once('close', () => {
      inFlight--;
      settle();
    });
  });
  app.addHook('onResponse', async (req, reply) => {
    // The route's pattern, not the URL: one series per route, whatever the ids in it.
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics?.apiRequest(route, req.method, reply.statusCode, reply.elapsedTime / 1000);
  });

  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const checks: Record<string, { ok: boolean; message?: string }> = {};
    if (draining) checks.stopping = { ok: false, message: 'this node is shutting down' };
    for (const [name, check] of Object.entries(deps.readiness ?? {})) {
      try {
        const problem = await check();
        checks[name] = problem ? { ok: false, message: problem } : { ok: true };
      } catch (err) {
        deps.logger.error({ err, check: name }, 'readiness check failed');
        checks[name] = { ok: false, message: `the check failed: ${(err as Error).message}` };
      }
    }
    const failing = Object.entries(checks).filter(([, c]) => !c.ok);
    if (failing.length === 0) return { status: 'ready', version: deps.version, checks };
    const [name, first] = failing[0];
    return reply.code(503).send({
      status: 'unavailable',
      checks,
      error: { code: 'not_ready', message: `not ready: ${name}: ${first.message ?? 'failing'}`, check: name },
    });
  });

  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (deps.config.metrics !== 'on' || !deps.metrics) throw new ApiError(404, 'not_found', 'metrics are off on this node (HERALD_METRICS=off)');
    if (!anyNetworkContains(deps.config.metricsAllow, req.socket.remoteAddress ?? '')) {
      throw new ApiError(403, 'forbidden', 'metrics are served only to the networks in HERALD_METRICS_ALLOW');
    }
    const { contentType, body } = await deps.metrics.render();
    return reply.type(contentType).send(body);
  });

  return {
    drain() {
      drainPromise ??= new Promise<void>((resolve) => {
        draining = true;
        drained = resolve;
        settle();
      });
      return drainPromise;
    },
  };
}
