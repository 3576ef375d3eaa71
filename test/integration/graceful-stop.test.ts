/**
 * Stopping a node with SIGTERM (what systemd, Kubernetes and `docker stop` send): Herald runs as
 * its own process, a client holds an SMTP transaction open in the middle of DATA, and SIGTERM
 * arrives. New SMTP sessions must get 421 4.3.2 and new API requests 503 with Retry-After, while
 * the message in flight still gets its 250; then the process exits 0, and the message is
 * delivered after a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startDnsServer } from '../support/dns-server.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import { tempDir } from '../support/herald.js';
import { freePort, startHerald } from '../support/processes.js';
import { rawSmtp } from '../support/raw-smtp.js';

test('SIGTERM: new sessions get 421 4.3.2 and the API 503, the message in flight gets its 250, exit 0, delivered after restart', async () => {
  const dns = await startDnsServer();
  const sinkPort = await freePort('127.0.0.2');
  const sink = await startSmtpSink({ host: '127.0.0.2', port: sinkPort });
  // Unreachable until the restart: the message must survive the stop in the queue.
  const zone = (mxAddress: string) => ({ 'stop.test': { MX: [{ preference: 10, exchange: 'mx.stop.test' }] }, 'mx.stop.test': { A: [mxAddress] } });
  dns.setZone(zone('127.0.0.9'));
  const httpPort = await freePort();
  const options = {
    dataDir: tempDir('herald-stop-'),
    mxPort: await freePort(),
    submissionPort: await freePort(),
    env: {
      HERALD_DNS_SERVERS: dns.server,
      HERALD_OUTBOUND_PORT: String(sinkPort),
      HERALD_RETRY_SCHEDULE: '200ms',
      HERALD_HTTP_PORT: String(httpPort),
      HERALD_HTTP_BIND: '127.0.0.1',
      HERALD_SHUTDOWN_TIMEOUT: '60s',
    },
  };
  let herald = await startHerald(options);
  const api = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${httpPort}${path}`, init);
  try {
    const ready = await api('/readyz');
    assert.equal(ready.status, 200, await ready.clone().text());
    assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { store: { ok: true }, migrations: { ok: true } });

    // A client in the middle of DATA (the message not finished yet).
    const slow = await rawSmtp(herald.mxPort);
    assert.match((await slow.reply()) ?? '', /^220 /);
    assert.match((await slow.send('EHLO client.test')) ?? '', /^250 /);
    assert.match((await slow.send('MAIL FROM:<app@sender.test>')) ?? '', /^250 /);
    assert.match((await slow.send('RCPT TO:<user@stop.test>')) ?? '', /^250 /);
    assert.match((await slow.send('DATA')) ?? '', /^354 /);
    slow.write('Subject: in flight at SIGTERM\r\nX-Marker: graceful-stop\r\n\r\nThe first half');

    const exited = new Promise<number | null>((resolve) => herald.child.once('exit', (code) => resolve(code)));
    herald.child.kill('SIGTERM');

    // The signal is handled asynchronously: connect until the node answers as a stopping one.
    let greeting: string | null = null;
    for (let i = 0; i < 500; i++) {
      const probe = await rawSmtp(herald.mxPort);
      greeting = await probe.reply();
      if (greeting?.startsWith('220 ')) await probe.send('QUIT');
      probe.end();
      if (!greeting?.startsWith('220 ')) break;
    }
    assert.equal(greeting, '421 4.3.2 Service shutting down, try again later');

    const refused = await api('/api/v1/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'shutting_down');
    const notReady = await api('/readyz');
    assert.equal(notReady.status, 503);
    assert.equal(((await notReady.json()) as { error: { check: string } }).error.check, 'stopping');

    // The transaction in flight finishes: its 250 is a promise kept, then the session is told.
    slow.write(' and the rest.\r\n.\r\n');
    const queued = (await slow.reply()) ?? '';
    assert.match(queued, /^250 2\.0\.0 Ok: queued as /);
    assert.equal(await slow.reply(), '421 4.3.2 Service shutting down, try again later');
    slow.end();

    assert.equal(await exited, 0, herald.log());
    assert.equal(sink.messages.length, 0, 'nothing could be delivered before the stop');

    dns.setZone(zone('127.0.0.2'));
    herald = await startHerald({ ...options, network: null });
    const delivered = await sink.nextMessage();
    assert.match(delivered.raw.toString(), /X-Marker: graceful-stop/);
    assert.match(delivered.raw.toString(), /The first half and the rest\./);
  } finally {
    await herald.stop();
    rmSync(options.dataDir, { recursive: true, force: true });
    await sink.close();
    await dns.close();
  }
});
