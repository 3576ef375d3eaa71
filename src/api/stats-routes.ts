import type { FastifyInstance } from 'fastify';
import { SmtpRejection, systemClock, type Clock } from '../core/index.js';
import {
  COUNTERS,
  GROUP_BYS,
  MAX_GROUPS,
  MAX_HOURLY_RANGE_HOURS,
  MAX_RANGE_HOURS,
  MINUTE_RETENTION_MS,
  parseStatsQuery,
  STATS_STREAMS,
  statsReport,
  statsView,
  type SqlStatsStore,
  type StatsParams,
} from '../stats/index.js';
import type { QueueStore } from '../queue/index.js';
import { ApiErrors, errorResponses } from './errors.js';

/** Statistics from the roll-ups: totals and a row per day, hour, domain, tag or stream, with the rates. */

export interface StatsRouteDeps {
  stats: Pick<SqlStatsStore, 'query' | 'updatedAt'>;
  /** For the default range (the last 7 days); the system clock when omitted. */
  clock?: Clock;
  /** The queue's depth and oldest waiting message, answered beside the figures (the dashboard's overview). */
  store?: Pick<QueueStore, 'gauges'>;
}

const errors = errorResponses(400, 401, 403);

const MINUTE_HOURS = MINUTE_RETENTION_MS / 3_600_000;
/** Which range ends are counted to the minute. */
const ROUNDING =
  `exact to the minute for the whole account's figures (no tag or domain filter; group_by day or stream) at an end within the last ${MINUTE_HOURS} hours; ` +
  'rounded out to whole UTC hours otherwise (tags and domains are counted per hour).';

const COUNTER_WORDS: Record<string, string> = {
  sent: 'Recipients in accepted messages.',
  delivered: 'Recipients delivered (the receiving server answered 250).',
  deferred: 'Attempts deferred (a recipient deferred three times counts three).',
  bounced_hard: 'Bounces that mean the address is bad (these suppress it).',
  bounced_soft: 'Other bounces: a full mailbox, a refused message, a policy.',
  bounced: 'bounced_hard + bounced_soft.',
  expired: 'Recipients given up on after HERALD_MAX_QUEUE_AGE of deferrals.',
  complained: 'Recipients who reported a message as spam (once per message).',
  opened_unique: 'Recipients who opened a message (once per message; a message with several recipients counts once).',
  opened_unique_human: 'Of those, recipients with at least one open by a person.',
  opened_unique_machine: 'Of those, recipients with at least one open by a machine (privacy proxies, scanners).',
  opened_total: 'Every open, repeated ones and machine ones included.',
  clicked_unique: 'Recipients who clicked at least one link (once per message).',
  clicked_total: 'Every click.',
  clicked_machine: 'Clicks made by machines (link scanners), part of clicked_total.',
  unsubscribed: 'Recipients who unsubscribed (once per message).',
  suppressed: 'Recipients left out because they were on the suppression list.',
};

const RATE_WORDS: Record<string, string> = {
  delivery_rate: 'delivered / sent; null when nothing was sent.',
  bounce_rate: 'bounced / sent; null when nothing was sent.',
  complaint_rate: 'complained / delivered; null when nothing was delivered.',
  open_rate: 'opened_unique / delivered; null when nothing was delivered.',
  click_rate: 'clicked_unique / delivered; null when nothing was delivered.',
};

const figuresProperties = {
  ...Object.fromEntries([...COUNTERS, 'bounced'].map((c) => [c, { type: 'integer', description: COUNTER_WORDS[c] }])),
  ...Object.fromEntries(Object.entries(RATE_WORDS).map(([r, words]) => [r, { type: ['number', 'null'], description: `A fraction (0.25 is 25%): ${words}` }])),
};

