import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchLookupCache } from './index.js';

test('one lookup for the missing ids, kept values reused, least recently used dropped, failures and (optionally) absences not kept', async () => {
  const asked: string[][] = [];
  let fail = false;
  const make = (rememberMissing: boolean) =>
    new BatchLookupCache<string>({
      lookup: async (ids) => {
        asked.push(ids);
        if (fail) throw new Error('down');
        return new Map(ids.filter((id) => id !== 'gone').map((id) => [id, id.toUpperCase()]));
      },
      size: 2,
      rememberMissing,
    });
  const cache = make(false);
  const values = async (ids: string[]) => Promise.all([...cache.getMany(ids).values()]);
  assert.deepEqual(await values(['a', 'b', 'a']), ['A', 'B']);
  assert.deepEqual(asked, [['a', 'b']]);
  assert.deepEqual(await values(['a']), ['A']);
  assert.equal(asked.length, 1, 'kept');
  await values(['c']); // b is the least recently used now, and goes
  await values(['b']);
  assert.deepEqual(asked.at(-1), ['b']);
  assert.deepEqual(await values(['gone']), [null]);
  await values(['gone']);
  assert.deepEqual(asked.at(-1), ['gone'], 'an absence is asked again');
  fail = true;
  await assert.rejects(cache.getMany(['x']).get('x')!);
  fail = false;
  assert.equal(await cache.getMany(['x']).get('x'), 'X', 'a failure is not kept');

  const remembering = make(true);
  await remembering.getMany(['gone']).get('gone');
  const before = asked.length;
  assert.equal(await remembering.getMany(['gone']).get('gone'), null);
  assert.equal(asked.length, before, 'the absence was kept');
});
