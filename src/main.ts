/**
 * The composition root: the only place that wires rooms together. Everything that touches the
 * outside world (clock, DNS resolver, store, logger) is created or injected here.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { HeraldConfig } from './config/index.js';
import { systemClock, type Clock, type Logger, type Resolver } from './core/index.js';
import {
  copySqliteToPostgres,
  openSqlite,
  PostgresSqlDatabase,
  runWhileLeased,
  soloJobLeases,
  SqliteSqlDatabase,
  SqlJobLeases,
  SqlRateCounter,
  type CopiedTable,
  type CopyProgress,
  type SqlDatabase,
  type SqliteDatabase,
  type StoppableJob,
} from './storage/index.js';
import { POSTGRES_QUEUE_MIGRATIONS, PostgresQueueStore, SQLITE_QUEUE_MIGRATIONS, SqlDestinationSlots, startRetention, ThreadedQueueStore, type QueueStore } from './queue/index.js';
import { AccountRateLimiter, SqlAccountRateLimiter, SqlAccountStore, SqlCredentialStore, SqlUserStore, type CreatedApiKey } from './accounts/index.js';
import { HandlebarsTemplateRenderer, SqlTemplateStore } from './templates/index.js';
import { createAcceptPipeline } from './accept/index.js';
import { createSmtpListeners } from './receive/index.js';
import { createDelivery, NodeDnsResolver } from './deliver/index.js';
import { dnsContextOf, SqlDomainStore, startDomainMonitor, verificationChangedEvent, type DomainChange, type DomainMonitor } from './domains/index.js';
import { ArfComplaintMailbox, InboundMailboxes, loadBounceRules, ReturnPathBounces, SqlInboundStore, startInboundJanitor, TrackingEndpoints, UnsubscribeMailbox } from './feedback/index.js';
import { SqlSuppressionStore, startSuppressionFeeder, SUPPRESSION_EVENT_TYPES, type SuppressionFeeder } from './suppression/index.js';
import { COUNTED_EVENT_TYPES, SqlStatsStore, startStatsFeeder, type StatsFeeder } from './stats/index.js';
import { startDeliveryThread, type DeliveryThread } from './delivery-thread.js';
import { EventBus, SqlWebhookStore, startWebhookDispatcher, type WebhookDispatcher } from './notify/index.js';
import { createHttpServer, defaultDashboardDir, SqlIdempotencyStore, SqlPreviewStore, startIdempotencyJanitor } from './api/index.js';
import { createLogger, HeraldMetrics, loadTlsMaterial, runStopSteps, VERSION, type StopStep, type TlsMaterial } from './runtime/index.js';

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
  const roles = new Set(config.roles);
  // This node's name in leases (queue claims, destination slots, periodic jobs).
  const node = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const { records, store, sqlite, postgres } = await openDatabases(config, logger, { listen: roles.has('worker') });
  const { credentials, accounts, users, templates, idempotency, previews, domains, webhooks, suppressions, stats, inboundRecords, returnPathSecret, trackingSecret } = await openRecordStores(records, config, clock);
  const events = new EventBus();
  store.onCommit((committed) => events.publish(committed));
  // Without its store Herald could only answer 451 to everyone.
  if (store instanceof ThreadedQueueStore) {
    store.onFailure((err) => {
      logger.error({ err }, 'the queue store failed');
      (deps.onFatal ?? (() => process.exit(70)))(err);
    });
  }
  // Nodes sharing PostgreSQL take turns at the periodic jobs; a node alone on its SQLite file runs them all.
  const leases = postgres ? await SqlJobLeases.open(records, node) : soloJobLeases;

  const renderer = new HandlebarsTemplateRenderer(templates);
  const resolver = deps.resolver ?? new NodeDnsResolver({ servers: config.dnsServers });
  const dnsContext = dnsContextOf(config);
  const domainMonitorOptions = {
    resolver,
    context: dnsContext,
    clock,
    logger: logger.child({ room: 'domains' }),
    onChange: (change: DomainChange) => void store.recordEvent(verificationChangedEvent(change)).catch((err) => logger.error({ err }, 'could not record a domain change')),
  };
  // Serves "verify now"; its periodic checks run here only on a lone worker (a cluster leases them below).
  const domainMonitor = startDomainMonitor(domains, { ...domainMonitorOptions, tickMs: postgres || !roles.has('worker') ? 0 : undefined });
  // Delivery outcomes are counted from the committed events (the delivery thread's included).
  const metrics = new HeraldMetrics({ queue: store, webhookCursors: () => webhooks.enabledEndpoints(), domainLabels: config.metricsDomains, clock });
  store.onCommit((committed) => metrics.countEvents(committed));
  const readEvents = (after: number, limit: number) => store.readEvents(after, limit);
  const messageMeta = (ids: readonly string[]) => store.metaOf(ids);
  // Started with the listeners; the routes only need a way to wake it.
  let dispatcher: () => WebhookDispatcher | null = () => null;
  let feeder: () => SuppressionFeeder | null = () => null;
  let statsFeeder: () => StatsFeeder | null = () => null;
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
    serveApi: roles.has('api'),
    store,
    accept,
    accounts,
    rateLimiter: postgres ? await SqlAccountRateLimiter.open(records, { clock }) : new AccountRateLimiter({ clock }),
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
    wakeWebhooks: () => dispatcher()?.wake(),
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
      migrations: async () => (await records.migrationProblems()).join('; ') || null,
    },
    metrics,
    clock,
    logger: apiLogger,
    version: VERSION,
  });
  let bootstrapKey: CreatedApiKey | null = null;

  const endpoints: Endpoint[] = [];
  const stops: StopStep[] = [];
  // Graceful stop, first half, all at once: the edges refuse new work and finish what they hold,
  // delivery stops claiming and lets its attempts finish (each bounded by HERALD_SHUTDOWN_TIMEOUT).
  const drains: (() => Promise<void>)[] = [];
  let drainedAll = false;
  /** Closes what has started, last started first, then the store and the records database. */
  const closeAll = async () => {
    const databases: StopStep[] = [
      { what: 'the queue store', stop: () => store.close() },
      { what: 'the records database', stop: () => records.close() },
    ];
    await runStopSteps([...stops].reverse().concat(databases), STOP_STEP_LIMIT_MS, logger);
    sqlite?.close();
  };
  try {
    // The monitor may already tick: whatever fails below must stop it too.
    stops.push({ what: 'the domain monitor', stop: () => domainMonitor.stop() });
    bootstrapKey = await accounts.createBootstrapAdminKey();
    // A periodic job of this node: on a cluster it runs only while this node holds its lease.
    const job = <J extends StoppableJob>(name: string, start: () => J): (() => J | null) => {
      if (!postgres) {
        const started = start();
        stops.push({ what: `the ${name} job`, stop: async () => started.stop() });
        return () => started;
      }
      const leased = runWhileLeased({ leases, job: name, start, onError: (err) => logger.error({ err, job: name }, 'could not renew a job lease; stopping the job here') });
      stops.push({ what: `the ${name} job`, stop: () => leased.stop() });
      return () => leased.current();
    };
    if (roles.has('worker')) {
      if (sqlite) {
        // One process owns an SQLite data directory, so at start-up every lease left in it
        // belongs to a process that died mid-attempt: return that work to the queue now rather
        // than when the lease would have expired. (On a cluster, leases expire on their own.)
        const recovered = await store.reapExpiredLeases(clock.now(), { all: true });
        if (recovered > 0) logger.warn({ recipients: recovered }, 'recovered recipients left mid-attempt by a previous run');
      }
      const deliverLog = logger.child({ room: 'deliver' });
      let delivery: DeliveryThread;
      if (store instanceof ThreadedQueueStore && !deps.clock && !deps.resolver) {
        delivery = await startDeliveryThread(store, config, deliverLog, returnPathSecret);
      } else {
        // An injected clock or resolver cannot cross threads, and a PostgreSQL queue is shared
        // with the other nodes: deliver in this thread, within the cluster's destination limits.
        const slots = postgres ? await SqlDestinationSlots.open(records) : undefined;
        const destinationRates = postgres ? await SqlRateCounter.open(records, { clock }) : undefined;
        const scheduler = createDelivery({ store, config, clock, resolver: deps.resolver, logger: deliverLog, returnPathSecret, slots, destinationRates });
        await scheduler.start();
        delivery = scheduler;
      }
      stops.push({ what: 'delivery', stop: () => delivery.stop() });
      drains.push(() => delivery.stop());
      if (postgres) job('domain-checks', () => startDomainMonitor(domains, domainMonitorOptions));
      job('retention', () => startRetention(store, { retentionMs: config.retention, eventRetentionMs: config.eventRetention, clock, logger: logger.child({ room: 'queue' }) }));
      // Webhooks read the durable outbox; commits are only a hint to look now (on a cluster,
      // another node's commit arrives as a hint with no events).
      dispatcher = job('webhooks', () =>
        startWebhookDispatcher({ store: webhooks, readEvents, messageMeta, resolver, config, clock, logger: logger.child({ room: 'notify' }), recordEvent: (e) => store.recordEvent(e) }),
      );
      store.onCommit((committed) => {
        if (committed.length || postgres) dispatcher()?.wake();
      });
      // Hard bounces, complaints, unsubscribes and repeated soft bounces fill the suppression list.
      feeder = job('suppression-feed', () => startSuppressionFeeder({ store: suppressions, readEvents, config, clock, logger: logger.child({ room: 'suppression' }) }));
      store.onCommit((committed) => {
        if (committed.some((e) => (SUPPRESSION_EVENT_TYPES as readonly string[]).includes(e.type))) feeder()?.wake();
      });
      // The statistics roll-ups count events from the outbox; commits are a hint, gathered for a second.
      statsFeeder = job('statistics', () => startStatsFeeder({ store: stats, readEvents, messageLabels: messageMeta, config, clock, logger: logger.child({ room: 'stats' }) }));
      store.onCommit((committed) => {
        if (committed.some((e) => (COUNTED_EVENT_TYPES as readonly string[]).includes(e.type))) statsFeeder()?.wake();
      });
      job('idempotency-janitor', () => startIdempotencyJanitor(idempotency, { clock, logger: apiLogger }));
      job('inbound-janitor', () => startInboundJanitor(inboundRecords, { retentionMs: config.retention, clock, logger: feedbackLogger }));
      // Graceful stop: another node takes this one's jobs at once.
      if (postgres) stops.unshift({ what: 'giving up the job leases', stop: () => leases.releaseAll() });
    }
    if (roles.has('smtp')) {
      for (const l of await smtp.start()) endpoints.push({ name: `smtp-${l.kind}`, address: l.address, port: l.port });
      // After the drain below, whatever is still open has had its time.
      stops.push({ what: 'the SMTP listeners', stop: () => smtp.stop({ graceMs: drainedAll ? 0 : undefined }) });
      drains.push(() => smtp.drain());
    }
    if (config.httpPort !== 0) {
      const h = await http.start(config.httpPort, config.httpBind);
      endpoints.push({ name: 'http', address: h.address, port: h.port });
      stops.push({ what: 'the HTTP listener', stop: () => http.stop({ graceMs: drainedAll ? 0 : undefined }) });
      drains.push(() => http.drain());
    }
  } catch (err) {
    await closeAll();
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
    suppressionFeeder: { runOnce: async () => (await feeder()?.runOnce()) ?? 0 },
    stats,
    statsFeeder: { runOnce: async () => (await statsFeeder()?.runOnce()) ?? 0 },
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
        await closeAll();
      })();
      return stopping;
    },
  };
}

