import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { DASHBOARD_CSP, registerDashboardRoutes } from './dashboard-routes.js';

function builtDashboard(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-dashboard-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Herald</title><script type="module" src="/assets/app-1.js"></script>');
  writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log("app")');
  return dir;
}

function app(dir: string) {
  const a = Fastify();
  a.get('/api/v1/ping', async () => ({ pong: true }));
  a.setNotFoundHandler((req, reply) => void reply.code(404).send({ error: { code: 'not_found', message: `no route for ${req.method} ${req.url}` } }));
  registerDashboardRoutes(a, { dir });
  return a;
}

test('the app and its files are served with the security headers; client routes get index.html', async (t) => {
  const a = app(builtDashboard(t));
  const index = await a.inject('/');
  assert.equal(index.statusCode, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['content-security-policy'], DASHBOARD_CSP);
  assert.equal(index.headers['x-content-type-options'], 'nosniff');
  assert.equal(index.headers['referrer-policy'], 'same-origin');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval/);

  const script = await a.inject('/assets/app-1.js');
  assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(script.headers['content-security-policy'], DASHBOARD_CSP);

  for (const page of ['/messages', '/messages/01jz000000000000000000000a?x=1', '/domains/example.com']) {
    const res = await a.inject(page);
    assert.equal(res.statusCode, 200, page);
    assert.equal(res.body, index.body, page);
  }
  assert.equal((await a.inject('/assets/missing.js')).statusCode, 404);
  assert.equal((await a.inject('/%E0%A4%A')).statusCode, 400);
});

test('the API, /healthz, /openapi.json and /t/ keep their own routes and JSON 404s; nothing outside the folder is served', async (t) => {
  const a = app(builtDashboard(t));
  assert.deepEqual((await a.inject('/api/v1/ping')).json(), { pong: true });
  for (const path of ['/api/v1/nope', '/api', '/t/o/abc', '/healthz', '/openapi.json', '/email/x']) {
    const res = await a.inject(path);
    assert.equal(res.statusCode, 404, path);
    assert.equal(res.json().error.code, 'not_found', path);
  }
  // Only the folder's own files exist for it: anything else is the app's page or a 404, never a file from disk.
  const index = (await a.inject('/')).body;
  for (const path of ['/../package.json', '/%2e%2e/package.json', '/assets/../../etc/passwd', '/..%2f..%2fetc%2fpasswd']) {
    const res = await a.inject(path);
    assert.ok(res.statusCode === 404 || res.body === index, `${path}: ${res.statusCode}`);
    assert.doesNotMatch(res.body, /root:|"name": "herald"/, path);
  }
});

test('without a built dashboard, / says how to build it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-dashboard-empty-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const res = await app(dir).inject('/');
  assert.equal(res.statusCode, 503);
  assert.match(res.body, /npm run build/);
  assert.equal(res.headers['content-security-policy'], DASHBOARD_CSP);
});
