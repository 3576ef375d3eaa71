import Fastify from 'fastify';
import type { Logger } from '../core/index.js';
import type { QueueStore } from '../queue/index.js';

export interface HttpServer {
  start(port: number, host?: string): Promise<{ address: string; port: number }>;
  stop(): Promise<void>;
}

export function createHttpServer(deps: { store: QueueStore; logger: Logger; version: string }): HttpServer {
  const app = Fastify({ logger: false });

  // Liveness and readiness in one: answers 200 only when the queue store answers.
  app.get('/healthz', async (_req, reply) => {
    try {
      const queue = await deps.store.countByState();
      return { status: 'ok', version: deps.version, queue };
    } catch (err) {
      deps.logger.error({ err }, 'health check: queue store unavailable');
      return reply.code(503).send({ status: 'unavailable', error: { code: 'store_unavailable', message: 'the queue store is not answering' } });
    }
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'not_found', message: `no route for ${req.method} ${req.url}` } });
  });

  return {
    async start(port, host) {
      await app.listen({ port, host: host ?? '::' });
      const addr = app.server.address();
      if (!addr || typeof addr === 'string') throw new Error('HTTP listener has no address');
      return { address: addr.address, port: addr.port };
    },
    async stop() {
      await app.close();
    },
  };
}
