// Micro-benchmark of the statistics roll-ups (src/stats): how many outbox events a second the
// feeder counts, and how long a statistics question takes once a million events are rolled up.
//
//   node --import tsx bench/stats.ts [--events 100000] [--rollup 1000000] [--runs 200] [--docs]
//   npm run bench -- --only stats     (the same, as a step of the full run; refreshes its block)
//
// 1. feeder: --events outbox events (per message: accepted, delivered, two opens, a click),
//    written through the queue store on its writer thread (ThreadedQueueStore, as the server runs
//    it), then counted from the start by startStatsFeeder with the server's page size: events/s
//    over the whole catch-up, the label lookups (QueueStore.get) through the writer thread
//    included, every page committed with synchronous=FULL as in the server.
// 2. applyPage alone: --rollup synthetic events (no queue; labels given) in pages of 2,000 — the
//    counting transaction's own rate. These are the roll-ups the questions below read.
// 3. questions: p50/p99 of statsReport (what GET /api/v1/stats runs after checking its
//    parameters) over --runs runs each, on those events spread over 30 days, 200 recipient
//    domains, 20 tags and both streams.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { newMessageId, type MailEvent } from '../src/core/index.js';
import { ThreadedQueueStore } from '../src/queue/index.js';
import { parseStatsQuery, SqlStatsStore, startStatsFeeder, statsReport, type StatsLabels, type StatsParams } from '../src/stats/index.js';
import { machineLine, markdownTable, replaceGeneratedBlock } from './report.js';
import { describeMachine } from './machine.js';
import { SqliteSqlDatabase } from '../src/storage/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DOMAINS = 200;
const TAGS = 20;
const PAGE = 2000;

export interface StatsBenchOptions {
  events: number;
  rollup: number;
  runs: number;
  progress?: (line: string) => void;
}

export interface StatsQueryTiming {
  name: string;
  rows: number;
  p50: number;
  p99: number;
}

export interface StatsBenchResults {
  startedAt: string;
  command: string;
  machine: string;
  feeder: { events: number; messages: number; seconds: number; eventsPerSecond: number };
  apply: { events: number; seconds: number; eventsPerSecond: number; rollupRows: number; databaseBytes: number };
  queries: StatsQueryTiming[];
}

/** A message's five events, as the rooms that make them record them. */
function eventsOf(messageId: string, recipient: string, at: number, machine: boolean): MailEvent[] {
  const base = { messageId, accountId: 'default', recipient };
  return [
    { type: 'accepted', messageId, accountId: 'default', at: new Date(at), data: { recipients: [recipient], size: 1200, source: 'api', mailFrom: 'shop@sender.test' } },
    { ...base, type: 'delivered', at: new Date(at + 2_000), data: { host: 'mx.example', reply: { code: 250, text: 'ok' }, attempt: 1 } },
    { ...base, type: 'opened', at: new Date(at + 60_000), data: { machine, userAgent: 'Mozilla/5.0', ip: '192.0.2.1' } },
    { ...base, type: 'opened', at: new Date(at + 600_000), data: { machine: false, userAgent: 'Mozilla/5.0', ip: '192.0.2.1' } },
    { ...base, type: 'clicked', at: new Date(at + 620_000), data: { machine: false, url: 'https://shop.example/a' } },
  ];
}

