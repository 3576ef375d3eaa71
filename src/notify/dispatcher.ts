import { systemClock, silentLogger, type Clock, type Logger, type MailEvent, type Resolver } from '../core/index.js';
import { OutboxReader, type ReadEvents, type RecordEvent } from './outbox.js';
import { EventPresenter, publicTypeOf, type MessageLabelLookup, type PublicEvent } from './public-events.js';
import { WebhookSender, type SendResult } from './sender.js';
import { performance } from 'node:perf_hooks';
import type { NewAttempt, SqliteWebhookStore, WebhookEndpoint, WebhookRetry } from './sqlite-webhook-store.js';

/**
 * Waits after the 1st, 2nd, … failed attempt at an event: 9 attempts over about 27½ hours, so an
 * endpoint that is down for a day still gets everything. After the last one fails the endpoint
 * is disabled.
 */
export const RETRY_SCHEDULE_MS: readonly number[] = [5_000, 60_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 5 * 3600_000, 10 * 3600_000, 10 * 3600_000];

export interface DispatcherOptions {
  /** How often every endpoint is looked at, besides wake(). 0: never on its own (tests call runDue). Default 2000 ms. */
  pollMs?: number;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /** Requests in flight per endpoint. Default 4. */
  maxInFlight?: number;
  retrySchedule?: readonly number[];
  userAgent?: string;
  /** Delay that gathers many wake() calls (one per queue commit) into one look. Default 25 ms. */
  wakeDelayMs?: number;
}

export interface WebhookDispatcherDeps {
  store: SqliteWebhookStore;
  /** The queue's outbox read (QueueStore.readEvents). */
  readEvents: ReadEvents;
  /** A message's tags, metadata and stream (QueueStore.get(id) → meta). */
  messageMeta: MessageLabelLookup;
  resolver: Resolver;
  config: { webhookAllowPrivate: string };
  /** Writes `webhook.disabled` to the outbox (QueueStore.recordEvent). */
  recordEvent: RecordEvent;
  clock?: Clock;
  logger?: Logger;
  options?: DispatcherOptions;
}

export interface WebhookDispatcher {
  /** New events may be in the outbox (QueueStore.onCommit): look now. A hint only; the poll is the truth. */
  wake(): void;
  /** Delivers everything due now, and resolves when every endpoint it started is idle again. */
  runDue(): Promise<void>;
  /** Aborts requests in flight (their events are sent again after a restart) and stops. */
  stop(): Promise<void>;
}

const PAGE = 200;
const PRUNE_EVERY_MS = 10 * 60_000;
/** Progress is written at least this often while an endpoint is busy… */
const FLUSH_MS = 1000;
/** …or after this many attempts. */
const FLUSH_ATTEMPTS = 500;

function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

const wants = (endpoint: WebhookEndpoint, event: MailEvent): boolean => {
  if (event.accountId !== endpoint.accountId) return false;
  const type = publicTypeOf(event.type);
  return type !== null && (endpoint.events === null || endpoint.events.includes(type));
};

/**
 * Pushes the outbox to every enabled endpoint. Per endpoint, events after its cursor are sent in
 * outbox order, up to `maxInFlight` at a time; the cursor moves past an event once it and every
 * event before it are delivered (2xx) or not for this endpoint. A failed event is retried on
 * RETRY_SCHEDULE_MS — alone, and holding back the events after it — and when its last retry
 * fails the endpoint is disabled and `webhook.disabled` recorded. Cursor and retry state are in
 * the store, so a restart resumes; a crash sends the events delivered since the last write
 * (about a second's worth at most) again, with the same webhook-ids (at least once). Each
 * endpoint is served on its own, so a slow one never holds up the others.
 */
export function startWebhookDispatcher(deps: WebhookDispatcherDeps): WebhookDispatcher {
  return new Dispatcher(deps);
}

class Dispatcher implements WebhookDispatcher {
  private readonly store: SqliteWebhookStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly outbox: OutboxReader;
  private readonly presenter: EventPresenter;
  private readonly sender: WebhookSender;
  private readonly schedule: readonly number[];
  private readonly maxInFlight: number;
  private readonly pumps = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  /** Events an endpoint already took while an earlier one failed: not sent again (best effort, in memory). */
  private readonly aheadDone = new Map<string, Set<number>>();
  private readonly abort = new AbortController();
  private readonly poller: NodeJS.Timeout | null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private lastPrune = 0;
  private stopped = false;

