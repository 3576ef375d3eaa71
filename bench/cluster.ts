// Herald on PostgreSQL, several nodes on one database, against Herald on SQLite alone:
//
// 1. Delivery end to end: N messages queued through the store's enqueue (not yet due), one or two
//    Herald processes started with HERALD_ROLES=worker, then every message made due at once
//    (retryNow: on PostgreSQL its NOTIFY wakes the workers; a SQLite node finds the work at its
//    next rescan, within 5 s). Recipients are spread over DOMAINS domains whose MX, served by a
//    local DNS server, is Postfix's smtp-sink on 127.0.0.2. The rate runs from the first message the sink
//    counts to the last; CPU (Herald's worker processes, and the PostgreSQL server's) from the
//    moment the work is made due to the last message.
// 2. The cost of claiming work with W messages waiting: the exact calls the scheduler makes —
//    claimDue of `limit` batches, recordAttempt for each, nextDueAt — timed round after round,
//    with as many new due messages queued (untimed) after each round as it took, so W stay
//    waiting. PostgresQueueStore, and SqliteQueueStore on its writer thread as a SQLite node runs it.
// 3. Memory of a worker on PostgreSQL beside W waiting messages, none due for a day (it delivers
//    nothing; its periodic jobs read the outbox's events of those messages).
//
//   node --import tsx bench/cluster.ts [--messages 20000] [--waiting 10000,1000000] [--rounds 200]
//     [--limit 100] [--memory-seconds 20] [--herald-log-level info] [--dist] [--docs]
//   npm run bench -- --only cluster     (the same, as a step of the full run; refreshes its block)
//
// Needs root (smtp-sink drops to nobody) and PostgreSQL (HERALD_TEST_DATABASE_URL or
// postgres://postgres@127.0.0.1:5432/test); every run uses schemas of its own and drops them.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { newMessageId } from '../src/core/index.js';
import { PostgresQueueStore, SqliteQueueStore, ThreadedQueueStore, type DeliveryBatch, type NewMessage, type QueueStore } from '../src/queue/index.js';
import { openSqlite } from '../src/storage/index.js';
import { startDnsServer, type DnsServer, type Zone } from '../test/support/dns-server.js';
import { postgresUnavailable, testSchema, TEST_DATABASE_URL } from '../test/support/postgres.js';
import { freePort, memoryOf, startHerald, treeCpuSeconds, type HeraldProcess } from '../test/support/processes.js';
import { describeMachine } from './machine.js';
import { sampleRss, startSink, type Sink } from './peers.js';
import { machineLine, markdownTable, replaceGeneratedBlock, type Results } from './report.js';
import { percentile } from './smtp-client.js';

type Failed = { error: string };
type Maybe<T> = T | Failed;

const DAY = 86_400_000;
/**
 * Destination domains. Each allows HERALD_DESTINATION_CONCURRENCY (10) connections across the
 * cluster; with more domains than a node has attempts in flight (100), consecutive messages go to
 * different ones and two nodes seldom want the same destination's last slot, so the rate measured
 * is the nodes', not one destination's limit.
 */
const DOMAINS = 200;
const FILL_GROUP = 5000;
const ACCOUNT = 'default';
const BODY = Buffer.from(`From: bench@sender.test\r\nSubject: cluster bench\r\n\r\n${`${'x'.repeat(76)}\r\n`.repeat(12)}`);
const WARM_UP_ROUNDS = 10;
const LEASE_MS = 10 * 60_000;

export type DeliveryCase = 'sqlite' | 'postgres1' | 'postgres2';
const CASES: { id: DeliveryCase; label: string; workers: number; postgres: boolean }[] = [
  { id: 'sqlite', label: 'SQLite, one node', workers: 1, postgres: false },
  { id: 'postgres1', label: 'PostgreSQL, 1 worker', workers: 1, postgres: true },
  { id: 'postgres2', label: 'PostgreSQL, 2 workers', workers: 2, postgres: true },
];

