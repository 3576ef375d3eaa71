/**
 * "Nothing accepted is ever lost": Herald runs as its own process, a client sends a few hundred
 * messages over several connections, Herald is killed with SIGKILL in the middle of the stream,
 * restarted on the same data directory, and every message that got a 250 (SMTP) or a 202 (the
 * HTTP API) must reach the MX.
 * Duplicates are allowed (a crash mid-attempt may repeat a delivery); loss is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { startDnsServer } from '../support/dns-server.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import { restartableEnv } from '../support/engine.js';
import { tempDir } from '../support/herald.js';
import { freePort, startHerald, waitForHttp, type HeraldProcess } from '../support/processes.js';

const TOTAL = 300;
const KILL_AFTER = 120;

/** How a test hands Herald message `seq`: true when Herald acknowledged it (250 / 202). */
type Sender = (seq: number) => Promise<boolean>;

interface Edge {
  open(herald: HeraldProcess, httpPort: number): Promise<{ send: Sender; close(): void }>;
}

const smtpEdge: Edge = {
  async open(herald) {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: herald.mxPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 10, maxMessages: Infinity });
    return {
      async send(seq) {
        const info = await transport.sendMail({ from: 'app@sender.test', to: `user${seq}@crash.test`, subject: `seq ${seq}`, text: `message ${seq}`, headers: { 'X-Seq': String(seq) } });
        return /^250 /.test(info.response);
      },
      close: () => transport.close(),
    };
  },
};

const apiEdge: Edge = {
  async open(herald, httpPort) {
    const { key } = JSON.parse(await herald.cli(['api-keys', 'create', '--name', 'crash', '--scope', 'send', '--json'])) as { key: string };
    // The HTTP listener starts after the SMTP ones the start-up wait looked for.
    await waitForHttp(`http://127.0.0.1:${httpPort}/healthz`);
    // Ten requests in flight at a time, like the SMTP pool's ten connections.
    const agent = { inFlight: 0, waiting: [] as (() => void)[] };
    return {
      async send(seq) {
        while (agent.inFlight >= 10) await new Promise<void>((resolve) => agent.waiting.push(resolve));
        agent.inFlight++;
        try {
          const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ from: 'app@sender.test', to: `user${seq}@crash.test`, subject: `seq ${seq}`, text: `message ${seq}`, headers: { 'X-Seq': String(seq) } }),
          });
          return res.status === 202;
        } finally {
          agent.inFlight--;
          agent.waiting.shift()?.();
        }
      },
      close: () => {},
    };
  },
};

for (const [name, edge] of [['SMTP', smtpEdge], ['the HTTP API', apiEdge]] as const) {
  test(`SIGKILL under load loses no message acknowledged over ${name}`, () => crashAndRecover(edge));
}

async function crashAndRecover(edge: Edge): Promise<void> {
  const dns = await startDnsServer();
  const sinkPort = await freePort('127.0.0.2');
  const sink = await startSmtpSink({ host: '127.0.0.2', port: sinkPort });
  // Until the crash the MX is unreachable (nothing listens on 127.0.0.9), so every acknowledged
  // message is still in Herald's queue — or mid-attempt — when it is killed.
  const zone = (mxAddress: string) => ({ 'crash.test': { MX: [{ preference: 10, exchange: 'mx.crash.test' }] }, 'mx.crash.test': { A: [mxAddress] } });
  dns.setZone(zone('127.0.0.9'));
  // Both runs share the data directory and the ports; the first creates the network credential.
  const httpPort = await freePort();
  const options = {
    dataDir: tempDir('herald-crash-'),
    mxPort: await freePort(),
    submissionPort: await freePort(),
    env: { HERALD_DNS_SERVERS: dns.server, HERALD_OUTBOUND_PORT: String(sinkPort), HERALD_RETRY_SCHEDULE: '200ms', HERALD_LOG_LEVEL: 'warn', HERALD_HTTP_PORT: String(httpPort), HERALD_HTTP_BIND: '127.0.0.1', ...restartableEnv() },
  };
  let herald = await startHerald(options);
  const acknowledged = new Set<number>();
  let killed: Promise<number | null> | null = null;

  try {
    const client = await edge.open(herald, httpPort);
    await Promise.all(
      Array.from({ length: TOTAL }, async (_, seq) => {
        try {
          if (await client.send(seq)) acknowledged.add(seq);
        } catch {
          // Refused or cut off by the crash: the client still has it, Herald promised nothing.
        }
        if (acknowledged.size >= KILL_AFTER && !killed) {
          killed = new Promise((resolve) => herald.child.once('exit', resolve));
          herald.child.kill('SIGKILL');
        }
      }),
    );
    client.close();
    await killed;
    assert.ok(acknowledged.size >= KILL_AFTER, `the kill happened mid-stream (${acknowledged.size} acknowledged)`);
    assert.ok(acknowledged.size < TOTAL, 'some messages were cut off by the kill');

    assert.equal(sink.messages.length, 0, 'nothing could be delivered before the crash');

    // Restart on the same data directory with the MX reachable; every acknowledged message must arrive.
    dns.setZone(zone('127.0.0.2'));
    herald = await startHerald({ ...options, network: null });
    const arrived = new Set<number>();
    const seqOf = (raw: Buffer) => Number(/\r\nX-Seq: (\d+)\r\n/i.exec(raw.toString())?.[1]);
    for (const m of sink.messages) arrived.add(seqOf(m.raw));
    while ([...acknowledged].some((s) => !arrived.has(s))) arrived.add(seqOf((await sink.nextMessage()).raw));
    const lost = [...acknowledged].filter((s) => !arrived.has(s));
    assert.deepEqual(lost, []);
  } finally {
    await herald.stop();
    rmSync(options.dataDir, { recursive: true, force: true });
    await sink.close();
    await dns.close();
  }
}
