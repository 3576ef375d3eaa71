/**
 * The composition root: the only place that wires rooms together. Everything that touches the
 * outside world (clock, DNS resolver, store, logger) is created or injected here.
 */
import { join } from 'node:path';
import type { HeraldConfig } from './config/index.js';
import { systemClock, type Clock, type Logger, type Resolver } from './core/index.js';
import { expectMigrations, installationSecret, migrationProblems, openSqlite, PostgresSqlDatabase, SqliteSqlDatabase, type SqlDatabase } from './storage/index.js';
import { SQLITE_QUEUE_MIGRATIONS, startRetention, ThreadedQueueStore, type QueueStore } from './queue/index.js';
import { AccountRateLimiter, SqlAccountStore, SqlCredentialStore, SqlUserStore, type CreatedApiKey } from './accounts/index.js';
import { HandlebarsTemplateRenderer, SqlTemplateStore } from './templates/index.js';
import { createAcceptPipeline } from './accept/index.js';
import { createSmtpListeners } from './receive/index.js';
import { createDelivery, NodeDnsResolver } from './deliver/index.js';
import { dnsContextOf, SqlDomainStore, startDomainMonitor, verificationChangedEvent, type DomainMonitor } from './domains/index.js';
import { ArfComplaintMailbox, InboundMailboxes, loadBounceRules, ReturnPathBounces, SqlInboundStore, startInboundJanitor, TrackingEndpoints, UnsubscribeMailbox } from './feedback/index.js';
import { SqlSuppressionStore, startSuppressionFeeder, SUPPRESSION_EVENT_TYPES, type SuppressionFeeder } from './suppression/index.js';
import { COUNTED_EVENT_TYPES, SqlStatsStore, startStatsFeeder, type StatsFeeder } from './stats/index.js';
import { startDeliveryThread, type DeliveryThread } from './delivery-thread.js';
import { EventBus, SqlWebhookStore, startWebhookDispatcher, type WebhookDispatcher } from './notify/index.js';
import { createHttpServer, defaultDashboardDir, SqlIdempotencyStore, SqlPreviewStore, startIdempotencyJanitor } from './api/index.js';
import { createLogger, HeraldMetrics, loadTlsMaterial, VERSION, type TlsMaterial } from './runtime/index.js';

export { VERSION };

export interface HeraldDeps {
  logger?: Logger;
  /** Injecting a clock or resolver runs delivery in this thread (they cannot cross threads). */
  clock?: Clock;
  resolver?: Resolver;
  /**
   * Called when Herald cannot go on (its queue store thread died). Default: exit with status 70
   * so a supervisor restarts it — everything acknowledged is on disk.
   */
  onFatal?: (err: Error) => void;
}

export interface Endpoint {
  name: string;
  address: string;
  port: number;
}

export interface RunningHerald {
  config: HeraldConfig;
  endpoints: Endpoint[];
  tls: TlsMaterial;
  store: QueueStore;
  credentials: SqlCredentialStore;
  accounts: SqlAccountStore;
  /** Dashboard users and their sessions. */
  users: SqlUserStore;
  templates: SqlTemplateStore;
  domains: SqlDomainStore;
  /** Checks a domain's records now (what `verify` does), reporting changes as events. */
  domainMonitor: DomainMonitor;
  webhooks: SqlWebhookStore;
  suppressions: SqlSuppressionStore;
  /** Reads new events into the suppression list now (tests await it instead of waiting). */
  suppressionFeeder: Pick<SuppressionFeeder, 'runOnce'>;
  stats: SqlStatsStore;
  /** Counts new events into the statistics now (tests await it instead of waiting). */
  statsFeeder: Pick<StatsFeeder, 'runOnce'>;
  events: EventBus;
  /** The default account's admin API key, made on the very first start (shown once). */
  bootstrapKey: CreatedApiKey | null;
  stop(): Promise<void>;
}

