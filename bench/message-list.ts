// The message list behind the dashboard and GET /api/v1/messages: how long QueueStore.list takes
// for the first page and for each search filter, with 10,000 and with 1,000,000 messages stored.
// The bar: these times must not grow with the number of messages.
//
//   node --import tsx bench/message-list.ts [--sizes 10000,1000000] [--runs 300] [--docs]
//   npm run bench -- --only list     (the same, as a step of the full run; refreshes its block)
//
// Each store is filled through SqliteQueueStore.enqueue (the server's own write path, thousands
// of messages per group commit), the messages spread over 30 days. Then one UPDATE gives the
// recipients a realistic mix of states (as if delivery had run): 90% delivered, 5% bounced, 4%
// deferred, 1% queued; one message in 10,000 is held. Every query is the exact `list` call the
// route makes (limit 50, the account's id), timed over --runs runs after a warm-up, p50 and p99.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { newMessageId } from '../src/core/index.js';
import { SqliteQueueStore, type ListRequest, type NewMessage } from '../src/queue/index.js';
import { openSqlite } from '../src/storage/index.js';
import { machineLine, markdownTable, replaceGeneratedBlock, type Results } from './report.js';
import { describeMachine } from './machine.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SPAN = 30 * DAY;
const FILL_BATCH = 5000;
const PAGE = 50;
const ACCOUNT = 'default';

export interface ListBenchOptions {
  sizes: number[];
  runs: number;
  progress?: (line: string) => void;
}

export interface ListQueryTiming {
  name: string;
  /** Messages stored → rows returned, p50 and p99 in ms. */
  bySize: Record<number, { rows: number; p50: number; p99: number }>;
}

export interface ListBenchResults {
  startedAt: string;
  command: string;
  sizes: number[];
  runs: number;
  fill: Record<number, { seconds: number; messagesPerSecond: number; databaseBytes: number }>;
  queries: ListQueryTiming[];
}

