// Turns benchmark results into the tables printed at the end of a run and kept in
// docs/performance.md (SMTP against Postfix; the HTTP API against a bare Fastify route; Herald
// signing against not signing), with each target marked pass or fail.
import { writeFileSync } from 'node:fs';
import type { ApiCellSpec, ApiMeasure } from './api-load.js';
import type { TargetName } from './peers.js';

type Failed = { error: string };
type Maybe<T> = T | Failed;

export interface Results {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  command: string;
  machine: Record<string, string | number>;
  heraldUnavailable?: string;
  accept: { size: number; sessions: number; reuse: boolean; count: number; rates: Partial<Record<TargetName, Maybe<number>>> }[];
  /** Herald's queue store without SMTP (bench/queue-store.ts), `writers` enqueuing one message at a time each. */
  storeAlone: ({ size: number; writers: number; count: number } & Maybe<{ seconds: number; cpuSeconds: number }>)[];
  latency: { perConnection: boolean; count: number; /** Runs per server, the servers taking turns; the percentiles are of every run's messages together. */ rounds?: number; size: number; values: Partial<Record<TargetName, Maybe<{ median: number; p99: number }>>> }[];
  relay: { count?: number; sessions?: number; size?: number; values?: Partial<Record<TargetName, Maybe<{ rate: number; seconds: number; acceptSeconds: number; cpuMsPerMessage: number; rssBytes: number }>>> };
  memory: {
    peakRss?: number;
    hwm?: number;
    soak?: Maybe<{ seconds: number; messages: number; rssSecondQuarter: number; rssLastQuarter: number; peak: number; hwm: number; samples: [number, number][] }>;
  };
  errors: string[];
  api?: ApiResults;
  sign?: SignResults;
}

/** Herald as it runs; Herald with fsync turned into a no-op (eatmydata); the bare Fastify route. */
export type ApiVariant = 'herald' | 'heraldNoFsync' | 'bare';

export interface ApiResults {
  /** Length of each timed run. */
  seconds: number;
  cells: (ApiCellSpec & { values: Partial<Record<ApiVariant, Maybe<ApiMeasure>>> })[];
  memory: Partial<Record<ApiVariant, { peak: number; hwm: number }>>;
  /** Why the run without fsync was left out. */
  noFsyncSkipped?: string;
  errors: string[];
}

/** Mail Herald sends unsigned (development mode), signs with RSA 2048, and with RSA and Ed25519. */
export type SignVariant = 'unsigned' | 'rsa' | 'rsaEd25519';

export interface SignMeasure {
  /** Over all of the variant's timed runs at this size. */
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  /** Herald's CPU time, every thread, per message. */
  cpuMsPerMessage: number;
  /** The peak RSS sampled during each of those runs, averaged over them. */
  peakRss: number;
  runs: { seconds: number; cpuSeconds: number; rssBefore: number; peakRss: number }[];
}

export interface SignResults {
  sessions: number;
  /** Each round runs every variant once, in alternating order. */
  rounds: number;
  /** The DKIM-Signature fields the check's relayed messages carried, per variant. */
  check?: Partial<Record<SignVariant, string>>;
  cells: { size: number; count: number; values: Partial<Record<SignVariant, Maybe<SignMeasure>>> }[];
  errors: string[];
}

