// `npm run bench`: Herald against Postfix 3.7 (and bare Node smtp-servers, one discarding, one durable) on this
// machine, in one run, Herald's HTTP sending API against a bare Fastify route, and what DKIM
// signing costs Herald's accept rate, CPU and memory. Prints tables
// with ratios and pass/fail against the targets, writes bench/results/<time>.json, and (unless
// --quick or --no-docs) refreshes the generated blocks of docs/performance.md for what ran.
//
//   npm run bench                 full run (about 10 minutes)
//   npm run bench -- --quick      a smaller run (about 3 minutes) for a quick look
//   npm run bench -- --only api   the API step alone (about 3 minutes)
//   npm run bench -- --only sign  the signing step alone (about 6 minutes)
//   npm run bench -- --only webhooks   webhook delivery alone (about 3 minutes)
//   npm run bench -- --only stats      the statistics roll-ups alone (under a minute; bench/stats.ts)
//   npm run bench -- --only tracking   open and click hits alone (about 2 minutes)
//   npm run bench -- --only list       the message list's searches on 10k and 1M messages (about 4 minutes; bench/message-list.ts)
//   npm run bench -- --only cluster    delivery on PostgreSQL with 1 and 2 worker processes against SQLite, the cost of a claim
//                                      with 10k and 1M messages waiting, and a worker's memory beside 1M (bench/cluster.ts)
//   options: --only accept,conn,latency,relay,soak,api,sign,webhooks,stats,tracking,list,cluster   --targets postfix,herald,bare,durable
//            --dist (run dist/cli/herald.js)   --docs / --no-docs   --herald-log-level info
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDnsServer } from '../test/support/dns-server.js';
import { freePort, heraldUnavailable, REPO_ROOT } from '../test/support/processes.js';
import { measureApi, type ApiCellSpec } from './api-load.js';
import { describeMachine } from './machine.js';
import { sampleRss, smtpSource, startBareApi, startSink, startTarget, timedSource, warmUpCount, type Target, type TargetName, type TargetOptions, type TimedRun } from './peers.js';
import { measureLatency, percentile } from './smtp-client.js';
import { renderApiTable, renderSignTable, renderTable, sizeLabel, updateDocs, type ApiResults, type ApiVariant, type Results, type SignResults, type SignVariant } from './report.js';
import { addSigningDomains, checkSigning, SIGN_HOSTNAME, SIGN_VARIANTS, summarise } from './sign.js';
import { measureWebhooks, renderWebhookTable, updateWebhookDocs, type WebhookResults } from './webhooks.js';
import { renderStatsTable, runStatsBench, updateStatsDocs, type StatsBenchResults } from './stats.js';
import { measureTracking, recordedHits, renderTrackingTable, trackingPaths, updateTrackingDocs, type TrackingCell, type TrackingResults } from './tracking.js';
import { renderListTable, runListBench, updateListDocs, type ListBenchResults } from './message-list.js';
import { renderClusterTables, runClusterBench, updateClusterDocs, type ClusterBenchResults } from './cluster.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    targets: { type: 'string', default: 'postfix,herald,bare,durable' },
    dist: { type: 'boolean', default: false },
    docs: { type: 'boolean' },
    'no-docs': { type: 'boolean', default: false },
    'herald-log-level': { type: 'string', default: 'info' },
  },
});
const QUICK = args.quick!;
const SMTP_STEPS = ['accept', 'conn', 'latency', 'relay', 'soak'];
const steps = new Set((args.only ?? [...SMTP_STEPS, 'api', 'sign', 'webhooks', 'stats', 'tracking', 'list', 'cluster'].join(',')).split(','));
const scale = QUICK ? 0.2 : 1;
const n = (full: number) => Math.max(20, Math.round(full * scale));
const progress = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

if (process.getuid?.() !== 0) {
  console.error('npm run bench needs root: it runs private Postfix instances and smtp-sink (which drops to nobody).');
  process.exit(1);
}

