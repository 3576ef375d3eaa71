// The processes a benchmark step talks to: the servers under test (Herald, Postfix, and the bare
// sinks: one that discards, one that appends and fdatasyncs), Postfix's smtp-source as the load
// generator and smtp-sink as the relay target; for the API step, Herald with its HTTP listener
// and the bare Fastify route (bench/bare-api.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostfix } from '../test/support/postfix.js';
import { freePort, memoryOf, REPO_ROOT, startHerald, treeCpuSeconds, treeRss, waitForSmtp } from '../test/support/processes.js';

/** `bare` discards every message; `durable` is the same server writing each to disk before its 250. */
export type TargetName = 'postfix' | 'herald' | 'bare' | 'durable';

export interface Target {
  name: TargetName;
  host: string;
  port: number;
  /** Root of the server's process tree (Postfix: master). */
  pid: number;
  cpuSeconds(): number;
  rss(): number;
  stop(): Promise<void>;
  /** Diagnostics for a failed step (log tail). */
  log(): string;
  /** With `http`: the base URL of the HTTP API and an API key with the `send` scope. */
  api?: { url: string; key: string };
  /** Herald: runs its CLI on the server's data directory; resolves with stdout. */
  cli?(args: string[]): Promise<string>;
  /** Herald: its data directory (benchmarks read its database beside the running server). */
  dataDir?: string;
}

export interface TargetOptions {
  /** Where the server relays to, host:port (a refusing port for accept-only runs, or an smtp-sink). */
  nextHop: string;
  heraldDist: boolean;
  heraldLogLevel: string;
  /** Herald: also listen for HTTP on 127.0.0.1 and create an API key for sending. */
  http?: boolean;
  /** Herald: more environment (LD_PRELOAD for the run without fsync, DNS for the signing step). */
  env?: Record<string, string>;
}

/**
 * Both servers get the same job: relay everything from 127.0.0.0/8 to `nextHop`, retrying a
 * refused next hop no sooner than 5 minutes later (Postfix's minimal_backoff_time default, set
 * as Herald's retry schedule), so an accept-only run is not slowed by retries in either.
 */
export async function startTarget(name: TargetName, o: TargetOptions): Promise<Target> {
  if (name === 'postfix') {
    const pf = await startPostfix({
      role: 'relay',
      host: '127.0.0.1',
      hostname: 'postfix.bench.test',
      relayHost: o.nextHop,
      // in_flow_delay makes smtpd pause up to 1 s per message when mail arrives faster than the
      // queue manager takes it in; 0 is the documented setting for maximum throughput, chosen so
      // the baseline is Postfix at its fastest.
      settings: { in_flow_delay: '0' },
    });
    return { name, host: pf.host, port: pf.port, pid: pf.masterPid, cpuSeconds: () => treeCpuSeconds(pf.masterPid), rss: () => treeRss(pf.masterPid), stop: pf.stop, log: () => pf.log().slice(-3000) };
  }
  if (name === 'herald') {
    const httpPort = o.http ? await freePort() : 0;
    const h = await startHerald({
      dist: o.heraldDist,
      env: {
        HERALD_SMART_HOST: `smtp://${o.nextHop}`,
        HERALD_RETRY_SCHEDULE: '5m',
        HERALD_LOG_LEVEL: o.heraldLogLevel,
        HERALD_MAX_CONNECTIONS_PER_IP: '10000',
        HERALD_HTTP_PORT: String(httpPort),
        HERALD_HTTP_BIND: '127.0.0.1',
        ...o.env,
      },
    });
    const target: Target = { name, host: h.host, port: h.submissionPort, pid: h.pid, cpuSeconds: () => treeCpuSeconds(h.pid), rss: () => memoryOf(h.pid)?.rss ?? 0, stop: h.stop, log: h.log, cli: h.cli, dataDir: h.dataDir };
    if (!o.http) return target;
    try {
      const url = `http://127.0.0.1:${httpPort}`;
      // The HTTP listener starts after the SMTP ones that startHerald waited for.
      await waitForHttp(`${url}/healthz`, () => (h.child.exitCode !== null ? 'Herald exited' : null));
      const created = JSON.parse(await h.cli(['api-keys', 'create', '--name', 'bench', '--scope', 'send', '--json'])) as { key: string };
      return { ...target, api: { url, key: created.key } };
    } catch (e) {
      const tail = h.log();
      await h.stop();
      throw new Error(`${(e as Error).message}\n--- Herald output ---\n${tail}`);
    }
  }
  const port = await freePort();
  // The durable sink's file lives where Herald's and Postfix's queues do (the temporary directory).
  const dir = name === 'durable' ? mkdtempSync(join(tmpdir(), 'herald-bench-durable-')) : null;
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bare-sink.ts', '127.0.0.1', String(port), ...(dir ? [dir] : [])], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-3000)));
  const stop = async () => {
    await stopChild(child);
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForSmtp('127.0.0.1', port, { timeoutMs: 20_000, alive: () => (child.exitCode !== null ? `bare sink exited: ${err}` : null) });
  } catch (e) {
    await stop();
    throw e;
  }
  return { name, host: '127.0.0.1', port, pid: child.pid!, cpuSeconds: () => treeCpuSeconds(child.pid!), rss: () => memoryOf(child.pid!)?.rss ?? 0, stop, log: () => err };
}

