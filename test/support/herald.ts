import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger, type Logger } from '../../src/core/index.js';
import { startHerald, type RunningHerald } from '../../src/main.js';
import { engineEnv, removeDataDir } from './engine.js';
import { freePort } from './processes.js';

export function tempDir(prefix = 'herald-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Environment for a Herald on loopback with its own data dir (and, under
 * HERALD_TEST_ENGINE=postgres, its own PostgreSQL schema) and free ports.
 */
export async function heraldEnv(overrides: Record<string, string> = {}): Promise<Record<string, string>> {
  const dataDir = overrides.HERALD_DATA_DIR ?? tempDir();
  return {
    HERALD_DATA_DIR: dataDir,
    ...engineEnv(dataDir),
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
  /** Stops Herald and removes its data directory (and its schema). */
  close(): Promise<void>;
}

/**
 * Silent, except for a part of Herald that did not stop in time (runStopSteps): a test file that
 * ran into its time limit in an `after` hook then says which part held it.
 */
const stopReportingLogger: Logger = {
  ...silentLogger,
  error(obj, msg) {
    const text = typeof obj === 'string' ? obj : msg;
    if (text?.startsWith('stopping:')) console.error(`herald under test: ${text}`);
  },
  child: () => stopReportingLogger,
};

/** Boots Herald in this process (fast; events awaited through `herald.events`). */
export async function startTestHerald(overrides: Record<string, string> = {}): Promise<TestHerald> {
  const env = await heraldEnv(overrides);
  const { config } = loadConfig({ env });
  const herald = await startHerald(config, { logger: stopReportingLogger, onFatal: (err) => console.error('herald under test:', err) });
  // Tests send as made-up domains: development mode lets the default account do that (tests of
  // the sender rules turn it off).
  await herald.domains.setDevelopmentMode('default', true);
  return Object.assign(herald, {
    env,
    port(name: 'submission' | 'submissions' | 'mx' | 'http') {
      const endpoint = herald.endpoints.find((e) => e.name === (name === 'http' ? 'http' : `smtp-${name}`));
      if (!endpoint) throw new Error(`no ${name} listener`);
      return endpoint.port;
    },
    async close() {
      await herald.stop();
      await removeDataDir(env.HERALD_DATA_DIR);
    },
  });
}

