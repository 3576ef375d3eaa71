import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeraldConfig } from './config/index.js';
import type { Logger } from './core/index.js';
import { startDeliveryThread, type SpawnedThread } from './delivery-thread.js';
import type { ThreadedQueueStore } from './queue/index.js';

/**
 * What happens around the delivery thread when it dies: the starts are stand-ins, so a thread can
 * die, or fail to start, exactly when a test says.
 */

interface StandIn extends SpawnedThread {
  die(reason: string): void;
  stopped: boolean;
}

function standIn(): StandIn {
  let die!: (reason: string) => void;
  const thread: StandIn = {
    died: new Promise<string>((resolve) => (die = resolve)),
    die: (reason) => die(reason),
    stopped: false,
    stop: async () => {
      thread.stopped = true;
    },
  };
  return thread;
}

/** The starts a test scripts, in order: a thread, or an error to fail with; each call is awaitable. */
function scriptedStarts(script: (() => Promise<SpawnedThread>)[]) {
  let calls = 0;
  const waiters: { n: number; resolve(): void }[] = [];
  return {
    spawn: () => {
      const step = script[calls++];
      for (const w of waiters.filter((w) => calls >= w.n)) w.resolve();
      if (!step) return Promise.reject(new Error('no more starts scripted'));
      return step();
    },
    /** Resolves once the n-th start has been asked for. */
    called: (n: number) => new Promise<void>((resolve) => (calls >= n ? resolve() : waiters.push({ n, resolve }))),
  };
}

function recordingLogger() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const waiters: { text: string; resolve(): void }[] = [];
  const log = (level: string) => (fields: object | string, msg?: string) => {
    const text = typeof fields === 'string' ? fields : (msg ?? '');
    lines.push({ level, msg: text, fields: typeof fields === 'string' ? {} : (fields as Record<string, unknown>) });
    for (const w of waiters.filter((w) => text.includes(w.text))) w.resolve();
  };
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
  return { logger, lines, logged: (text: string) => new Promise<void>((resolve) => (lines.some((l) => l.msg.includes(text)) ? resolve() : waiters.push({ text, resolve }))) };
}

const store = { reapExpiredLeases: async () => 0 } as unknown as ThreadedQueueStore;
const config = {} as HeraldConfig;
const secret = Buffer.alloc(0);

describe('startDeliveryThread', () => {
  it('starts a new thread when one dies, trying again while starts fail, and the process goes on', async () => {
    const first = standIn();
    const second = standIn();
    const starts = scriptedStarts([async () => first, async () => Promise.reject(new Error('cannot start')), async () => second]);
    const log = recordingLogger();
    const delivery = await startDeliveryThread(store, config, log.logger, secret, { spawn: starts.spawn, respawnDelaysMs: [1] });

    first.die('exit code 1');
    await log.logged('a new delivery thread took over');

    const errors = log.lines.filter((l) => l.level === 'error').map((l) => l.msg);
    assert.deepEqual(errors, [
      'the delivery thread died; returning its work to the queue and starting a new one',
      'could not start a new delivery thread; mail waits in the queue until one starts',
    ]);
    await delivery.stop();
    assert.equal(second.stopped, true, 'stop() stops the thread that took over');
  });

  it('stop() while a new thread is starting stops that thread too', async () => {
    const first = standIn();
    const second = standIn();
    let started!: (thread: SpawnedThread) => void;
    const starts = scriptedStarts([async () => first, () => new Promise<SpawnedThread>((resolve) => (started = resolve))]);
    const log = recordingLogger();
    const delivery = await startDeliveryThread(store, config, log.logger, secret, { spawn: starts.spawn, respawnDelaysMs: [1] });

    first.die('exit code 1');
    await starts.called(2);
    const stopping = delivery.stop();
    started(second);
    await stopping;
    assert.equal(second.stopped, true);
    assert.equal(log.lines.some((l) => l.msg === 'a new delivery thread took over'), false);
  });

  it('stop() during the wait before a new start ends the wait and starts nothing', async () => {
    const first = standIn();
    const starts = scriptedStarts([async () => first]);
    const log = recordingLogger();
    // An hour's wait: stop() must not sit it out.
    const delivery = await startDeliveryThread(store, config, log.logger, secret, { spawn: starts.spawn, respawnDelaysMs: [3_600_000] });

    first.die('exit code 1');
    await log.logged('the delivery thread died');
    await delivery.stop();
    assert.equal(log.lines.filter((l) => l.msg.startsWith('could not start')).length, 0, 'no start was tried after stop()');
  });
});
