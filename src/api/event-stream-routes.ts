import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { isMessageId, type Logger, type MailEvent } from '../core/index.js';
import { EventPresenter, outboxHead, readFeed, type MessageLabelLookup, type ReadEvents } from '../notify/index.js';
import { ApiErrors, errorResponses } from './errors.js';

/**
 * Live events as server-sent events (text/event-stream): the same outbox, event bodies and
 * cursors as GET /events, pushed as they are committed. The outbox is the truth; the in-process
 * event bus only says when to read it again.
 */

export interface EventStreamDeps {
  readEvents: ReadEvents;
  messageMeta: MessageLabelLookup;
  eventTag: string;
  /** Called with every committed event; returns the unsubscribe function. */
  subscribe(listener: (event: MailEvent) => void): () => void;
  logger: Logger;
  /** How often an idle stream sends a comment, so proxies and clients know it is alive. */
  heartbeatMs?: number;
}

export const HEARTBEAT_MS = 15_000;
/** Events per outbox read while catching up. */
const PAGE = 100;

const errors = errorResponses(400, 401, 403);

export function registerEventStreamRoutes(api: FastifyInstance, deps: EventStreamDeps): void {
  const presenter = new EventPresenter({ eventTag: deps.eventTag, messageLabels: deps.messageMeta });
  const heartbeatMs = deps.heartbeatMs ?? HEARTBEAT_MS;
  // Open streams never go idle: closing the server ends them, or it would wait for them forever.
  const open = new Set<ServerResponse>();
  api.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  api.get<{ Querystring: { after?: string; message_id?: string } }>(
    '/events/stream',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The account's events, live, as server-sent events",
        description:
          'A `text/event-stream`: each event is one `data:` line holding the same JSON as an entry of GET /events, with its cursor as the `id:`. ' +
          'Without `after` the stream starts with the next event committed; a reconnecting client sends `Last-Event-ID` and goes on from there. ' +
          `An idle stream sends a \`: heartbeat\` comment every ${HEARTBEAT_MS / 1000} s.`,
        tags: ['events'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'Start after this cursor (a `cursor` or `next_cursor` of GET /events); default: now.' },
            message_id: { type: 'string', description: "Only this message's events." },
          },
        },
        headers: { type: 'object', properties: { 'last-event-id': { type: 'string', description: 'Resume after this cursor (wins over `after`).' } } },
        response: { 200: { description: 'text/event-stream', type: 'string' }, ...errors },
      },
    },
    async (req, reply) => {
      const accountId = req.principal!.accountId;
      const messageId = req.query.message_id;
      if (messageId !== undefined && !isMessageId(messageId)) throw ApiErrors.badRequest('message_id is not a message id', 'message_id');
      const lastEventId = req.headers['last-event-id'];
      if (typeof lastEventId === 'string' && !/^[0-9]{1,15}$/.test(lastEventId)) throw ApiErrors.badRequest('Last-Event-ID is not a cursor this API gave out', 'Last-Event-ID');
      const given = typeof lastEventId === 'string' ? lastEventId : req.query.after;
      let cursor = given !== undefined ? Number(given) : await outboxHead(deps.readEvents);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        // Proxies such as nginx would otherwise hold the events back in a buffer.
        'x-accel-buffering': 'no',
      });
      open.add(res);
      let closed = false;
      let wake: (() => void) | null = null;
      // Set by a commit for this account that arrived while the outbox was being read.
      let dirty = false;
      const unsubscribe = deps.subscribe((event) => {
        if (event.accountId !== accountId) return;
        dirty = true;
        wake?.();
      });
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
      res.on('close', () => {
        closed = true;
        open.delete(res);
        clearInterval(heartbeat);
        unsubscribe();
        wake?.();
      });
      const send = async (text: string) => {
        if (!res.write(text)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
      };

      try {
        // Tells the client how long to wait before reconnecting, and flushes the headers.
        await send('retry: 3000\n\n');
        while (!closed) {
          dirty = false;
          const page = await readFeed(deps.readEvents, presenter, { accountId, after: cursor, limit: PAGE });
          for (const event of page.events) {
            if (closed) break;
            if (messageId && event.data.message_id !== messageId) continue;
            await send(`id: ${event.cursor}\ndata: ${JSON.stringify(event)}\n\n`);
          }
          cursor = page.nextCursor;
          if (page.hasMore || dirty || closed) continue;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      } catch (err) {
        deps.logger.error({ err }, 'event stream failed');
      } finally {
        res.end();
      }
    },
  );
}
