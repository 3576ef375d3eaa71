import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/index.js';
import { startHerald, type RunningHerald } from '../../src/main.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'src/cli/herald.ts');

/** A free TCP port on the given loopback address (bound and released; fine on loopback). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'herald-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Environment for a Herald on loopback with its own data dir and free ports. */
export async function heraldEnv(overrides: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    HERALD_DATA_DIR: tempDir(),
    HERALD_HOSTNAME: 'herald.test',
    HERALD_SMTP_BIND: '127.0.0.1',
    HERALD_HTTP_BIND: '127.0.0.1',
    HERALD_SMTP_SUBMISSION_PORT: String(await freePort()),
    HERALD_SMTP_SUBMISSIONS_PORT: String(await freePort()),
    HERALD_SMTP_MX_PORT: String(await freePort()),
    HERALD_HTTP_PORT: String(await freePort()),
    HERALD_LOG_LEVEL: 'silent',
    ...overrides,
  };
}

export interface TestHerald extends RunningHerald {
  env: Record<string, string>;
  port(name: 'submission' | 'submissions' | 'mx' | 'http'): number;
  /** Stops Herald and removes its data directory. */
  close(): Promise<void>;
}

/** Boots Herald in this process (fast; events awaited through `herald.events`). */
export async function startTestHerald(overrides: Record<string, string> = {}): Promise<TestHerald> {
  const env = await heraldEnv(overrides);
  const { config } = loadConfig({ env });
  const herald = await startHerald(config, { logger: silentLogger });
  return Object.assign(herald, {
    env,
    port(name: 'submission' | 'submissions' | 'mx' | 'http') {
      const endpoint = herald.endpoints.find((e) => e.name === (name === 'http' ? 'http' : `smtp-${name}`));
      if (!endpoint) throw new Error(`no ${name} listener`);
      return endpoint.port;
    },
    async close() {
      await herald.stop();
      rmSync(env.HERALD_DATA_DIR, { recursive: true, force: true });
    },
  });
}

export interface HeraldProcess {
  child: ChildProcess;
  ready: { listening: { name: string; address: string; port: number }[] };
  /** Everything the process wrote to stdout/stderr so far (for failure messages). */
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `herald start --json` as a child process and resolves when it printed its ready line. */
export async function spawnHerald(env: Record<string, string>): Promise<HeraldProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start', '--json'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<HeraldProcess['ready']>((resolve, reject) => {
    let buffered = '';
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      log += line + '\n';
      buffered += line + '\n';
      // The ready document is pretty-printed JSON; log lines are single-line JSON.
      if (line === '}') {
        const start = buffered.lastIndexOf('\n{\n') >= 0 ? buffered.lastIndexOf('\n{\n') + 1 : buffered.indexOf('{\n');
        try {
          const doc = JSON.parse(buffered.slice(start));
          if (doc.event === 'ready') resolve(doc);
        } catch {
          /* not the ready document */
        }
      }
    });
    void exited.then((code) => reject(new Error(`herald exited with ${code} before it was ready:\n${log}`)));
  });
  return {
    child,
    ready,
    output: () => log,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

/** Runs the `herald` CLI as a user would. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