const statsSchema = {
  type: 'object',
  properties: {
    from: { type: 'string', format: 'date-time', description: `Start of the range counted (inclusive): ${ROUNDING}` },
    to: { type: 'string', format: 'date-time', description: `End of the range counted (exclusive): ${ROUNDING}` },
    group_by: { type: 'string', enum: [...GROUP_BYS] },
    filters: {
      type: 'object',
      properties: { stream: { type: ['string', 'null'] }, tag: { type: ['string', 'null'] }, domain: { type: ['string', 'null'] } },
    },
    totals: { type: 'object', properties: figuresProperties },
    rows: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          key: { type: 'string', description: 'The group: a day (2030-03-01), an hour (2030-03-01T10:00:00Z), a domain, a tag or a stream.' },
          ...figuresProperties,
        },
      },
    },
    truncated: { type: 'boolean', description: `true when more than ${MAX_GROUPS} domains or tags matched: the largest by sent are listed.` },
    updated_at: { type: ['string', 'null'], format: 'date-time', description: 'When the roll-ups last took in events: the numbers are as of then (usually a second or two ago).' },
    queue: {
      type: 'object',
      description: 'The queue now, across all accounts (not limited by the range or filters): recipients waiting per state, and when the oldest of them was accepted.',
      required: ['queued', 'deferred', 'delivering', 'held', 'oldest_created_at'],
      properties: {
        queued: { type: 'integer' },
        deferred: { type: 'integer' },
        delivering: { type: 'integer' },
        held: { type: 'integer' },
        oldest_created_at: { type: ['string', 'null'], format: 'date-time', description: 'When the oldest message with a waiting recipient was accepted; null when nothing waits.' },
      },
    },
  },
} as const;

/** Depth per pending state and the oldest acceptance time among them (QueueStore.gauges reads only pending rows). */
async function queueView(store: Pick<QueueStore, 'gauges'>) {
  const { pending } = await store.gauges();
  let oldest: Date | null = null;
  for (const { oldestCreatedAt } of Object.values(pending)) {
    if (oldestCreatedAt && (!oldest || oldestCreatedAt < oldest)) oldest = oldestCreatedAt;
  }
  return {
    queued: pending.queued.count,
    deferred: pending.deferred.count,
    delivering: pending.delivering.count,
    held: pending.held.count,
    oldest_created_at: oldest?.toISOString() ?? null,
  };
}

export function registerStatsRoutes(api: FastifyInstance, deps: StatsRouteDeps): void {
  const clock = deps.clock ?? systemClock;

  api.get<{ Querystring: { from?: string; to?: string; group_by?: string; stream?: string; tag?: string; domain?: string } }>(
    '/stats',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Sending statistics: totals and a row per day, hour, domain, tag or stream',
        description:
          `Counts from roll-ups kept per UTC hour and day, and per minute for the whole account's figures of the last ${MINUTE_HOURS} hours (the event table is never scanned), with the rates users watch. ` +
          `The answer's from and to are the range counted: ${ROUNDING} ` +
          `Default range: today and the 6 days before (UTC). group_by=hour covers at most ${MAX_HOURLY_RANGE_HOURS / 24} days, every other grouping ${MAX_RANGE_HOURS / 24}. ` +
          'A stream filter combines with anything; tag and domain filters do not combine with each other, nor with grouping by the other.',
        tags: ['stats'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', description: 'A UTC day (2030-03-01) or an ISO 8601 time, rounded down to the minute or the hour (see the answer\'s from). Default: 6 days before today, 00:00 UTC.' },
            to: {
              type: 'string',
              description: 'A UTC day (that whole day included) or an ISO 8601 time (exclusive), rounded up to the minute or the hour (see the answer\'s to). Default: now (the end of the current minute, or hour).',
            },
            group_by: { type: 'string', description: `${GROUP_BYS.join(', ')}; default day.` },
            stream: { type: 'string', description: `Only this stream: ${STATS_STREAMS.join(' or ')}.` },
            tag: { type: 'string', description: 'Only messages with this tag.' },
            domain: { type: 'string', description: "Only recipients at this domain (the part of the address after @)." },
          },
        },
        response: { 200: statsSchema, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      const params: StatsParams = { from: q.from, to: q.to, groupBy: q.group_by, stream: q.stream, tag: q.tag, domain: q.domain };
      let view;
      try {
        view = statsView(await statsReport(deps.stats, parseStatsQuery(req.principal!.accountId, params, clock.now())));
      } catch (err) {
        // The stats room names the query parameter (group_by, from, …): a 400 naming it.
        if (err instanceof SmtpRejection) throw ApiErrors.badRequest(err.reply.text, err.field);
        throw err;
      }
      return deps.store ? { ...view, queue: await queueView(deps.store) } : view;
    },
  );
}
