import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDirEnv } from '../support/engine.js';
import { tempDir } from '../support/herald.js';
import { runCli } from '../support/processes.js';

const env = () => dataDirEnv(tempDir('herald-suppressions-cli-'));

test('herald suppressions --help lists its commands; each has its own help', async () => {
  const r = await runCli(['suppressions', '--help'], env());
  assert.equal(r.code, 0, r.stderr);
  for (const sub of ['add', 'list', 'show', 'remove', 'import']) assert.match(r.stdout, new RegExp(`^\\s+${sub}\\b`, 'm'));
  const importHelp = await runCli(['suppressions', 'import', '--help'], env());
  assert.equal(importHelp.code, 0, importHelp.stderr);
  assert.match(importHelp.stdout, /Usage: herald suppressions import \[options\] <file>/);
});

test('add, list, show and remove', async () => {
  const e = env();
  const bad = await runCli(['suppressions', 'add', 'ann@example.com', 'not-an-address', '--json'], e);
  assert.equal(bad.code, 2);
  assert.equal(bad.json().error.code, 'invalid_address');
  assert.match(bad.stderr, /not-an-address/);

  const added = await runCli(['suppressions', 'add', 'Ann@Example.COM', 'bob@example.net', '--stream', 'broadcast', '--json'], e);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.json().added, 2);
  assert.deepEqual(added.json().suppressions.map((s: { address: string }) => s.address), ['Ann@example.com', 'bob@example.net']);

  const list = await runCli(['suppressions', 'list', '--json'], e);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.json().suppressions.map((s: { address: string; stream: string; reason: string }) => `${s.address} ${s.stream} ${s.reason}`), [
    'Ann@example.com broadcast manual',
    'bob@example.net broadcast manual',
  ]);
  const human = await runCli(['suppressions', 'list', '--search', 'BOB'], e);
  assert.match(human.stdout, /bob@example\.net\s+broadcast\s+manual/);
  assert.doesNotMatch(human.stdout, /Ann@/);

  const show = await runCli(['suppressions', 'show', 'Ann@example.com', '--json'], e);
  assert.equal(show.json().suppressions[0].stream, 'broadcast');

  const notThere = await runCli(['suppressions', 'remove', 'Ann@example.com', '--stream', 'transactional', '--json'], e);
  assert.equal(notThere.code, 1);
  assert.equal(notThere.json().error.code, 'not_found');
  assert.equal((await runCli(['suppressions', 'remove', 'Ann@example.com'], e)).code, 0);
  const gone = await runCli(['suppressions', 'show', 'Ann@example.com'], e);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /not suppressed/);

  const unknown = await runCli(['suppressions', 'list', '--account', 'nobody', '--json'], e);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.json().error.code, 'unknown_account');
});

test('import: only the summary on stdout, progress on stderr, invalid lines named by number', async () => {
  const e = env();
  const file = join(e.HERALD_DATA_DIR, 'list.csv');
  writeFileSync(file, 'email,name\nann@example.com,Ann\nnot-an-address,Nobody\nbob@example.com,Bob\n');

  const json = await runCli(['suppressions', 'import', file, '--stream', 'broadcast', '--json'], e);
  assert.equal(json.code, 0, json.stderr);
  const result = json.json(); // the whole of stdout is one JSON document
  assert.equal(result.addresses, 2);
  assert.equal(result.added, 2);
  assert.deepEqual(result.invalidLines, [{ line: 3, text: 'not-an-address,Nobody', error: '"not-an-address" is not an email address' }]);
  // Not a terminal: plain progress lines, ending at 100%.
  assert.match(json.stderr, /^importing .*list\.csv: 100% \(4 lines, 2 addresses, 1 invalid\)$/m);

  const again = await runCli(['suppressions', 'import', file], e);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /2 addresses from 4 lines — 2 entries new, 0 strengthened, 2 already there/);
  assert.match(again.stdout, /line 3: "not-an-address" is not an email address/);
  assert.doesNotMatch(again.stdout, /importing/);

  const list = await runCli(['suppressions', 'list', '--stream', 'transactional', '--json'], e);
  assert.equal(list.json().suppressions.length, 2, 'the second import covered both streams');

  const missing = await runCli(['suppressions', 'import', join(e.HERALD_DATA_DIR, 'nope.csv'), '--json'], e);
  assert.equal(missing.code, 1);
  assert.equal(missing.json().error.code, 'unreadable_file');
});