/**
 * After the drain, what is left of a stop is closing things whose work has ended; each part gets
 * this long, and one that takes longer is named in the log and left behind rather than holding
 * the process (a SIGTERM would otherwise hang until the supervisor kills it).
 */
const STOP_STEP_LIMIT_MS = 10_000;

interface OpenDatabases {
  /** The rooms' records. */
  records: SqlDatabase;
  store: QueueStore;
  /** The SQLite file's connection in this thread, when Herald keeps its data there. */
  sqlite: SqliteDatabase | null;
  postgres: boolean;
}

/**
 * The records database and the queue: PostgreSQL when HERALD_DATABASE_URL is set (both in its
 * schema), else the SQLite file in the data directory — the queue on its own writer thread, the
 * records through the one connection this thread holds (a second connection in the same thread
 * could wait on a lock this one holds).
 */
async function openDatabases(config: HeraldConfig, logger: Logger, options: { listen: boolean }): Promise<OpenDatabases> {
  if (config.databaseUrl) {
    const records = await PostgresSqlDatabase.open({ connection: config.databaseUrl, schema: config.databaseSchema });
    try {
      const store = await PostgresQueueStore.open({ connection: config.databaseUrl, schema: config.databaseSchema, listen: options.listen, logger: logger.child({ room: 'queue' }) });
      records.expectMigration('queue', Math.max(...POSTGRES_QUEUE_MIGRATIONS.map((m) => m.version)));
      return { records, store, sqlite: null, postgres: true };
    } catch (err) {
      await records.close();
      throw err;
    }
  }
  const file = join(config.dataDir, 'herald.db');
  const sqlite = openSqlite(file);
  const records = new SqliteSqlDatabase(sqlite);
  let store: ThreadedQueueStore;
  try {
    store = await ThreadedQueueStore.open(file);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  // The queue migrates on its own thread; the readiness check still holds it to this build's version.
  records.expectMigration('queue', Math.max(...SQLITE_QUEUE_MIGRATIONS.map((m) => m.version)));
  return { records, store, sqlite, postgres: false };
}

/** Every room's record store on `records` (opening one applies its migrations), and the installation's secrets. */
async function openRecordStores(records: SqlDatabase, config: HeraldConfig, clock: Clock) {
  return {
    credentials: await SqlCredentialStore.open(records),
    accounts: await SqlAccountStore.open(records, { clock }),
    users: await SqlUserStore.open(records, { clock, sessionIdleMs: config.sessionTimeout, maxFailures: config.loginMaxFailures, lockoutMs: config.loginLockout }),
    templates: await SqlTemplateStore.open(records, { clock }),
    idempotency: await SqlIdempotencyStore.open(records, { clock }),
    previews: await SqlPreviewStore.open(records, { clock }),
    domains: await SqlDomainStore.open(records, { clock }),
    webhooks: await SqlWebhookStore.open(records, { clock }),
    suppressions: await SqlSuppressionStore.open(records, { clock }),
    stats: await SqlStatsStore.open(records, { clock }),
    inboundRecords: await SqlInboundStore.open(records),
    // Signs per-recipient return paths (VERP).
    returnPathSecret: await records.installationSecret('return-path'),
    // Signs open, click and unsubscribe links (and the unsubscribe mailto addresses).
    trackingSecret: await records.installationSecret('tracking'),
  };
}

export interface MigrateResult {
  engine: 'sqlite' | 'postgres';
  /** Each room's migration version after the run. */
  rooms: { room: string; version: number }[];
}

/** `herald migrate`: applies every room's migrations (the queue's included) to the configured database. */
export async function migrateDatabase(config: HeraldConfig): Promise<MigrateResult> {
  const { records, store, sqlite, postgres } = await openDatabases(config, createLogger({ ...config, logLevel: 'silent' }), { listen: false });
  try {
    await openRecordStores(records, config, systemClock);
    await SqlJobLeases.open(records, 'migrate');
    await SqlDestinationSlots.open(records);
    if (postgres) await SqlAccountRateLimiter.open(records);
    const problems = await records.migrationProblems();
    if (problems.length) throw new Error(`the database is not at this Herald's migrations: ${problems.join('; ')}`);
    const applied = await records.appliedMigrations();
    return { engine: postgres ? 'postgres' : 'sqlite', rooms: [...applied].sort(([a], [b]) => a.localeCompare(b)).map(([room, version]) => ({ room, version })) };
  } finally {
    await store.close();
    await records.close();
    sqlite?.close();
  }
}

export class MigrateStoreError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * `herald migrate-store`: brings the SQLite store of `source` up to date, creates Herald's tables
 * in the empty PostgreSQL schema of `target`, and copies every row across (see copySqliteToPostgres).
 */
export async function migrateStore(source: HeraldConfig, target: HeraldConfig, options: { onProgress?: (p: CopyProgress) => void } = {}): Promise<{ tables: CopiedTable[]; rows: number }> {
  if (!target.databaseUrl) throw new MigrateStoreError('name the PostgreSQL database to copy into', 'no_target');
  const probe = await PostgresSqlDatabase.open({ connection: target.databaseUrl, schema: target.databaseSchema });
  try {
    const tables = await probe.get<{ n: number }>("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'", [target.databaseSchema]);
    if ((tables?.n ?? 0) > 0) {
      throw new MigrateStoreError(`schema "${target.databaseSchema}" of that database already holds ${tables!.n} tables: migrate-store copies into an empty schema only (pick another with --schema)`, 'target_not_empty');
    }
  } finally {
    await probe.close();
  }
  await migrateDatabase({ ...source, databaseUrl: undefined });
  await migrateDatabase(target);
  const sqlite = openSqlite(join(source.dataDir, 'herald.db'));
  const postgres = await PostgresSqlDatabase.open({ connection: target.databaseUrl, schema: target.databaseSchema });
  try {
    const tables = await copySqliteToPostgres(sqlite, postgres, { onProgress: options.onProgress });
    return { tables, rows: tables.reduce((sum, t) => sum + t.rows, 0) };
  } finally {
    await postgres.close();
    sqlite.close();
  }
}