const heraldWhy = heraldUnavailable();
let targets = args.targets!.split(',') as TargetName[];
if (heraldWhy && targets.includes('herald')) {
  progress(`Herald is left out: ${heraldWhy}`);
  targets = targets.filter((t) => t !== 'herald');
}

const sh = (cmd: string, argv: string[]) => {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};
const results: Results = {
  startedAt: new Date().toISOString(),
  finishedAt: '',
  quick: QUICK,
  // The script itself passes --dist (it measures the build `npm start` runs); show what the user typed.
  command: ((user) => `npm run bench${user.length ? ' -- ' + user.join(' ') : ''}`)(process.argv.slice(2).filter((a) => a !== '--dist')),
  machine: describeMachine({ dist: args.dist! }),

  heraldUnavailable: heraldWhy ?? undefined,
  accept: [],
  storeAlone: [],
  latency: [],
  relay: {},
  memory: {},
  errors: [],
};

type Memory = { peak: number; hwm: number };
const heraldRssSamples: Memory[] = [];

/** Starts a target, runs `body`, always stops it; records Herald's memory while it ran. */
function withTarget<T>(name: TargetName, nextHop: string, body: (t: Target) => Promise<T>): Promise<T | { error: string }> {
  const start = () => startTarget(name, { nextHop, heraldDist: args.dist!, heraldLogLevel: args['herald-log-level']! });
  return withServer(name, start, body, results.errors, name === 'herald' ? (m) => heraldRssSamples.push(m) : null);
}

/** Starts a server, runs `body`, always stops it; failures go to `errors`, its RSS peak to `memory`. */
async function withServer<T>(label: string, start: () => Promise<Target>, body: (t: Target) => Promise<T>, errors: string[], memory: ((m: Memory) => void) | null): Promise<T | { error: string }> {
  let t: Target | undefined;
  try {
    t = await start();
  } catch (e) {
    const error = `${label} did not start: ${(e as Error).message.split('\n')[0]}`;
    errors.push(`${error}\n${(e as Error).message}`);
    progress(error);
    return { error };
  }
  const sampler = memory ? sampleRss(t.pid) : null;
  try {
    return await body(t);
  } catch (e) {
    const error = `${label}: ${(e as Error).message.split('\n')[0]}`;
    errors.push(`${error}\n${t.log()}`);
    progress(error);
    return { error };
  } finally {
    if (sampler) memory!(sampler.stop());
    await t.stop();
  }
}

// ---- 1 & 2: durable accept rate, connection reused (-d) and a connection per message ----------
// The next hop refuses connections at once (a closed port): both servers accept and queue, try
// once, find the next hop down and defer, so neither spends the run delivering.
const SIZES = [1024, 100 * 1024];
const SESSIONS = [1, 10, 50];
// Each run lasts a few seconds at the rates seen here: shorter runs measure JIT warm-up and
// process start-up more than the steady state.
const acceptCount = (size: number, sessions: number) => n(size <= 1024 ? ({ 1: 3000, 10: 12000, 50: 20000 } as Record<number, number>)[sessions]! : ({ 1: 1000, 10: 3000, 50: 4000 } as Record<number, number>)[sessions]!);