const ok = <T>(v: Maybe<T> | undefined): v is T => v !== undefined && !(typeof v === 'object' && v !== null && 'error' in v);
const fmt = (v: Maybe<number> | undefined, digits = 0) => (ok(v) ? v.toFixed(digits) : v ? 'failed' : '—');
const ratio = (a: Maybe<number> | undefined, b: Maybe<number> | undefined) => (ok(a) && ok(b) && b > 0 ? a / b : undefined);
const fmtRatio = (r: number | undefined) => (r === undefined ? '—' : `${r.toFixed(2)}×`);
const verdict = (pass: boolean | undefined) => (pass === undefined ? 'n/a' : pass ? 'PASS' : 'FAIL');
const mib = (b: number | undefined) => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(0)} MiB`);
export const sizeLabel = (bytes: number) => (bytes >= 2 ** 20 ? `${bytes / 2 ** 20} MB` : `${bytes / 1024} KB`);

export function markdownTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * A Markdown table: one row per measurement, the servers, ratios, the target and a verdict. The
 * bare durable sink's column shows what durability alone costs a server that does nothing else
 * (durable ÷ bare): no durable server built on smtp-server gets above it.
 */
export function renderTable(r: Results): string {
  const rows: string[][] = [];
  const add = (what: string, p: string, h: string, b: string, d: string, hp: string, hb: string, db: string, target: string, result: string) => rows.push([what, p, h, b, d, hp, hb, db, target, result]);
  const none = (what: string, p: string, h: string, hp: string, target: string, result: string) => add(what, p, h, '—', '—', hp, '—', '—', target, result);

  for (const c of r.accept) {
    const { postfix, herald, bare, durable } = c.rates;
    const hp = ratio(herald, postfix);
    const hb = ratio(herald, bare);
    const db = fmtRatio(ratio(durable, bare));
    const what = `${c.reuse ? 'accept' : 'accept, new connection per message'}, ${c.size / 1024} KB, ${c.sessions} session${c.sessions > 1 ? 's' : ''} (msg/s)`;
    if (c.reuse) add(what, fmt(postfix), fmt(herald), fmt(bare), fmt(durable), fmtRatio(hp), fmtRatio(hb), db, '≥ 4× Postfix and ≥ 0.7× bare', verdict(hp === undefined || hb === undefined ? undefined : hp >= 4 && hb >= 0.7));
    else add(what, fmt(postfix), fmt(herald), fmt(bare), fmt(durable), fmtRatio(hp), fmtRatio(hb), db, '≥ 1× Postfix', verdict(hp === undefined ? undefined : hp >= 1));
  }
  for (const c of r.storeAlone) {
    const bare = r.accept.find((a) => a.reuse && a.size === c.size && a.sessions === c.writers)?.rates.bare;
    const rate = 'error' in c ? c : c.count / c.seconds;
    const what = `Herald's queue store alone, no SMTP: ${c.size / 1024} KB, ${c.writers} writer${c.writers > 1 ? 's' : ''} (msg/s; ms CPU per message)`;
    const cpu = 'error' in c ? '' : `; ${((c.cpuSeconds * 1000) / c.count).toFixed(3)} ms`;
    add(what, '—', `${fmt(rate)}${cpu}`, fmt(bare), '—', '—', fmtRatio(ratio(rate, bare)), '—', '(the most Herald can accept)', '');
  }
  for (const l of r.latency) {
    const pick = (name: TargetName, k: 'median' | 'p99') => {
      const v = l.values[name];
      return ok(v) ? v[k] : v;
    };
    for (const k of ['median', 'p99'] as const) {
      const p = pick('postfix', k);
      const h = pick('herald', k);
      const b = pick('bare', k);
      const d = pick('durable', k);
      const hp = ratio(h, p);
      const what = `latency ${k}, ${l.perConnection ? 'connect → 250 after DATA, new connection each' : 'MAIL → 250 after DATA, one session'} (ms)`;
      add(what, fmt(p, 2), fmt(h, 2), fmt(b, 2), fmt(d, 2), fmtRatio(hp), fmtRatio(ratio(h, b)), fmtRatio(ratio(d, b)), k === 'p99' ? '≤ Postfix' : '(informational)', k === 'p99' ? verdict(hp === undefined ? undefined : hp <= 1) : '');
    }
  }
  if (r.relay.values) {
    const v = r.relay.values;
    const rate = (n: TargetName) => (ok(v[n]) ? v[n].rate : v[n]);
    const cpu = (n: TargetName) => (ok(v[n]) ? v[n].cpuMsPerMessage : v[n]);
    const hp = ratio(rate('herald'), rate('postfix'));
    none(`end-to-end relay to smtp-sink, ${r.relay.count} × 1 KB, ${r.relay.sessions} sessions (msg/s)`, fmt(rate('postfix')), fmt(rate('herald')), fmtRatio(hp), '≥ 2× Postfix', verdict(hp === undefined ? undefined : hp >= 2));
    const cp = ratio(cpu('herald'), cpu('postfix'));
    none('CPU time per relayed message, all server processes (ms)', fmt(cpu('postfix'), 3), fmt(cpu('herald'), 3), fmtRatio(cp), '≤ 0.5× Postfix', verdict(cp === undefined ? undefined : cp <= 0.5));
  }
  if (r.memory.peakRss !== undefined) none('Herald peak RSS over all runs (VmHWM)', '—', `${mib(r.memory.peakRss)} (${mib(r.memory.hwm)})`, '—', '(reported)', '');
  const s = r.memory.soak;
  if (s) {
    if (ok(s)) {
      const flat = s.rssLastQuarter <= s.rssSecondQuarter * 1.15;
      none(`Herald RSS under ${s.seconds} s of sustained relay (${s.messages} messages): median of the 2nd quarter → of the last`, '—', `${mib(s.rssSecondQuarter)} → ${mib(s.rssLastQuarter)}`, '—', 'flat (last ≤ 1.15 × 2nd)', verdict(flat));
    } else none('Herald RSS under sustained relay', '—', 'failed', '—', 'flat', 'n/a');
  }

  return markdownTable(['measurement', 'Postfix 3.7', 'Herald', 'bare sink', 'bare durable sink', 'Herald ÷ Postfix', 'Herald ÷ bare', 'durable ÷ bare', 'target', 'result'], rows);
}

