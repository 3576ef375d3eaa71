/**
 * "A Herald restart loses no webhook": Herald runs as its own process with one webhook endpoint
 * at a receiver on loopback that verifies every request with the standardwebhooks library.
 * Messages sent over the API are delivered to an SMTP sink, so accepted and delivered events
 * flow: a first half until the receiver has all of their events (so Herald has written its
 * progress), then a second half, during which the receiver stops answering — the requests that
 * arrive stay open, really in flight — and Herald is killed with SIGKILL, then restarted on the
 * same data directory. Every event the restarted Herald serves from its pull API must reach the
 * receiver; Herald resumes from the progress it had written, so what it sends again is exactly
 * what came after that, with the same webhook-id and the same body.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { SqlDatabase } from '../../src/storage/index.js';
import { call } from '../support/api.js';
import { startDnsServer } from '../support/dns-server.js';
import { dataDirEnv, openRecordsOf, restartableEnv } from '../support/engine.js';
import { tempDir } from '../support/herald.js';
import { STRICT } from '../support/peers.js';
import { freePort, heraldUnavailable, startHerald, type HeraldProcess } from '../support/processes.js';
import { startSmtpSink } from '../support/smtp-sink.js';

const MESSAGES = 300;
/** Requests of the second half the receiver answers before it starts holding them. */
const KILL_AFTER = 20;
const WAIT_MS = 90_000;

interface Delivery {
  id: string;
  body: string;
  /** true, or why Webhook.verify refused the request. */
  verified: true | string;
  afterRestart: boolean;
}

interface HoldingReceiver {
  url: string;
  secret: string | null;
  readonly deliveries: Delivery[];
  /** The requests received while holding, still unanswered. */
  readonly held: Delivery[];
  /** From now on, requests are read and recorded but not answered. */
  hold(): void;
  /** Herald is gone: drops the held requests and answers at once from now on. */
  reopen(): void;
  /** Resolves when `done()` holds, checked now and at every request; rejects with `what` after WAIT_MS. */
  until(what: () => string | Promise<string>, done: () => boolean | Promise<boolean>): Promise<void>;
  close(): Promise<void>;
}