for (const reuse of [true, false]) {
  if (!steps.has(reuse ? 'accept' : 'conn')) continue;
  for (const size of SIZES) {
    const cells = SESSIONS.map((sessions) => ({ size, sessions, reuse, count: acceptCount(size, sessions), rates: {} as Results['accept'][number]['rates'] }));
    results.accept.push(...cells);
    for (const name of targets) {
      const down = `127.0.0.2:${await freePort('127.0.0.2')}`;
      await withTarget(name, down, async (t) => {
        for (const cell of cells) {
          const r = await timedSource(t, { host: t.host, port: t.port, sessions: cell.sessions, count: cell.count, size, reuse });
          cell.rates[name] = r.ok ? cell.count / r.seconds : { error: r.output.slice(-300) };
          progress(`${reuse ? 'accept' : 'accept, connection per message'} ${size / 1024} KB × ${cell.sessions} sessions, ${name}: ${r.ok ? `${(cell.count / r.seconds).toFixed(0)} msg/s` : `failed: ${r.output.slice(-200)}`}`);
        }
      });
    }
    // Herald's queue store alone, with as many writers as there were sessions: what Herald's
    // accept cannot exceed, whatever its SMTP side does (bench/queue-store.ts).
    if (reuse && targets.includes('herald')) {
      for (const cell of cells) {
        const store = queueStoreRate(size, cell.sessions, cell.count);
        results.storeAlone.push({ size, writers: cell.sessions, count: cell.count, ...store });
        progress(`queue store alone ${size / 1024} KB × ${cell.sessions} writers: ${'error' in store ? store.error : `${(cell.count / store.seconds).toFixed(0)} msg/s, ${((store.cpuSeconds * 1000) / cell.count).toFixed(3)} ms CPU per message`}`);
      }
    }
  }
}

/** Runs bench/queue-store.ts in a process of its own; its seconds and CPU seconds, or why not. */
function queueStoreRate(size: number, writers: number, count: number): { seconds: number; cpuSeconds: number } | { error: string } {
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/queue-store.ts', String(size), String(writers), String(count)], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
    return JSON.parse(out.trim().split('\n').at(-1)!) as { seconds: number; cpuSeconds: number };
  } catch (e) {
    const error = `queue store alone: ${(e as Error).message.split('\n')[0]}`;
    results.errors.push(error);
    return { error };
  }
}

// ---- 4: single-message latency ----------------------------------------------------------------
// A p99 of one run of a few hundred messages is its few slowest, and this machine's pauses move it
// by half from run to run (Postfix's included). So each server runs LATENCY_ROUNDS times, the
// servers taking turns, each round on a fresh server, and the percentiles are of all rounds'
// messages together: a pause that lands on one server's round weighs a third as much.
const LATENCY_ROUNDS = QUICK ? 1 : 3;
if (steps.has('latency')) {
  for (const perConnection of [false, true]) {
    const count = n(perConnection ? 300 : 600);
    const row: Results['latency'][number] = { perConnection, count, rounds: LATENCY_ROUNDS, size: 1024, values: {} };
    results.latency.push(row);
    const times = new Map<TargetName, number[]>();
    const failed = new Map<TargetName, { error: string }>();
    for (let round = 1; round <= LATENCY_ROUNDS; round++) {
      for (const name of targets) {
        if (failed.has(name)) continue;
        const down = `127.0.0.2:${await freePort('127.0.0.2')}`;
        const r = await withTarget(name, down, async (t) => {
          await measureLatency(t.host, t.port, { count: 50, size: 1024, perConnection });
          return measureLatency(t.host, t.port, { count, size: 1024, perConnection });
        });
        if ('error' in r) failed.set(name, r);
        else times.set(name, [...(times.get(name) ?? []), ...r]);
        const what = `latency ${perConnection ? 'connection per message' : 'one session'}, ${name}, round ${round} of ${LATENCY_ROUNDS}`;
        progress(`${what}: ${'error' in r ? r.error : `median ${percentile(r, 50).toFixed(2)} ms, p99 ${percentile(r, 99).toFixed(2)} ms`}`);
      }
    }
    for (const name of targets) {
      const all = times.get(name);
      row.values[name] = failed.get(name) ?? (all ? { median: percentile(all, 50), p99: percentile(all, 99) } : { error: 'not measured' });
    }
  }
}

