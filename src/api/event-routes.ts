import type { FastifyInstance } from 'fastify';
import { EventPresenter, isPublicEventType, PUBLIC_EVENT_TYPES, readFeed, type MessageLabelLookup, type PublicEventType, type ReadEvents } from '../notify/index.js';
import { ApiErrors, errorResponses } from './errors.js';

/** The pull API: an account's events in order from a cursor — the same events, ids and bodies webhooks send. */

export interface EventRouteDeps {
  /** The queue's outbox read (QueueStore.readEvents). */
  readEvents: ReadEvents;
  /** Messages' tags, metadata and stream, many in one call (QueueStore.metaOf). */
  messageMeta: MessageLabelLookup;
  /** SqlWebhookStore.eventTag: pulled events carry the ids webhooks send. */
  eventTag: string;
}

const errors = errorResponses(400, 401, 403);

export function registerEventRoutes(api: FastifyInstance, deps: EventRouteDeps): void {
  const presenter = new EventPresenter({ eventTag: deps.eventTag, messageLabels: deps.messageMeta });

  api.get<{ Querystring: { after?: string; type?: string; limit?: string } }>(
    '/events',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The account's events, oldest first, after a cursor",
        description:
          'Pass `next_cursor` as `after` to continue. `has_more: false` means there is nothing newer yet: poll again later with the same cursor. ' +
          'Events are kept as long as messages (HERALD_RETENTION); `after=0` starts at the oldest kept.',
        tags: ['events'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'A cursor: next_cursor of the previous page (default 0).' },
            type: { type: 'string', description: `Only these types, comma-separated: ${PUBLIC_EVENT_TYPES.join(', ')}.` },
            limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: '1 to 1000, default 100.' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              events: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    cursor: { type: 'string', description: 'The cursor just after this event.' },
                    type: { type: 'string' },
                    timestamp: { type: 'string', format: 'date-time' },
                    data: { type: 'object', description: 'As in the webhook of the same type; data.event_id is its webhook-id.' },
                  },
                },
              },
              next_cursor: { type: 'string' },
              has_more: { type: 'boolean' },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
      if (limit < 1 || limit > 1000) throw ApiErrors.badRequest('limit is 1 to 1000', 'limit');
      const types: PublicEventType[] = [];
      for (const name of (req.query.type ?? '').split(',').map((t) => t.trim()).filter(Boolean)) {
        if (!isPublicEventType(name)) throw ApiErrors.badRequest(`"${name}" is not an event type; use one of: ${PUBLIC_EVENT_TYPES.join(', ')}`, 'type');
        types.push(name);
      }
      const page = await readFeed(deps.readEvents, presenter, { accountId: req.principal!.accountId, after: Number(req.query.after ?? 0), types, limit });
      return { events: page.events, next_cursor: String(page.nextCursor), has_more: page.hasMore };
    },
  );
}
