import { writeSync } from 'node:fs';
import { pino } from 'pino';
import type { HeraldConfig } from '../config/index.js';
import type { Logger } from '../core/index.js';

/**
 * Log lines are written to standard output in batches, synchronously: one write per few lines
 * instead of one per line, and no trip through libuv's thread pool (under load Herald logs two
 * lines per message, and each asynchronous write cost a thread-pool hand-off and an event-loop
 * wake-up). A batch goes out once it holds BATCH_CHARS, or FLUSH_AFTER_MS after its first line,
 * and whatever is left goes out when the thread exits, even on an uncaught exception. Written
 * synchronously, batches can never overtake one another. They stay under PIPE_BUF (4096 bytes)
 * unless a line is long, so a batch written to a pipe arrives whole even while another thread
 * (the delivery thread) writes its own.
 */
const BATCH_CHARS = 2048;
const FLUSH_AFTER_MS = 100;
/** How long to wait when standard output is a full non-blocking pipe, before trying again. */
const FULL_PIPE_WAIT_MS = 1;
/** What Atomics.wait sleeps on (nothing ever wakes it: the wait is the timeout). */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

class BatchedOutput {
  private pending = '';
  private timer: NodeJS.Timeout | null = null;
  private broken = false;

  constructor(private readonly fd: number) {}

  write(line: string): boolean {
    if (this.broken) return true;
    this.pending += line;
    if (this.pending.length >= BATCH_CHARS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS).unref();
    return true;
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const text = this.pending;
    this.pending = '';
    if (text && !this.broken) this.writeAll(Buffer.from(text));
  }

  private writeAll(data: Buffer): void {
    let rest = data;
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(this.fd, rest));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(SLEEPER, 0, 0, FULL_PIPE_WAIT_MS);
          continue;
        }
        // Nobody reads standard output any more (EPIPE) or it cannot be written: logging stops,
        // Herald goes on.
        this.broken = true;
        return;
      }
    }
  }
}

/** This thread's batched outputs, flushed at exit and by `flushLogs`. */
const outputs: BatchedOutput[] = [];

/** Writes out what this thread's loggers hold (before a worker thread is terminated, which runs no exit handlers). */
export function flushLogs(): void {
  for (const out of outputs) out.flush();
}

/** JSON lines on stdout (or the given stream); one child logger per room is made by main.ts. */
export function createLogger(config: Pick<HeraldConfig, 'logLevel'>, destination?: NodeJS.WritableStream): Logger {
  const options = { level: config.logLevel, base: { service: 'herald' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (destination) return pino(options, destination) as unknown as Logger;
  if (outputs.length === 0) process.once('exit', flushLogs);
  const out = new BatchedOutput(1);
  outputs.push(out);
  return pino(options, out) as unknown as Logger;
}
