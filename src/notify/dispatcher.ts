import { systemClock, silentLogger, type Clock, type Logger, type MailEvent, type Resolver } from '../core/index.js';
import { OutboxReader, type ReadEvents, type RecordEvent } from './outbox.js';
import { EventPresenter, publicTypeOf, type MessageLabelLookup, type PublicEvent } from './public-events.js';
import { WebhookSender, type SendResult } from './sender.js';
import { performance } from 'node:perf_hooks';
import type { NewAttempt, SqlWebhookStore, WebhookEndpoint, WebhookRetry } from './sql-webhook-store.js';

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
  store: SqlWebhookStore;
  /** The queue's outbox read (QueueStore.readEvents). */
  readEvents: ReadEvents;
  /** Messages' tags, metadata and stream, many in one call (QueueStore.metaOf). */
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
/** How often a busy endpoint is looked up again, to notice a user's change (and at every page). */
const CHECK_MS = 100;

/** Events presented for several endpoints at once are kept this many (a few pages) for the others. */
const PRESENTED_KEPT = 2000;

/** A public event and the JSON body sent for it. */
interface Presented {
  event: PublicEvent;
  body: string;
}

/** One event on its way to an endpoint. */
interface Outgoing {
  event: MailEvent;
  /** 1 for the first attempt at this event. */
  attempt: number;
  startedAt: Date;
  presented?: PublicEvent;
  result?: SendResult;
  /** Presenting it failed (its message's labels could not be read): delivery stops, to try again later. */
  error?: unknown;
  settled: boolean;
  /** Resolves once its request is made (or it failed before): the next event's request waits for it. */
  issued: Promise<void>;
}

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
  private readonly store: SqlWebhookStore;
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
  /** By outbox seq, oldest first (see present()). */
  private readonly presented = new Map<number, Promise<Presented>>();
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
      endpoints = await this.store.enabledEndpoints();
      if (now.getTime() - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = now.getTime();
        await this.store.pruneAttempts();
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
   * Sends what is due to one endpoint until it is caught up, or an event fails. Up to
   * `maxInFlight` events are on their way at once, and a new one goes as soon as the oldest is
   * answered (a window over the outbox that slides on the oldest answer, not batches that wait
   * for their slowest request): so at most `maxInFlight` events separate any two requests in
   * flight, and the cursor never passes an event that is not answered yet. Progress is kept in
   * memory and written (with the attempts) at most every FLUSH_MS, at the end, and at once on a
   * failure: each write is a synced commit on the main thread, and a crash only means the events
   * since the last write are sent again.
   */
  private async pump(id: string): Promise<void> {
    const endpoint = await this.store.find(id);
    if (!endpoint || !endpoint.enabled) {
      this.aheadDone.delete(id);
      return;
    }
    let cursor = endpoint.cursor;
    let retry = endpoint.retry;
    if (retry && retry.at > this.clock.now()) return;
    let dirty = false;
    const attempts: NewAttempt[] = [];
    let flushedAt = performance.now();
    const flush = async () => {
      if (!dirty && attempts.length === 0) return;
      // Dropped (false) when a user changed the endpoint meanwhile; the attempts are kept either way.
      await this.store.commitProgress(id, endpoint.version, { cursor, retry }, attempts.splice(0));
      dirty = false;
      flushedAt = performance.now();
    };
    const record = (e: Outgoing, nextRetryAt: Date | null) => {
      const r = e.result!;
      attempts.push({
        endpointId: id,
        eventId: e.presented!.data.event_id,
        eventType: e.presented!.type,
        seq: e.event.seq!,
        attempt: e.attempt,
        at: e.startedAt,
        status: r.status,
        error: r.error,
        latencyMs: r.latencyMs,
        response: r.response,
        nextRetryAt,
      });
    };

    /** Sent and not yet retired, in outbox order: the cursor stays before the first. */
    const window: Outgoing[] = [];
    /** Read from the outbox and not yet sent or skipped: page[next…]. */
    let page: MailEvent[] = [];
    /** The page's events presented (labels looked up) as soon as it is read, all at once; null: not for this endpoint. */
    let presenting: (Promise<Presented> | null)[] = [];
    let next = 0;
    /** The last event sent or skipped. */
    let scanned = cursor;
    let caughtUp = false;
    /** No more events go out: a user changed the endpoint, or an event failed. */
    let closed = false;
    let secrets: string[] = [];
    let issued: Promise<void> = Promise.resolve();
    // Answers wake the loop; `seen` is how many it had when it last looked.
    let answers = 0;
    let seen = 0;
    let wakeUp: (() => void) | null = null;
    const answered = () => {
      answers++;
      wakeUp?.();
    };
    const nextAnswer = async () => {
      if (answers === seen) await new Promise<void>((resolve) => (wakeUp = resolve));
      wakeUp = null;
    };
    let checkedAt = -Infinity;
    /** false: the endpoint was changed or removed by a user; `again` is set when it should be looked at anew. */
    const unchanged = async () => {
      checkedAt = performance.now();
      const current = await this.store.find(id);
      if (current && current.enabled && current.version === endpoint.version) return true;
      // Changed by a user (new URL, events, enabled again): start over from what is stored.
      if (current?.enabled) this.again.add(id);
      return false;
    };

    try {
      for (;;) {
        // Stopping aborted the requests in flight: not the endpoint's failure, and not recorded.
        if (this.stopped) return;
        seen = answers;
        // Answered events leave the window in order; the cursor follows the first one still out.
        while (window.length && window[0].settled && !window[0].error && window[0].result!.ok) {
          const e = window.shift()!;
          record(e, null);
          if (retry?.seq === e.event.seq) retry = null;
          dirty = true;
        }
        const at = window.length ? window[0].event.seq! - 1 : scanned;
        if (at !== cursor) {
          cursor = at;
          dirty = true;
          this.forgetUpTo(id, cursor);
        }

        const broken = window.find((e) => e.settled && (e.error || !e.result!.ok));
        if (broken) {
          closed = true;
          // The others finish first: what they got is recorded with the failure.
          if (window.some((e) => !e.settled)) {
            await nextAnswer();
            continue;
          }
          const thrown = window.find((e) => e.error);
          if (thrown) throw thrown.error;
          await this.failed(endpoint, window, retry, record, (c, r) => ((cursor = c), (retry = r), (dirty = true)), flush);
          return;
        }
        if (attempts.length >= FLUSH_ATTEMPTS || performance.now() - flushedAt >= FLUSH_MS) await flush();
        if (!closed && performance.now() - checkedAt >= CHECK_MS && !(await unchanged())) closed = true;

        // While an event is being retried, only it is sent: a probe, not a flood to a failing server.
        const room = retry ? 1 : this.maxInFlight;
        while (!closed && !caughtUp && window.length < room) {
          if (next === page.length) {
            page = await this.outbox.read(scanned, PAGE);
            next = 0;
            if (this.stopped) return;
            if (page.length === 0) caughtUp = true;
            else if (!(await unchanged())) closed = true;
            else {
              secrets = await this.store.signingSecrets(id);
              // The page's message labels in one lookup (events another endpoint presented already have theirs).
              this.presenter.prefetch(page.filter((event) => wants(endpoint, event) && !this.presented.has(event.seq!)));
              presenting = page.map((event) => (wants(endpoint, event) ? this.present(event) : null));
            }
            continue;
          }
          const presented = presenting[next];
          const event = page[next++];
          scanned = event.seq!;
          if (!presented || this.aheadDone.get(id)?.has(event.seq!)) {
            // Nothing here for this endpoint (or no longer: its event types changed): move past it.
            if (retry?.seq === event.seq) retry = null;
            continue;
          }
          let made!: () => void;
          const e: Outgoing = { event, attempt: retry && retry.seq === event.seq ? retry.attempts + 1 : 1, startedAt: this.clock.now(), settled: false, issued: new Promise((resolve) => (made = resolve)) };
          void this.run(e, presented, endpoint, secrets, issued, made, answered);
          window.push(e);
          issued = e.issued;
        }
        if (window.length === 0) {
          // Caught up, or closed with nothing in flight: record where it stands.
          if (scanned !== cursor) {
            cursor = scanned;
            dirty = true;
          }
          return;
        }
        await nextAnswer();
      }
    } finally {
      await flush();
    }
  }

  /**
   * The public event and its body, made once for all the endpoints that are sent it (they read
   * the same pages at about the same time). A failed lookup is not kept; it is seen (and thrown)
   * only when the event is sent.
   */
  private present(event: MailEvent): Promise<Presented> {
    const seq = event.seq!;
    let presented = this.presented.get(seq);
    if (!presented) {
      presented = this.presenter.present(event).then((p) => ({ event: p!, body: JSON.stringify(p) }));
      presented.catch(() => this.presented.delete(seq));
      this.presented.set(seq, presented);
      if (this.presented.size > PRESENTED_KEPT) this.presented.delete(this.presented.keys().next().value!);
    }
    return presented;
  }

  /**
   * Sends one presented event. Its request is made only once the previous event's was
   * (`before`), so requests leave in outbox order even when an event's labels take longer to
   * look up. Never rejects: the answer or the error is put on `e`, then `settled()` is called.
   */
  private async run(e: Outgoing, presenting: Promise<Presented>, endpoint: WebhookEndpoint, secrets: string[], before: Promise<void>, issued: () => void, settled: () => void): Promise<void> {
    try {
      const { event: presented, body } = await presenting;
      await before;
      e.presented = presented;
      const answer = this.sender.send({ url: endpoint.url, eventId: presented.data.event_id, timestamp: this.clock.now(), body, secrets }, this.abort.signal);
      issued();
      e.result = await answer;
    } catch (err) {
      e.error = err ?? new Error('webhook delivery failed');
    } finally {
      issued();
      e.settled = true;
      settled();
    }
  }

  /**
   * The first event of the window failed (the ones before it went through): it is retried on
   * RETRY_SCHEDULE_MS — alone, holding back the events after it, of which the ones that went
   * through are remembered so they are not sent again — or, after its last retry, the endpoint
   * is disabled.
   */
  private async failed(
    endpoint: WebhookEndpoint,
    window: readonly Outgoing[],
    previous: WebhookRetry | null,
    record: (e: Outgoing, nextRetryAt: Date | null) => void,
    update: (cursor: number, retry: WebhookRetry | null) => void,
    flush: () => Promise<void>,
  ): Promise<void> {
    const [head, ...rest] = window;
    const after = this.clock.now();
    const since = previous && previous.seq === head.event.seq ? previous.since : after;
    let nextRetry: WebhookRetry | null = null;
    let disable: string | null = null;
    if (head.attempt > this.schedule.length) {
      disable = `${head.attempt} attempts over ${formatDuration(after.getTime() - since.getTime())} failed; the last: ${head.result!.error ?? `HTTP ${head.result!.status}`}`;
    } else nextRetry = { seq: head.event.seq!, attempts: head.attempt, at: new Date(after.getTime() + this.schedule[head.attempt - 1]), since };
    record(head, nextRetry?.at ?? null);
    for (const e of rest) {
      record(e, null);
      // Later events that went through are remembered, so the retry does not send them again.
      if (e.result!.ok) this.rememberAhead(endpoint.id, e.event.seq!);
    }
    update(head.event.seq! - 1, nextRetry);
    await flush();
    if (disable) await this.disable(endpoint, head.event.seq! - 1, disable, after);
    else this.log.info({ webhook: endpoint.id, event: head.presented!.data.event_id, attempt: head.attempt, error: head.result!.error, nextAttemptAt: nextRetry!.at }, 'webhook delivery failed');
  }

  /** The last retry failed: disabled, and `webhook.disabled` recorded for the account. */
  private async disable(endpoint: WebhookEndpoint, cursor: number, reason: string, at: Date): Promise<void> {
    if (!(await this.store.disable(endpoint.id, endpoint.version, reason, cursor))) return;
    this.aheadDone.delete(endpoint.id);
    this.log.warn({ webhook: endpoint.id, url: endpoint.url, reason }, 'webhook endpoint disabled');
    await this.deps
      .recordEvent({ type: 'webhook.disabled', messageId: '', accountId: endpoint.accountId, at, data: { webhookId: endpoint.id, url: endpoint.url, reason } })
      .catch((err: unknown) => this.log.error({ err, webhook: endpoint.id }, 'could not record webhook.disabled'));
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
