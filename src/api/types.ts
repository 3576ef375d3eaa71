import type { AcceptPipeline } from '../accept/index.js';
import type { HeraldConfig } from '../config/index.js';
import type { Clock, Logger, Resolver } from '../core/index.js';
import type { DnsContext, DomainMonitor, SqliteDomainStore } from '../domains/index.js';
import type { QueueStore } from '../queue/index.js';
import type { AccountRateLimiter, ApiKeyScope, SqliteAccountStore } from '../accounts/index.js';
import type { SqliteTemplateStore, TemplateRenderer } from '../templates/index.js';
import type { SqliteIdempotencyStore } from './sqlite-idempotency-store.js';
import type { MailEvent } from '../core/index.js';
import type { MessageMeta } from '../queue/index.js';
import type { SqliteWebhookStore } from '../notify/index.js';
import type { SqliteSuppressionStore } from '../suppression/index.js';

/** Who is calling: resolved from the API key on every request. */
export interface ApiPrincipal {
  accountId: string;
  keyId: string;
  scope: ApiKeyScope;
}

/** What the HTTP edge is given by the composition root. */
export interface ApiDeps {
  config: HeraldConfig;
  store: QueueStore;
  accept: AcceptPipeline;
  accounts: SqliteAccountStore;
  rateLimiter: AccountRateLimiter;
  templates: SqliteTemplateStore;
  renderer: TemplateRenderer;
  idempotency: SqliteIdempotencyStore;
  domains: SqliteDomainStore;
  domainMonitor: DomainMonitor;
  /** DNS for the domain record plans (HERALD_DNS_SERVERS). */
  resolver: Resolver;
  dnsContext: DnsContext;
  webhooks: SqliteWebhookStore;
  suppressions: SqliteSuppressionStore;
  /** The event outbox, in order (pull API, new endpoints' starting point). */
  readEvents(after: number, limit: number): Promise<MailEvent[]>;
  /** A message's tags, metadata and stream, for event payloads. */
  messageMeta(id: string): Promise<MessageMeta | null>;
  /** Tells the webhook dispatcher to look at the endpoints now (after a change). */
  wakeWebhooks(): void;
  logger: Logger;
  clock: Clock;
  version: string;
}
