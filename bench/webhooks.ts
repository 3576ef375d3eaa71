// The webhook step: how fast Herald pushes its events to webhook endpoints, and what that costs,
// against a bare loop that POSTs the same payloads.
//
// Events are made by real mail: messages sent through the HTTP API (batches) and delivered to
// smtp-sink, each leaving a message.accepted and a message.delivered event in the outbox, with
// tags and metadata. The endpoints exist (disabled) before the mail is sent, so when everything is
// delivered they have a backlog of every event; the timed part is the drain after enabling them:
// from the PATCH that enables them until the receiver (bench/webhook-receiver.ts, its own process,
// verifying every signature) has had every event at every endpoint. During the drain Herald does
// nothing but webhooks, so its rate, CPU and memory are the dispatcher's, as isolated as writing
// events straight into the outbox would make them; real mail also makes the dispatcher's work
// real (each event's message has tags and metadata to look up, which an event naming no message
// would skip), and reading the outbox, signing, the attempts log and progress commits go as in
// production.
// The bare loop (bench/bare-webhooks.ts) POSTs the bodies Herald sent (recorded by the receiver
// during Herald's first drain) to the same receiver with the same requests in flight.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { machineLine, replaceGeneratedBlock } from './report.js';
import { cpuSplit } from './api-load.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, REPO_ROOT } from '../test/support/processes.js';
import { sampleRss, startSink, startTarget, stopChild, type Target } from './peers.js';
import type { ReceiverCounts } from './webhook-receiver.js';

type Failed = { error: string };
type Maybe<T> = T | Failed;

/** Herald's dispatcher, or the bare loop. */
export type WebhookVariant = 'herald' | 'bare';

export interface WebhookMeasure {
  /** Requests the receiver counted (events × endpoints), each verified. */
  deliveries: number;
  seconds: number;
  deliveriesPerSecond: number;
  /** CPU time of the sending process (all threads) per delivery, and of its main thread alone. */
  cpuMsPerDelivery: number;
  mainCpuMsPerDelivery: number;
  /** Main thread CPU ÷ wall time. */
  mainBusy: number;
  /** RSS of the sending process when the drain started, and its peak during it (sampled every 100 ms). */
  rssBefore: number;
  rssPeak: number;
  /** The bare loop's own V8 heap peak (Herald's is not visible from outside). */
  heapPeak?: number;
}

export interface WebhookResults {
  /** Messages sent to make the events, and the events each endpoint is sent. */
  messages: number;
  events: number;
  /** Requests in flight per endpoint (Herald's default maxInFlight). */
  inFlight: number;
  /** `slow`: the receiver answers each request after a random SLOW_MS[0] to SLOW_MS[1] ms. */
  cells: { endpoints: number; slow: boolean; values: Partial<Record<WebhookVariant, Maybe<WebhookMeasure>>> }[];
  /** The slow cell's answer times, ms. */
  slowMs: readonly number[];
  errors: string[];
}

const IN_FLIGHT = 4;
/** Endpoints in the second cell; each on its own loopback address, as separate receivers would be. */
const MANY = 4;
/** A receiver across a network answers in milliseconds, not microseconds: the third cell's answer times. */
const SLOW_MS = [1, 10] as const;