// ---- 3 & 5: end-to-end relay rate to smtp-sink, and CPU per relayed message ------------------
if (steps.has('relay')) {
  const count = n(4000);
  const sessions = 10;
  results.relay = { count, sessions, size: 1024, values: {} };
  for (const name of targets.filter((t) => t !== 'bare' && t !== 'durable')) {
    const sink = await startSink();
    try {
      const r = await withTarget(name, `${sink.host}:${sink.port}`, async (t) => {
        // Warm-up, then wait until it has all been relayed so the timed run starts from an empty queue.
        const warm = Math.min(300, Math.ceil(count / 5));
        await smtpSource({ host: t.host, port: t.port, sessions, count: warm, size: 1024, reuse: true });
        await sink.waitFor(warm, 60_000);
        const base = sink.count();
        const cpu0 = t.cpuSeconds();
        const t0 = process.hrtime.bigint();
        const src = await smtpSource({ host: t.host, port: t.port, sessions, count, size: 1024, reuse: true });
        if (!src.ok) throw new Error(`smtp-source failed: ${src.output.slice(-300)}`);
        const acceptSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const t1 = await sink.waitFor(base + count, 180_000);
        const seconds = Number(t1 - t0) / 1e9;
        const cpu = t.cpuSeconds() - cpu0;
        return { rate: count / seconds, seconds, acceptSeconds, cpuMsPerMessage: (cpu * 1000) / count, rssBytes: t.rss() };
      });
      results.relay.values![name] = r;
      progress(`relay ${count} × 1 KB over ${sessions} sessions to smtp-sink, ${name}: ${'error' in r ? r.error : `${r.rate.toFixed(0)} msg/s end to end, ${r.cpuMsPerMessage.toFixed(3)} ms CPU per message`}`);
    } finally {
      await sink.stop();
    }
  }
}

// ---- 6: Herald's memory under sustained load ---------------------------------------------------
if (steps.has('soak') && targets.includes('herald')) {
  // Long enough for the heaps to reach their working size (about the first 40 s) well before
  // the quarters that are compared.
  const seconds = QUICK ? 20 : 120;
  const sink = await startSink();
  try {
    const r = await withTarget('herald', `${sink.host}:${sink.port}`, async (t) => {
      const sampler = sampleRss(t.pid, 500);
      const end = Date.now() + seconds * 1000;
      let sent = 0;
      // Bounded: batches of 1,000 until the time is up (and at most 1,000 batches).
      for (let i = 0; i < 1000 && Date.now() < end; i++) {
        const r = await smtpSource({ host: t.host, port: t.port, sessions: 10, count: 1000, size: 1024, reuse: true });
        if (!r.ok) throw new Error(`smtp-source failed: ${r.output.slice(-300)}`);
        sent += 1000;
      }
      const s = sampler.stop();
      // RSS swings by a fifth from one sample to the next as the heaps grow and give memory
      // back, so single samples say little; the median of a quarter of the run does not swing.
      // The first quarter is left out: the heaps are still growing to their working size.
      const total = s.samples.at(-1)![0];
      const quarter = (q: number) => percentile(s.samples.filter(([t]) => t > (total * q) / 4 && t <= (total * (q + 1)) / 4).map(([, rss]) => rss), 50);
      return { seconds, messages: sent, rssSecondQuarter: quarter(1), rssLastQuarter: quarter(3), peak: s.peak, hwm: s.hwm, samples: s.samples };
    });
    results.memory.soak = r;
    progress(`soak ${seconds} s, herald: ${'error' in r ? r.error : `median RSS ${(r.rssSecondQuarter / 2 ** 20).toFixed(0)} MiB in the second quarter → ${(r.rssLastQuarter / 2 ** 20).toFixed(0)} MiB in the last, peak ${(r.peak / 2 ** 20).toFixed(0)} MiB, ${r.messages} messages`}`);
  } finally {
    await sink.stop();
  }
}

