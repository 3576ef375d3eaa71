// The tracking step: how many open-pixel and click-redirect hits per second Herald answers. Each
// Herald hit verifies the token's HMAC, reads the message to judge machine hits (a hit right
// after delivery), and records an `opened`/`clicked` event durably before answering. Beside it,
// bench/bare-api.ts answers the same URLs with the same 43-byte GIF or 302 and records nothing:
// the ratio is what verifying and recording cost.
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { signTrackingToken } from '../src/core/index.js';
import { cpuSplit } from './api-load.js';
import type { Target } from './peers.js';
import { percentile } from './smtp-client.js';
import { machineLine, replaceGeneratedBlock, type Results } from './report.js';

export type TrackingKind = 'open' | 'click';
export type TrackingVariant = 'herald' | 'bare';

export interface TrackingMeasure {
  hits: number;
  seconds: number;
  hitsPerSecond: number;
  /** Per request, milliseconds. */
  p50: number;
  p99: number;
  /** CPU time of the whole server process per hit, milliseconds. */
  cpuMsPerHit: number;
  /** Every hit answered, warm-up included (Herald records each one). */
  answered: number;
}

export interface TrackingCell {
  kind: TrackingKind;
  connections: number;
  values: Partial<Record<TrackingVariant, TrackingMeasure | { error: string }>>;
}

export interface TrackingResults {
  seconds: number;
  cells: TrackingCell[];
  /** Herald: tracking events recorded, and hits answered (a timed warm-up may leave a few unanswered but recorded). */
  recorded?: { events: number; answered: number };
  errors: string[];
}

const LINK = 'https://shop.example/spring-sale?utm_source=mail';

/** The paths to hit on a target: real signed tokens for a message Herald has stored. */
export async function trackingPaths(t: Target): Promise<Record<TrackingKind, string>> {
  if (t.name === 'bare') return { open: '/t/o/bare-token', click: '/t/c/bare-token' };
  const res = await fetch(`${t.api!.url}/api/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.api!.key}` },
    body: JSON.stringify({ from: 'bench@client.example', to: 'reader@dest.example', subject: 'Tracked', html: `<p><a href="${LINK}">Sale</a></p>`, track_opens: true, track_links: true }),
  });
  const sent = (await res.json()) as { id?: string };
  if (res.status !== 202 || !sent.id) throw new Error(`herald did not take the tracked message: ${res.status} ${JSON.stringify(sent)}`);
  const secret = readSecret(t, 'tracking');
  const target = { accountId: 'default', messageId: sent.id, recipient: 'reader@dest.example' };
  return { open: `/t/o/${signTrackingToken(secret, { ...target, kind: 'open' })}`, click: `/t/c/${signTrackingToken(secret, { ...target, kind: 'click', url: LINK })}` };
}

function readSecret(t: Target, name: string): Buffer {
  const db = new Database(join(t.dataDir!, 'herald.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT value FROM secrets WHERE name = ?').get(name) as { value: Buffer }).value;
  } finally {
    db.close();
  }
}

/** Tracking events Herald has recorded so far (read from its database, beside the running server). */
export function recordedHits(t: Target): number {
  const db = new Database(join(t.dataDir!, 'herald.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM events WHERE type IN ('opened', 'clicked')").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function cannon(url: string, connections: number, expected: number, run: { amount?: number; duration?: number }) {
  const latencies: number[] = [];
  const t0 = process.hrtime.bigint();
  const instance = autocannon({ url, method: 'GET', headers: { 'user-agent': 'Mozilla/5.0 (bench) Gecko/20100101 Firefox/128.0' }, connections, timeout: 60, ...run });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === expected) latencies.push(ms);
  });
  const r = await instance;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const wrong = Object.entries(r.statusCodeStats).filter(([code]) => Number(code) !== expected);
  if (r.errors || r.timeouts || wrong.length) throw new Error(`${url}: ${r.errors} errors, ${r.timeouts} timeouts, answers ${JSON.stringify(r.statusCodeStats)} (expected only ${expected})`);
  return { seconds, hits: latencies.length, latencies };
}

