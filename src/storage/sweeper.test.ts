import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSweeper } from './sweeper.js';

test('a sweep answering at once and one answering with a promise both count', async () => {
  const sync = startSweeper({ sweep: () => 3, onError: assert.fail, intervalMs: 3_600_000 });
  const async = startSweeper({ sweep: async () => 4, onError: assert.fail, intervalMs: 3_600_000 });
  assert.equal(await sync.sweep(), 3);
  assert.equal(await async.sweep(), 4);
  await Promise.all([sync.stop(), async.stop()]);
});

test('a failed sweep is reported and counts nothing; the next one runs', async () => {
  const errors: unknown[] = [];
  let calls = 0;
  const sweeper = startSweeper({
    sweep: async () => {
      calls++;
      if (calls === 1) throw new Error('database gone');
      return 2;
    },
    onError: (err) => errors.push(err),
    intervalMs: 3_600_000,
  });
  // Called before the start timer can fire, so this is the first sweep.
  assert.equal(await sweeper.sweep(), 0);
  assert.equal(await sweeper.sweep(), 2);
  assert.deepEqual(errors.map((e) => (e as Error).message), ['database gone']);
  await sweeper.stop();
});

test('sweeps never overlap, and stop waits for the running one, telling it to end early', async () => {
  let running = 0;
  let most = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let sawStop = false;
  const sweeper = startSweeper({
    sweep: async (stopped) => {
      running++;
      most = Math.max(most, running);
      await gate;
      sawStop ||= stopped();
      running--;
      return 1;
    },
    onError: assert.fail,
    intervalMs: 3_600_000,
  });
  const first = sweeper.sweep();
  const second = sweeper.sweep();
  const stopping = sweeper.stop();
  release();
  assert.deepEqual(await Promise.all([first, second]), [1, 1]);
  await stopping;
  assert.equal(running, 0, 'stop resolved after the sweeps ended');
  assert.equal(most, 1);
  assert.equal(sawStop, true);
});
