import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { engineEnv, removeDataDir } from './engine.js';

/**
 * Helpers for tests and the benchmark that run real processes on loopback: free ports, waiting
 * for an SMTP greeting, reading CPU time and memory from /proc, and starting a Herald process.
 */

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Ports handed out for a server to listen on a moment later are drawn at random from below the
 * kernel's ephemeral range (32768-60999 here). A port the kernel picked from that range is soon
 * reused as the source port of some outgoing connection, so a server started on it a moment
 * later, or restarted on it after a crash, could fail with EADDRINUSE. Drawing at random keeps
 * two test files running in parallel from being handed the same port.
 */
const LISTEN_PORTS = { first: 20000, last: 32767 };
/**
 * Ports this process handed out: a caller often asks for several before it listens on any (a
 * Herald's four listeners), and a port drawn twice would then be free at both checks.
 */
const handedOut = new Set<number>();

/** A port that was free a moment ago on `host`, outside the range outgoing connections use. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; ; tries++) {
    const port = LISTEN_PORTS.first + Math.floor(Math.random() * (LISTEN_PORTS.last - LISTEN_PORTS.first + 1));
    if (!handedOut.has(port) && (await canListen(host, port))) {
      handedOut.add(port);
      return port;
    }
    if (tries === 200) throw new Error(`no free port on ${host} between ${LISTEN_PORTS.first} and ${LISTEN_PORTS.last}`);
  }
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? ok(false) : fail(err)));
    srv.listen(port, host, () => srv.close(() => ok(true)));
  });
}

/** Connects once and resolves with the greeting line, or rejects (refused, timeout, closed). */
export function readGreeting(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((ok, fail) => {
    const sock = connect({ host, port });
    let buf = '';
    const done = (err: Error | null, line?: string) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) fail(err);
      else ok(line!);
    };
    const timer = setTimeout(() => done(new Error(`no greeting from ${host}:${port} in ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      // A multi-line greeting ends with the line whose code is followed by a space.
      const m = /^(\d{3}) .*\r?\n/m.exec(buf);
      if (m) {
        sock.write('QUIT\r\n');
        done(null, buf.trim());
      }
    });
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error(`connection to ${host}:${port} closed before a greeting`)));
  });
}

interface ReadyOptions {
  timeoutMs?: number;
  /** The reason the process is gone, or null while it runs: waiting stops at once. */
  alive?: () => string | null;
}

/**
 * Asks `probe` until it answers ready (a value) or the time is up. Retries are paced by the probe
 * itself (refusals are instant, so a short pause keeps this from spinning); `probe` returns
 * `{ ready }` or `{ not }` with what it saw, which the timeout error repeats.
 */
async function waitUntilReady<T>(what: string, probe: () => Promise<{ ready: T } | { not: string }>, opts: ReadyOptions): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last = '';
  while (Date.now() < deadline) {
    const dead = opts.alive?.();
    if (dead) throw new Error(dead);
    try {
      const answer = await probe();
      if ('ready' in answer) return answer.ready;
      last = answer.not;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} in time (last: ${last})`);
}

/** Waits until host:port answers with a 220 greeting. */
export function waitForSmtp(host: string, port: number, opts: ReadyOptions = {}): Promise<string> {
  return waitUntilReady<string>(`${host}:${port} did not greet with 220`, async () => {
    const greeting = await readGreeting(host, port, 2000);
    return greeting.startsWith('220') ? { ready: greeting } : { not: greeting };
  }, opts);
}

/** Waits until `url` answers 200 (a listener that starts after the SMTP ones, e.g. /healthz). */
export function waitForHttp(url: string, opts: ReadyOptions = {}): Promise<void> {
  return waitUntilReady<void>(`${url} did not answer 200`, async () => {
    const res = await fetch(url);
    return res.status === 200 ? { ready: undefined } : { not: `HTTP ${res.status}` };
  }, opts);
}

// ---- /proc accounting ------------------------------------------------------------------------

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on every Linux this runs on

interface ProcStat { pid: number; ppid: number; ticks: number }

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    const f = (n: number) => Number(rest[n - 3]);
    return { pid, ppid: f(4), ticks: f(14) + f(15) + f(16) + f(17) };
  } catch {
    return null; // the process ended between listing and reading
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The process and all its live descendants. */
export function processTree(rootPid: number): number[] {
  const stats = allStats();
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  if (stats.some((s) => s.pid === rootPid)) walk(rootPid);
  return out;
}

/**
 * CPU seconds (user + system) used by a process tree so far: every live process's own time plus
 * the time of the children it has already reaped (cutime/cstime). Postfix's master reaps its
 * short-lived smtpd/cleanup/smtp children, so their work stays counted after they exit.
 */
export function treeCpuSeconds(rootPid: number): number {
  let ticks = 0;
  for (const pid of processTree(rootPid)) ticks += readStat(pid)?.ticks ?? 0;
  return ticks / CLK_TCK;
}

/** Resident memory of one process in bytes: { rss, hwm } (VmRSS and its peak VmHWM). */
export function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Sum of RSS over a process tree (shared pages counted once per process: an upper bound). */
export function treeRss(rootPid: number): number {
  return processTree(rootPid).reduce((sum, pid) => sum + (memoryOf(pid)?.rss ?? 0), 0);
}

// ---- Herald as a process ---------------------------------------------------------------------

export interface HeraldOptions {
  /** Address for all of Herald's SMTP listeners. */
  host?: string;
  /** Submission port (network credentials relay here without AUTH); a free one when omitted. */
  submissionPort?: number;
  /** MX port; 0 (the default) disables it. */
  mxPort?: number;
  /** Other HERALD_* variables (HERALD_SMART_HOST, HERALD_DNS_SERVERS, HERALD_OUTBOUND_PORT, …). */
  env?: Record<string, string>;
  /** Network allowed to relay without AUTH; `null` creates no credential. */
  network?: string | null;
  /** Run the compiled dist/cli/herald.js instead of the TypeScript source through tsx (default: HERALD_TEST_DIST). */
  dist?: boolean;
  dataDir?: string;
  timeoutMs?: number;
  /**
   * For a node without the smtp role (HERALD_ROLES=worker), which opens no SMTP port to wait
   * for: its HTTP listener goes on 127.0.0.1 at this port, and it is ready once /healthz answers.
   */
  healthPort?: number;
}

export interface HeraldProcess {
  host: string;
  submissionPort: number;
  mxPort: number;
  dataDir: string;
  logFile: string;
  pid: number;
  child: ChildProcess;
  /** The tail of Herald's stdout/stderr, for error messages. */
  log(): string;
  /** Runs a Herald CLI command with the same data directory; resolves with stdout. */
  cli(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const liveHeralds = new Set<ChildProcess>();
// A test that fails before its cleanup runs must not leave a Herald listening behind it.
process.once('exit', () => {
  for (const child of liveHeralds) child.kill('SIGKILL');
});

export const HERALD_ENTRY = join(REPO_ROOT, 'src', 'cli', 'herald.ts');
export const HERALD_DIST = join(REPO_ROOT, 'dist', 'cli', 'herald.js');

let unavailable: string | null | undefined;

/** Why Herald cannot be started from this checkout, or null when its CLI lists a `start` command. */
export function heraldUnavailable(): string | null {
  if (unavailable !== undefined) return unavailable;
  const entry = DIST_BY_DEFAULT ? HERALD_DIST : HERALD_ENTRY;
  if (!existsSync(entry)) return (unavailable = `no ${entry}`);
  const help = spawnSync(process.execPath, heraldArgv(DIST_BY_DEFAULT, ['--help']), { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  const text = `${help.stdout ?? ''}${help.stderr ?? ''}`;
  unavailable = /^\s*start\b/m.test(text) ? null : `\`herald --help\` lists no start command (${text.trim().split('\n')[0]?.slice(0, 200) ?? 'no output'})`;
  return unavailable;
}

/**
 * Whether Herald processes run from the build when a test does not say: `npm test` builds `dist/`
 * before the whole suite and sets HERALD_TEST_DIST=1, which spares every process the TypeScript
 * loader (about half of a CLI call's time). A file run on its own uses the sources, which are
 * never stale.
 */
const DIST_BY_DEFAULT = process.env.HERALD_TEST_DIST === '1';

function heraldArgv(dist: boolean, args: string[]): string[] {
  return dist ? [HERALD_DIST, ...args] : ['--import', 'tsx', HERALD_ENTRY, ...args];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

/** Runs the `herald` CLI as a user would (from the sources, or the compiled build with `dist`). */
export function runCli(args: string[], env: NodeJS.ProcessEnv, options: { dist?: boolean } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, heraldArgv(options.dist ?? DIST_BY_DEFAULT, args), { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        json() {
          return JSON.parse(stdout);
        },
      }),
    );
  });
}

/** Runs a CLI command like a script would: its stdout, or an error with its output. */
async function cliOrThrow(dist: boolean, env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const r = await runCli(args, env, { dist });
  if (r.code !== 0) throw new Error(`herald ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  return r.stdout;
}

/**
 * Starts Herald as its own process with a fresh data directory, waits until its submission port
 * greets with 220, and (by default) creates a network credential for 127.0.0.0/8 so loopback
 * clients relay without AUTH. Output goes to a file, not a pipe, so a slow reader never
 * throttles Herald and the benchmark does not spend its own CPU on Herald's logs.
 */
export async function startHerald(opts: HeraldOptions = {}): Promise<HeraldProcess> {
  const why = heraldUnavailable();
  if (why) throw new Error(`cannot start Herald: ${why}`);
  const host = opts.host ?? '127.0.0.1';
  const submissionPort = opts.submissionPort ?? (await freePort(host));
  const mxPort = opts.mxPort ?? 0;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'herald-data-'));
  const ownDataDir = opts.dataDir === undefined;
  const logFile = join(dataDir, 'herald.log');
  const dist = opts.dist ?? DIST_BY_DEFAULT;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HERALD_DATA_DIR: dataDir,
    ...engineEnv(dataDir),
    HERALD_HOSTNAME: 'herald.test',
    HERALD_SMTP_BIND: host,
    HERALD_SMTP_SUBMISSION_PORT: String(submissionPort),
    HERALD_SMTP_SUBMISSIONS_PORT: '0',
    HERALD_SMTP_MX_PORT: String(mxPort),
    HERALD_HTTP_PORT: '0',
    HERALD_LOG_LEVEL: 'info',
    HERALD_MAX_CONNECTIONS_PER_IP: '1000',
    ...opts.env,
    ...(opts.healthPort !== undefined ? { HERALD_HTTP_PORT: String(opts.healthPort), HERALD_HTTP_BIND: '127.0.0.1' } : {}),
  };
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, heraldArgv(dist, ['start']), { cwd: REPO_ROOT, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  liveHeralds.add(child);
  child.once('exit', () => liveHeralds.delete(child));
  let exited: string | null = null;
  child.on('exit', (code, signal) => (exited = `Herald exited (${signal ?? code}) before it was ready`));
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    if (ownDataDir && !process.env.HERALD_TEST_KEEP_TMP) await removeDataDir(dataDir);
  };
  try {
    const ready = { timeoutMs: opts.timeoutMs ?? 60_000, alive: () => exited };
    if (opts.healthPort !== undefined) await waitForHttp(`http://127.0.0.1:${opts.healthPort}/healthz`, ready);
    else await waitForSmtp(host, submissionPort, ready);
    if (opts.network !== null) {
      await cliOrThrow(dist, env, ['credentials', 'create', '--name', 'local', '--network', opts.network ?? '127.0.0.0/8', '--json']);
      // Clients here send as made-up domains; development mode lets the default account do that.
      await cliOrThrow(dist, env, ['domains', 'development-mode', 'on', '--json']);
    }
  } catch (e) {
    const tail = log();
    await stop();
    throw new Error(`${(e as Error).message}\n--- Herald output ---\n${tail}`);
  }
  return { host, submissionPort, mxPort, dataDir, logFile, pid: child.pid!, child, log, cli: (args) => cliOrThrow(dist, env, args), stop };
}