/** One cell on one server: an untimed warm-up that sizes the run, then a fixed number of hits. */
export async function measureTracking(t: Target, base: string, path: string, kind: TrackingKind, connections: number, o: { seconds: number; warmupSeconds: number }): Promise<TrackingMeasure> {
  const expected = kind === 'open' ? 200 : 302;
  const first = await fetch(base + path, { redirect: 'manual' });
  if (first.status !== expected || (kind === 'click' && first.headers.get('location') !== (t.name === 'bare' ? first.headers.get('location') : LINK))) {
    throw new Error(`${t.name} ${kind}: answered ${first.status} ${first.headers.get('location') ?? ''}`);
  }
  const warm = await cannon(base + path, connections, expected, { duration: o.warmupSeconds });
  const amount = Math.max(connections * 3, Math.round((warm.hits / warm.seconds) * o.seconds));
  const cpu0 = cpuSplit(t.pid);
  const run = await cannon(base + path, connections, expected, { amount });
  const cpu1 = cpuSplit(t.pid);
  return {
    hits: run.hits,
    seconds: run.seconds,
    hitsPerSecond: run.hits / run.seconds,
    p50: percentile(run.latencies, 50),
    p99: percentile(run.latencies, 99),
    cpuMsPerHit: ((cpu1.total - cpu0.total) * 1000) / run.hits,
    answered: 1 + warm.hits + run.hits,
  };
}

const MARKERS = {
  begin: '<!-- bench:tracking:begin (generated by npm run bench, or npm run bench -- --only tracking; edit outside these markers) -->',
  end: '<!-- bench:tracking:end -->',
};

export function renderTrackingTable(r: TrackingResults): string {
  const fmt = (v: TrackingMeasure | { error: string } | undefined, pick: (m: TrackingMeasure) => string) => (!v ? '—' : 'error' in v ? 'failed' : pick(v));
  const rows = r.cells.map((c) => {
    const h = c.values.herald;
    const b = c.values.bare;
    const ratio = h && b && !('error' in h) && !('error' in b) ? `${(h.hitsPerSecond / b.hitsPerSecond).toFixed(2)}×` : '—';
    return [
      `${c.kind === 'open' ? 'open pixel (GET /t/o)' : 'click redirect (GET /t/c)'} × ${c.connections} connections`,
      fmt(h, (m) => `${Math.round(m.hitsPerSecond).toLocaleString('en-US')}/s`),
      fmt(b, (m) => `${Math.round(m.hitsPerSecond).toLocaleString('en-US')}/s`),
      ratio,
      fmt(h, (m) => `${m.p50.toFixed(1)} / ${m.p99.toFixed(1)}`),
      fmt(h, (m) => m.cpuMsPerHit.toFixed(3)),
    ];
  });
  const head = ['hits', 'Herald', 'bare route', 'Herald ÷ bare', 'Herald p50 / p99 (ms)', 'Herald CPU per hit (ms)'];
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

export function updateTrackingDocs(doc: string, r: Pick<Results, 'startedAt' | 'quick' | 'command' | 'machine'>, t: TrackingResults, table: string): string {
  const recorded = t.recorded ? `Herald recorded ${t.recorded.events.toLocaleString('en-US')} tracking events for ${t.recorded.answered.toLocaleString('en-US')} hits answered (each hit durably, before its answer).` : '';
  const block = [
    MARKERS.begin,
    `Last run: ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC${r.quick ? ' (quick run: shorter runs)' : ''}, \`${r.command}\`.`,
    '',
    machineLine(r.machine),
    '',
    ...(recorded ? [recorded, ''] : []),
    table,
    ...(t.errors.length ? ['', `Failed steps: ${t.errors.map((e) => e.split('\n')[0]).join('; ')}.`] : []),
    MARKERS.end,
  ].join('\n');
  return replaceGeneratedBlock(doc, MARKERS, block, ['<!-- bench:webhooks:end -->', '<!-- bench:stats:end -->']);
}