export interface DeliveryMeasure {
  /** First message at the sink → last. */
  seconds: number;
  messagesPerSecond: number;
  /** Work made due → last message at the sink. */
  secondsFromDue: number;
  /** User + system time of every worker process (all threads), per message. */
  heraldCpuMsPerMessage: number;
  /** The whole PostgreSQL server's (postmaster, backends, background processes), per message; absent when not on this machine. */
  postgresCpuMsPerMessage?: number;
  /** Highest RSS sampled of any one worker process. */
  peakRss: number;
  /** Recipients the queue counts delivered once the workers stopped. */
  delivered: number;
}

export interface Timing {
  p50: number;
  p99: number;
}

export interface ClaimMeasure {
  fillSeconds: number;
  /** Timed rounds that claimed fewer than `limit` batches (none expected). */
  shortRounds: number;
  claim: Timing;
  record: Timing;
  nextDue: Timing;
}

export interface MemoryMeasure {
  seconds: number;
  /** RSS when the worker was ready, the highest sampled, and the median of the last quarter of the window. */
  atStart: number;
  peak: number;
  steady: number;
  hwm: number;
  /** CPU the worker used over the window. */
  cpuSeconds: number;
}

export interface ClusterBenchOptions {
  messages: number;
  waiting: number[];
  rounds: number;
  /** Batches per claim: the scheduler claims up to its free capacity, HERALD_DELIVERY_CONCURRENCY (100). */
  limit: number;
  memorySeconds: number;
  dist: boolean;
  logLevel: string;
  command: string;
  progress?: (line: string) => void;
}

export interface ClusterBenchResults {
  startedAt: string;
  command: string;
  messages: number;
  domains: number;
  waiting: number[];
  rounds: number;
  limit: number;
  memorySeconds: number;
  delivery: Partial<Record<DeliveryCase, Maybe<DeliveryMeasure>>>;
  claims: Record<number, { postgres?: Maybe<ClaimMeasure>; sqlite?: Maybe<ClaimMeasure>; memory?: Maybe<MemoryMeasure> }>;
  errors: string[];
}

const domainOf = (i: number) => `d${i % DOMAINS}.bench.test`;

function message(i: number, notBefore?: Date): NewMessage {
  const now = Date.now();
  return {
    id: newMessageId(now),
    accountId: ACCOUNT,
    source: 'api',
    mailFrom: 'bench@sender.test',
    recipients: [`user${i}@${domainOf(i)}`],
    body: BODY,
    createdAt: new Date(now),
    expiresAt: new Date(now + 5 * DAY),
    notBefore,
    meta: { subject: `cluster bench ${i}` },
  };
}