/** The bare Fastify route (bench/bare-api.ts) in its own process, on 127.0.0.1. */
export async function startBareApi(): Promise<Target> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bare-api.ts', '127.0.0.1', String(port)], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-3000)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(url, () => (child.exitCode !== null ? `bare-api exited: ${err}` : null));
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  const pid = child.pid!;
  // Never checked; shaped like a real key so the requests are byte for byte the size of Herald's.
  const key = `hk_${'0'.repeat(40)}`;
  return { name: 'bare', host: '127.0.0.1', port, pid, cpuSeconds: () => treeCpuSeconds(pid), rss: () => memoryOf(pid)?.rss ?? 0, stop: () => stopChild(child), log: () => err, api: { url, key } };
}

/** Waits until `url` answers HTTP at all (any status: the bare route has no GET routes). */
async function waitForHttp(url: string, alive: () => string | null, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const dead = alive();
    if (dead) throw new Error(dead);
    try {
      await (await fetch(url, { signal: AbortSignal.timeout(2000) })).arrayBuffer();
      return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer in time (last: ${last})`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

export interface SourceRun {
  seconds: number;
  ok: boolean;
  output: string;
}

export interface SourceOptions {
  host: string;
  port: number;
  sessions: number;
  count: number;
  size: number;
  reuse: boolean;
  /** Envelope sender, which smtp-source also writes into the From header. */
  from?: string;
  timeoutMs?: number;
}

/**
 * Runs smtp-source. Without -d every message gets its own connection (smtp-source's default);
 * with -d each of the `sessions` connections carries message after message. -m is the total.
 */
export function smtpSource(o: SourceOptions): Promise<SourceRun> {
  const argv = ['-s', String(o.sessions), '-m', String(o.count), '-l', String(o.size), '-f', o.from ?? 'bench@client.example', '-t', 'rcpt@dest.example', '-M', 'client.example'];
  if (o.reuse) argv.push('-d');
  argv.push(`${o.host}:${o.port}`);
  return new Promise((ok) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/sbin/smtp-source', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output = (output + d).slice(-2000)));
    child.stderr.on('data', (d) => (output = (output + d).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 300_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      ok({ seconds, ok: code === 0, output: output.trim() + (signal ? ` (killed: ${signal})` : code ? ` (exit ${code})` : '') });
    });
  });
}

export interface TimedRun extends SourceRun {
  /** The target's CPU time (every process and thread) during the timed run. */
  cpuSeconds: number;
  /** RSS of the target's root process before the timed run, and its peak during it. */
  rssBefore: number;
  peakRss: number;
}

/** How many untimed messages go before a timed run of `count`. */
export const warmUpCount = (count: number) => Math.min(1000, Math.ceil(count / 5));

/**
 * An accept measurement: an untimed warm-up (caches, JIT, connection pools), then the timed
 * smtp-source run, with the target's CPU time and memory over the timed part.
 */
export async function timedSource(t: Target, o: SourceOptions): Promise<TimedRun> {
  await smtpSource({ ...o, count: warmUpCount(o.count) });
  const cpu0 = t.cpuSeconds();
  // Every 100 ms: at 10 sessions a 1 MB message is inside Herald for longer than that.
  const rss = sampleRss(t.pid, 100);
  const run = await smtpSource(o);
  const memory = rss.stop();
  return { ...run, cpuSeconds: t.cpuSeconds() - cpu0, rssBefore: memory.samples[0]?.[1] ?? 0, peakRss: memory.peak };
}

export interface Sink {
  host: string;
  port: number;
  count(): number;
  /** Resolves with the time (hrtime ns) at which the sink's counter reached n. */
  waitFor(n: number, timeoutMs: number): Promise<bigint>;
  stop(): Promise<void>;
}

/** Postfix's smtp-sink on 127.0.0.2, counting messages (-c prints "sess=… quit=… mesg=N\r"). */
export async function startSink(): Promise<Sink> {
  const host = '127.0.0.2';
  const port = await freePort(host);
  const child = spawn('/usr/sbin/smtp-sink', ['-c', '-u', 'nobody', '-m', '1000', `${host}:${port}`, '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let mesg = 0;
  let tail = '';
  const waiters: { n: number; ok: (t: bigint) => void }[] = [];
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-200);
    const all = [...tail.matchAll(/mesg=(\d+)/g)];
    if (all.length) mesg = Number(all[all.length - 1]![1]);
    const now = process.hrtime.bigint();
    for (const w of waiters.filter((w) => mesg >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.ok(now);
    }
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await waitForSmtp(host, port, { timeoutMs: 10_000, alive: () => (child.exitCode !== null ? `smtp-sink exited: ${err}` : null) });
  return {
    host,
    port,
    count: () => mesg,
    waitFor: (n, timeoutMs) =>
      new Promise((ok, fail) => {
        if (mesg >= n) return ok(process.hrtime.bigint());
        const timer = setTimeout(() => fail(new Error(`smtp-sink counted ${mesg} of ${n} messages in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, ok: (t) => (clearTimeout(timer), ok(t)) });
      }),
    stop: () => stopChild(child),
  };
}

/** Samples a process's RSS every `everyMs` until stopped; keeps the peak and the series. */
export function sampleRss(pid: number, everyMs = 250): { stop(): { peak: number; hwm: number; samples: [number, number][] } } {
  const t0 = Date.now();
  const samples: [number, number][] = [];
  let peak = 0;
  let hwm = 0;
  const take = () => {
    const m = memoryOf(pid);
    if (!m) return;
    peak = Math.max(peak, m.rss);
    hwm = Math.max(hwm, m.hwm);
    samples.push([(Date.now() - t0) / 1000, m.rss]);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      take();
      clearInterval(timer);
      return { peak, hwm, samples };
    },
  };
}
