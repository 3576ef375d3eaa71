import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, describeConfig, loadConfig } from './index.js';

test('defaults are what the docs promise', () => {
  const { config, origins } = loadConfig({ env: {} });
  assert.equal(config.dataDir, './data');
  assert.equal(config.smtpSubmissionPort, 587);
  assert.equal(config.smtpSubmissionsPort, 465);
  assert.equal(config.smtpMxPort, 25);
  assert.equal(config.httpPort, 8080);
  assert.equal(config.maxMessageSize, 25 * 1024 * 1024);
  assert.deepEqual(config.retrySchedule, [60_000, 300_000, 900_000, 1_800_000, 3_600_000]);
  assert.equal(config.maxQueueAge, 5 * 86_400_000);
  assert.equal(origins.dataDir, 'default');
});

test('file, then environment, then flags override each other in that order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
  const file = join(dir, 'herald.json');
  writeFileSync(file, JSON.stringify({ httpPort: 9000, smtpMxPort: 2525, maxRecipients: 10 }));
  const { config, origins } = loadConfig({ env: { HERALD_SMTP_MX_PORT: '2526' }, file, overrides: { maxRecipients: '20' } });
  assert.equal(config.httpPort, 9000);
  assert.equal(origins.httpPort, 'file');
  assert.equal(config.smtpMxPort, 2526);
  assert.equal(origins.smtpMxPort, 'env');
  assert.equal(config.maxRecipients, 20);
  assert.equal(origins.maxRecipients, 'flag');
});

test('unknown keys and bad values are errors that name the setting', () => {
  assert.throws(() => loadConfig({ env: { HERALD_SMTP_PORT: '25' } }), (e: Error) => e instanceof ConfigError && /HERALD_SMTP_PORT/.test(e.message));
  assert.throws(() => loadConfig({ env: { HERALD_HTTP_PORT: '70000' } }), /HERALD_HTTP_PORT: not a port/);
  assert.throws(() => loadConfig({ env: { HERALD_RETRY_SCHEDULE: 'often' } }), /HERALD_RETRY_SCHEDULE/);
  assert.throws(() => loadConfig({ env: { HERALD_SMART_HOST: 'http://relay' } }), /HERALD_SMART_HOST/);
  assert.throws(() => loadConfig({ env: { HERALD_BLOCKED_CLIENTS: '10.0.0.0/99' } }), /HERALD_BLOCKED_CLIENTS/);
  assert.throws(() => loadConfig({ env: { HERALD_TLS_CERT: '/x.pem' } }), /set together/);
  const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ smtpPort: 25 }));
  assert.throws(() => loadConfig({ env: {}, file: join(dir, 'bad.json') }), /unknown setting "smtpPort"/);
});

test('messages and events each have their own retention', () => {
  const DAY = 86_400_000;
  const defaults = loadConfig({ env: {} }).config;
  assert.equal(defaults.retention, 30 * DAY);
  assert.equal(defaults.eventRetention, 30 * DAY);
  const { config } = loadConfig({ env: { HERALD_RETENTION: '90d', HERALD_EVENT_RETENTION: '7d' } });
  assert.equal(config.retention, 90 * DAY);
  assert.equal(config.eventRetention, 7 * DAY, 'not tied to HERALD_RETENTION');
  assert.throws(() => loadConfig({ env: { HERALD_EVENT_RETENTION: '10m' } }), /HERALD_EVENT_RETENTION: retention "10m" is out of range/);
  assert.throws(() => loadConfig({ env: { HERALD_EVENT_RETENTION: '3651d' } }), /HERALD_EVENT_RETENTION/);
});

test('config print masks the smart host password', () => {
  const { config } = loadConfig({ env: { HERALD_SMART_HOST: 'smtp://user:secret@relay.example:587', HERALD_BLOCKED_CLIENTS: '10.0.0.0/8' } });
  const shown = describeConfig(config);
  assert.equal(shown.smartHost, 'smtp://user:****@relay.example:587');
  assert.deepEqual(shown.blockedClients, ['10.0.0.0/8']);
});

test('docs/configuration.md documents every setting', async () => {
  const { readFileSync } = await import('node:fs');
  const { SCHEMA } = await import('./index.js');
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const missing = Object.values(SCHEMA).map((s) => s.env).filter((env) => !doc.includes('`' + env + '`'));
  assert.deepEqual(missing, [], 'add these to docs/configuration.md');
});