/**
 * The API table: per load, the rate, latency, CPU per message and how busy the main thread was,
 * for Herald, Herald without fsync and the bare route. Single sends are held to ≥ 0.5× the bare
 * route; batches to ≥ 5× Herald's best single-send rate.
 */
export function renderApiTable(a: ApiResults): string {
  const rows: string[][] = [];
  const variants: ApiVariant[] = ['herald', 'heraldNoFsync', 'bare'];
  const pick = (c: ApiResults['cells'][number], v: ApiVariant, k: keyof ApiMeasure): Maybe<number> | undefined => {
    const m = c.values[v];
    return ok(m) ? m[k] : m;
  };
  const singles = a.cells.filter((c) => c.batch === 1).map((c) => pick(c, 'herald', 'messagesPerSecond')).filter(ok);
  const bestSingle = singles.length ? Math.max(...singles) : undefined;
  for (const c of a.cells) {
    const kb = `${c.size / 1024} KB`;
    const load = c.batch === 1 ? `single sends, ${c.connections} conn.` : `batches of ${c.batch}, ${c.connections} conn.`;
    const rate = (v: ApiVariant) => pick(c, v, 'messagesPerSecond');
    const hf = fmtRatio(ratio(rate('herald'), rate('heraldNoFsync')));
    const hb = ratio(rate('herald'), rate('bare'));
    const what = c.batch === 1 ? `POST /api/v1/messages, ${kb}, ${c.connections} connections (msg/s)` : `POST /api/v1/messages/batch, ${c.batch} × ${kb} per request, ${c.connections} connections (msg/s)`;
    if (c.batch === 1) rows.push([what, ...variants.map((v) => fmt(rate(v))), hf, fmtRatio(hb), '≥ 0.5× bare', verdict(hb === undefined ? undefined : hb >= 0.5)]);
    else {
      const hs = ratio(rate('herald'), bestSingle);
      rows.push([what, ...variants.map((v) => fmt(rate(v))), hf, fmtRatio(hb), '≥ 5× best single-send rate', hs === undefined ? 'n/a' : `${verdict(hs >= 5)} (${fmtRatio(hs)})`]);
    }
    const latency = (v: ApiVariant) => {
      const m = c.values[v];
      return ok(m) ? `${m.p50.toFixed(2)} / ${m.p99.toFixed(2)}` : m ? 'failed' : '—';
    };
    rows.push([`${load}: latency p50 / p99 per request (ms)`, ...variants.map(latency), '—', '—', '(informational)', '']);
    const cpu = (v: ApiVariant) => {
      const m = c.values[v];
      return ok(m) ? `${m.cpuMsPerMessage.toFixed(3)} (${m.mainCpuMsPerMessage.toFixed(3)})` : m ? 'failed' : '—';
    };
    const cpuRatio = (v: ApiVariant) => fmtRatio(ratio(pick(c, 'herald', 'cpuMsPerMessage'), pick(c, v, 'cpuMsPerMessage')));
    rows.push([`${load}: CPU per message, process (main thread) (ms)`, ...variants.map(cpu), cpuRatio('heraldNoFsync'), cpuRatio('bare'), '(informational)', '']);
    const busy = (v: ApiVariant) => {
      const m = c.values[v];
      return ok(m) ? `${(m.mainBusy * 100).toFixed(0)}%` : m ? 'failed' : '—';
    };
    rows.push([`${load}: main thread busy (CPU ÷ wall time)`, ...variants.map(busy), '—', '—', '(informational)', '']);
  }
  const mem = (v: ApiVariant) => {
    const m = a.memory[v];
    return m ? `${mib(m.peak)} (${mib(m.hwm)})` : '—';
  };
  if (Object.keys(a.memory).length) rows.push(['peak RSS during the API runs (VmHWM)', ...variants.map(mem), '—', '—', '(reported)', '']);
  return markdownTable(['measurement', 'Herald', 'Herald, fsync off', 'bare route', 'Herald ÷ fsync off', 'Herald ÷ bare', 'target', 'result'], rows);
}

