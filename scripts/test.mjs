// Runs the whole test suite: type check and build, then every *.test.ts under src/ and test/ with node:test,
// then the integration, interop and browser (e2e) tests once more with every Herald they boot on PostgreSQL
// (HERALD_TEST_ENGINE=postgres; test/support/engine.ts). Extra arguments are passed to node --test
// (e.g. a file path to run only that file, once, on the engine HERALD_TEST_ENGINE names).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

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
const run = (cmd, argv, env = {}) => spawnSync(cmd, argv, { stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;

// Left out of the PostgreSQL pass, each for a reason of its own.
const SQLITE_ONLY = new Map([
  ['test/integration/cluster.test.ts', 'its nodes share a PostgreSQL schema already'],
  ['test/integration/migrate-store.test.ts', 'moves an SQLite installation into PostgreSQL itself'],
  ['test/interop/dkim-verify.test.ts', 'boots no Herald'],
]);

// The whole suite builds dist/ first and starts its Herald and CLI processes from it (as
// `npm start` does): a process spared the TypeScript loader starts in half the time, and the
// suite starts hundreds. A file run on its own uses the sources, which are never stale.
const suiteEnv = {};
if (files.length === 0) {
  const tsc = run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
  if (tsc !== 0) process.exit(tsc);
  const build = run('npx', ['tsc', '-p', 'tsconfig.build.json']);
  if (build !== 0) process.exit(build);
  suiteEnv.HERALD_TEST_DIST = '1';
}
const targets = files.length ? files : [...find('src'), ...find('test')].sort();
// --test-force-exit: a file whose tests have all finished exits even if a handle is still open
// (the browser test's process sometimes lingers after chromium and Herald have closed), so it
// cannot run into the per-file timeout and fail with every test passed.
const nodeTest = (list, env) => run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', '--test-force-exit', ...flags, ...list], env);
// Without file arguments the first pass is the SQLite one, whatever the environment says.
const status = nodeTest(targets, files.length ? {} : { ...suiteEnv, HERALD_TEST_ENGINE: 'sqlite' });
if (files.length) process.exit(status);

const onPostgres = [...find(join('test', 'integration')), ...find(join('test', 'interop')), ...find(join('test', 'e2e'))].sort().filter((f) => !SQLITE_ONLY.has(f.split(sep).join('/')));
console.log(`\n# The integration, interop and browser tests again, on PostgreSQL (${onPostgres.length} files; left out: ${[...SQLITE_ONLY].map(([f, why]) => `${f} (${why})`).join(', ')})`);
const postgresStatus = nodeTest(onPostgres, { ...suiteEnv, HERALD_TEST_ENGINE: 'postgres' });
process.exit(status || postgresStatus);
