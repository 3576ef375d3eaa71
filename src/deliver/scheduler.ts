import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { HeraldConfig } from '../config/index.js';
import { silentLogger, systemClock, type Clock, type Logger, type MailEvent, type RecipientOutcome } from '../core/index.js';
import type { DeliveryBatch, DestinationSlots, NewMessage, QueueStore, RecipientResult } from '../queue/index.js';
import { MemoryRateCounter, MINUTE_MS, windowsAt, type KeyedRateLimiter } from '../storage/index.js';
import { buildDsn, type DsnRecipient } from './dsn.js';
import { decideRetry } from './retry-policy.js';
import type { Transport } from './smtp-transport.js';

/** A destination paused until a time (ms); `ownLimit`: by this node's rate limit, not a failure there. */
interface Pause {
  until: number;
  reason: string;
  ownLimit?: boolean;
}

export interface DeliverySchedulerOptions {
  store: QueueStore;
  transport: Transport;
  config: Pick<HeraldConfig, 'hostname' | 'retrySchedule' | 'maxQueueAge' | 'deliveryConcurrency' | 'destinationConcurrency'> & Partial<Pick<HeraldConfig, 'destinationRate'>>;
  clock?: Clock;
  logger?: Logger;
  /** Lease owner id; unique per process by default. */
  owner?: string;
  /**
   * How long a claim is ours before another worker may take it over (crash recovery). It must
   * outlast a slow attempt: up to 5 addresses × connect timeout, plus RFC 5321 §4.5.3.2 command
   * timeouts (10 min after the final dot). Default 10 min.
   */
  leaseMs?: number;
  /** Periodic rescan: other processes (the CLI, other workers) change the queue too. */
  rescanMs?: number;
  /**
   * New work, and capacity freed by finished attempts, is picked up at most this long later, all
   * of it in one claim round. Claiming on every commit or every finished attempt would put a
   * store transaction between every two accepts, adding latency to the 250s for nothing a
   * recipient could notice. Default 5 ms.
   */
  pickupDelayMs?: number;
  /** Pause for a destination after a site or connection failure (capped by the first retry step). */
  siteBackoffMs?: number;
  /** How long stop() lets attempts in flight finish before aborting them. */
  stopGraceMs?: number;
  /**
   * Several nodes on one database: HERALD_DESTINATION_CONCURRENCY then counts the connections to
   * a destination across all of them. Every attempt first takes one of the destination's slots
   * here, leased for leaseMs. Without it the limit is this process's own (one node alone).
   */
  slots?: DestinationSlots;
  /**
   * How long a claimed batch may wait for a cluster slot before it goes back to the queue
   * untried (so its claim lease never runs out while it waits, and the attempt that finally
   * runs has most of the lease left). Default a tenth of leaseMs.
   */
  slotWaitMs?: number;
  /**
   * After the cluster had no slot for a destination, how long before this node asks again (an
   * attempt of its own there ending asks at once). Short, because the slot another node frees
   * tells no one: waiting a whole rescan let two nodes stall each other on a busy destination.
   * Default 200 ms (a failed ask is one statement).
   */
  slotRetryMs?: number;
  /**
   * Counts HERALD_DESTINATION_RATE, under `destination:<domain>`. Several nodes on one database
   * pass the shared counter so the limit holds across them; without it the count is this
   * process's own (one node alone).
   */
  destinationRates?: KeyedRateLimiter;
}

/**
 * Turns due recipients into attempts: claims batches under a lease, delivers each with the
 * transport, runs every outcome through the retry policy, builds DSNs, and records it all in one
 * store transaction. Wakes on new work (store commits), at the next due time, and on a periodic
 * rescan.
 */
export class DeliveryScheduler {
  private readonly store: QueueStore;
  private readonly transport: Transport;
  private readonly config: DeliverySchedulerOptions['config'];
  private readonly clock: Clock;
  private readonly log: Logger;
  readonly owner: string;
  private readonly leaseMs: number;
  private readonly rescanMs: number;
  private readonly pickupDelayMs: number;
  private pickup: NodeJS.Timeout | undefined;
  private readonly siteBackoffMs: number;
  private readonly stopGraceMs: number;
  private readonly slots: DestinationSlots | undefined;
  private readonly slotWaitMs: number;
  private readonly slotRetryMs: number;
  private readonly destinationRates: KeyedRateLimiter;

