// Runs the whole test suite: type check, then every *.test.ts under src/ and test/ with node:test.
// Extra arguments are passed to node --test (e.g. a file path to run one file).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const run = (cmd, argv) => spawnSync(cmd, argv, { stdio: 'inherit' }).status ?? 1;

if (files.length === 0) {
  const tsc = run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
  if (tsc !== 0) process.exit(tsc);
}
const targets = files.length ? files : [...find('src'), ...find('test')].sort();
// --test-force-exit: a file whose tests have all finished exits even if a handle is still open
// (the browser test's process sometimes lingers after chromium and Herald have closed), so it
// cannot run into the per-file timeout and fail with every test passed.
process.exit(run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', '--test-force-exit', ...flags, ...targets]));