const recipientOf = (i: number) => `user${i}@d${i % DOMAINS}.example`;
const labelsOf = (i: number): StatsLabels => ({ tags: [`tag${i % TAGS}`], stream: i % 10 === 0 ? 'broadcast' : 'transactional' });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** 1: the feeder catching up with an outbox written through the queue's writer thread. */
async function measureFeeder(events: number, log: (line: string) => void): Promise<StatsBenchResults['feeder']> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-stats-'));
  const file = join(dir, 'herald.db');
  const queue = await ThreadedQueueStore.open(file);
  const db = SqliteSqlDatabase.open(file);
  try {
    const messages = Math.ceil(events / 5);
    const start = Date.now() - 3 * DAY;
    log(`stats: writing ${messages} messages and ${messages * 5} events to the outbox`);
    for (let from = 0; from < messages; from += 1000) {
      const batch: Promise<void>[] = [];
      const later: MailEvent[] = [];
      for (let i = from; i < Math.min(messages, from + 1000); i++) {
        const at = start + Math.floor((i * 3 * DAY) / messages);
        const id = newMessageId(at);
        const [, ...rest] = eventsOf(id, recipientOf(i), at, i % 3 === 0);
        later.push(...rest);
        const labels = labelsOf(i);
        batch.push(
          queue.enqueue({
            id,
            accountId: 'default',
            source: 'api',
            mailFrom: 'shop@sender.test',
            recipients: [recipientOf(i)],
            body: Buffer.from('Subject: bench\r\n\r\nhello\r\n'),
            createdAt: new Date(at),
            expiresAt: new Date(at + 5 * DAY),
            meta: { tags: [...labels.tags!], stream: labels.stream as 'transactional' | 'broadcast' },
          }),
        );
      }
      await Promise.all(batch);
      await Promise.all(later.map((e) => queue.recordEvent(e)));
    }
    const stats = await SqlStatsStore.open(db);
    const t0 = process.hrtime.bigint();
    const feeder = startStatsFeeder({
      store: stats,
      readEvents: (after, limit) => queue.readEvents(after, limit),
      messageLabels: (ids) => queue.metaOf(ids),
      config: { statsRetention: 400 * DAY, retention: 30 * DAY },
      intervalMs: 0,
    });
    const read = await feeder.runOnce();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await feeder.stop();
    const counted = (await statsReport(stats, parseStatsQuery('default', { from: new Date(start).toISOString().slice(0, 10) }, new Date()))).totals;
    if (read !== messages * 5 || counted.sent !== messages || counted.opened_total !== 2 * messages) {
      throw new Error(`the feeder read ${read} events and counted ${counted.sent} sent, ${counted.opened_total} opens; expected ${messages * 5}, ${messages}, ${2 * messages}`);
    }
    return { events: read, messages, seconds, eventsPerSecond: read / seconds };
  } finally {
    await queue.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 2 and 3: applyPage alone on synthetic events, then questions on what it rolled up. */
async function measureApplyAndQueries(total: number, runs: number, log: (line: string) => void): Promise<Pick<StatsBenchResults, 'apply' | 'queries'>> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-stats-'));
  const file = join(dir, 'herald.db');
  const db = SqliteSqlDatabase.open(file);
  try {
    const stats = await SqlStatsStore.open(db);
    const messages = Math.ceil(total / 5);
    const end = Math.floor(Date.now() / HOUR) * HOUR;
    const start = end - 30 * DAY;
    log(`stats: rolling up ${messages * 5} synthetic events`);
    let seq = 0;
    let seconds = 0;
    let pending: MailEvent[] = [];
    const labels = new Map<string, StatsLabels>();
    const flush = async () => {
      const t0 = process.hrtime.bigint();
      const from = seq;
      seq += pending.length;
      if (!(await stats.applyPage(from, seq, pending, labels))) throw new Error('the cursor moved');
      seconds += Number(process.hrtime.bigint() - t0) / 1e9;
      pending = [];
      labels.clear();
    };
    for (let i = 0; i < messages; i++) {
      const id = `m${i}`;
      const at = start + Math.floor((i * 30 * DAY) / messages);
      labels.set(id, labelsOf(i));
      for (const e of eventsOf(id, recipientOf(i), at, i % 3 === 0)) pending.push({ ...e, seq: seq + pending.length + 1 });
      if (pending.length >= PAGE) await flush();
    }
    if (pending.length) await flush();
    const rollupRows = (await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM stats_rollups'))!.n;
    db.db.pragma('wal_checkpoint(TRUNCATE)');
    const databaseBytes = (await db.get<{ n: number }>('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()'))!.n;

    const now = new Date(end - 1);
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const last30 = { from: day(end - 29 * DAY), to: day(end - 1) };
    const questions: [string, StatsParams][] = [
      ['by day, the last 7 days (the default)', {}],
      ['by day, 30 days', { ...last30 }],
      ['by hour, the last 24 hours', { groupBy: 'hour', from: new Date(end - 24 * HOUR).toISOString() }],
      ['by hour, 31 days (744 buckets, the most)', { groupBy: 'hour', from: day(end - 30 * DAY), to: day(end - 1) }],
      ['by domain, 30 days (200 domains)', { groupBy: 'domain', ...last30 }],
      ['by tag, 30 days (20 tags)', { groupBy: 'tag', ...last30 }],
      ['by stream, 30 days', { groupBy: 'stream', ...last30 }],
      ['one domain by day, 30 days', { domain: 'd7.example', ...last30 }],
      ['one tag by day, 30 days, broadcast only', { tag: 'tag3', stream: 'broadcast', ...last30 }],
    ];
    const queries: StatsQueryTiming[] = [];
    for (const [name, params] of questions) {
      const query = parseStatsQuery('default', params, now);
      for (let i = 0; i < Math.min(20, runs); i++) await statsReport(stats, query); // warm-up
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < runs; i++) {
        const t0 = process.hrtime.bigint();
        rows = (await statsReport(stats, query)).rows.length;
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      times.sort((a, b) => a - b);
      queries.push({ name, rows, p50: percentile(times, 50), p99: percentile(times, 99) });
      log(`stats: ${name}: ${rows} rows, p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms`);
    }
    return { apply: { events: seq, seconds, eventsPerSecond: seq / seconds, rollupRows, databaseBytes }, queries };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runStatsBench(options: StatsBenchOptions & { command: string }): Promise<StatsBenchResults> {
  const log = options.progress ?? (() => {});
  const startedAt = new Date().toISOString();
  const feeder = await measureFeeder(options.events, log);
  log(`stats: the feeder counted ${feeder.events} events in ${feeder.seconds.toFixed(2)} s: ${feeder.eventsPerSecond.toFixed(0)} events/s`);
  const rest = await measureApplyAndQueries(options.rollup, options.runs, log);
  log(`stats: applyPage alone: ${rest.apply.eventsPerSecond.toFixed(0)} events/s, ${rest.apply.rollupRows} roll-up rows`);
  return { startedAt, command: options.command, machine: machineLine(describeMachine({ dist: false })), feeder, ...rest };
}

const k = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

export function renderStatsTable(r: StatsBenchResults): string {
  const rows: string[][] = [
    ['measurement', 'value'],
    [`feeder catching up: ${k(r.feeder.events)} outbox events (${k(r.feeder.messages)} messages), label lookups through the queue's writer thread (events/s)`, k(r.feeder.eventsPerSecond)],
    [`applyPage alone: ${k(r.apply.events)} events in pages of ${k(PAGE)} (events/s)`, k(r.apply.eventsPerSecond)],
    [`roll-up rows for those ${k(r.apply.events)} events over 30 days; database size`, `${k(r.apply.rollupRows)}; ${(r.apply.databaseBytes / 2 ** 20).toFixed(1)} MiB`],
    ...r.queries.map((q) => [`question: ${q.name}, ${q.rows} rows — p50 / p99 (ms)`, `${q.p50.toFixed(2)} / ${q.p99.toFixed(2)}`]),
  ];
  return markdownTable(rows[0]!, rows.slice(1));
}

export const STATS_BLOCK = {
  begin: '<!-- bench:stats:begin (generated by npm run bench, npm run bench -- --only stats, or node --import tsx bench/stats.ts --docs; edit outside these markers) -->',
  end: '<!-- bench:stats:end -->',
};

/** Rewrites the statistics block of docs/performance.md (added at the end when missing). */
export function updateStatsDocs(path: string, r: StatsBenchResults, table: string): void {
  const doc = readFileSync(path, 'utf8');
  const block = [STATS_BLOCK.begin, `Last run: ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, \`${r.command}\`.`, '', r.machine, '', table, STATS_BLOCK.end].join('\n');
  writeFileSync(path, replaceGeneratedBlock(doc, STATS_BLOCK, block));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values: args } = parseArgs({
    options: { events: { type: 'string', default: '100000' }, rollup: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '200' }, docs: { type: 'boolean', default: false } },
  });
  const r = await runStatsBench({
    events: Number(args.events),
    rollup: Number(args.rollup),
    runs: Number(args.runs),
    command: `node --import tsx bench/stats.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const table = renderStatsTable(r);
  console.log(table);
  if (args.docs) updateStatsDocs(resolve(import.meta.dirname, '..', 'docs', 'performance.md'), r, table);
}