/** A user's receiver: verifies, records and answers 204 — or holds the answer, while told to. */
async function startHoldingReceiver(): Promise<HoldingReceiver> {
  const deliveries: Delivery[] = [];
  const held: { delivery: Delivery; res: http.ServerResponse }[] = [];
  const checks = new Set<() => void>();
  let holding = false;
  let afterRestart = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let verified: true | string = true;
      try {
        new Webhook(receiver.secret ?? 'whsec_').verify(body, headers);
      } catch (err) {
        verified = (err as Error).message;
      }
      const delivery: Delivery = { id: headers['webhook-id'] ?? '', body, verified, afterRestart };
      deliveries.push(delivery);
      if (holding) held.push({ delivery, res });
      else res.writeHead(204).end();
      for (const check of [...checks]) check();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: HoldingReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/herald-events`,
    secret: null,
    deliveries,
    get held() {
      return held.map((h) => h.delivery);
    },
    hold() {
      holding = true;
    },
    reopen() {
      for (const h of held.splice(0)) h.res.destroy();
      holding = false;
      afterRestart = true;
    },
    until(what, done) {
      return new Promise((resolve, reject) => {
        let settled = false;
        const settle = (err?: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          checks.delete(check);
          if (err) reject(err);
          else resolve();
        };
        const timer = setTimeout(() => void Promise.resolve(what()).then((why) => settle(new Error(`receiver: ${why} after ${WAIT_MS / 1000} s`)), settle), WAIT_MS);
        // `done` may read the database: an answer that comes after the wait has ended counts for nothing.
        const check = () => void Promise.resolve(done()).then((ok) => ok && settle(), settle);
        checks.add(check);
        check();
      });
    },
    async close() {
      for (const h of held.splice(0)) h.res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

interface PulledEvent {
  cursor: string;
  type: string;
  timestamp: string;
  data: { event_id: string; message_id?: string } & Record<string, unknown>;
}

/** Every event of the key's account after `after`, from the pull API. */
async function pullAll(base: string, key: string, after: string, type?: string): Promise<PulledEvent[]> {
  const all: PulledEvent[] = [];
  for (let cursor = after; ; ) {
    const page = await call(base, 'GET', `/api/v1/events?after=${cursor}&limit=1000${type ? `&type=${type}` : ''}`, { key });
    assert.equal(page.status, 200, JSON.stringify(page.body));
    all.push(...(page.body.events as PulledEvent[]));
    cursor = String(page.body.next_cursor);
    if (!page.body.has_more) return all;
  }
}

test('SIGKILL while webhooks are in flight loses no event, and a redelivery carries the same webhook-id and body', async (t) => {
  const why = heraldUnavailable();
  if (why) {
    if (STRICT) throw new Error(`HERALD_TEST_STRICT=1 and Herald cannot be started: ${why}`);
    return t.skip(why);
  }
  const dns = await startDnsServer();
  const sinkPort = await freePort('127.0.0.2');
  const sink = await startSmtpSink({ host: '127.0.0.2', port: sinkPort });
  dns.setZone({ 'hooks.test': { MX: [{ preference: 10, exchange: 'mx.hooks.test' }] }, 'mx.hooks.test': { A: ['127.0.0.2'] } });
  const receiver = await startHoldingReceiver();
  // Both runs share the data directory and the ports.
  const httpPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const options = {
    dataDir: tempDir('herald-webhook-crash-'),
    env: {
      HERALD_DNS_SERVERS: dns.server,
      HERALD_OUTBOUND_PORT: String(sinkPort),
      HERALD_RETRY_SCHEDULE: '200ms',
      HERALD_LOG_LEVEL: 'warn',
      HERALD_HTTP_PORT: String(httpPort),
      HERALD_HTTP_BIND: '127.0.0.1',
      // The receiver is on loopback.
      HERALD_WEBHOOK_ALLOW_PRIVATE: 'true',
      ...restartableEnv(),
    },
  };
  let herald: HeraldProcess = await startHerald(options);
  let db: SqlDatabase | null = null;

  try {
    const { key } = JSON.parse(await herald.cli(['api-keys', 'create', '--name', 'crash', '--scope', 'admin', '--json'])) as { key: string };
    const created = await call(base, 'POST', '/api/v1/webhooks', { key, body: { url: receiver.url, description: 'crash test' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    receiver.secret = created.body.secret as string;
    const startCursor = created.body.cursor as string;

    // Ten sends in flight at a time; the ones the kill cuts off were never promised.
    const acknowledged = new Set<string>();
    const send = async (from: number, to: number) => {
      let next = from;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < to) {
            const seq = next++;
            try {
              const sent = await call(base, 'POST', '/api/v1/messages', {
                key,
                body: { from: 'app@sender.test', to: `user${seq}@hooks.test`, subject: `seq ${seq}`, text: `message ${seq}`, tags: ['crash'], metadata: { seq: String(seq) } },
              });
              if (sent.status === 202) acknowledged.add(sent.body.id as string);
            } catch {
              // Cut off by the kill.
            }
          }
        }),
      );
    };
    // The endpoint's progress as Herald stored it — what a restarted Herald resumes from.
    db = await openRecordsOf(dataDirEnv(options.dataDir));
    const records = db;
    const storedCursor = async () => (await records.get<{ cursor: number }>('SELECT cursor FROM webhook_endpoints WHERE id = ?', [created.body.id]))!.cursor;

    // The first half, until the receiver has both events of every message.
    await send(0, MESSAGES / 2);
    const firstHalf = new Set(acknowledged);
    const eventsOf = (types: string[]) => receiver.deliveries.filter((d) => types.some((type) => d.body.startsWith(`{"type":"${type}"`))).map((d) => JSON.parse(d.body).data.message_id as string);
    const complete = (ids: Set<string>) => (['message.accepted', 'message.delivered'] as const).every((type) => new Set(eventsOf([type]).filter((id) => ids.has(id))).size === ids.size);
    await receiver.until(() => `not every event of the first ${firstHalf.size} messages arrived`, () => complete(firstHalf));
    const firstHalfRequests = receiver.deliveries.length;

    // The second half; once its events flow (and Herald has stored progress), answers are held.
    const sending = send(MESSAGES / 2, MESSAGES);
    await receiver.until(
      async () => `no progress stored (cursor ${await storedCursor()}) or no request of the second half (${receiver.deliveries.length - firstHalfRequests})`,
      async () => receiver.deliveries.length > firstHalfRequests + KILL_AFTER && (await storedCursor()) > Number(startCursor),
    );
    receiver.hold();
    await receiver.until(() => 'no request arrived to hold', () => receiver.held.length > 0);
    const killed = new Promise((resolve) => herald.child.once('exit', resolve));
    herald.child.kill('SIGKILL');
    await killed;
    await sending;
    const resumeAt = await storedCursor();
    const inFlight = receiver.held;
    const beforeKill = receiver.deliveries.length;
    receiver.reopen();
    t.diagnostic(`killed after ${beforeKill} requests (${inFlight.length} unanswered), ${acknowledged.size} of ${MESSAGES} sends acknowledged; progress stored at ${resumeAt}`);

    herald = await startHerald({ ...options, network: null });

    // Nothing is sent after the restart, so the accepted events are all there is; every message
    // ends delivered (the sink takes everything), and those events are committed in their turn.
    const accepted = await pullAll(base, key, startCursor, 'message.accepted');
    const acceptedIds = new Set(accepted.map((e) => e.data.message_id!));
    assert.deepEqual([...acknowledged].filter((id) => !acceptedIds.has(id)), [], 'every acknowledged message has its accepted event');
    await receiver.until(
      () => `delivered events for ${new Set(eventsOf(['message.delivered'])).size} of ${acceptedIds.size} accepted messages`,
      () => complete(acceptedIds),
    );

    const committed = await pullAll(base, key, startCursor);
    const receivedIds = () => new Set(receiver.deliveries.map((d) => d.id));
    const missing = () => committed.filter((e) => !receivedIds().has(e.data.event_id)).map((e) => `${e.data.event_id} (${e.type})`);
    await receiver.until(() => `${missing().length} committed events never arrived: ${missing().slice(0, 10).join(', ')}`, () => missing().length === 0);

    // Every request verified, and carried its own event: webhook-id is data.event_id.
    const refused = receiver.deliveries.filter((d) => d.verified !== true);
    assert.deepEqual(refused.map((d) => `${d.id}: ${d.verified}`), [], 'every signature verifies');
    for (const d of receiver.deliveries) assert.equal(JSON.parse(d.body).data.event_id, d.id);

    // A redelivery is the same event: the same webhook-id and byte for byte the same body.
    const byId = new Map<string, Delivery[]>();
    for (const d of receiver.deliveries) byId.set(d.id, [...(byId.get(d.id) ?? []), d]);
    const repeated = [...byId.values()].filter((ds) => ds.length > 1);
    for (const ds of repeated) {
      for (const d of ds.slice(1)) assert.equal(d.body, ds[0].body, `redelivery of ${d.id} has the same body`);
    }
    // The restart resumed where Herald had written its progress: everything after it that had
    // arrived before the kill (the requests still open at the kill among them) came again, and
    // nothing before it did.
    const final = new Map((await pullAll(base, key, startCursor)).map((e) => [e.data.event_id, e]));
    const seqOf = (id: string) => Number(final.get(id)?.cursor ?? NaN);
    assert.deepEqual([...byId.keys()].filter((id) => !final.has(id)), [], 'every webhook-id is an event of the pull API');
    const earlyAgain = receiver.deliveries.filter((d) => d.afterRestart && seqOf(d.id) <= resumeAt).map((d) => d.id);
    assert.deepEqual(earlyAgain, [], `nothing at or before the stored progress (${resumeAt}) is sent again`);
    const notAgain = receiver.deliveries.slice(0, beforeKill).filter((d) => seqOf(d.id) > resumeAt && !byId.get(d.id)!.some((x) => x.afterRestart));
    assert.deepEqual(notAgain.map((d) => d.id), [], 'what arrived after the stored progress is sent again after the restart');
    assert.ok(inFlight.every((h) => seqOf(h.id) > resumeAt));
    assert.ok(repeated.length >= inFlight.length);

    // Push and pull agree on every event.
    for (const [id, [d]] of byId) {
      const { cursor: _cursor, ...pulled } = final.get(id)!;
      assert.deepEqual(JSON.parse(d.body), pulled, `${id}: the webhook body is the pull API's event`);
    }
    t.diagnostic(`${committed.length} events committed, ${receiver.deliveries.length} requests, ${repeated.length} events sent more than once`);
  } finally {
    await db?.close();
    await herald.stop();
    if (!process.env.HERALD_TEST_KEEP_TMP) rmSync(options.dataDir, { recursive: true, force: true });
    await receiver.close();
    await sink.close();
    await dns.close();
  }
});