// ---- 7: the HTTP sending API against a bare Fastify route --------------------------------------
// Herald's next hop is a closed port, as in the accept runs. Each server is started once for all
// cells; Herald a second time with fsync made a no-op (eatmydata), to show what the durable
// commit's wait costs at each load.
if (steps.has('api')) {
  const cells: ApiCellSpec[] = [
    { batch: 1, connections: 10, size: 1024 },
    { batch: 1, connections: 50, size: 1024 },
    // Four connections keep Herald busy between one batch's answer and the next without
    // queueing thousands of messages (and seconds of latency) behind each other.
    { batch: 100, connections: 4, size: 1024 },
    { batch: 500, connections: 4, size: 1024 },
  ];
  const api: ApiResults = { seconds: QUICK ? 3 : 10, cells: cells.map((c) => ({ ...c, values: {} })), memory: {}, errors: [] };
  results.api = api;
  const herald = (env?: Record<string, string>) => async () => {
    const down = `127.0.0.2:${await freePort('127.0.0.2')}`;
    const o: TargetOptions = { nextHop: down, heraldDist: args.dist!, heraldLogLevel: args['herald-log-level']!, http: true, env };
    return startTarget('herald', o);
  };
  const servers: { variant: ApiVariant; label: string; start: () => Promise<Target> }[] = [];
  if (targets.includes('bare')) servers.push({ variant: 'bare', label: 'bare route', start: startBareApi });
  if (targets.includes('herald')) {
    servers.push({ variant: 'herald', label: 'herald', start: herald() });
    const eatmydata = findLibrary('libeatmydata.so');
    if (eatmydata) servers.push({ variant: 'heraldNoFsync', label: 'herald, fsync off', start: herald({ LD_PRELOAD: eatmydata }) });
    else api.noFsyncSkipped = 'libeatmydata.so not found (Debian package eatmydata)';
  }
  for (const { variant, label, start } of servers) {
    await withServer(label, start, async (t) => {
      for (const cell of api.cells) {
        const what = `api ${cell.batch === 1 ? 'single sends' : `batches of ${cell.batch}`} × ${cell.connections} connections, ${label}`;
        try {
          const m = await measureApi(t, cell, { seconds: api.seconds, warmupSeconds: QUICK ? 1 : 3 });
          cell.values[variant] = m;
          progress(`${what}: ${m.messagesPerSecond.toFixed(0)} msg/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, CPU ${m.cpuMsPerMessage.toFixed(3)} ms/msg (main thread ${m.mainCpuMsPerMessage.toFixed(3)}, busy ${(m.mainBusy * 100).toFixed(0)}%); load generator ${(m.clientBusy * 100).toFixed(0)}% of a core`);
        } catch (e) {
          const error = `${what}: ${(e as Error).message.split('\n')[0]}`;
          cell.values[variant] = { error };
          api.errors.push(`${error}\n${t.log()}`);
          progress(error);
        }
      }
    }, api.errors, (m) => (api.memory[variant] = m));
  }
}