  private running = false;
  private pumping = false;
  private pumpAgain = false;
  private timer: NodeJS.Timeout | undefined;
  private lastReap = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly perDomain = new Map<string, number>();
  /** Claimed batches waiting for a slot at their destination. */
  private readonly waiting = new Map<string, DeliveryBatch[]>();
  /**
   * Destinations whose cluster slots were all taken at our last try: not asked again before
   * this time (a rescan away), or before one of our own attempts there ends and frees a slot.
   */
  private readonly slotsFull = new Map<string, number>();
  /** Destinations paused until a time: after a site failure (and which), or (`ownLimit`) at HERALD_DESTINATION_RATE. */
  private readonly backoff = new Map<string, Pause>();
  private abort = new AbortController();
  private listening = false;

  constructor(options: DeliverySchedulerOptions) {
    this.store = options.store;
    this.transport = options.transport;
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ component: 'scheduler' });
    this.owner = options.owner ?? `${osHostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.leaseMs = options.leaseMs ?? 10 * 60_000;
    this.rescanMs = options.rescanMs ?? 5_000;
    this.pickupDelayMs = options.pickupDelayMs ?? 5;
    this.siteBackoffMs = options.siteBackoffMs ?? 60_000;
    this.stopGraceMs = options.stopGraceMs ?? 30_000;
    this.slots = options.slots;
    this.slotWaitMs = options.slotWaitMs ?? this.leaseMs / 10;
    this.slotRetryMs = options.slotRetryMs ?? Math.min(200, this.rescanMs);
    this.destinationRates = options.destinationRates ?? new MemoryRateCounter({ clock: this.clock });
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    // Crash recovery: recipients left 'delivering' by a dead worker go back to due.
    const reaped = await this.store.reapExpiredLeases(this.clock.now());
    this.lastReap = Date.now();
    if (reaped > 0) this.log.info({ recipients: reaped }, 'expired leases returned to the queue');
    if (!this.listening) {
      this.listening = true;
      this.store.onCommit((events) => this.onCommit(events));
    }
    this.wake();
  }

  /** Stops claiming, lets attempts in flight finish (aborting them after the grace period), closes connections. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.pickup);
    this.pickup = undefined;
    const graceful = Promise.all([...this.inFlight]).then(() => true);
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise<boolean>((resolve) => {
      graceTimer = setTimeout(() => resolve(false), this.stopGraceMs);
    });
    const finished = await Promise.race([graceful, grace]);
    clearTimeout(graceTimer);
    if (!finished) {
      this.log.warn({ inFlight: this.inFlight.size }, 'aborting delivery attempts still in flight');
      this.abort.abort();
      await Promise.all([...this.inFlight]);
    }
    this.waiting.clear();
    this.slotsFull.clear();
    if (this.slots) {
      // Each attempt gave its slot back as it ended; this catches what a failed release left.
      await this.slots.releaseAll(this.owner).catch((err: unknown) => {
        this.log.error({ err }, 'could not release destination slots; they come free when their leases expire');
      });
    }
    await this.transport.close();
    // What is still leased to us (batches claimed but never started, attempts cut off) goes back
    // to the queue now, not when the lease would expire: another worker, or this node after its
    // restart, takes it at once.
    const released = await this.store.releaseLeases(this.owner, this.clock.now()).catch((err: unknown) => {
      this.log.error({ err }, 'could not release leases; they return to the queue when they expire');
      return 0;
    });
    if (released > 0) this.log.info({ recipients: released }, 'leases released to the queue');
  }

  /** Attempts in flight now (for tests and metrics). */
  get busy(): number {
    return this.inFlight.size;
  }

  private onCommit(events: MailEvent[]): void {
    if (!this.running) return;
    // An empty list is the store saying "work became due" (reaped leases, retry now).
    if (events.length === 0 || events.some((e) => e.type === 'accepted' || e.type === 'released')) this.wakeSoon();
  }

  /** Claims after the pickup delay, once for everything that happened meanwhile. */
  private wakeSoon(): void {
    if (!this.running) return;
    this.pickup ??= setTimeout(() => {
      this.pickup = undefined;
      this.wake();
    }, this.pickupDelayMs);
  }

  private wake(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pump()
      .catch((err) => this.log.error({ err }, 'delivery loop failed; retrying at the next rescan'))
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.wake();
        }
      });
  }

  private async pump(): Promise<void> {
    this.startWaiting();
    if (Date.now() - this.lastReap >= this.rescanMs) {
      this.lastReap = Date.now();
      // Other workers (or a previous run of this one) may have died holding leases.
      await this.store.reapExpiredLeases(this.clock.now());
    }
    let now = this.clock.now();
    for (;;) {
      if (!this.running) return;
      now = this.clock.now();
      const capacity = this.config.deliveryConcurrency - this.inFlight.size - this.waitingCount();
      if (capacity <= 0) break;
      // No skipDomains here: a destination with a large backlog (down, or at its concurrency
      // limit) would make every claim scan all of its due rows. Its batches are claimed in due
      // order instead, and wait here for a slot or are deferred at once while it backs off.
      const batches = await this.store.claimDue({ owner: this.owner, now, limit: capacity, leaseMs: this.leaseMs });
      if (batches.length === 0) break;
      for (const batch of batches) {
        const list = this.waiting.get(batch.domain) ?? [];
        list.push(batch);
        this.waiting.set(batch.domain, list);
      }
      this.startWaiting();
    }
    await this.arm(now.getTime());
  }

  private waitingCount(): number {
    let n = 0;
    for (const list of this.waiting.values()) n += list.length;
    return n;
  }

  /**
   * Starts waiting batches whose destination has a free slot (HERALD_DESTINATION_CONCURRENCY).
   * Synchronous: a batch leaves its waiting list here and is either launched or, when the
   * cluster has no slot for it, put back by the launch itself — never in both places.
   */
  private startWaiting(): void {
    const now = this.clock.now().getTime();
    for (const [domain, list] of this.waiting) {
      const pause = this.backoff.get(domain);
      if (pause && pause.until > now) {
        // Like Postfix's "delivery temporarily suspended": while a destination backs off, its
        // work is deferred without a connection attempt, keeping the claim query cheap. Held
        // back by this node's own rate limit, it is given back untried instead.
        for (const batch of list.splice(0)) this.track(batch, pause.ownLimit ? this.postpone(batch, pause) : this.suspend(batch, pause));
      } else if (pause) this.backoff.delete(domain);
      const full = this.slotsFull.get(domain);
      if (full !== undefined && full > now) {
        this.giveBackOverdue(domain, list, now);
      } else {
        if (full !== undefined) this.slotsFull.delete(domain);
        while (list.length > 0 && (this.perDomain.get(domain) ?? 0) < this.config.destinationConcurrency && this.running) {
          this.launch(list.shift()!);
        }
      }
      if (list.length === 0) this.waiting.delete(domain);
    }
  }

  /**
   * Batches that waited slotWaitMs for a cluster slot are given back to the queue untried, due
   * again after slotRetryMs: while the other nodes keep the destination's slots busy, a claim held
   * here must not run out (another node would then deliver it too). Waiting for a free connection
   * is not an attempt, so it neither counts as one nor moves the message along its retry schedule
   * (as with HERALD_DESTINATION_RATE, see postpone).
   */
  private giveBackOverdue(domain: string, list: DeliveryBatch[], now: number): void {
    // A message past its expiry is deferred instead, with this reason (see postpone).
    const reason = `all ${this.config.destinationConcurrency} connections to ${domain} are in use across the cluster`;
    let given = 0;
    for (let i = list.length - 1; i >= 0; i--) {
      const claimedAt = list[i].leaseExpiresAt.getTime() - this.leaseMs;
      if (now - claimedAt < this.slotWaitMs) continue;
      const [batch] = list.splice(i, 1);
      this.track(batch, this.postpone(batch, { until: now + this.slotRetryMs, reason }));
      given++;
    }
    if (given > 0) this.log.info({ domain, batches: given }, `${reason}; its mail goes back to the queue untried`);
  }

  private launch(batch: DeliveryBatch): void {
    // Counted here, before the cluster slot is ours, so this loop cannot overshoot the local limit.
    this.perDomain.set(batch.domain, (this.perDomain.get(batch.domain) ?? 0) + 1);
    this.track(batch, this.slots ? this.attemptInSlot(this.slots, batch) : this.attempt(batch), true);
  }

  /**
   * Takes a cluster slot for the batch's destination, runs the attempt and gives the slot back
   * (also when the attempt fails) before the local count drops, so the next batch there finds it
   * free. Without a slot the batch goes back to the head of its waiting list, and the destination
   * is asked again after slotRetryMs or when one of our attempts there ends, whichever is first.
   */
  private async attemptInSlot(slots: DestinationSlots, batch: DeliveryBatch): Promise<void> {
    const slot = await slots
      .acquire(batch.domain, this.config.destinationConcurrency, this.owner, this.clock.now(), this.leaseMs)
      .catch((err: unknown) => {
        this.log.error({ err, domain: batch.domain }, 'could not take a destination slot; the batch waits for the next try');
        return null;
      });
    if (slot === null) {
      this.slotsFull.set(batch.domain, this.clock.now().getTime() + this.slotRetryMs);
      const list = this.waiting.get(batch.domain) ?? [];
      list.unshift(batch);
      this.waiting.set(batch.domain, list);
      return;
    }
    try {
      // stop() began meanwhile: it hands the claim back to the queue.
      if (this.running) await this.attempt(batch);
    } finally {
      await slots.release(batch.domain, slot, this.owner).catch((err: unknown) => {
        this.log.error({ err, domain: batch.domain }, 'could not release a destination slot; it comes free when its lease expires');
      });
      this.slotsFull.delete(batch.domain);
    }
  }

  private track(batch: DeliveryBatch, work: Promise<void>, holdsSlot = false): void {
    const task: Promise<void> = work
      .catch((err) => this.log.error({ err, messageId: batch.messageId, domain: batch.domain }, 'delivery attempt failed; the lease will expire and it will be retried'))
      .finally(() => {
        this.inFlight.delete(task);
        if (holdsSlot) {
          const n = (this.perDomain.get(batch.domain) ?? 1) - 1;
          if (n <= 0) this.perDomain.delete(batch.domain);
          else this.perDomain.set(batch.domain, n);
        }
        // A freed slot goes at once to a batch already claimed for its destination; claiming
        // more waits for the pickup delay, so many finishing attempts share one claim round
        // (one store transaction) instead of one each.
        if (this.running) this.startWaiting();
        this.wakeSoon();
      });
    this.inFlight.add(task);
  }

  /**
   * Sets the timer to the next due time, at most one rescan period away. `looked` is when the
   * pump last claimed (or found no capacity to claim).
   */
  private async arm(looked: number): Promise<void> {
    clearTimeout(this.timer);
    if (!this.running) return;
    const due = await this.store.nextDueAt();
    const now = this.clock.now().getTime();
    let delay = this.rescanMs;
    // Work due by then but not claimed waits for capacity: a finishing attempt wakes us, so do
    // not poll for it. Work that came due since (a backoff's batches all come due at its end,
    // often between the claim and now) is claimed at once, not a rescan later.
    if (due && due.getTime() > looked) delay = Math.min(delay, due.getTime() - now);
    for (const { until } of this.backoff.values()) if (until > now) delay = Math.min(delay, until - now);
    for (const until of this.slotsFull.values()) if (until > now) delay = Math.min(delay, until - now);
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), Math.max(delay, 1));
  }

  private async attempt(batch: DeliveryBatch): Promise<void> {
    if (!(await this.withinRate(batch))) return;
    const log = this.log.child({ messageId: batch.messageId, domain: batch.domain });
    const body = await this.store.getBody(batch.messageId);
    if (!body) {
      // Removed by an operator while claimed: nothing to deliver, and no row left to record on.
      log.info('message removed before delivery; skipping');
      return;
    }
    const started = this.clock.now();
    const result = await this.transport.deliver(batch, body, this.abort.signal);
    await this.record(batch, result.outcomes, started, body, log);
  }

  /**
   * HERALD_DESTINATION_RATE, taken once the batch holds its connection slot: one batch (one SMTP
   * transaction) counts one message. Refused, the destination backs off until the minute ends,
   * as after a site failure, so this batch and the others there are deferred without connecting.
   * A count that fails defers the batch rather than risk passing the limit.
   */
  private async withinRate(batch: DeliveryBatch): Promise<boolean> {
    const max = this.config.destinationRate ?? 0;
    if (max === 0) return true;
    const now = this.clock.now().getTime();
    const verdict = await this.destinationRates
      .take(`destination:${batch.domain}`, 1, { ratePerMinute: max, ratePerDay: null }, new Date(now))
      .catch((err: unknown) => {
        this.log.error({ err, domain: batch.domain }, 'could not count the rate of messages to a destination; the batch is deferred');
        return null;
      });
    if (verdict?.ok) return true;
    if (verdict === null) {
      await this.suspend(batch, { until: now, reason: `the rate of messages to ${batch.domain} could not be counted` });
      return false;
    }
    const pause: Pause = { until: windowsAt(now).minuteStart + MINUTE_MS, reason: `rate limit: ${max} messages per minute to ${batch.domain}`, ownLimit: true };
    // A longer pause after a site failure stays.
    if ((this.backoff.get(batch.domain)?.until ?? 0) < pause.until) {
      this.backoff.set(batch.domain, pause);
      this.log.info({ domain: batch.domain, until: new Date(pause.until) }, `destination rate reached (${max} messages a minute); its mail waits for the minute to end`);
    }
    await this.postpone(batch, pause);
    return false;
  }

  /**
   * Gives a batch back untried, due when the pause ends: waiting for Herald's own limits (the
   * destination's rate, a cluster connection slot) is not an attempt, so it neither counts as
   * one nor moves the message along its retry schedule, and makes no event. A message that has
   * reached its expiry is deferred instead, which expires it with its bounce notice.
   */
  private async postpone(batch: DeliveryBatch, pause: Pause): Promise<void> {
    const now = this.clock.now();
    if (now.getTime() >= batch.expiresAt.getTime()) return this.suspend(batch, pause);
    await this.store.postpone(batch, new Date(pause.until), now);
  }

  /** Defers a batch for a destination that is backing off, without connecting. */
  private async suspend(batch: DeliveryBatch, pause: Pause): Promise<void> {
    const failure = { scope: 'site' as const, reason: `delivery temporarily suspended: ${pause.reason}` };
    const outcomes = new Map<number, RecipientOutcome>(batch.recipients.map((r) => [r.id, { kind: 'deferred', failure, notBefore: new Date(pause.until) }]));
    const log = this.log.child({ messageId: batch.messageId, domain: batch.domain });
    // A bounce notice (on expiry) quotes the original headers, so load the body only then.
    const expiring = this.clock.now().getTime() >= batch.expiresAt.getTime();
    const body = expiring ? await this.store.getBody(batch.messageId) : null;
    await this.record(batch, outcomes, this.clock.now(), body ?? Buffer.alloc(0), log, false);
  }

  /** Runs outcomes through the retry policy, builds DSNs, and records the attempt. */
  private async record(batch: DeliveryBatch, outcomes: Map<number, RecipientOutcome>, started: Date, body: Buffer, log: Logger, mayBackOff = true): Promise<void> {
    const at = this.clock.now();

    const results: RecipientResult[] = [];
    const failed: DsnRecipient[] = [];
    let siteFailure: string | undefined;
    for (const r of batch.recipients) {
      const outcome: RecipientOutcome = outcomes.get(r.id) ?? {
        kind: 'deferred',
        failure: { scope: 'site', reason: 'The transport returned no outcome for this recipient' },
      };
      if (outcome.kind === 'deferred' && (outcome.failure.scope === 'site' || outcome.failure.scope === 'connection')) siteFailure = outcome.failure.reason;
      const decision = decideRetry({
        outcome,
        attempt: r.attempts + 1,
        createdAt: batch.createdAt,
        expiresAt: batch.expiresAt,
        now: at,
        schedule: this.config.retrySchedule,
      });
      results.push({ recipientId: r.id, outcome, ...decision });
      if (decision.state === 'bounced' || decision.state === 'expired') failed.push({ address: r.address, state: decision.state, outcome, lastAttemptAt: at });
      const failure = outcome.kind === 'delivered' ? undefined : outcome.failure;
      log.info(
        { recipient: r.address, state: decision.state, host: outcome.kind === 'delivered' ? outcome.host : failure?.host, reason: failure?.reason, nextAttemptAt: decision.nextAttemptAt, ms: at.getTime() - started.getTime() },
        `recipient ${decision.state}`,
      );
    }

    if (siteFailure && mayBackOff && !this.abort.signal.aborted) {
      // The destination is unreachable or refusing: give it a pause instead of hammering it with
      // the rest of its queue (DESIGN §4: a site failure slows the destination down).
      const pause = Math.min(this.siteBackoffMs, this.config.retrySchedule[0] ?? this.siteBackoffMs);
      this.backoff.set(batch.domain, { until: at.getTime() + pause, reason: siteFailure });
    }

    const dsns: NewMessage[] = [];
    const dsn = buildDsn({ batch, recipients: failed, originalBody: body, hostname: this.config.hostname, now: at, maxQueueAgeMs: this.config.maxQueueAge });
    if (dsn) {
      dsns.push(dsn);
      log.info({ dsn: dsn.id, to: batch.mailFrom, recipients: failed.length }, 'delivery status notification queued');
    }
    await this.store.recordAttempt({ batch, at, results, dsns });
  }
}
