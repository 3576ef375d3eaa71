import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

/**
 * The logger batches its writes to standard output, so these tests run it in a child process and
 * read what that process really wrote: nothing may be lost at exit, however the process or the
 * thread ends, and a lone line must not wait for more lines to come.
 */
const LOGGER = new URL('./logger.ts', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'herald-logger-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A module for a worker thread of a child to run; a worker needs the TypeScript loader registered itself. */
function workerModule(name: string, body: string): string {
  const file = join(dir, `${name}.mjs`);
  const tsx = import.meta.resolve('tsx/esm/api');
  writeFileSync(
    file,
    `import { parentPort } from 'node:worker_threads';\nimport { register } from ${JSON.stringify(tsx)};\nregister();\nconst { createLogger, flushLogs } = await import(${JSON.stringify(LOGGER)});\n${body}`,
  );
  return file;
}

interface Child {
  lines: () => string[];
  firstLine: Promise<void>;
  exited: Promise<number | null>;
  kill(): void;
}

let scripts = 0;
function runChild(script: string): Child {
  const file = join(dir, `main-${++scripts}.mjs`);
  writeFileSync(file, `import { createLogger } from ${JSON.stringify(LOGGER)};\n${script}`);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let seen!: () => void;
  const firstLine = new Promise<void>((resolve) => (seen = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    if (out.includes('\n')) seen();
  });
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    lines: () => out.split('\n').filter(Boolean),
    firstLine,
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

const messages = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
const expected = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}`);

describe('createLogger (JSON lines on standard output, written in batches)', () => {
  it('writes every line before the process exits normally', async () => {
    const child = runChild(`const log = createLogger({ logLevel: 'info' }); for (let i = 0; i < 500; i++) log.info({ i }, 'line ' + i);`);
    assert.equal(await child.exited, 0);
    assert.deepEqual(messages(child.lines()), expected(500));
  });

  it('writes every line when the process ends with an uncaught exception', async () => {
    const child = runChild(`const log = createLogger({ logLevel: 'info' }); for (let i = 0; i < 30; i++) log.info('line ' + i); setImmediate(() => { throw new Error('boom'); });`);
    assert.equal(await child.exited, 1);
    assert.deepEqual(messages(child.lines()), expected(30));
  });

  it('writes every line of a worker thread that ends with an uncaught exception', async () => {
    const file = workerModule('throws', `const log = createLogger({ logLevel: 'info' }); for (let i = 0; i < 30; i++) log.info('line ' + i); setImmediate(() => { throw new Error('boom'); });`);
    const child = runChild(`import { Worker } from 'node:worker_threads'; new Worker(${JSON.stringify(file)}).on('error', () => {});`);
    await child.exited;
    assert.deepEqual(messages(child.lines()), expected(30));
  });

  it('flushLogs writes what a worker thread holds before the thread is terminated', async () => {
    const file = workerModule('stops', `const log = createLogger({ logLevel: 'info' }); for (let i = 0; i < 30; i++) log.info('line ' + i); flushLogs(); parentPort.postMessage('stopped'); setInterval(() => {}, 1000);`);
    const child = runChild(`import { Worker } from 'node:worker_threads'; const worker = new Worker(${JSON.stringify(file)}); worker.once('message', () => worker.terminate());`);
    assert.equal(await child.exited, 0);
    assert.deepEqual(messages(child.lines()), expected(30));
  });

  it('writes a lone line while the process keeps running', async () => {
    const child = runChild(`const log = createLogger({ logLevel: 'info' }); log.info('line 0'); setInterval(() => {}, 1000);`);
    try {
      await child.firstLine;
      assert.deepEqual(messages(child.lines()), expected(1));
    } finally {
      child.kill();
    }
  });
});