/** How far a signed 1 MB run's peak RSS may rise above the unsigned run's: three copies of the 10 messages in flight. */
export const SIGN_RSS_ALLOWANCE = 30 * 2 ** 20;

/**
 * The signing table: accept rate and CPU per message unsigned, signed with RSA and with RSA and
 * Ed25519, each signed one as a ratio to unsigned; peak RSS during the 1 MB runs, held to at most
 * SIGN_RSS_ALLOWANCE above unsigned (signing streams over the message and must not copy it whole).
 */
export function renderSignTable(s: SignResults): string {
  const rows: string[][] = [];
  const variants: SignVariant[] = ['unsigned', 'rsa', 'rsaEd25519'];
  const signed: SignVariant[] = ['rsa', 'rsaEd25519'];
  for (const c of s.cells) {
    const pick = (v: SignVariant, k: 'messagesPerSecond' | 'cpuMsPerMessage' | 'peakRss'): Maybe<number> | undefined => {
      const m = c.values[v];
      return ok(m) ? m[k] : m;
    };
    const rate = (v: SignVariant) => pick(v, 'messagesPerSecond');
    rows.push([`accept, ${sizeLabel(c.size)}, ${s.sessions} sessions (msg/s)`, ...variants.map((v) => fmt(rate(v))), ...signed.map((v) => fmtRatio(ratio(rate(v), rate('unsigned')))), '(informational)', '']);
    const cpu = (v: SignVariant) => pick(v, 'cpuMsPerMessage');
    const cpuCost = (v: SignVariant) => {
      const r = ratio(cpu(v), cpu('unsigned'));
      return r === undefined ? '—' : `${fmtRatio(r)} (+${((cpu(v) as number) - (cpu('unsigned') as number)).toFixed(3)} ms)`;
    };
    rows.push([`${sizeLabel(c.size)}: Herald CPU per message, all threads (ms)`, ...variants.map((v) => fmt(cpu(v), 3)), ...signed.map(cpuCost), '(informational)', '']);
    if (c.size < 2 ** 20) continue;
    const rss = (v: SignVariant) => pick(v, 'peakRss');
    const above = signed.map((v) => (ok(rss(v)) && ok(rss('unsigned')) ? (rss(v) as number) - (rss('unsigned') as number) : undefined));
    const rise = (d: number | undefined) => (d === undefined ? '—' : `${Math.round(d / 2 ** 20) < 0 ? '−' : '+'}${mib(Math.abs(d))}`);
    const pass = above.every((d) => d !== undefined) ? above.every((d) => d! <= SIGN_RSS_ALLOWANCE) : undefined;
    rows.push([`${sizeLabel(c.size)}: Herald peak RSS in a timed run, mean of the rounds`, ...variants.map((v) => (ok(rss(v)) ? mib(rss(v) as number) : fmt(rss(v)))), ...above.map(rise), `signed ≤ unsigned + ${mib(SIGN_RSS_ALLOWANCE)}`, verdict(pass)]);
  }
  if (s.check) rows.push(['DKIM-Signature on a relayed message of each size', ...variants.map((v) => s.check![v] ?? '—'), '—', '—', '(checked before timing)', '']);
  return markdownTable(['measurement', 'unsigned', 'RSA', 'RSA + Ed25519', 'RSA ÷ unsigned', 'RSA + Ed25519 ÷ unsigned', 'target', 'result'], rows);
}