// ---- 8: what DKIM signing costs ---------------------------------------------------------------
// One Herald for every run: mail it sends unsigned (development mode), signs with RSA 2048, and
// with RSA and Ed25519. As in the accept runs its next hop refuses connections, except while
// the check before timing listens there. Rounds alternate the order (A B C, then C B A), so
// drift over the run (a growing queue, memory given back) weighs on every variant alike when
// the rounds are summed or averaged.
if (steps.has('sign') && targets.includes('herald')) {
  const sessions = 10;
  const sizes = [1024, 1024 * 1024];
  const sign: SignResults = { sessions, rounds: QUICK ? 1 : 2, cells: sizes.map((size) => ({ size, count: n(size <= 1024 ? 6000 : 500), values: {} })), errors: [] };
  results.sign = sign;
  const dns = await startDnsServer();
  const nextHop = { host: '127.0.0.2', port: await freePort('127.0.0.2') };
  const start = () =>
    startTarget('herald', {
      nextHop: `${nextHop.host}:${nextHop.port}`,
      heraldDist: args.dist!,
      heraldLogLevel: args['herald-log-level']!,
      // Retries stay out of the runs: the step takes longer than the accept runs' 5 minutes.
      env: { HERALD_DNS_SERVERS: dns.server, HERALD_HOSTNAME: SIGN_HOSTNAME, HERALD_RETRY_SCHEDULE: '1h' },
    });
  try {
    await withServer('herald (signing)', start, async (t) => {
      sign.check = await checkSigning(t, nextHop, sizes, await addSigningDomains(t, dns));
      progress(`sign: relayed messages carry ${SIGN_VARIANTS.map((v) => `${v.variant}: ${sign.check![v.variant]}`).join('; ')}`);
      for (const cell of sign.cells) {
        const load = (from: string, count: number) => ({ host: t.host, port: t.port, sessions, count, size: cell.size, reuse: true, from });
        // An untimed pass of every variant first, so that Herald's growing to this size's working
        // set is not charged to whichever variant is timed first.
        for (const { from } of SIGN_VARIANTS) {
          const r = await smtpSource(load(from, warmUpCount(cell.count)));
          if (!r.ok) throw new Error(`smtp-source failed: ${r.output.slice(-300)}`);
        }
        const runs = new Map<SignVariant, TimedRun[]>(SIGN_VARIANTS.map((v) => [v.variant, []]));
        for (let round = 0; round < sign.rounds; round++) {
          for (const { variant, from } of round % 2 ? [...SIGN_VARIANTS].reverse() : SIGN_VARIANTS) {
            if (cell.values[variant] && 'error' in cell.values[variant]) continue;
            const r = await timedSource(t, load(from, cell.count));
            const what = `sign ${sizeLabel(cell.size)} × ${sessions} sessions, ${variant}, round ${round + 1}`;
            if (!r.ok) {
              cell.values[variant] = { error: r.output.slice(-300) };
              progress(`${what}: failed: ${r.output.slice(-200)}`);
              continue;
            }
            runs.get(variant)!.push(r);
            cell.values[variant] = summarise(runs.get(variant)!, cell.count);
            progress(`${what}: ${(cell.count / r.seconds).toFixed(0)} msg/s, ${((r.cpuSeconds * 1000) / cell.count).toFixed(3)} ms CPU per message, RSS ${(r.rssBefore / 2 ** 20).toFixed(0)} → peak ${(r.peakRss / 2 ** 20).toFixed(0)} MiB`);
          }
        }
      }
    }, sign.errors, null);
  } finally {
    await dns.close();
  }
}

// ---- 9: webhook throughput ---------------------------------------------------------------------
// Real mail makes the events (API batches delivered to smtp-sink); endpoints created disabled
// beforehand are enabled, and their backlog drained through Herald and through a bare loop
// POSTing the same bodies (bench/webhooks.ts).
let webhooks: WebhookResults | undefined;
if (steps.has('webhooks') && targets.includes('herald')) {
  try {
    webhooks = await measureWebhooks({ dist: args.dist!, logLevel: args['herald-log-level']!, messages: n(10_000), progress });
  } catch (e) {
    webhooks = { messages: n(10_000), events: 0, inFlight: 0, slowMs: [], cells: [], errors: [`webhooks: ${(e as Error).message}`] };
    progress(`webhooks: ${(e as Error).message.split('\n')[0]}`);
  }
  Object.assign(results, { webhooks });
}

// ---- 10: statistics roll-ups -------------------------------------------------------------------
// In this process, no server: the feeder counting 100k outbox events, applyPage alone on 1M, and
// the p50/p99 of statistics questions on those (bench/stats.ts).
let statsBench: StatsBenchResults | undefined;
if (steps.has('stats')) {
  try {
    statsBench = await runStatsBench({ events: n(100_000), rollup: n(1_000_000), runs: QUICK ? 50 : 200, command: results.command, progress });
    Object.assign(results, { stats: statsBench });
  } catch (e) {
    results.errors.push(`stats: ${(e as Error).message}`);
    progress(`stats: ${(e as Error).message.split('\n')[0]}`);
  }
}

