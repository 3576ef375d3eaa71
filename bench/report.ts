// Turns benchmark results into the table printed at the end of a run and kept in
// docs/performance.md, with each of issue 2's targets marked pass or fail.
import { writeFileSync } from 'node:fs';
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
  latency: { perConnection: boolean; count: number; size: number; values: Partial<Record<TargetName, Maybe<{ median: number; p99: number }>>> }[];
  relay: { count?: number; sessions?: number; size?: number; values?: Partial<Record<TargetName, Maybe<{ rate: number; seconds: number; acceptSeconds: number; cpuMsPerMessage: number; rssBytes: number }>>> };
  memory: {
    peakRss?: number;
    hwm?: number;
    soak?: Maybe<{ seconds: number; messages: number; rssAt25: number; rssEnd: number; peak: number; hwm: number; samples: [number, number][] }>;
  };
  errors: string[];
}

const ok = <T>(v: Maybe<T> | undefined): v is T => v !== undefined && !(typeof v === 'object' && v !== null && 'error' in v);
const fmt = (v: Maybe<number> | undefined, digits = 0) => (ok(v) ? v.toFixed(digits) : v ? 'failed' : '—');
const ratio = (a: Maybe<number> | undefined, b: Maybe<number> | undefined) => (ok(a) && ok(b) && b > 0 ? a / b : undefined);
const fmtRatio = (r: number | undefined) => (r === undefined ? '—' : `${r.toFixed(2)}×`);
const verdict = (pass: boolean | undefined) => (pass === undefined ? 'n/a' : pass ? 'PASS' : 'FAIL');
const mib = (b: number | undefined) => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(0)} MiB`);

/** A Markdown table: one row per measurement, the three servers, ratios, the target and a verdict. */
export function renderTable(r: Results): string {
  const rows: string[][] = [];
  const add = (what: string, p: string, h: string, b: string, hp: string, hb: string, target: string, result: string) => rows.push([what, p, h, b, hp, hb, target, result]);

  for (const c of r.accept) {
    const { postfix, herald, bare } = c.rates;
    const hp = ratio(herald, postfix);
    const hb = ratio(herald, bare);
    const what = `${c.reuse ? 'accept' : 'accept, new connection per message'}, ${c.size / 1024} KB, ${c.sessions} session${c.sessions > 1 ? 's' : ''} (msg/s)`;
    if (c.reuse) add(what, fmt(postfix), fmt(herald), fmt(bare), fmtRatio(hp), fmtRatio(hb), '≥ 4× Postfix and ≥ 0.7× bare', verdict(hp === undefined || hb === undefined ? undefined : hp >= 4 && hb >= 0.7));
    else add(what, fmt(postfix), fmt(herald), fmt(bare), fmtRatio(hp), fmtRatio(hb), '≥ 1× Postfix', verdict(hp === undefined ? undefined : hp >= 1));
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
      const hp = ratio(h, p);
      const what = `latency ${k}, ${l.perConnection ? 'connect → 250 after DATA, new connection each' : 'MAIL → 250 after DATA, one session'} (ms)`;
      add(what, fmt(p, 2), fmt(h, 2), fmt(b, 2), fmtRatio(hp), fmtRatio(ratio(h, b)), k === 'p99' ? '≤ Postfix' : '(informational)', k === 'p99' ? verdict(hp === undefined ? undefined : hp <= 1) : '');
    }
  }
  if (r.relay.values) {
    const v = r.relay.values;
    const rate = (n: TargetName) => (ok(v[n]) ? v[n].rate : v[n]);
    const cpu = (n: TargetName) => (ok(v[n]) ? v[n].cpuMsPerMessage : v[n]);
    const hp = ratio(rate('herald'), rate('postfix'));
    add(`end-to-end relay to smtp-sink, ${r.relay.count} × 1 KB, ${r.relay.sessions} sessions (msg/s)`, fmt(rate('postfix')), fmt(rate('herald')), '—', fmtRatio(hp), '—', '≥ 2× Postfix', verdict(hp === undefined ? undefined : hp >= 2));
    const cp = ratio(cpu('herald'), cpu('postfix'));
    add('CPU time per relayed message, all server processes (ms)', fmt(cpu('postfix'), 3), fmt(cpu('herald'), 3), '—', fmtRatio(cp), '—', '≤ 0.5× Postfix', verdict(cp === undefined ? undefined : cp <= 0.5));
  }
  if (r.memory.peakRss !== undefined) add('Herald peak RSS over all runs (VmHWM)', '—', `${mib(r.memory.peakRss)} (${mib(r.memory.hwm)})`, '—', '—', '—', '(reported)', '');
  const s = r.memory.soak;
  if (s) {
    if (ok(s)) {
      const flat = s.rssEnd <= s.rssAt25 * 1.15;
      add(`Herald RSS under ${s.seconds} s of sustained relay (${s.messages} messages): at 25% → end`, '—', `${mib(s.rssAt25)} → ${mib(s.rssEnd)}`, '—', '—', '—', 'flat (end ≤ 1.15 × at 25%)', verdict(flat));
    } else add('Herald RSS under sustained relay', '—', 'failed', '—', '—', '—', 'flat', 'n/a');
  }

  const head = ['measurement', 'Postfix 3.7', 'Herald', 'bare sink', 'Herald ÷ Postfix', 'Herald ÷ bare', 'target', 'result'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const BEGIN = '<!-- bench:begin (generated by npm run bench; edit outside these markers) -->';
const END = '<!-- bench:end -->';

/** Replaces the generated block of docs/performance.md (or appends one), keeping the prose around it. */
export function updateDocs(path: string, r: Results, table: string, current: string): void {
  const m = r.machine;
  const block = [
    BEGIN,
    `Last run: ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC${r.quick ? ' (quick run: smaller counts)' : ''}, \`${r.command}\`.`,
    '',
    `Machine: ${m.nproc} × ${m.cpu}, ${m.memoryGiB} GiB memory, Linux ${m.kernel}, ${m.filesystem} file system for the queues; Node ${m.node}; Postfix ${m.postfix}; Herald ${m.herald}.`,
    ...(r.heraldUnavailable ? ['', `Herald was not measured: ${r.heraldUnavailable}.`] : []),
    '',
    table,
    ...(r.errors.length ? ['', `Failed steps: ${r.errors.map((e) => e.split('\n')[0]).join('; ')}.`] : []),
    END,
  ].join('\n');
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next = start >= 0 && end > start ? current.slice(0, start) + block + current.slice(end + END.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}
