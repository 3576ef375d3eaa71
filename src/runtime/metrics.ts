import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { domainOf, type Clock, type MailEvent } from '../core/index.js';

/** What /metrics reads of the queue at each scrape (QueueStore.gauges). */
export interface QueueGaugeSource {
  gauges(): Promise<{ pending: Record<string, { count: number; oldestCreatedAt: Date | null }>; lastEventSeq: number }>;
}

/** The webhook endpoints' cursors in the outbox (SqlWebhookStore.enabledEndpoints). */
export type WebhookCursors = () => Promise<readonly { id: string; cursor: number }[]>;

export interface HeraldMetricsOptions {
  queue: QueueGaugeSource;
  webhookCursors: WebhookCursors;
  /** Destination domains with a label of their own; later ones count as "other". */
  domainLabels: number;
  clock: Clock;
}

/**
 * Herald's Prometheus metrics (prom-client), one registry per running Herald. The counters are
 * fed by the edges (SMTP sessions and replies, API requests) and by the store's commits
 * (delivery outcomes: every attempt of the delivery thread ends in an outbox event, which the
 * main thread hears, so nothing has to be passed back from that thread). The gauges are read
 * from the stores at each scrape.
 */
export class HeraldMetrics {
  readonly registry = new Registry();
  private readonly options: HeraldMetricsOptions;
  private readonly smtpSessions: Counter<'listener'>;
  private readonly smtpReplies: Counter<'listener' | 'code'>;
  private readonly apiDuration: Histogram<'route' | 'method' | 'status'>;
  private readonly attempts: Counter<'domain'>;
  private readonly outcomes: Counter<'domain' | 'outcome'>;
  private readonly queueDepth: Gauge<'state'>;
  private readonly queueOldest: Gauge<'state'>;
  private readonly webhookBacklog: Gauge<'endpoint'>;
  private readonly labelled = new Set<string>();

  constructor(options: HeraldMetricsOptions) {
    this.options = options;
    const registers = [this.registry];
    // Process metrics, event-loop lag among them (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry });
    this.smtpSessions = new Counter({ name: 'herald_smtp_sessions_total', help: 'SMTP connections opened, by listener.', labelNames: ['listener'], registers });
    this.smtpReplies = new Counter({ name: 'herald_smtp_replies_total', help: 'SMTP replies written, by listener and reply code.', labelNames: ['listener', 'code'], registers });
    this.apiDuration = new Histogram({
      name: 'herald_api_request_duration_seconds',
      help: 'HTTP request latency, by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.attempts = new Counter({ name: 'herald_delivery_attempts_total', help: 'Delivery attempts per recipient, by destination domain.', labelNames: ['domain'], registers });
    this.outcomes = new Counter({
      name: 'herald_delivery_outcomes_total',
      help: 'Delivery attempt outcomes (delivered, deferred, bounced, expired), by destination domain.',
      labelNames: ['domain', 'outcome'],
      registers,
    });
    this.queueDepth = new Gauge({ name: 'herald_queue_recipients', help: 'Recipients waiting in the queue, by state.', labelNames: ['state'], registers });
    this.queueOldest = new Gauge({
      name: 'herald_queue_oldest_age_seconds',
      help: 'Age of the oldest message with a recipient in this state (0 when none).',
      labelNames: ['state'],
      registers,
    });
    this.webhookBacklog = new Gauge({
      name: 'herald_webhook_backlog_events',
      help: 'Outbox events an enabled webhook endpoint has not got to yet.',
      labelNames: ['endpoint'],
      registers,
    });
  }

  smtpSession(listener: string): void {
    this.smtpSessions.inc({ listener });
  }

  smtpReply(listener: string, code: number): void {
    this.smtpReplies.inc({ listener, code: String(code) });
  }

  apiRequest(route: string, method: string, status: number, seconds: number): void {
    this.apiDuration.observe({ route, method, status: String(status) }, seconds);
  }

  /** Counts the attempt outcomes among committed events (the store's onCommit). */
  countEvents(events: readonly MailEvent[]): void {
    for (const e of events) {
      if (e.type !== 'delivered' && e.type !== 'deferred' && e.type !== 'bounced' && e.type !== 'expired') continue;
      // A bounce that came back after delivery (a DSN) is not an attempt.
      if (e.type === 'bounced' && e.data.late === true) continue;
      if (!e.recipient) continue;
      const domain = this.domainLabel(domainOf(e.recipient));
      this.attempts.inc({ domain });
      this.outcomes.inc({ domain, outcome: e.type });
    }
  }

  /** The text a Prometheus scrape gets; reads the queue and webhook gauges first. */
  async render(): Promise<{ contentType: string; body: string }> {
    const now = this.options.clock.now().getTime();
    const [gauges, cursors] = await Promise.all([this.options.queue.gauges(), this.options.webhookCursors()]);
    for (const [state, { count, oldestCreatedAt }] of Object.entries(gauges.pending)) {
      this.queueDepth.set({ state }, count);
      this.queueOldest.set({ state }, oldestCreatedAt ? Math.max(0, (now - oldestCreatedAt.getTime()) / 1000) : 0);
    }
    this.webhookBacklog.reset();
    for (const endpoint of cursors) {
      this.webhookBacklog.set({ endpoint: endpoint.id }, Math.max(0, gauges.lastEventSeq - endpoint.cursor));
    }
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Bounded cardinality: the first N domains seen keep their name, the rest are "other". */
  private domainLabel(domain: string): string {
    if (this.labelled.has(domain)) return domain;
    if (this.labelled.size < this.options.domainLabels) {
      this.labelled.add(domain);
      return domain;
    }
    return 'other';
  }
}