// ---- 11: tracking hits ---------------------------------------------------------------------------
// Open-pixel and click-redirect hits with real signed tokens, each recorded durably by Herald
// before its answer, against bare-api.ts answering the same URLs and recording nothing
// (bench/tracking.ts). Herald's next hop is a closed port: the tracked message stays queued.
let tracking: TrackingResults | undefined;
if (steps.has('tracking')) {
  const cells: TrackingCell[] = (['open', 'click'] as const).flatMap((kind) => [10, 50].map((connections) => ({ kind, connections, values: {} })));
  tracking = { seconds: QUICK ? 3 : 10, cells, errors: [] };
  const run = tracking;
  const servers: { variant: 'herald' | 'bare'; start: () => Promise<Target> }[] = [];
  if (targets.includes('bare')) servers.push({ variant: 'bare', start: startBareApi });
  if (targets.includes('herald')) {
    servers.push({
      variant: 'herald',
      start: async () => startTarget('herald', { nextHop: `127.0.0.2:${await freePort('127.0.0.2')}`, heraldDist: args.dist!, heraldLogLevel: args['herald-log-level']!, http: true }),
    });
  }
  for (const { variant, start } of servers) {
    await withServer(`${variant} (tracking)`, start, async (t) => {
      const paths = await trackingPaths(t);
      const before = variant === 'herald' ? recordedHits(t) : 0;
      let answered = 0;
      for (const cell of run.cells) {
        const what = `tracking ${cell.kind} × ${cell.connections} connections, ${variant}`;
        try {
          const m = await measureTracking(t, t.api!.url, paths[cell.kind], cell.kind, cell.connections, { seconds: run.seconds, warmupSeconds: QUICK ? 1 : 3 });
          cell.values[variant] = m;
          answered += m.answered;
          progress(`${what}: ${m.hitsPerSecond.toFixed(0)} hits/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, CPU ${m.cpuMsPerHit.toFixed(3)} ms/hit`);
        } catch (e) {
          const error = `${what}: ${(e as Error).message.split('\n')[0]}`;
          cell.values[variant] = { error };
          run.errors.push(`${error}\n${t.log()}`);
          progress(error);
        }
      }
      if (variant === 'herald') run.recorded = { events: recordedHits(t) - before, answered };
    }, run.errors, null);
  }
  Object.assign(results, { tracking });
}

// ---- 12: the message list ------------------------------------------------------------------------
// In this process, no server: QueueStore.list as GET /api/v1/messages calls it, on stores of 10k and
// 1M messages (bench/message-list.ts); the times must not grow with the store.
let listBench: ListBenchResults | undefined;
if (steps.has('list')) {
  try {
    listBench = await runListBench({ sizes: QUICK ? [10_000, 100_000] : [10_000, 1_000_000], runs: QUICK ? 50 : 300, command: results.command, progress });
    Object.assign(results, { list: listBench });
  } catch (e) {
    results.errors.push(`list: ${(e as Error).message}`);
    progress(`list: ${(e as Error).message.split('\n')[0]}`);
  }
}

// ---- 13: several nodes on PostgreSQL ----------------------------------------------------------
// Herald worker processes delivering a pre-filled queue to smtp-sink (SQLite one node, PostgreSQL
// one and two workers), the cost of a claim with 10k and 1M messages waiting on both engines, and
// a worker's memory beside them (bench/cluster.ts). Needs PostgreSQL.
let clusterBench: ClusterBenchResults | undefined;
if (steps.has('cluster') && targets.includes('herald')) {
  try {
    clusterBench = await runClusterBench({
      messages: n(20_000),
      waiting: QUICK ? [10_000, 100_000] : [10_000, 1_000_000],
      rounds: QUICK ? 50 : 200,
      limit: 100,
      memorySeconds: QUICK ? 10 : 20,
      dist: args.dist!,
      logLevel: args['herald-log-level']!,
      command: results.command,
      progress,
    });
    Object.assign(results, { cluster: clusterBench });
  } catch (e) {
    results.errors.push(`cluster: ${(e as Error).message}`);
    progress(`cluster: ${(e as Error).message.split('\n')[0]}`);
  }
}