const BLOCKS = {
  smtp: { begin: '<!-- bench:begin (generated by npm run bench; edit outside these markers) -->', end: '<!-- bench:end -->' },
  api: { begin: '<!-- bench:api:begin (generated by npm run bench, or npm run bench -- --only api; edit outside these markers) -->', end: '<!-- bench:api:end -->' },
  sign: { begin: '<!-- bench:sign:begin (generated by npm run bench, or npm run bench -- --only sign; edit outside these markers) -->', end: '<!-- bench:sign:end -->' },
};

/**
 * Replaces the generated blocks of docs/performance.md for the parts that ran, keeping the prose
 * around them and the other blocks as they were: an `--only api` run refreshes the API table and
 * leaves the others (each with its own date and command) alone. A missing API block goes right
 * after the SMTP one, a missing signing block right after the API one; a missing SMTP block at
 * the end.
 */
export function updateDocs(path: string, r: Results, tables: { smtp?: string; api?: string; sign?: string }, current: string): void {
  const machine = (postfix: boolean) => machineLine(r.machine, postfix);
  const block = (which: keyof typeof BLOCKS, notes: string[], table: string, errors: string[]) =>
    [
      BLOCKS[which].begin,
      `Last run: ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC${r.quick ? ' (quick run: smaller counts)' : ''}, \`${r.command}\`.`,
      '',
      machine(which === 'smtp'),
      ...(r.heraldUnavailable ? ['', `Herald was not measured: ${r.heraldUnavailable}.`] : []),
      ...notes.flatMap((n) => ['', n]),
      '',
      table,
      ...(errors.length ? ['', `Failed steps: ${errors.map((e) => e.split('\n')[0]).join('; ')}.`] : []),
      BLOCKS[which].end,
    ].join('\n');
  let next = current;
  if (tables.smtp !== undefined) next = replaceBlock(next, 'smtp', block('smtp', [], tables.smtp, r.errors), null);
  if (tables.api !== undefined && r.api) {
    const notes = r.api.noFsyncSkipped ? [`Herald with fsync off was not measured: ${r.api.noFsyncSkipped}.`] : [];
    next = replaceBlock(next, 'api', block('api', notes, tables.api, r.api.errors), BLOCKS.smtp.end);
  }
  if (tables.sign !== undefined && r.sign) next = replaceBlock(next, 'sign', block('sign', [], tables.sign, r.sign.errors), BLOCKS.api.end);
  writeFileSync(path, next);
}

function replaceBlock(doc: string, which: keyof typeof BLOCKS, block: string, after: string | null): string {
  return replaceGeneratedBlock(doc, BLOCKS[which], block, after === null ? [] : [after]);
}

/** The machine a run measured on, as each block of docs/performance.md states it. */
export function machineLine(m: Results['machine'], withPostfix = false): string {
  return `Machine: ${m.nproc} × ${m.cpu}, ${m.memoryGiB} GiB memory, Linux ${m.kernel}, ${m.filesystem} file system for the queues; Node ${m.node};${withPostfix ? ` Postfix ${m.postfix};` : ''} Herald ${m.herald}.`;
}

/** The markers around one generated block of docs/performance.md. */
export interface BlockMarkers {
  begin: string;
  end: string;
}

/**
 * The doc with `block` (markers included) in place of the old one between `markers`; a doc
 * without that block gets it right after the first of the `after` markers it has, else at the end.
 */
export function replaceGeneratedBlock(doc: string, markers: BlockMarkers, block: string, after: readonly string[] = []): string {
  const start = doc.indexOf(markers.begin);
  const stop = start < 0 ? -1 : doc.indexOf(markers.end, start);
  if (stop > start) return doc.slice(0, start) + block + doc.slice(stop + markers.end.length);
  const anchor = after.find((marker) => doc.includes(marker));
  if (anchor) {
    const at = doc.indexOf(anchor) + anchor.length;
    return `${doc.slice(0, at)}\n\n${block}${doc.slice(at)}`;
  }
  return `${doc.trimEnd()}\n\n${block}\n`;
}