/** Queues `total` messages through `enqueue`, FILL_GROUP at a time (one group commit each); seconds taken. */
async function fill(store: QueueStore, total: number, notBefore: Date | undefined, log: (line: string) => void, what: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let from = 0; from < total; from += FILL_GROUP) {
    const group: Promise<void>[] = [];
    for (let i = from; i < Math.min(total, from + FILL_GROUP); i++) group.push(store.enqueue(message(i, notBefore)));
    await Promise.all(group);
    if (from > 0 && from % (FILL_GROUP * 40) === 0) log(`cluster: ${what}: ${from.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} messages queued`);
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const notDueYet = () => new Date(Date.now() + DAY);

async function withPgClient<T>(body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/**
 * The postmaster's pid when the server runs on this machine (its data directory's postmaster.pid
 * names a live `postgres` process), else null. Its process tree holds every backend, and the
 * backends it has reaped stay counted in its cutime/cstime.
 */
async function postmasterPid(): Promise<number | null> {
  try {
    const dir = await withPgClient(async (c) => (await c.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory);
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    return comm.startsWith('postgres') ? pid : null;
  } catch {
    return null;
  }
}

/** Resolves with `work`, or rejects as soon as one of the workers exits. */
function whileAlive<T>(workers: HeraldProcess[], work: Promise<T>): Promise<T> {
  let onExit: (() => void) | undefined;
  const died = new Promise<never>((_, fail) => {
    onExit = () => fail(new Error(`a worker exited during the run\n--- its output ---\n${workers.map((w) => w.log()).join('\n---\n')}`));
    for (const w of workers) {
      if (w.child.exitCode !== null || w.child.signalCode !== null) onExit();
      else w.child.once('exit', onExit);
    }
  });
  return Promise.race([work, died]).finally(() => {
    for (const w of workers) w.child.off('exit', onExit!);
  });
}

interface DeliveryEnv {
  dns: DnsServer;
  postmaster: number | null;
  options: ClusterBenchOptions;
  log: (line: string) => void;
  /** Every failure, in full (a worker's output included). */
  errors: string[];
}

/** Starts a worker-only Herald; on PostgreSQL each gets a data directory of its own (TLS material), on SQLite it is given the one holding the queue. */
async function startWorker(env: DeliveryEnv, sink: Sink | null, extra: Record<string, string>, dataDir?: string): Promise<HeraldProcess> {
  return startHerald({
    dist: env.options.dist,
    dataDir,
    network: null,
    healthPort: await freePort(),
    env: {
      HERALD_ROLES: 'worker',
      HERALD_DNS_SERVERS: env.dns.server,
      // Nothing listens on 127.0.0.2:1 when there is no sink: a worker that did try to deliver would fail loudly.
      HERALD_OUTBOUND_PORT: String(sink?.port ?? 1),
      HERALD_LOG_LEVEL: env.options.logLevel,
      ...extra,
    },
  });
}

async function measureDelivery(c: (typeof CASES)[number], env: DeliveryEnv): Promise<DeliveryMeasure> {
  const n = env.options.messages;
  const sink = await startSink();
  const workers: HeraldProcess[] = [];
  const schema = c.postgres ? testSchema() : null;
  const sqliteDir = c.postgres ? null : mkdtempSync(join(tmpdir(), 'herald-bench-cluster-'));
  const sqliteFile = sqliteDir ? join(sqliteDir, 'herald.db') : '';
  let pgStore: PostgresQueueStore | null = null;
  const samplers: ReturnType<typeof sampleRss>[] = [];
  try {
    // Queued before any worker runs, due only tomorrow: the workers start idle.
    let fillSeconds: number;
    if (schema) {
      pgStore = await PostgresQueueStore.open({ connection: { connectionString: TEST_DATABASE_URL, max: 4 }, schema: schema.name, maxBatchWrites: FILL_GROUP });
      fillSeconds = await fill(pgStore, n, notDueYet(), env.log, c.label);
    } else {
      const db = openSqlite(sqliteFile);
      const store = new SqliteQueueStore(db, { maxBatchWrites: FILL_GROUP });
      fillSeconds = await fill(store, n, notDueYet(), env.log, c.label);
      await store.close();
      db.close();
    }
    env.log(`cluster: ${c.label}: ${n} messages queued in ${fillSeconds.toFixed(1)} s; starting ${c.workers} worker${c.workers > 1 ? 's' : ''}`);
    const database: Record<string, string> = schema ? { HERALD_DATABASE_URL: TEST_DATABASE_URL, HERALD_DATABASE_SCHEMA: schema.name } : {};
    // One after the other: the first applies the migrations of the schema's other tables.
    for (let i = 0; i < c.workers; i++) workers.push(await startWorker(env, sink, database, sqliteDir ?? undefined));
    for (const w of workers) samplers.push(sampleRss(w.pid, 250));

    const cpu = () => workers.reduce((sum, w) => sum + treeCpuSeconds(w.pid), 0);
    const pgCpu = () => (c.postgres && env.postmaster !== null ? treeCpuSeconds(env.postmaster) : null);
    const cpu0 = cpu();
    const pg0 = pgCpu();
    const t0 = process.hrtime.bigint();
    if (pgStore) await pgStore.retryNow('all', new Date());
    else {
      const db = openSqlite(sqliteFile);
      const store = new SqliteQueueStore(db);
      await store.retryNow('all', new Date());
      await store.close();
      db.close();
    }
    const timeoutMs = 60_000 + n * 20;
    const first = await whileAlive(workers, sink.waitFor(1, timeoutMs));
    const last = await whileAlive(workers, sink.waitFor(n, timeoutMs));
    const cpu1 = cpu();
    const pg1 = pgCpu();
    const peakRss = Math.max(...samplers.map((s) => s.stop().peak));
    samplers.length = 0;
    const seconds = Number(last - first) / 1e9;

    // Stopping lets the attempts in flight record their results; then the queue is asked.
    for (const w of workers) await w.stop();
    let delivered: number;
    if (pgStore) delivered = (await pgStore.countByState()).delivered;
    else {
      const db = openSqlite(sqliteFile);
      const store = new SqliteQueueStore(db);
      delivered = (await store.countByState()).delivered;
      await store.close();
      db.close();
    }
    return {
      seconds,
      messagesPerSecond: (n - 1) / seconds,
      secondsFromDue: Number(last - t0) / 1e9,
      heraldCpuMsPerMessage: ((cpu1 - cpu0) * 1000) / n,
      postgresCpuMsPerMessage: pg0 !== null && pg1 !== null ? ((pg1 - pg0) * 1000) / n : undefined,
      peakRss,
      delivered,
    };
  } finally {
    for (const s of samplers) s.stop();
    for (const w of workers) await w.stop();
    await pgStore?.close();
    await schema?.drop();
    if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
    await sink.stop();
  }
}

function timing(values: number[]): Timing {
  return { p50: percentile(values, 50), p99: percentile(values, 99) };
}

/** Claim, record and nextDueAt round after round; each round's claims are replaced by new due messages (untimed). */
async function measureClaims(store: QueueStore, rounds: number, limit: number): Promise<Omit<ClaimMeasure, 'fillSeconds'>> {
  const claims: number[] = [];
  const records: number[] = [];
  const nextDues: number[] = [];
  let shortRounds = 0;
  let topUp = 0;
  const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;
  for (let round = 0; round < WARM_UP_ROUNDS + rounds; round++) {
    const timed = round >= WARM_UP_ROUNDS;
    let t = process.hrtime.bigint();
    const batches: DeliveryBatch[] = await store.claimDue({ owner: 'bench-claims', now: new Date(), limit, leaseMs: LEASE_MS });
    if (timed) claims.push(ms(t));
    if (timed && batches.length < limit) shortRounds++;
    t = process.hrtime.bigint();
    // As the scheduler records them: one call per batch, concurrent, sharing a group commit.
    await Promise.all(
      batches.map((batch) =>
        store.recordAttempt({
          batch,
          at: new Date(),
          results: batch.recipients.map((r) => ({ recipientId: r.id, state: 'delivered' as const, outcome: { kind: 'delivered' as const, host: 'mx.bench.test', reply: { code: 250, text: '2.0.0 Ok' } } })),
        }),
      ),
    );
    if (timed) records.push(ms(t));
    t = process.hrtime.bigint();
    await store.nextDueAt();
    if (timed) nextDues.push(ms(t));
    await Promise.all(batches.map(() => store.enqueue(message(topUp++))));
  }
  return { shortRounds, claim: timing(claims), record: timing(records), nextDue: timing(nextDues) };
}

/** RSS of a worker on PostgreSQL beside the schema's queued messages, none due, over `seconds`. */
async function measureIdleMemory(env: DeliveryEnv, schema: string, seconds: number): Promise<MemoryMeasure> {
  const worker = await startWorker(env, null, { HERALD_DATABASE_URL: TEST_DATABASE_URL, HERALD_DATABASE_SCHEMA: schema });
  try {
    const cpu0 = treeCpuSeconds(worker.pid);
    const sampler = sampleRss(worker.pid, 250);
    await whileAlive([worker], new Promise((ok) => setTimeout(ok, seconds * 1000)));
    const s = sampler.stop();
    const cpuSeconds = treeCpuSeconds(worker.pid) - cpu0;
    const tail = s.samples.slice(Math.floor(s.samples.length * 0.75)).map(([, rss]) => rss);
    return { seconds, atStart: s.samples[0]?.[1] ?? 0, peak: s.peak, steady: percentile(tail, 50), hwm: memoryOf(worker.pid)?.hwm ?? s.hwm, cpuSeconds };
  } finally {
    await worker.stop();
  }
}

async function claimsOnPostgres(waiting: number, env: DeliveryEnv, out: ClusterBenchResults['claims'][number]): Promise<void> {
  const { options: o, log } = env;
  const schema = testSchema();
  let store: PostgresQueueStore | null = null;
  try {
    store = await PostgresQueueStore.open({ connection: { connectionString: TEST_DATABASE_URL, max: 4 }, schema: schema.name, maxBatchWrites: FILL_GROUP });
    log(`cluster: PostgreSQL: queueing ${waiting.toLocaleString('en-US')} messages, due tomorrow`);
    const fillSeconds = await fill(store, waiting, notDueYet(), log, `PostgreSQL, ${waiting.toLocaleString('en-US')} waiting`);
    log(`cluster: PostgreSQL: ${waiting.toLocaleString('en-US')} queued in ${fillSeconds.toFixed(1)} s; a worker idles beside them for ${o.memorySeconds} s`);
    try {
      out.memory = await measureIdleMemory(env, schema.name, o.memorySeconds);
      const m = out.memory;
      log(`cluster: worker beside ${waiting.toLocaleString('en-US')} waiting: RSS ${mib(m.atStart)} at start, peak ${mib(m.peak)}, steady ${mib(m.steady)}, ${m.cpuSeconds.toFixed(1)} s CPU`);
    } catch (e) {
      out.memory = failure(`memory, ${waiting} waiting`, e, env);
    }
    // Everything due now, and the table cleaned up afterwards as autovacuum would in time: the
    // rounds then read the queue as a node does, not through a million dead row versions.
    await store.retryNow('all', new Date());
    await withPgClient(async (c) => {
      for (const table of ['recipients', 'messages', 'bodies', 'events']) await c.query(`VACUUM ANALYZE ${schema.name}.${table}`);
    });
    const m = await measureClaims(store, o.rounds, o.limit);
    out.postgres = { fillSeconds, ...m };
    log(`cluster: PostgreSQL, ${waiting.toLocaleString('en-US')} waiting: ${describeClaims(m)}`);
  } finally {
    await store?.close();
    await schema.drop();
  }
}

async function claimsOnSqlite(waiting: number, env: DeliveryEnv, out: ClusterBenchResults['claims'][number]): Promise<void> {
  const { options: o, log } = env;
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-claims-'));
  const file = join(dir, 'herald.db');
  try {
    log(`cluster: SQLite: queueing ${waiting.toLocaleString('en-US')} messages`);
    const db = openSqlite(file);
    const filler = new SqliteQueueStore(db, { maxBatchWrites: FILL_GROUP });
    // The same steps as on PostgreSQL: queued for tomorrow, then all made due at once.
    const fillSeconds = await fill(filler, waiting, notDueYet(), log, `SQLite, ${waiting.toLocaleString('en-US')} waiting`);
    await filler.retryNow('all', new Date());
    await filler.close();
    db.close();
    const store = await ThreadedQueueStore.open(file);
    try {
      const m = await measureClaims(store, o.rounds, o.limit);
      out.sqlite = { fillSeconds, ...m };
      log(`cluster: SQLite, ${waiting.toLocaleString('en-US')} waiting: ${describeClaims(m)}`);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const two = (t: Timing) => `${t.p50.toFixed(2)} / ${t.p99.toFixed(2)}`;
const describeClaims = (m: Omit<ClaimMeasure, 'fillSeconds'>) =>
  `claimDue p50/p99 ${two(m.claim)} ms, recordAttempt ${two(m.record)} ms, nextDueAt ${two(m.nextDue)} ms${m.shortRounds ? `, ${m.shortRounds} short rounds` : ''}`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

function failure(what: string, e: unknown, env: Pick<DeliveryEnv, 'log' | 'errors'>): Failed {
  const error = `${what}: ${(e as Error).message.split('\n')[0]}`;
  env.errors.push(`cluster: ${error}\n${(e as Error).message}`);
  env.log(`cluster: ${error}`);
  return { error };
}

export async function runClusterBench(options: ClusterBenchOptions): Promise<ClusterBenchResults> {
  const log = options.progress ?? (() => {});
  const out: ClusterBenchResults = {
    startedAt: new Date().toISOString(),
    command: options.command,
    messages: options.messages,
    domains: DOMAINS,
    waiting: options.waiting,
    rounds: options.rounds,
    limit: options.limit,
    memorySeconds: options.memorySeconds,
    delivery: {},
    claims: {},
    errors: [],
  };
  const why = await postgresUnavailable();
  if (why) {
    out.errors.push(`cluster: ${why}`);
    return out;
  }
  const dns = await startDnsServer();
  try {
    const zone: Zone = { 'mx.bench.test': { A: ['127.0.0.2'] } };
    for (let d = 0; d < DOMAINS; d++) zone[domainOf(d)] = { MX: [{ preference: 10, exchange: 'mx.bench.test' }] };
    dns.setZone(zone);
    const env: DeliveryEnv = { dns, postmaster: await postmasterPid(), options, log, errors: out.errors };
    if (env.postmaster === null) log('cluster: the PostgreSQL server is not a process on this machine (or its data directory is not readable): its CPU is not measured');

    for (const c of CASES) {
      try {
        const m = await measureDelivery(c, env);
        out.delivery[c.id] = m;
        if (m.delivered !== options.messages) out.errors.push(`cluster: ${c.label}: the queue counts ${m.delivered} of ${options.messages} recipients delivered`);
        log(
          `cluster: ${c.label}: ${m.messagesPerSecond.toFixed(0)} msg/s delivered, ${m.heraldCpuMsPerMessage.toFixed(3)} ms Herald CPU per message` +
            `${m.postgresCpuMsPerMessage !== undefined ? `, ${m.postgresCpuMsPerMessage.toFixed(3)} ms PostgreSQL CPU` : ''}, worker peak RSS ${mib(m.peakRss)}`,
        );
      } catch (e) {
        out.delivery[c.id] = failure(`delivery, ${c.label}`, e, env);
      }
    }

    for (const waiting of options.waiting) {
      const cell: ClusterBenchResults['claims'][number] = {};
      out.claims[waiting] = cell;
      try {
        await claimsOnPostgres(waiting, env, cell);
      } catch (e) {
        cell.postgres = failure(`claims on PostgreSQL, ${waiting} waiting`, e, env);
      }
      try {
        await claimsOnSqlite(waiting, env, cell);
      } catch (e) {
        cell.sqlite = failure(`claims on SQLite, ${waiting} waiting`, e, env);
      }
    }
  } finally {
    await dns.close();
  }
  return out;
}

// ---- report --------------------------------------------------------------------------------

const ok = <T>(v: Maybe<T> | undefined): v is T => v !== undefined && !(typeof v === 'object' && v !== null && 'error' in v);
const k = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const show = <T>(v: Maybe<T> | undefined, f: (x: T) => string) => (ok(v) ? f(v) : v ? 'failed' : '—');
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}×` : '—');

/**
 * The largest queue's p50 may be at most this many times the smallest's, or at most FLAT_SLACK_MS
 * above it: a tenth of a millisecond is the jitter of a thread hop, not growth.
 */
export const FLAT_FACTOR = 1.5;
export const FLAT_SLACK_MS = 0.1;

export function renderClusterTables(r: ClusterBenchResults): string {
  const d = r.delivery;
  const pick = (c: DeliveryCase, f: (m: DeliveryMeasure) => number | undefined) => (ok(d[c]) ? f(d[c] as DeliveryMeasure) : undefined);
  const row = (what: string, f: (m: DeliveryMeasure) => number | undefined, digits: number, fmt = (x: number) => x.toFixed(digits)) => [
    what,
    ...CASES.map((c) => show(d[c.id], (m) => (f(m) === undefined ? '—' : fmt(f(m)!)))),
    ratio(pick('postgres1', f), pick('sqlite', f)),
    ratio(pick('postgres2', f), pick('postgres1', f)),
  ];
  const delivery = markdownTable(
    ['measurement', ...CASES.map((c) => c.label), 'PostgreSQL 1 ÷ SQLite', 'PostgreSQL 2 ÷ 1'],
    [
      row(`delivery of ${k(r.messages)} × 1 KB to smtp-sink, ${r.domains} domains, first to last message (msg/s)`, (m) => m.messagesPerSecond, 0),
      row('Herald CPU per message, every worker process (ms)', (m) => m.heraldCpuMsPerMessage, 3),
      row('PostgreSQL server CPU per message, every process (ms)', (m) => m.postgresCpuMsPerMessage, 3),
      row('peak RSS of a worker process (MiB)', (m) => m.peakRss, 0, (x) => (x / 2 ** 20).toFixed(0)),
    ],
  );

  const sizes = r.waiting;
  const [small, large] = [sizes[0]!, sizes[sizes.length - 1]!];
  const rows: string[][] = [];
  const timingRow = (engine: 'postgres' | 'sqlite', name: string, key: 'claim' | 'record' | 'nextDue', judged: boolean) => {
    const at = (w: number) => r.claims[w]?.[engine];
    const p50 = (w: number) => (ok(at(w)) ? (at(w) as ClaimMeasure)[key].p50 : undefined);
    const both = sizes.length > 1 && p50(small) !== undefined && p50(large) !== undefined;
    const growth = both ? p50(large)! / p50(small)! : undefined;
    const flat = both ? p50(large)! <= Math.max(p50(small)! * FLAT_FACTOR, p50(small)! + FLAT_SLACK_MS) : undefined;
    rows.push([
      `${engine === 'postgres' ? 'PostgreSQL' : 'SQLite'}: ${name} — p50 / p99 (ms)`,
      ...sizes.map((w) => show(at(w), (m) => `${two(m[key])}${key === 'claim' && m.shortRounds ? ` (${m.shortRounds} short)` : ''}`)),
      growth === undefined ? '—' : `${growth.toFixed(2)}×`,
      judged ? `flat: ≤ ${FLAT_FACTOR}× or + ${FLAT_SLACK_MS} ms` : '(informational)',
      judged && flat !== undefined ? (flat ? 'PASS' : 'FAIL') : '',
    ]);
  };
  for (const engine of ['postgres', 'sqlite'] as const) {
    timingRow(engine, `claimDue, ${r.limit} batches`, 'claim', true);
    timingRow(engine, `recordAttempt of those ${r.limit}, one group commit`, 'record', false);
    timingRow(engine, 'nextDueAt', 'nextDue', true);
    rows.push([
      `${engine === 'postgres' ? 'PostgreSQL' : 'SQLite'}: queueing the waiting messages through enqueue (msg/s)`,
      ...sizes.map((w) => show(r.claims[w]?.[engine], (m) => k(w / m.fillSeconds))),
      '—',
      '(informational)',
      '',
    ]);
  }
  const memory = (w: number) => r.claims[w]?.memory;
  const steady = (w: number) => (ok(memory(w)) ? (memory(w) as MemoryMeasure).steady : undefined);
  rows.push([
    `Herald worker on PostgreSQL beside the waiting messages, none due, over ${r.memorySeconds} s: RSS at start / peak / steady (MiB)`,
    ...sizes.map((w) => show(memory(w), (m) => `${(m.atStart / 2 ** 20).toFixed(0)} / ${(m.peak / 2 ** 20).toFixed(0)} / ${(m.steady / 2 ** 20).toFixed(0)}`)),
    sizes.length > 1 ? ratio(steady(large), steady(small)) : '—',
    '(reported)',
    '',
  ]);
  rows.push([`the same worker: CPU over those ${r.memorySeconds} s (s)`, ...sizes.map((w) => show(memory(w), (m) => m.cpuSeconds.toFixed(1))), '—', '(reported)', '']);
  const claims = markdownTable(['measurement', ...sizes.map((w) => `${k(w)} waiting`), sizes.length > 1 ? `${k(large)} ÷ ${k(small)} (p50)` : 'growth', 'target', 'result'], rows);
  return `${delivery}\n\n${claims}`;
}

export const CLUSTER_BLOCK = {
  begin: '<!-- bench:cluster:begin (generated by npm run bench, npm run bench -- --only cluster, or node --import tsx bench/cluster.ts --docs; edit outside these markers) -->',
  end: '<!-- bench:cluster:end -->',
};

/** docs/performance.md with the cluster block replaced (placed after the tracking block when new). */
export function updateClusterDocs(doc: string, machine: Results['machine'], r: ClusterBenchResults, tables: string): string {
  const block = [
    CLUSTER_BLOCK.begin,
    `Last run: ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, \`${r.command}\`: ${k(r.messages)} messages delivered in each case; ${r.rounds} timed rounds of claims at each queue length.`,
    '',
    machineLine(machine),
    '',
    tables,
    ...(r.errors.length ? ['', `Failed steps: ${r.errors.map((e) => e.split('\n')[0]).join('; ')}.`] : []),
    CLUSTER_BLOCK.end,
  ].join('\n');
  return replaceGeneratedBlock(doc, CLUSTER_BLOCK, block, ['<!-- bench:tracking:end -->', '<!-- bench:list:end -->']);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values: args } = parseArgs({
    options: {
      messages: { type: 'string', default: '20000' },
      waiting: { type: 'string', default: '10000,1000000' },
      rounds: { type: 'string', default: '200' },
      limit: { type: 'string', default: '100' },
      'memory-seconds': { type: 'string', default: '20' },
      dist: { type: 'boolean', default: false },
      'herald-log-level': { type: 'string', default: 'info' },
      docs: { type: 'boolean', default: false },
    },
  });
  if (process.getuid?.() !== 0) {
    console.error('bench/cluster.ts needs root: smtp-sink, the receiving MX, drops to nobody.');
    process.exit(1);
  }
  const waiting = args.waiting!.split(',').map(Number);
  const numbers = [Number(args.rounds), Number(args.limit), Number(args['memory-seconds']), ...waiting];
  if (numbers.some((x) => !Number.isInteger(x) || x < 1) || !Number.isInteger(Number(args.messages)) || Number(args.messages) < 2) {
    console.error('--messages takes a whole number of at least 2; --waiting, --rounds, --limit and --memory-seconds whole numbers of at least 1');
    process.exit(2);
  }
  if (args.dist && !existsSync(resolve(import.meta.dirname, '..', 'dist', 'cli', 'herald.js'))) {
    console.error('--dist runs dist/cli/herald.js: build it first (npm run build)');
    process.exit(2);
  }
  const machine = describeMachine({ dist: args.dist! });
  const r = await runClusterBench({
    messages: Number(args.messages),
    waiting: [...waiting].sort((a, b) => a - b),
    rounds: Number(args.rounds),
    limit: Number(args.limit),
    memorySeconds: Number(args['memory-seconds']),
    dist: args.dist!,
    logLevel: args['herald-log-level']!,
    command: `node --import tsx bench/cluster.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const tables = renderClusterTables(r);
  console.log(tables);
  for (const e of r.errors) console.error(e);
  if (args.docs) {
    const path = resolve(import.meta.dirname, '..', 'docs', 'performance.md');
    writeFileSync(path, updateClusterDocs(readFileSync(path, 'utf8'), machine, r, tables));
  }
  process.exitCode = r.errors.length ? 1 : 0;
}
