import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runStopSteps } from './stop-steps.js';

/** A logger that keeps what it was given. */
function recordingLogger() {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  return { lines, error: (fields: Record<string, unknown>, msg: string) => void lines.push({ fields, msg }) };
}

test('steps run one after another in the order given; a failing one is logged and the rest still run', async () => {
  const ran: string[] = [];
  const log = recordingLogger();
  await runStopSteps(
    [
      { what: 'first', stop: async () => void ran.push('first') },
      { what: 'the broken part', stop: async () => { ran.push('broken'); throw new Error('socket already closed'); } },
      { what: 'last', stop: async () => void ran.push('last') },
    ],
    60_000,
    log,
  );
  assert.deepEqual(ran, ['first', 'broken', 'last']);
  assert.equal(log.lines.length, 1);
  assert.equal(log.lines[0].fields.what, 'the broken part');
  assert.match((log.lines[0].fields.err as Error).message, /socket already closed/);
});

test('a step that never finishes is named in the log when its time is up, and the next steps run', async () => {
  const ran: string[] = [];
  const log = recordingLogger();
  await runStopSteps(
    [
      { what: 'the stuck part', stop: () => new Promise<void>(() => {}) },
      { what: 'the store', stop: async () => void ran.push('store') },
    ],
    20,
    log,
  );
  assert.deepEqual(ran, ['store']);
  assert.equal(log.lines.length, 1);
  assert.equal(log.lines[0].fields.what, 'the stuck part');
  assert.match(log.lines[0].msg, /the stuck part did not finish within 20 ms; going on without it/);
});
