/**
 * Moving from the embedded store to PostgreSQL as an operator would: mail accepted by a Herald on
 * SQLite (the MX unreachable, so it waits in the queue), Herald stopped, `herald migrate-store`,
 * then Herald started on PostgreSQL delivers that same mail and still knows its keys and records.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import nodemailer from 'nodemailer';
import { startDnsServer } from '../support/dns-server.js';
import { tempDir } from '../support/herald.js';
import { postgresUnavailable, TEST_DATABASE_URL, testSchema } from '../support/postgres.js';
import { freePort, runCli, startHerald, waitForHttp } from '../support/processes.js';
import { startSmtpSink } from '../support/smtp-sink.js';

const skip = await postgresUnavailable();
const MESSAGES = 20;

test('herald migrate-store copies a live SQLite store into PostgreSQL, and Herald on PostgreSQL delivers its queue', { skip: skip || undefined }, async () => {
  const dns = await startDnsServer();
  const sinkPort = await freePort('127.0.0.2');
  const sink = await startSmtpSink({ host: '127.0.0.2', port: sinkPort });
  const zone = (mx: string) => ({ 'moved.test': { MX: [{ preference: 10, exchange: 'mx.moved.test' }] }, 'mx.moved.test': { A: [mx] } });
  dns.setZone(zone('127.0.0.9'));
  const schema = testSchema();
  const dataDir = tempDir('herald-move-');
  const httpPort = await freePort();
  const env = { HERALD_DNS_SERVERS: dns.server, HERALD_OUTBOUND_PORT: String(sinkPort), HERALD_RETRY_SCHEDULE: '200ms', HERALD_LOG_LEVEL: 'warn', HERALD_HTTP_PORT: String(httpPort), HERALD_HTTP_BIND: '127.0.0.1' };
  const options = { dataDir, mxPort: await freePort(), submissionPort: await freePort(), env };
  let herald = await startHerald(options);
  try {
    const { key } = JSON.parse(await herald.cli(['api-keys', 'create', '--name', 'mover', '--scope', 'admin', '--json'])) as { key: string };
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: herald.mxPort, secure: false, ignoreTLS: true });
    for (let i = 0; i < MESSAGES; i++) {
      await transport.sendMail({ from: 'app@sender.test', to: `user${i}@moved.test`, subject: `moved ${i}`, text: `message ${i}`, headers: { 'X-Seq': String(i) } });
    }
    transport.close();
    await herald.stop();
    assert.equal(sink.messages.length, 0, 'nothing could be delivered before the move');

    const cliEnv = { HERALD_DATA_DIR: dataDir, HERALD_LOG_LEVEL: 'silent' };
    const moved = await runCli(['migrate-store', '--to', TEST_DATABASE_URL, '--schema', schema.name, '--json'], cliEnv);
    assert.equal(moved.code, 0, moved.stderr);
    const report = moved.json<{ rows: number; tables: { table: string; rows: number }[] }>();
    const rows = new Map(report.tables.map((t) => [t.table, t.rows]));
    assert.equal(rows.get('messages'), MESSAGES);
    assert.equal(rows.get('recipients'), MESSAGES);
    assert.ok((rows.get('api_keys') ?? 0) >= 2, 'the bootstrap key and the mover key');
    assert.match(moved.stderr, /copying|rows/, 'progress went to standard error');

    // A second run into the same schema is refused and changes nothing.
    const again = await runCli(['migrate-store', '--to', TEST_DATABASE_URL, '--schema', schema.name, '--json'], cliEnv);
    assert.equal(again.code, 1);
    assert.match(again.stdout + again.stderr, /target_not_empty|already holds/);

    // Herald on PostgreSQL, the MX now reachable: the queued mail goes out, the old key works.
    dns.setZone(zone('127.0.0.2'));
    herald = await startHerald({ ...options, network: null, env: { ...env, HERALD_DATABASE_URL: TEST_DATABASE_URL, HERALD_DATABASE_SCHEMA: schema.name } });
    await waitForHttp(`http://127.0.0.1:${httpPort}/readyz`);
    const arrived = new Set<number>();
    const seqOf = (raw: Buffer) => Number(/\r\nX-Seq: (\d+)\r\n/i.exec(raw.toString())?.[1]);
    for (const m of sink.messages) arrived.add(seqOf(m.raw));
    while (arrived.size < MESSAGES) arrived.add(seqOf((await sink.nextMessage()).raw));
    assert.deepEqual([...arrived].sort((a, b) => a - b), Array.from({ length: MESSAGES }, (_, i) => i));
    const list = await fetch(`http://127.0.0.1:${httpPort}/api/v1/messages?recipient=user3@moved.test`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(list.status, 200);
    const body = (await list.json()) as { messages: { subject: string }[] };
    assert.deepEqual(body.messages.map((m) => m.subject), ['moved 3']);
  } finally {
    await herald.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await schema.drop();
    await sink.close();
    await dns.close();
  }
});