/** A `vip` recipient gets one message in 1,000; a rare tag one in 10,000; the rest are unique. */
const recipientOf = (i: number) => (i % 1000 === 7 ? 'vip@customer.example' : `user${i}@d${i % 200}.example`);
const tagsOf = (i: number) => (i % 10_000 === 3 ? [`tag${i % 20}`, 'rare'] : [`tag${i % 20}`]);
/** An `alerts@` sender sends one message in 1,000; the rest come from ten addresses of one domain. */
const senderOf = (i: number) => (i % 1000 === 11 ? 'alerts@notify.example' : `shop${i % 10}@sender.test`);
/** Every subject says "receipt" but one in 10,000, which is a password reset. */
const subjectOf = (i: number) => (i % 10_000 === 13 ? `Password reset for account ${i}` : `Your receipt #${i}`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The searches timed: the list's first page, then each filter the dashboard offers. */
function searches(end: number): [string, Omit<ListRequest, 'limit' | 'accountId'>][] {
  const middle = end - SPAN / 2;
  return [
    ['first page, no filter', {}],
    ['recipient (1 message in 1,000 is to it)', { recipient: 'vip@customer.example' }],
    ['tag (on 1 message in 20)', { tag: 'tag5' }],
    ['tag (on 1 message in 10,000)', { tag: 'rare' }],
    ['sender (1 message in 1,000 is from it)', { sender: 'alerts@notify.example' }],
    ['sender domain (999 messages in 1,000 are from it)', { sender: '@sender.test' }],
    ['subject contains "receipt" (every message but 1 in 10,000)', { subject: 'receipt' }],
    ['subject contains "password reset" (1 message in 10,000)', { subject: 'password reset' }],
    ['status bounced (5% of messages)', { states: ['bounced'] }],
    ['status held (1 message in 10,000)', { states: ['held'] }],
    ['time range: one hour, mid-way back', { since: new Date(middle), until: new Date(middle + HOUR) }],
    ['tag and status together (tag on 1 in 20, status deferred)', { tag: 'tag5', states: ['deferred'] }],
  ];
}

async function fill(store: SqliteQueueStore, total: number, end: number, log: (line: string) => void): Promise<number> {
  const start = end - SPAN;
  const body = Buffer.from('From: shop@sender.test\r\nSubject: Your receipt\r\n\r\nThank you.\r\n');
  const t0 = process.hrtime.bigint();
  for (let from = 0; from < total; from += FILL_BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = from; i < Math.min(total, from + FILL_BATCH); i++) {
      const at = start + Math.floor((i * SPAN) / total);
      const msg: NewMessage = {
        id: newMessageId(at),
        accountId: ACCOUNT,
        source: 'api',
        mailFrom: senderOf(i),
        recipients: [recipientOf(i)],
        body,
        createdAt: new Date(at),
        expiresAt: new Date(at + 5 * DAY),
        meta: { subject: subjectOf(i), tags: tagsOf(i), stream: 'transactional' },
      };
      batch.push(store.enqueue(msg));
    }
    await Promise.all(batch);
    if (from % (FILL_BATCH * 40) === 0 && from > 0) log(`list: ${from.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} messages stored`);
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function measureSize(total: number, runs: number, log: (line: string) => void, out: ListBenchResults): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-list-'));
  const file = join(dir, 'herald.db');
  const db = openSqlite(file);
  try {
    const store = new SqliteQueueStore(db, { maxBatchWrites: FILL_BATCH });
    const end = Date.now() - HOUR;
    log(`list: storing ${total.toLocaleString('en-US')} messages`);
    const seconds = await fill(store, total, end, log);
    // As if delivery had run: a state mix by recipient id (one recipient per message here).
    // A hash of the id, not the id itself, so that states do not line up with tags.
    db.prepare(
      `UPDATE recipients SET state = CASE
         WHEN id % 10000 = 5 THEN 'held'
         WHEN (id * 2654435761) % 1000003 % 100 < 90 THEN 'delivered'
         WHEN (id * 2654435761) % 1000003 % 100 < 95 THEN 'bounced'
         WHEN (id * 2654435761) % 1000003 % 100 < 99 THEN 'deferred'
         ELSE 'queued' END`,
    ).run();
    db.prepare("UPDATE recipients SET next_attempt_at = NULL WHERE state NOT IN ('queued', 'deferred')").run();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const databaseBytes = (db.prepare('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()').get() as { n: number }).n;
    out.fill[total] = { seconds, messagesPerSecond: total / seconds, databaseBytes };
    log(`list: stored ${total.toLocaleString('en-US')} messages in ${seconds.toFixed(1)} s, ${(databaseBytes / 2 ** 20).toFixed(0)} MiB`);

    for (const [name, filter] of searches(end)) {
      const req: ListRequest = { ...filter, accountId: ACCOUNT, limit: PAGE };
      for (let i = 0; i < Math.min(20, runs); i++) await store.list(req); // warm-up
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < runs; i++) {
        const t0 = process.hrtime.bigint();
        rows = (await store.list(req)).length;
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      times.sort((a, b) => a - b);
      let q = out.queries.find((x) => x.name === name);
      if (!q) out.queries.push((q = { name, bySize: {} }));
      q.bySize[total] = { rows, p50: percentile(times, 50), p99: percentile(times, 99) };
      log(`list: ${total} messages, ${name}: ${rows} rows, p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms`);
    }
    await store.close();
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runListBench(options: ListBenchOptions & { command: string }): Promise<ListBenchResults> {
  const log = options.progress ?? (() => {});
  const out: ListBenchResults = { startedAt: new Date().toISOString(), command: options.command, sizes: options.sizes, runs: options.runs, fill: {}, queries: [] };
  for (const size of options.sizes) await measureSize(size, options.runs, log, out);
  return out;
}

const k = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

export function renderListTable(r: ListBenchResults): string {
  const head = ['search (50 to a page)', ...r.sizes.map((s) => `${k(s)} stored: rows, p50 / p99 (ms)`)];
  const rows: string[][] = [
    head,
    ...r.queries.map((q) => [q.name, ...r.sizes.map((s) => (q.bySize[s] ? `${q.bySize[s].rows}, ${q.bySize[s].p50.toFixed(2)} / ${q.bySize[s].p99.toFixed(2)}` : '–'))]),
    ['filling the store through enqueue (messages/s); database size', ...r.sizes.map((s) => (r.fill[s] ? `${k(r.fill[s].messagesPerSecond)}; ${(r.fill[s].databaseBytes / 2 ** 20).toFixed(0)} MiB` : '–'))],
  ];
  return markdownTable(rows[0]!, rows.slice(1));
}

export const LIST_BLOCK = {
  begin: '<!-- bench:list:begin (generated by npm run bench, npm run bench -- --only list, or node --import tsx bench/message-list.ts --docs; edit outside these markers) -->',
  end: '<!-- bench:list:end -->',
};

/** docs/performance.md with the message-list block replaced (placed after the statistics block when new). */
export function updateListDocs(doc: string, machine: Results['machine'], r: ListBenchResults, table: string): string {
  const block = [
    LIST_BLOCK.begin,
    `Last run: ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, \`${r.command}\`, ${r.runs} runs of each search.`,
    '',
    machineLine(machine),
    '',
    table,
    LIST_BLOCK.end,
  ].join('\n');
  return replaceGeneratedBlock(doc, LIST_BLOCK, block, ['<!-- bench:stats:end -->']);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values: args } = parseArgs({ options: { sizes: { type: 'string', default: '10000,1000000' }, runs: { type: 'string', default: '300' }, docs: { type: 'boolean', default: false } } });
  const machine = describeMachine({ dist: false });
  const r = await runListBench({
    sizes: args.sizes!.split(',').map(Number),
    runs: Number(args.runs),
    command: `node --import tsx bench/message-list.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const table = renderListTable(r);
  console.log(table);
  if (args.docs) {
    const path = resolve(import.meta.dirname, '..', 'docs', 'performance.md');
    writeFileSync(path, updateListDocs(readFileSync(path, 'utf8'), machine, r, table));
  }
}
