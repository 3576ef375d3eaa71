// The API step's load and accounting: request bodies, autocannon runs (in this process, through
// its programmatic API), latencies, CPU time of the server split into its main thread and the
// rest, and a check against Herald's own queue counts that what was answered was also stored.
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import type { Target } from './peers.js';
import { percentile } from './smtp-client.js';

export interface ApiCellSpec {
  /** Messages per request: 1 is `POST /api/v1/messages`, more is `POST /api/v1/messages/batch`. */
  batch: number;
  connections: number;
  /** Bytes of text per message. */
  size: number;
}

export interface ApiMeasure {
  requests: number;
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  /** Per request, milliseconds. */
  p50: number;
  p99: number;
  /** CPU time of the whole server process, and of its main thread alone, per message. */
  cpuMsPerMessage: number;
  mainCpuMsPerMessage: number;
  /** Main thread CPU time ÷ wall time: near 1, the main thread is the limit. */
  mainBusy: number;
  /** The load generator's (this process's) CPU time ÷ wall time: it shares the machine's cores. */
  clientBusy: number;
}

/** One message as a client sends it: a text part of `size` bytes in 76-character lines. */
export function apiMessage(size: number, n: number): { from: string; to: string; subject: string; text: string } {
  const line = 'x'.repeat(75) + '\n';
  return { from: 'bench@client.example', to: 'rcpt@dest.example', subject: `API bench ${n}`, text: line.repeat(Math.ceil(size / line.length)).slice(0, size) };
}

function request(spec: ApiCellSpec): { path: string; body: string; status: number } {
  if (spec.batch === 1) return { path: '/api/v1/messages', body: JSON.stringify(apiMessage(spec.size, 0)), status: 202 };
  const messages = Array.from({ length: spec.batch }, (_, i) => apiMessage(spec.size, i));
  return { path: '/api/v1/messages/batch', body: JSON.stringify({ messages }), status: 200 };
}

const headers = (t: Target) => ({ 'content-type': 'application/json', authorization: `Bearer ${t.api!.key}` });

const CLK_TCK = 100;

/** utime + stime of a process (all its threads) and of its main thread, in seconds. */
export function cpuSplit(pid: number): { total: number; main: number } {
  const ticks = (file: string) => {
    const text = readFileSync(file, 'latin1');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]); // fields 14 and 15; rest[0] is field 3
  };
  return { total: ticks(`/proc/${pid}/stat`) / CLK_TCK, main: ticks(`/proc/${pid}/task/${pid}/stat`) / CLK_TCK };
}

/** Recipients in Herald's queue, all states (one per message here); null for the bare route. */
async function queued(t: Target): Promise<number | null> {
  if (t.name !== 'herald') return null;
  const health = (await (await fetch(`${t.api!.url}/healthz`)).json()) as { queue: Record<string, number> };
  return Object.values(health.queue).reduce((a, b) => a + b, 0);
}

/**
 * The queue count once it stops moving: a timed warm-up hangs up on the requests still in
 * flight, and Herald goes on to commit them.
 */
async function settled(t: Target): Promise<number | null> {
  let last = await queued(t);
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await queued(t);
    if (now === last) return now;
    last = now;
  }
  throw new Error(`${t.name}: the queue count did not settle after the warm-up`);
}

async function cannon(t: Target, spec: ApiCellSpec, req: ReturnType<typeof request>, run: { amount?: number; duration?: number }): Promise<{ seconds: number; requests: number; latencies: number[] }> {
  const latencies: number[] = [];
  const t0 = process.hrtime.bigint();
  const instance = autocannon({
    url: t.api!.url + req.path,
    method: 'POST',
    headers: headers(t),
    body: req.body,
    connections: spec.connections,
    timeout: 60,
    ...run,
  });
  // autocannon's own histogram keeps whole milliseconds; the bare route answers in less.
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === req.status) latencies.push(ms);
  });
  const r = await instance;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const wrong = Object.entries(r.statusCodeStats).filter(([code]) => Number(code) !== req.status);
  if (r.errors || r.timeouts || wrong.length) {
    throw new Error(`${t.name} ${req.path}: ${r.errors} errors, ${r.timeouts} timeouts, answers ${JSON.stringify(r.statusCodeStats)} (expected only ${req.status})`);
  }
  return { seconds, requests: latencies.length, latencies };
}

/**
 * Measures one cell on one server: a request checked by hand, an untimed warm-up (which also
 * estimates the rate), then a fixed number of requests sized to take about `seconds`, so every
 * request counted has been answered and none is cut off at the end.
 */
export async function measureApi(t: Target, spec: ApiCellSpec, o: { seconds: number; warmupSeconds: number }): Promise<ApiMeasure> {
  const req = request(spec);
  const first = await fetch(t.api!.url + req.path, { method: 'POST', headers: headers(t), body: req.body });
  const answer = await first.text();
  const accepted = first.status === 200 ? (JSON.parse(answer) as { accepted?: number }).accepted : undefined;
  if (first.status !== req.status || (spec.batch > 1 && accepted !== spec.batch)) throw new Error(`${t.name} ${req.path} answered ${first.status}: ${answer.slice(0, 300)}`);

  const warm = await cannon(t, spec, req, { duration: o.warmupSeconds });
  const amount = Math.max(spec.connections * 3, Math.round((warm.requests / warm.seconds) * o.seconds));
  const queued0 = await settled(t);
  const cpu0 = cpuSplit(t.pid);
  const client0 = process.cpuUsage();
  const run = await cannon(t, spec, req, { amount });
  const client = process.cpuUsage(client0);
  const cpu1 = cpuSplit(t.pid);
  const queued1 = await queued(t);
  const messages = run.requests * spec.batch;
  // A batch answers 200 even when it refused every message: count what reached the queue.
  if (queued0 !== null && queued1! - queued0 !== messages) throw new Error(`${t.name}: ${messages} messages answered as queued, but the queue grew by ${queued1! - queued0}`);
  return {
    requests: run.requests,
    messages,
    seconds: run.seconds,
    messagesPerSecond: messages / run.seconds,
    p50: percentile(run.latencies, 50),
    p99: percentile(run.latencies, 99),
    cpuMsPerMessage: ((cpu1.total - cpu0.total) * 1000) / messages,
    mainCpuMsPerMessage: ((cpu1.main - cpu0.main) * 1000) / messages,
    mainBusy: (cpu1.main - cpu0.main) / run.seconds,
    clientBusy: (client.user + client.system) / 1e6 / run.seconds,
  };
}