async function api<T = any>(base: string, key: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

interface Receiver {
  pid: number;
  /** Base URL of address `i` (0-based). */
  base(i: number): string;
  control<T = ReceiverCounts>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

async function startReceiver(addresses: number): Promise<Receiver> {
  const hosts = Array.from({ length: addresses }, (_, i) => `127.0.0.${11 + i}`);
  const listen = await Promise.all(hosts.map(async (h) => `${h}:${await freePort(h)}`));
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/webhook-receiver.ts', `--slow=${SLOW_MS.join('-')}`, ...listen], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-3000)));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`webhook-receiver exited (${code}): ${err}`)));
    createInterface({ input: child.stdout! }).once('line', () => resolve());
  });
  const base = (i: number) => `http://${listen[i]}`;
  return {
    pid: child.pid!,
    base,
    async control(method, path, body) {
      const res = await fetch(base(0) + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
      return (await res.json()) as any;
    },
    stop: () => stopChild(child),
  };
}

/** The receiver's counts once it has had `total` requests; fails after `timeoutMs`. */
async function received(receiver: Receiver, total: number, timeoutMs: number): Promise<ReceiverCounts> {
  try {
    const res = await fetch(`${receiver.base(0)}/_wait?total=${total}`, { signal: AbortSignal.timeout(timeoutMs) });
    return (await res.json()) as ReceiverCounts;
  } catch (e) {
    const now = await receiver.control('GET', '/_wait?total=0');
    throw new Error(`the receiver had ${now.total} of ${total} requests after ${timeoutMs / 1000} s (${(e as Error).message})`);
  }
}

/** Every delivery counted once, and every signature verified; otherwise a plain-words error. */
function checkCounts(counts: ReceiverCounts, expected: number): void {
  if (counts.refused > 0) throw new Error(`${counts.refused} requests failed verification, the first: ${counts.firstRefusal}`);
  if (counts.unique !== expected || counts.total !== expected) throw new Error(`expected ${expected} distinct deliveries, got ${counts.total} requests with ${counts.unique} distinct (endpoint, webhook-id)`);
}

/** One message of the batch: ~1 KB of text, with the tags and metadata events carry. */
function message(n: number) {
  return { from: 'bench@client.example', to: 'rcpt@dest.example', subject: `Webhook bench ${n}`, text: `${'x'.repeat(75)}\n`.repeat(13), tags: ['bench', 'webhooks'], metadata: { order: String(n) } };
}

/** Polls /healthz until `n` recipients are delivered (the events are committed with that state). */
async function deliveredAll(t: Target, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = (await (await fetch(`${t.api!.url}/healthz`)).json()) as { queue: Record<string, number> };
    if ((health.queue.delivered ?? 0) >= n) return;
    if (Date.now() > deadline) throw new Error(`${health.queue.delivered ?? 0} of ${n} messages delivered after ${timeoutMs / 1000} s: ${JSON.stringify(health.queue)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Endpoint {
  id: string;
  url: string;
  secret: string;
}

/**
 * Runs the step: Herald (the build, as `npm start` runs it, with `dist`) with its next hop an
 * smtp-sink, the receiver, `messages` messages through the API, then for one endpoint, MANY
 * endpoints and one slow endpoint the drain through Herald and through the bare loop.
 */
export async function measureWebhooks(o: { dist: boolean; logLevel: string; messages: number; progress: (msg: string) => void }): Promise<WebhookResults> {
  const cells = [
    { endpoints: 1, slow: false },
    { endpoints: MANY, slow: false },
    { endpoints: 1, slow: true },
  ];
  const results: WebhookResults = { messages: o.messages, events: 0, inFlight: IN_FLIGHT, slowMs: SLOW_MS, cells: cells.map((c) => ({ ...c, values: {} })), errors: [] };
  const sink = await startSink();
  const receiver = await startReceiver(MANY);
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-webhooks-'));
  let herald: Target | null = null;
  try {
    herald = await startTarget('herald', {
      nextHop: `${sink.host}:${sink.port}`,
      heraldDist: o.dist,
      heraldLogLevel: o.logLevel,
      http: true,
      // The receiver is on loopback.
      env: { HERALD_WEBHOOK_ALLOW_PRIVATE: 'true' },
    });
    const t = herald;
    const base = t.api!.url;
    const { key: admin } = JSON.parse(await t.cli!(['api-keys', 'create', '--name', 'bench-webhooks', '--scope', 'admin', '--json'])) as { key: string };

    // Disabled endpoints first, so that each has every event of the run waiting for it.
    const endpointsOf = new Map<WebhookResults['cells'][number], Endpoint[]>();
    for (const cell of results.cells) {
      const list: Endpoint[] = [];
      for (let i = 0; i < cell.endpoints; i++) {
        const url = `${receiver.base(i)}/${cell.slow ? 'slow/' : ''}endpoints-${cell.endpoints}/${i + 1}`;
        const created = await api<{ id: string; secret: string }>(base, admin, 'POST', '/api/v1/webhooks', { url, enabled: false, description: 'bench' });
        list.push({ id: created.id, url, secret: created.secret });
      }
      endpointsOf.set(cell, list);
    }
    const all = [...endpointsOf.values()].flat();
    await receiver.control('PUT', '/_secrets', Object.fromEntries(all.map((e) => [new URL(e.url).pathname, e.secret])));

    // The events: batches of 500 through the API, two requests at a time, all delivered.
    const batches = Array.from({ length: Math.ceil(o.messages / 500) }, (_, b) => Array.from({ length: Math.min(500, o.messages - b * 500) }, (_, i) => message(b * 500 + i)));
    const t0 = Date.now();
    let nextBatch = 0;
    await Promise.all(
      [0, 1].map(async () => {
        while (nextBatch < batches.length) {
          const messages = batches[nextBatch++]!;
          const r = await api<{ accepted: number }>(base, t.api!.key, 'POST', '/api/v1/messages/batch', { messages });
          if (r.accepted !== messages.length) throw new Error(`a batch of ${messages.length} had ${r.accepted} accepted`);
        }
      }),
    );
    await deliveredAll(t, o.messages, 300_000);
    o.progress(`webhooks: ${o.messages} messages sent and delivered in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // Each endpoint is to be sent both events of every message.
    results.events = 2 * o.messages;
    const timeoutMs = Math.max(120_000, results.events * 10);
    // The bare loop sends what Herald sent: the bodies the receiver got in Herald's first drain.
    let payloads: { id: string; body: string }[] = [];
    await receiver.control('PUT', `/_record?path=${encodeURIComponent(new URL(endpointsOf.get(results.cells[0]!)![0]!.url).pathname)}`);

    for (const cell of results.cells) {
      const endpoints = endpointsOf.get(cell)!;
      const expected = results.events * endpoints.length;
      const what = (v: string) => `webhooks, ${results.events} events to ${cellLabel(cell, results)}, ${v}`;

      // Herald: enabling the endpoints starts the drain (an enabled endpoint catches up at once).
      try {
        await receiver.control('POST', '/_reset');
        const rss = sampleRss(t.pid, 100);
        const cpu0 = cpuSplit(t.pid);
        const t1 = process.hrtime.bigint();
        for (const e of endpoints) await api(base, admin, 'PATCH', `/api/v1/webhooks/${e.id}`, { enabled: true });
        const counts = await received(receiver, expected, timeoutMs);
        const seconds = Number(process.hrtime.bigint() - t1) / 1e9;
        const cpu1 = cpuSplit(t.pid);
        const memory = rss.stop();
        checkCounts(counts, expected);
        cell.values.herald = measure(expected, seconds, cpu0, cpu1, memory);
        if (payloads.length === 0) payloads = await receiver.control('GET', '/_recorded');
        o.progress(`${what('herald')}: ${line(cell.values.herald)}`);
      } catch (e) {
        cell.values.herald = { error: (e as Error).message };
        results.errors.push(`${what('herald')}: ${(e as Error).message}\n${t.log()}`);
        o.progress(`${what('herald')}: ${(e as Error).message}`);
      }

      // The bare loop: the same payloads, URLs, secrets and requests in flight.
      try {
        if (payloads.length !== results.events) throw new Error(`no payloads to send: Herald's first drain delivered ${payloads.length} of ${results.events} events`);
        await receiver.control('POST', '/_reset');
        const file = join(dir, `bare-${cell.endpoints}${cell.slow ? '-slow' : ''}.json`);
        writeFileSync(file, JSON.stringify({ targets: endpoints.map((e) => ({ url: e.url, secret: e.secret })), inFlight: IN_FLIGHT, payloads }));
        cell.values.bare = await runBare(file, receiver, expected, timeoutMs);
        o.progress(`${what('bare loop')}: ${line(cell.values.bare)}`);
      } catch (e) {
        cell.values.bare = { error: (e as Error).message };
        results.errors.push(`${what('bare loop')}: ${(e as Error).message}`);
        o.progress(`${what('bare loop')}: ${(e as Error).message}`);
      }
    }
  } finally {
    await herald?.stop();
    await receiver.stop();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

function measure(deliveries: number, seconds: number, cpu0: { total: number; main: number }, cpu1: { total: number; main: number }, memory: { peak: number; samples: [number, number][] }): WebhookMeasure {
  return {
    deliveries,
    seconds,
    deliveriesPerSecond: deliveries / seconds,
    cpuMsPerDelivery: ((cpu1.total - cpu0.total) * 1000) / deliveries,
    mainCpuMsPerDelivery: ((cpu1.main - cpu0.main) * 1000) / deliveries,
    mainBusy: (cpu1.main - cpu0.main) / seconds,
    rssBefore: memory.samples[0]?.[1] ?? 0,
    rssPeak: memory.peak,
  };
}

const line = (m: WebhookMeasure) =>
  `${m.deliveriesPerSecond.toFixed(0)} deliveries/s, CPU ${m.cpuMsPerDelivery.toFixed(3)} ms per delivery (main thread ${m.mainCpuMsPerDelivery.toFixed(3)}, busy ${(m.mainBusy * 100).toFixed(0)}%), RSS ${(m.rssBefore / 2 ** 20).toFixed(0)} → peak ${(m.rssPeak / 2 ** 20).toFixed(0)} MiB${m.heapPeak ? `, heap peak ${(m.heapPeak / 2 ** 20).toFixed(0)} MiB` : ''}`;

/** Starts the bare loop, waits until it has loaded the payloads, then times it from "go" to the receiver's last count. */
async function runBare(file: string, receiver: Receiver, expected: number, timeoutMs: number): Promise<WebhookMeasure> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bare-webhooks.ts', file], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-3000)));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  try {
    const ready = await lines.next();
    if (ready.done || ready.value !== 'ready') throw new Error(`bare-webhooks did not start: ${err}`);
    const pid = child.pid!;
    const rss = sampleRss(pid, 100);
    const cpu0 = cpuSplit(pid);
    const t0 = process.hrtime.bigint();
    child.stdin!.write('go\n');
    const counts = await received(receiver, expected, timeoutMs);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu1 = cpuSplit(pid);
    const memory = rss.stop();
    const end = await lines.next();
    const own = end.done ? null : (JSON.parse(end.value) as { failed: number; heapPeak: number });
    checkCounts(counts, expected);
    if (!own || own.failed) throw new Error(`bare-webhooks: ${own ? `${own.failed} requests failed` : `no result: ${err}`}`);
    return { ...measure(expected, seconds, cpu0, cpu1, memory), heapPeak: own.heapPeak };
  } finally {
    await stopChild(child);
  }
}

function cellLabel(c: { endpoints: number; slow: boolean }, w: { slowMs: readonly number[] }): string {
  return `${c.endpoints} endpoint${c.endpoints > 1 ? 's' : ''}${c.slow ? ` answering in ${w.slowMs.join('–')} ms` : ''}`;
}

const ok = <T>(v: Maybe<T> | undefined): v is T => v !== undefined && !('error' in (v as object));
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

/**
 * The webhook table: per number of endpoints, deliveries per second, CPU per delivery and how
 * busy the main thread was, and memory, for Herald and the bare loop, with Herald ÷ bare.
 */
export function renderWebhookTable(w: WebhookResults): string {
  const rows: string[][] = [];
  const cellText = (v: Maybe<WebhookMeasure> | undefined, f: (m: WebhookMeasure) => string) => (ok(v) ? f(v) : v ? 'failed' : '—');
  const ratio = (a: Maybe<WebhookMeasure> | undefined, b: Maybe<WebhookMeasure> | undefined, f: (m: WebhookMeasure) => number) => (ok(a) && ok(b) && f(b) > 0 ? `${(f(a) / f(b)).toFixed(2)}×` : '—');
  for (const c of w.cells) {
    const { herald, bare } = c.values;
    const load = `${cellLabel(c, w)}, ${w.inFlight} in flight each`;
    rows.push([`${w.events} events to ${load} (deliveries/s)`, cellText(herald, (m) => m.deliveriesPerSecond.toFixed(0)), cellText(bare, (m) => m.deliveriesPerSecond.toFixed(0)), ratio(herald, bare, (m) => m.deliveriesPerSecond)]);
    rows.push([`${load}: CPU per delivery, process (main thread) (ms)`, ...[herald, bare].map((v) => cellText(v, (m) => `${m.cpuMsPerDelivery.toFixed(3)} (${m.mainCpuMsPerDelivery.toFixed(3)})`)), ratio(herald, bare, (m) => m.cpuMsPerDelivery)]);
    rows.push([`${load}: main thread busy (CPU ÷ wall time)`, ...[herald, bare].map((v) => cellText(v, (m) => `${(m.mainBusy * 100).toFixed(0)}%`)), '—']);
    rows.push([`${load}: RSS at the start → peak (V8 heap peak)`, ...[herald, bare].map((v) => cellText(v, (m) => `${mib(m.rssBefore)} → ${mib(m.rssPeak)}${m.heapPeak ? ` (${mib(m.heapPeak)})` : ''}`)), '—']);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(['measurement', 'Herald', 'bare loop', 'Herald ÷ bare'][i]!.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(['measurement', 'Herald', 'bare loop', 'Herald ÷ bare']), `|${widths.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...rows.map(fmt)].join('\n');
}

const BEGIN = '<!-- bench:webhooks:begin (generated by npm run bench, or npm run bench -- --only webhooks; edit outside these markers) -->';
const END = '<!-- bench:webhooks:end -->';

/**
 * Replaces the webhook block of docs/performance.md (the other blocks and the prose stay as they
 * are); a missing block goes after the statistics or the signing block, or at the end.
 */
export function updateWebhookDocs(path: string, r: { startedAt: string; quick: boolean; command: string; machine: Record<string, string | number> }, w: WebhookResults, table: string): void {
  const m = r.machine;
  const block = [
    BEGIN,
    `Last run: ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC${r.quick ? ' (quick run: smaller counts)' : ''}, \`${r.command}\`.`,
    '',
    machineLine(m),
    '',
    `${w.messages} messages sent through the API and delivered, ${w.events} events (accepted and delivered); every request's signature verified by the receiver, each event delivered once per endpoint.`,
    '',
    table,
    ...(w.errors.length ? ['', `Failed steps: ${w.errors.map((e) => e.split('\n')[0]).join('; ')}.`] : []),
    END,
  ].join('\n');
  let doc = '';
  try {
    doc = readFileSync(path, 'utf8');
  } catch {
    // A new file.
  }
  writeFileSync(path, replaceGeneratedBlock(doc, { begin: BEGIN, end: END }, block, ['<!-- bench:stats:end -->', '<!-- bench:sign:end -->']));
}