export async function startHerald(config: HeraldConfig, deps: HeraldDeps = {}): Promise<RunningHerald> {
  const logger = deps.logger ?? createLogger(config);
  const clock = deps.clock ?? systemClock;
  // Read before anything opens: a bad rule file is a start-up error naming the rule.
  const bounceRules = loadBounceRules(config.bounceRules);
  const file = join(config.dataDir, 'herald.db');
  const db = openSqlite(file);
  // The rooms' records: PostgreSQL when HERALD_DATABASE_URL is set, else the same SQLite file
  // through the one connection this thread already holds (a second connection in the same
  // thread could wait on a lock this one holds).
  const records: SqlDatabase = config.databaseUrl
    ? await PostgresSqlDatabase.open({ connection: config.databaseUrl, schema: config.databaseSchema })
    : new SqliteSqlDatabase(db);
  const store = await ThreadedQueueStore.open(file);
  // The queue migrates on its own thread; the readiness check still holds it to this build's version.
  expectMigrations('queue', SQLITE_QUEUE_MIGRATIONS);
  const credentials = await SqlCredentialStore.open(records);
  const returnPathSecret = installationSecret(db, 'return-path');
  // Signs open, click and unsubscribe links (and the unsubscribe mailto addresses).
  const trackingSecret = installationSecret(db, 'tracking');
  const events = new EventBus();
  store.onCommit((committed) => events.publish(committed));
  // Without its store Herald could only answer 451 to everyone.
  store.onFailure((err) => {
    logger.error({ err }, 'the queue store failed');
    (deps.onFatal ?? (() => process.exit(70)))(err);
  });

  const accounts = await SqlAccountStore.open(records, { clock });
  const users = await SqlUserStore.open(records, { clock, sessionIdleMs: config.sessionTimeout, maxFailures: config.loginMaxFailures, lockoutMs: config.loginLockout });
  const templates = await SqlTemplateStore.open(records, { clock });
  const renderer = new HandlebarsTemplateRenderer(templates);
  const idempotency = await SqlIdempotencyStore.open(records, { clock });
  const previews = await SqlPreviewStore.open(records, { clock });
  const domains = await SqlDomainStore.open(records, { clock });
  const resolver = deps.resolver ?? new NodeDnsResolver({ servers: config.dnsServers });
  const dnsContext = dnsContextOf(config);
  const domainMonitor = startDomainMonitor(domains, {
    resolver,
    context: dnsContext,
    clock,
    logger: logger.child({ room: 'domains' }),
    onChange: (change) => void store.recordEvent(verificationChangedEvent(change)).catch((err) => logger.error({ err }, 'could not record a domain change')),
  });
  const webhooks = await SqlWebhookStore.open(records, { clock });
  // Delivery outcomes are counted from the committed events (the delivery thread's included).
  const metrics = new HeraldMetrics({ queue: store, webhookCursors: () => webhooks.enabledEndpoints(), domainLabels: config.metricsDomains, clock });
  store.onCommit((committed) => metrics.countEvents(committed));
  const suppressions = await SqlSuppressionStore.open(records, { clock });
  const stats = await SqlStatsStore.open(records, { clock });
  const readEvents = (after: number, limit: number) => store.readEvents(after, limit);
  const messageMeta = async (id: string) => (await store.get(id))?.meta ?? null;
  // Started with the listeners; the routes only need a way to wake it.
  let dispatcher: WebhookDispatcher | undefined;
  let feeder: SuppressionFeeder | undefined;
  let statsFeeder: StatsFeeder | undefined;
  const feedbackLogger = logger.child({ room: 'feedback' });
  const complaints = new ArfComplaintMailbox({
    store,
    secret: returnPathSecret,
    bounceDomainOwner: (domain) => domains.returnPathOwner(domain),
    clock,
    logger: feedbackLogger,
  });
  const bounces = new ReturnPathBounces({
    store,
    secret: returnPathSecret,
    isBounceDomain: async (domain) => (await domains.returnPathOwner(domain)) !== null,
    rules: bounceRules,
    complaints,
    clock,
    logger: feedbackLogger,
  });
  const unsubscribes = new UnsubscribeMailbox({
    store,
    secret: trackingSecret,
    isBounceDomain: async (domain) => (await domains.returnPathOwner(domain)) !== null,
    clock,
    logger: feedbackLogger,
  });
  const inboundRecords = await SqlInboundStore.open(records);
  // Herald's own inbound addresses on the MX listener: the first mailbox that claims an address
  // gets its mail. One mailbox per line.
  const inbound = new InboundMailboxes(
    [
      complaints,
      bounces,
      unsubscribes,
    ],
    { records: inboundRecords, authentication: { resolver, hostname: config.hostname }, clock, logger: feedbackLogger },
  );

  const tls = await loadTlsMaterial(config);
  const accept = createAcceptPipeline({
    store,
    config,
    clock,
    templates: renderer,
    senders: domains,
    suppressions,
    tracking: { secret: trackingSecret, defaults: accounts },
    logger: logger.child({ room: 'accept' }),
  });
  const smtp = createSmtpListeners({
    config,
    accept,
    credentials,
    tls,
    inbound,
    logger: logger.child({ room: 'receive' }),
    observe: { session: (listener) => metrics.smtpSession(listener), reply: (listener, code) => metrics.smtpReply(listener, code) },
  });
  const apiLogger = logger.child({ room: 'api' });
  const http = createHttpServer({
    config,
    store,
    accept,
    accounts,
    rateLimiter: new AccountRateLimiter({ clock }),
    templates,
    renderer,
    idempotency,
    previews,
    domains,
    domainMonitor,
    resolver,
    dnsContext,
    webhooks,
    suppressions,
    stats,
    inbound: inboundRecords,
    readEvents,
    messageMeta,
    wakeWebhooks: () => dispatcher?.wake(),
    subscribeEvents: (listener) => events.subscribe(listener),
    credentials,
    users,
    dashboardDir: defaultDashboardDir(),
    tracking: new TrackingEndpoints({ store, secret: trackingSecret, clock, logger: feedbackLogger }),
    readiness: {
      store: async () => {
        await store.countByState();
        return null;
      },
      // The queue's ledger is always in the SQLite file; the record stores' in the records database.
      migrations: async () => [...migrationProblems(db), ...(await records.migrationProblems())].join('; ') || null,
    },
    metrics,
    clock,
    logger: apiLogger,
    version: VERSION,
  });
  let bootstrapKey: CreatedApiKey | null = null;

  const endpoints: Endpoint[] = [];
  const stops: (() => Promise<void>)[] = [];
  // Graceful stop, first half, all at once: the edges refuse new work and finish what they hold,
  // delivery stops claiming and lets its attempts finish (each bounded by HERALD_SHUTDOWN_TIMEOUT).
  const drains: (() => Promise<void>)[] = [];
  let drainedAll = false;
  try {
    // The monitor is already ticking: whatever fails below must stop it too.
    stops.push(() => domainMonitor.stop());
    bootstrapKey = await accounts.createBootstrapAdminKey();
    // One process owns an SQLite data directory, so at start-up every lease left in it belongs
    // to a process that died mid-attempt: return that work to the queue now rather than when
    // the lease would have expired.
    const recovered = await store.reapExpiredLeases(clock.now(), { all: true });
    if (recovered > 0) logger.warn({ recipients: recovered }, 'recovered recipients left mid-attempt by a previous run');
    const deliverLog = logger.child({ room: 'deliver' });
    let delivery: DeliveryThread;
    if (deps.clock || deps.resolver) {
      // An injected clock or resolver cannot cross threads: deliver in this one.
      const scheduler = createDelivery({ store, config, clock, resolver: deps.resolver, logger: deliverLog, returnPathSecret });
      await scheduler.start();
      delivery = scheduler;
    } else {
      delivery = await startDeliveryThread(store, config, deliverLog, returnPathSecret);
    }
    stops.push(() => delivery.stop());
    drains.push(() => delivery.stop());
    const retention = startRetention(store, { retentionMs: config.retention, clock, logger: logger.child({ room: 'queue' }) });
    stops.push(() => retention.stop());
    // Webhooks read the durable outbox; commits are only a hint to look now.
    const running = startWebhookDispatcher({ store: webhooks, readEvents, messageMeta, resolver, config, clock, logger: logger.child({ room: 'notify' }), recordEvent: (e) => store.recordEvent(e) });
    dispatcher = running;
    store.onCommit((committed) => {
      if (committed.length) running.wake();
    });
    stops.push(() => running.stop());
    // Hard bounces, complaints, unsubscribes and repeated soft bounces fill the suppression list.
    feeder = startSuppressionFeeder({ store: suppressions, readEvents, config, clock, logger: logger.child({ room: 'suppression' }) });
    store.onCommit((committed) => {
      if (committed.some((e) => (SUPPRESSION_EVENT_TYPES as readonly string[]).includes(e.type))) feeder?.wake();
    });
    const started = feeder;
    stops.push(() => started.stop());
    // The statistics roll-ups count events from the outbox; commits are a hint, gathered for a second.
    const counting = startStatsFeeder({ store: stats, readEvents, messageLabels: messageMeta, config, clock, logger: logger.child({ room: 'stats' }) });
    statsFeeder = counting;
    store.onCommit((committed) => {
      if (committed.some((e) => (COUNTED_EVENT_TYPES as readonly string[]).includes(e.type))) counting.wake();
    });
    stops.push(() => counting.stop());
    const janitor = startIdempotencyJanitor(idempotency, { clock, logger: apiLogger });
    stops.push(() => janitor.stop());
    const inboundJanitor = startInboundJanitor(inboundRecords, { retentionMs: config.retention, clock, logger: feedbackLogger });
    stops.push(() => inboundJanitor.stop());
    for (const l of await smtp.start()) endpoints.push({ name: `smtp-${l.kind}`, address: l.address, port: l.port });
    // After the drain below, whatever is still open has had its time.
    stops.push(() => smtp.stop({ graceMs: drainedAll ? 0 : undefined }));
    drains.push(() => smtp.drain());
    if (config.httpPort !== 0) {
      const h = await http.start(config.httpPort, config.httpBind);
      endpoints.push({ name: 'http', address: h.address, port: h.port });
      stops.push(() => http.stop({ graceMs: drainedAll ? 0 : undefined }));
      drains.push(() => http.drain());
    }
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await store.close().catch(() => {});
    await records.close().catch(() => {});
    db.close();
    throw err;
  }

  let stopping: Promise<void> | null = null;
  return {
    config,
    endpoints,
    tls,
    store,
    credentials,
    accounts,
    users,
    templates,
    domains,
    domainMonitor,
    webhooks,
    suppressions,
    suppressionFeeder: { runOnce: () => feeder!.runOnce() },
    stats,
    statsFeeder: { runOnce: () => statsFeeder!.runOnce() },
    events,
    bootstrapKey,
    stop() {
      // Edges and delivery first, together (no new mail or work; what is in flight finishes),
      // then the rest in reverse order of starting, then the store flushes and closes.
      stopping ??= (async () => {
        logger.info({ timeoutMs: config.shutdownTimeout }, 'stopping: finishing what is in flight');
        let timer: NodeJS.Timeout | undefined;
        const timeUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, config.shutdownTimeout)));
        await Promise.race([Promise.all(drains.map((drain) => drain().catch((err) => logger.error({ err }, 'error while stopping')))), timeUp]);
        clearTimeout(timer);
        drainedAll = true;
        for (const stop of stops.reverse()) await stop().catch((err) => logger.error({ err }, 'error while stopping'));
        await store.close();
        await records.close();
        db.close();
      })();
      return stopping;
    },
  };
}
