/**
 * Two Herald nodes share one PostgreSQL schema. Clients send over SMTP to both; one node is
 * killed with SIGKILL a third of the way through and the rest goes to the survivor. Every
 * acknowledged message — also those the dead node acknowledged — must reach the MX, and the MX
 * must never see more than HERALD_DESTINATION_CONCURRENCY deliveries at once from the cluster.
 *
 * Both nodes do everything (smtp, api, worker). The killed node dies holding claims and
 * connection slots; they come back when their lease expires (HERALD_DELIVERY_LEASE, 5 s here
 * instead of 10 minutes), and the others deliver that work. Once the MX is reachable a new process
 * joins in the dead node's place, so two nodes deliver to it side by side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { startDnsServer } from '../support/dns-server.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import { tempDir } from '../support/herald.js';
import { postgresUnavailable, TEST_DATABASE_URL, testSchema } from '../support/postgres.js';
import { freePort, startHerald, type HeraldOptions, type HeraldProcess } from '../support/processes.js';

const TOTAL = 2000;
const KILL_AFTER = Math.round(TOTAL / 3);
const DESTINATION_CONCURRENCY = 3;
/** Messages in flight from the test at a time (split over both nodes until the kill). */
const CLIENT_CONCURRENCY = 20;

test('a cluster node killed mid-stream loses nothing it acknowledged, and the destination limit holds cluster-wide', async (t) => {
  const why = await postgresUnavailable();
  if (why) return t.skip(why);

  const schema = testSchema();
  const dns = await startDnsServer();
  const sinkPort = await freePort('127.0.0.2');
  const sink = await startSmtpSink({ host: '127.0.0.2', port: sinkPort, dataDelayMs: 10 });
  // Unreachable until the kill (nothing listens on 127.0.0.9): every acknowledged message is
  // still queued, and all delivery happens while two workers compete for the destination's slots.
  const zone = (mxAddress: string) => ({ 'cluster.test': { MX: [{ preference: 10, exchange: 'mx.cluster.test' }] }, 'mx.cluster.test': { A: [mxAddress] } });
  dns.setZone(zone('127.0.0.9'));

  const env = {
    HERALD_DATABASE_URL: TEST_DATABASE_URL,
    HERALD_DATABASE_SCHEMA: schema.name,
    HERALD_DESTINATION_CONCURRENCY: String(DESTINATION_CONCURRENCY),
    HERALD_DNS_SERVERS: dns.server,
    HERALD_OUTBOUND_PORT: String(sinkPort),
    HERALD_RETRY_SCHEDULE: '200ms',
    HERALD_DELIVERY_LEASE: '5s',
    HERALD_LOG_LEVEL: 'warn',
  };
  const node = async (roles: string, network: HeraldOptions['network']) => {
    const options = { dist: true, dataDir: tempDir('herald-cluster-'), mxPort: await freePort(), network, env: { ...env, HERALD_ROLES: roles } };
    return startHerald(options);
  };
  const nodes: HeraldProcess[] = [];
  const transports: ReturnType<typeof nodemailer.createTransport>[] = [];

  try {
    // A creates the relay credential in the shared schema; B finds it there.
    const a = await node('smtp,api,worker', undefined);
    nodes.push(a);
    const b = await node('smtp,api,worker', null);
    nodes.push(b);

    const transport = (herald: HeraldProcess) => {
      const tr = nodemailer.createTransport({ host: '127.0.0.1', port: herald.mxPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 10, maxMessages: Infinity });
      transports.push(tr);
      return tr;
    };
    const toA = transport(a);
    const toB = transport(b);

    const acknowledged = new Set<number>();
    const byA = new Set<number>();
    let killed: Promise<unknown> | null = null;
    let next = 0;
    const sendLoop = async () => {
      while (next < TOTAL) {
        const seq = next++;
        // Split over both nodes until A is gone, then B only.
        const viaA = !killed && seq % 2 === 0;
        try {
          const info = await (viaA ? toA : toB).sendMail({ from: 'app@sender.test', to: `user${seq}@cluster.test`, subject: `seq ${seq}`, text: `message ${seq}`, headers: { 'X-Seq': String(seq) } });
          if (/^250 /.test(info.response)) {
            acknowledged.add(seq);
            if (viaA) byA.add(seq);
          }
        } catch {
          // Cut off by the kill: the client still has it, Herald promised nothing.
        }
        if (acknowledged.size >= KILL_AFTER && !killed) {
          killed = new Promise((resolve) => a.child.once('exit', resolve));
          a.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENT_CONCURRENCY }, sendLoop));
    await killed;
    assert.ok(byA.size > 0, 'the killed node acknowledged messages before it died');
    assert.ok(acknowledged.size > KILL_AFTER, `the survivor went on accepting (${acknowledged.size} acknowledged)`);
    assert.equal(sink.connections, 0, 'nothing could be delivered before the kill');

    // The MX comes up and a second worker takes the dead node's place.
    dns.setZone(zone('127.0.0.2'));
    nodes.push(await node('smtp,api,worker', null));

    const arrivals = new Map<number, number>();
    const seqOf = (raw: Buffer) => Number(/\r\nX-Seq: (\d+)\r\n/i.exec(raw.toString())?.[1]);
    const count = (seq: number) => arrivals.set(seq, (arrivals.get(seq) ?? 0) + 1);
    while ([...acknowledged].some((s) => !arrivals.has(s))) count(seqOf((await sink.nextMessage()).raw));

    const lost = [...acknowledged].filter((s) => !arrivals.has(s));
    assert.deepEqual(lost, []);
    const duplicates = [...arrivals.values()].reduce((n, c) => n + c - 1, 0);
    t.diagnostic(
      `${acknowledged.size} acknowledged (${byA.size} by the killed node), ${TOTAL - acknowledged.size} refused or cut off; ` +
        `${duplicates} duplicates; at most ${sink.maxConcurrentData} messages and ${sink.maxOpenConnections} connections at once at the MX`,
    );
    assert.ok(sink.maxConcurrentData >= 1);
    assert.ok(sink.maxConcurrentData <= DESTINATION_CONCURRENCY, `at most ${DESTINATION_CONCURRENCY} deliveries at once, saw ${sink.maxConcurrentData}`);
  } finally {
    for (const tr of transports) tr.close();
    for (const n of nodes) {
      await n.stop();
      rmSync(n.dataDir, { recursive: true, force: true });
    }
    await sink.close();
    await dns.close();
    await schema.drop();
  }
});