if (heraldRssSamples.length) {
  results.memory.peakRss = Math.max(...heraldRssSamples.map((s) => s.peak));
  results.memory.hwm = Math.max(...heraldRssSamples.map((s) => s.hwm));
}
results.finishedAt = new Date().toISOString();

const tables = {
  smtp: SMTP_STEPS.some((s) => steps.has(s)) ? renderTable(results) : undefined,
  api: results.api ? renderApiTable(results.api) : undefined,
  sign: results.sign ? renderSignTable(results.sign) : undefined,
};
const webhookTable = webhooks ? renderWebhookTable(webhooks) : undefined;
const statsTable = statsBench ? renderStatsTable(statsBench) : undefined;
const trackingTable = tracking ? renderTrackingTable(tracking) : undefined;
const listTable = listBench ? renderListTable(listBench) : undefined;
const clusterTables = clusterBench ? renderClusterTables(clusterBench) : undefined;
console.log([tables.smtp, tables.api, tables.sign, webhookTable, statsTable, trackingTable, listTable, clusterTables].filter((t) => t !== undefined).join('\n\n'));
const dir = join(REPO_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${results.startedAt.replace(/[:.]/g, '-')}${QUICK ? '-quick' : ''}.json`);
writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
writeFileSync(join(dir, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
progress(`results written to ${file}`);
if (!args['no-docs'] && (args.docs ?? !QUICK)) {
  const docs = join(REPO_ROOT, 'docs', 'performance.md');
  // The SMTP block is one table over all five SMTP steps: a run of only some of them would
  // replace it with fewer rows, so it is rewritten only by a run of all five.
  const fullSmtp = SMTP_STEPS.every((s) => steps.has(s));
  if (tables.smtp !== undefined && !fullSmtp) progress('the SMTP table in docs/performance.md is kept: only a run of every SMTP step rewrites it (this run\'s table is printed above and in the JSON file)');
  updateDocs(docs, results, { ...tables, smtp: fullSmtp ? tables.smtp : undefined }, readFileSafe(docs));
  if (webhooks && webhookTable) updateWebhookDocs(docs, results, webhooks, webhookTable);
  if (statsBench && statsTable) updateStatsDocs(docs, statsBench, statsTable);
  if (tracking && trackingTable) writeFileSync(docs, updateTrackingDocs(readFileSafe(docs), results, tracking, trackingTable));
  if (listBench && listTable) writeFileSync(docs, updateListDocs(readFileSafe(docs), results.machine, listBench, listTable));
  if (clusterBench && clusterTables) writeFileSync(docs, updateClusterDocs(readFileSafe(docs), results.machine, clusterBench, clusterTables));
  progress(`docs/performance.md updated`);
}
const failed = results.errors.length + (results.api?.errors.length ?? 0) + (results.sign?.errors.length ?? 0) + (webhooks?.errors.length ?? 0) + (tracking?.errors.length ?? 0) + (clusterBench?.errors.length ?? 0);
if (failed) progress(`${failed} step(s) failed; details in the JSON file under "errors" (and "api.errors", "sign.errors", "webhooks.errors", "tracking.errors", "cluster.errors")`);

/** A shared library's path from the dynamic linker's cache, or null. */
function findLibrary(name: string): string | null {
  const line = sh('/sbin/ldconfig', ['-p']).split('\n').find((l) => l.trim().startsWith(`${name} `));
  return line?.split(' => ')[1]?.trim() ?? null;
}

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
