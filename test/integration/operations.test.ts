/**
 * What an operator's tooling reads: GET /readyz (store and migrations) and GET /metrics
 * (Prometheus text, loopback only by default), on a real Herald delivering to a real SMTP sink.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { openRecordsOf } from '../support/engine.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import { startTestHerald } from '../support/herald.js';
import { freePort } from '../support/processes.js';

/** The value of one sample line, e.g. `herald_smtp_sessions_total{listener="mx"}`; null when absent. */
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : null;
}

test('GET /metrics: queue, delivery outcomes by domain, SMTP sessions and replies, API latency, webhook backlog, event-loop lag', async (t) => {
  const sinkPort = await freePort('127.0.0.2');
  const sink = await startSmtpSink({ host: '127.0.0.2', port: sinkPort });
  const herald = await startTestHerald({ HERALD_SMART_HOST: `smtp://127.0.0.2:${sinkPort}`, HERALD_METRICS_DOMAINS: '1' });
  t.after(async () => {
    await herald.close();
    await sink.close();
  });
  const base = `http://127.0.0.1:${herald.port('http')}`;
  await herald.credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
  await herald.webhooks.create('default', { url: 'http://127.0.0.1:9/hook', events: null, description: null, enabled: false, cursor: 0 });
  const enabledHook = await herald.webhooks.create('default', { url: 'http://127.0.0.1:9/other', events: null, description: null, enabled: true, cursor: 0 });

  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: herald.port('mx'), secure: false, ignoreTLS: true });
  const delivered = new Promise<void>((resolve) => {
    let n = 0;
    herald.events.subscribe((e) => {
      if (e.type === 'delivered' && ++n === 2) resolve();
    });
  });
  await transport.sendMail({ from: 'app@sender.test', to: 'one@first.test', subject: 'a', text: 'a' });
  await transport.sendMail({ from: 'app@sender.test', to: 'two@second.test', subject: 'b', text: 'b' });
  transport.close();
  await delivered;

  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  // HERALD_METRICS_DOMAINS=1: the first domain keeps its name, the next is "other".
  assert.equal(sample(text, 'herald_delivery_outcomes_total{domain="first.test",outcome="delivered"}'), 1);
  assert.equal(sample(text, 'herald_delivery_outcomes_total{domain="other",outcome="delivered"}'), 1);
  assert.equal(sample(text, 'herald_delivery_attempts_total{domain="first.test"}'), 1);
  assert.equal(sample(text, 'herald_queue_recipients{state="queued"}'), 0);
  assert.equal(sample(text, 'herald_queue_oldest_age_seconds{state="queued"}'), 0);
  assert.equal(sample(text, 'herald_smtp_sessions_total{listener="mx"}'), 2);
  assert.equal(sample(text, 'herald_smtp_replies_total{listener="mx",code="220"}'), 2);
  assert.ok((sample(text, 'herald_smtp_replies_total{listener="mx",code="250"}') ?? 0) >= 8, 'EHLO, MAIL, RCPT and DATA, twice');
  // Two accepted and two delivered events at least are ahead of a cursor at 0; disabled endpoints are not shown.
  assert.ok((sample(text, `herald_webhook_backlog_events{endpoint="${enabledHook.endpoint.id}"}`) ?? 0) >= 4);
  assert.equal(text.split('\n').filter((l) => l.startsWith('herald_webhook_backlog_events{')).length, 1);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);

  // The scrape above is in the latency histogram by route pattern on the next one.
  const again = await (await fetch(`${base}/metrics`)).text();
  assert.equal(sample(again, 'herald_api_request_duration_seconds_count{route="/metrics",method="GET",status="200"}'), 1);
  const unknown = await fetch(`${base}/api/v1/messages/no-such-id`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(unknown.status, 401);
  const third = await (await fetch(`${base}/metrics`)).text();
  assert.equal(sample(third, 'herald_api_request_duration_seconds_count{route="/api/v1/messages/:id",method="GET",status="401"}'), 1);
});

test('GET /metrics is refused outside HERALD_METRICS_ALLOW, and absent with HERALD_METRICS=off', async (t) => {
  const outside = await startTestHerald({ HERALD_METRICS_ALLOW: '10.0.0.0/8' });
  const off = await startTestHerald({ HERALD_METRICS: 'off' });
  t.after(async () => {
    await outside.close();
    await off.close();
  });
  const forbidden = await fetch(`http://127.0.0.1:${outside.port('http')}/metrics`);
  assert.equal(forbidden.status, 403);
  assert.deepEqual(await forbidden.json(), { error: { code: 'forbidden', message: 'metrics are served only to the networks in HERALD_METRICS_ALLOW' } });
  const absent = await fetch(`http://127.0.0.1:${off.port('http')}/metrics`);
  assert.equal(absent.status, 404);
  assert.equal(((await absent.json()) as { error: { code: string } }).error.code, 'not_found');
});

test('GET /readyz: 200 with every check; 503 naming the migrations when a ledger is not at this build\'s version', async (t) => {
  const herald = await startTestHerald();
  t.after(() => herald.close());
  const url = `http://127.0.0.1:${herald.port('http')}/readyz`;
  const ready = await fetch(url);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready', version: (await (await fetch(`http://127.0.0.1:${herald.port('http')}/healthz`)).json() as { version: string }).version, checks: { store: { ok: true }, migrations: { ok: true } } });

  // As after restoring an old backup: a room's newest migration is missing from the ledger.
  const db = await openRecordsOf(herald.env);
  const { version } = (await db.get<{ version: number }>("SELECT MAX(version) AS version FROM schema_migrations WHERE room = 'templates'"))!;
  await db.run("DELETE FROM schema_migrations WHERE room = 'templates' AND version = ?", [version]);
  await db.close();
  const behind = await fetch(url);
  assert.equal(behind.status, 503);
  const body = (await behind.json()) as { checks: Record<string, { ok: boolean; message?: string }>; error: { code: string; check: string; message: string } };
  assert.equal(body.error.code, 'not_ready');
  assert.equal(body.error.check, 'migrations');
  assert.equal(body.checks.migrations.message, `templates is at migration ${version - 1}, this Herald needs ${version}`);
  assert.deepEqual(body.checks.store, { ok: true });
  // Liveness is another question: the process is fine.
  assert.equal((await fetch(`http://127.0.0.1:${herald.port('http')}/healthz`)).status, 200);
});