  constructor(private readonly deps: WebhookDispatcherDeps) {
    const options = deps.options ?? {};
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
    this.outbox = new OutboxReader(deps.readEvents);
    this.presenter = new EventPresenter({ eventTag: deps.store.eventTag, messageLabels: deps.messageMeta });
    this.sender = new WebhookSender({
      resolver: deps.resolver,
      policy: { allowPrivate: deps.config.webhookAllowPrivate === 'true' },
      timeoutMs: options.timeoutMs,
      userAgent: options.userAgent,
    });
    this.schedule = options.retrySchedule ?? RETRY_SCHEDULE_MS;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 4);
    const pollMs = options.pollMs ?? 2000;
    this.poller = pollMs > 0 ? setInterval(() => void this.runDue(), pollMs) : null;
    this.poller?.unref();
    if (pollMs > 0) this.wake();
  }

  wake(): void {
    if (this.stopped || this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      void this.runDue();
    }, this.deps.options?.wakeDelayMs ?? 25);
    this.wakeTimer.unref();
  }

  async runDue(): Promise<void> {
    if (this.stopped) return;
    const now = this.clock.now();
    let endpoints: WebhookEndpoint[];
    try {
      endpoints = this.store.enabledEndpoints();
      if (now.getTime() - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = now.getTime();
        this.store.pruneAttempts();
      }
    } catch (err) {
      this.log.error({ err }, 'webhooks: could not read the endpoints');
      return;
    }
    const running: Promise<void>[] = [];
    for (const endpoint of endpoints) {
      if (endpoint.retry && endpoint.retry.at > now) continue;
      running.push(this.ensurePump(endpoint.id));
    }
    await Promise.all(running);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.abort.abort();
    await Promise.allSettled([...this.pumps.values()]);
    this.sender.close();
  }

  /** One pump per endpoint; a wake while it runs makes it look once more when done. */
  private ensurePump(id: string): Promise<void> {
    const running = this.pumps.get(id);
    if (running) {
      this.again.add(id);
      return running;
    }
    const pump = (async () => {
      try {
        do {
          this.again.delete(id);
          await this.pump(id);
        } while (this.again.has(id) && !this.stopped);
      } catch (err) {
        this.log.error({ err, webhook: id }, 'webhooks: delivery stopped on an error; the next poll tries again');
      } finally {
        this.pumps.delete(id);
      }
    })();
    this.pumps.set(id, pump);
    return pump;
  }

  /**
   * Sends what is due to one endpoint until it is caught up, or an event fails. Progress is kept
   * in memory and written (with the attempts) at most every FLUSH_MS, at the end, and at once on
   * a failure: each write is a synced commit on the main thread, and a crash only means the
   * events since the last write are sent again.
   */
  private async pump(id: string): Promise<void> {
    const endpoint = this.store.find(id);
    if (!endpoint || !endpoint.enabled) {
      this.aheadDone.delete(id);
      return;
    }
    let cursor = endpoint.cursor;
    let retry = endpoint.retry;
    let dirty = false;
    const attempts: NewAttempt[] = [];
    let flushedAt = performance.now();
    const flush = () => {
      if (!dirty && attempts.length === 0) return;
      // Dropped (false) when a user changed the endpoint meanwhile; the attempts are kept either way.
      this.store.commitProgress(id, endpoint.version, { cursor, retry }, attempts.splice(0));
      dirty = false;
      flushedAt = performance.now();
    };
    try {
      for (;;) {
        if (this.stopped) return;
        const now = this.clock.now();
        const current = this.store.find(id);
        if (!current || !current.enabled) return;
        if (current.version !== endpoint.version) {
          // Changed by a user (new URL, events, enabled again): start over from what is stored.
          this.again.add(id);
          return;
        }
        if (retry && retry.at > now) return;
        const page = await this.outbox.read(cursor, PAGE);
        if (page.length === 0) return;

        const done = this.aheadDone.get(id);
        // While an event is being retried, only it is sent: a probe, not a flood to a failing server.
        const room = retry ? 1 : this.maxInFlight;
        const batch: MailEvent[] = [];
        let scanned = cursor;
        for (const event of page) {
          scanned = event.seq!;
          if (wants(endpoint, event) && !done?.has(event.seq!)) {
            batch.push(event);
            if (batch.length === room) break;
          }
        }
        if (batch.length === 0) {
          // Nothing here for this endpoint (or no longer: its event types changed): move past it.
          cursor = scanned;
          retry = null;
          dirty = true;
          continue;
        }

        const presented = await Promise.all(batch.map((event) => this.presenter.present(event)));
        const secrets = this.store.signingSecrets(id);
        const previous = retry;
        const attemptOf = (event: MailEvent) => (previous && previous.seq === event.seq ? previous.attempts + 1 : 1);
        const startedAt = this.clock.now();
        const results = await Promise.all(batch.map((event, i) => this.send(endpoint, event, presented[i]!, secrets)));
        // Stopping aborted these requests: not the endpoint's failure, and not recorded.
        if (this.stopped) return;

        const failed = results.findIndex((r) => !r.ok);
        const after = this.clock.now();
        let nextRetry: WebhookRetry | null = null;
        let disable: string | null = null;
        if (failed >= 0) {
          const head = batch[failed];
          const attempt = attemptOf(head);
          const since = previous && previous.seq === head.seq ? previous.since : after;
          if (attempt > this.schedule.length) {
            const last = results[failed];
            disable = `${attempt} attempts over ${formatDuration(after.getTime() - since.getTime())} failed; the last: ${last.error ?? `HTTP ${last.status}`}`;
          } else nextRetry = { seq: head.seq!, attempts: attempt, at: new Date(after.getTime() + this.schedule[attempt - 1]), since };
        }
        batch.forEach((event, i) => {
          const r = results[i];
          attempts.push({
            endpointId: id,
            eventId: presented[i]!.data.event_id,
            eventType: presented[i]!.type,
            seq: event.seq!,
            attempt: attemptOf(event),
            at: startedAt,
            status: r.status,
            error: r.error,
            latencyMs: r.latencyMs,
            response: r.response,
            nextRetryAt: i === failed ? (nextRetry?.at ?? null) : null,
          });
        });
        dirty = true;

        if (failed < 0) {
          cursor = scanned;
          retry = null;
          this.forgetUpTo(id, cursor);
          if (attempts.length >= FLUSH_ATTEMPTS || performance.now() - flushedAt >= FLUSH_MS) flush();
          continue;
        }
        // Later events that went through are remembered, so the retry does not send them again.
        for (let i = failed + 1; i < batch.length; i++) {
          if (results[i].ok) this.rememberAhead(id, batch[i].seq!);
        }
        const head = batch[failed];
        cursor = head.seq! - 1;
        retry = nextRetry;
        flush();
        if (disable) await this.disable(endpoint, cursor, disable, after);
        else this.log.info({ webhook: id, event: presented[failed]!.data.event_id, attempt: retry!.attempts, error: results[failed].error, nextAttemptAt: retry!.at }, 'webhook delivery failed');
        return;
      }
    } finally {
      flush();
    }
  }

  /** The last retry failed: disabled, and `webhook.disabled` recorded for the account. */
  private async disable(endpoint: WebhookEndpoint, cursor: number, reason: string, at: Date): Promise<void> {
    if (!this.store.disable(endpoint.id, endpoint.version, reason, cursor)) return;
    this.aheadDone.delete(endpoint.id);
    this.log.warn({ webhook: endpoint.id, url: endpoint.url, reason }, 'webhook endpoint disabled');
    await this.deps
      .recordEvent({ type: 'webhook.disabled', messageId: '', accountId: endpoint.accountId, at, data: { webhookId: endpoint.id, url: endpoint.url, reason } })
      .catch((err: unknown) => this.log.error({ err, webhook: endpoint.id }, 'could not record webhook.disabled'));
  }

  private send(endpoint: WebhookEndpoint, event: MailEvent, presented: PublicEvent, secrets: string[]): Promise<SendResult> {
    return this.sender.send(
      { url: endpoint.url, eventId: presented.data.event_id, timestamp: this.clock.now(), body: JSON.stringify(presented), secrets },
      this.abort.signal,
    );
  }

  private rememberAhead(id: string, seq: number): void {
    let set = this.aheadDone.get(id);
    if (!set) this.aheadDone.set(id, (set = new Set()));
    set.add(seq);
  }

  private forgetUpTo(id: string, cursor: number): void {
    const set = this.aheadDone.get(id);
    if (!set) return;
    for (const seq of set) if (seq <= cursor) set.delete(seq);
    if (set.size === 0) this.aheadDone.delete(id);
  }
}
