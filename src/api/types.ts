import type { AcceptPipeline } from '../accept/index.js';
import type { HeraldConfig } from '../config/index.js';
import type { Clock, Logger, Resolver } from '../core/index.js';
import type { DnsContext, DomainMonitor, SqlDomainStore } from '../domains/index.js';
import type { QueueStore } from '../queue/index.js';
import type { RateLimiter, ApiKeyScope, SqlAccountStore, SqlCredentialStore, SqlUserStore } from '../accounts/index.js';
import type { SqlTemplateStore, TemplateRenderer } from '../templates/index.js';
import type { SqlIdempotencyStore } from './sql-idempotency-store.js';
import type { SqlPreviewStore } from './sql-preview-store.js';
import type { MailEvent } from '../core/index.js';
import type { MessageMeta } from '../queue/index.js';
import type { SqlWebhookStore } from '../notify/index.js';
import type { SqlSuppressionStore } from '../suppression/index.js';
import type { SqlInboundStore } from '../feedback/index.js';
import type { SqlStatsStore } from '../stats/index.js';

/** Who is calling: resolved from the API key on every request. */
export interface ApiPrincipal {
  accountId: string;
  keyId: string;
  scope: ApiKeyScope;
  /** Set when a dashboard session (cookie) made the request: the signed-in user's id. */
  userId?: string;
}

/** A hit on a public tracking URL, and the answer to send as it is (the feedback room answers). */
export interface TrackingEndpoints {
  open(token: string, hit: TrackingHitInfo): Promise<TrackingAnswer>;
  click(token: string, hit: TrackingHitInfo): Promise<TrackingAnswer>;
  unsubscribePage(token: string): TrackingAnswer;
  unsubscribe(token: string, hit: TrackingHitInfo, body: string): Promise<TrackingAnswer>;
}

export interface TrackingHitInfo {
  method: string;
  ip: string;
  userAgent: string;
}

export interface TrackingAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

/** What the HTTP edge is given by the composition root. */
export interface ApiDeps {
  config: HeraldConfig;
  /**
   * false on a node without the api role (HERALD_ROLES): only /healthz, /readyz and /metrics
   * are served. Default true.
   */
  serveApi?: boolean;
  store: QueueStore;
  accept: AcceptPipeline;
  accounts: SqlAccountStore;
  /** Account sending limits: in this process's memory, or shared through the database on a cluster. */
  rateLimiter: RateLimiter;
  templates: SqlTemplateStore;
  renderer: TemplateRenderer;
  idempotency: SqlIdempotencyStore;
  /** Rendered template previews (POST /templates/preview), shared by every API process. */
  previews: SqlPreviewStore;
  domains: SqlDomainStore;
  domainMonitor: DomainMonitor;
  /** DNS for the domain record plans (HERALD_DNS_SERVERS). */
  resolver: Resolver;
  dnsContext: DnsContext;
  webhooks: SqlWebhookStore;
  suppressions: SqlSuppressionStore;
  /** Inbound mail for Herald's own addresses (bounces, complaints), read-only. */
  inbound: Pick<SqlInboundStore, 'get' | 'getRaw' | 'list'>;
  /** The statistics roll-ups (GET /api/v1/stats). */
  stats: SqlStatsStore;
  /** The event outbox, in order (pull API, new endpoints' starting point). */
  readEvents(after: number, limit: number): Promise<MailEvent[]>;
  /** Messages' tags, metadata and stream, for event payloads: many in one call; one not found is left out. */
  messageMeta(ids: readonly string[]): Promise<ReadonlyMap<string, MessageMeta>>;
  /** Tells the webhook dispatcher to look at the endpoints now (after a change). */
  wakeWebhooks(): void;
  /** SMTP credentials (GET/POST/DELETE /api/v1/credentials); not served without it. */
  credentials?: Pick<SqlCredentialStore, 'create' | 'list' | 'revoke'>;
  /** Every committed event as it happens (the in-process EventBus); GET /events/stream is not served without it. */
  subscribeEvents?(listener: (event: MailEvent) => void): () => void;
  /** Dashboard users and sessions (POST /api/v1/session, the herald_session cookie); no sign-in without it. */
  users?: SqlUserStore;
  /** The built dashboard's directory, served at `/`; not served without it. */
  dashboardDir?: string;
  /** The public open, click and unsubscribe URLs (/t/…); not served without it. */
  tracking?: TrackingEndpoints;
  /**
   * Named readiness checks for GET /readyz (e.g. store, migrations): each resolves to null when
   * fine, or to what is wrong in plain words.
   */
  readiness?: Record<string, () => Promise<string | null>>;
  /** Prometheus metrics: request latencies go in, GET /metrics reads them out (not served without it). */
  metrics?: {
    apiRequest(route: string, method: string, status: number, seconds: number): void;
    render(): Promise<{ contentType: string; body: string }>;
  };
  logger: Logger;
  clock: Clock;
  version: string;
}
