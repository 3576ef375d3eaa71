// The webhook step's baseline: a plain Node loop that POSTs the same payloads Herald sends, signed
// the same way (standardwebhooks, one signature, the same headers), to the same receiver with the
// same number of requests in flight per endpoint and a keep-alive agent like Herald's — and does
// nothing else: no outbox, no bookkeeping, no retries. Run as its own process so its CPU and
// memory are measured like Herald's:
//   node --import tsx bench/bare-webhooks.ts FILE
// FILE is JSON: { targets: [{ url, secret }], inFlight, payloads: [{ id, body }] }. The process
// prints "ready" once the payloads are loaded, starts when a line arrives on stdin, and prints one
// JSON line at the end: { seconds, requests, failed, heapPeak, rssPeak }.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Webhook } from 'standardwebhooks';

interface Job {
  targets: { url: string; secret: string }[];
  inFlight: number;
  payloads: { id: string; body: string }[];
}

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Job;
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: job.inFlight, scheduling: 'lifo' });
let heapPeak = 0;
let rssPeak = 0;
const sample = () => {
  const m = process.memoryUsage();
  heapPeak = Math.max(heapPeak, m.heapUsed);
  rssPeak = Math.max(rssPeak, m.rss);
};

function post(url: URL, wh: Webhook, payload: { id: string; body: string }): Promise<boolean> {
  const now = new Date();
  const body = Buffer.from(payload.body);
  return new Promise((resolve) => {
    const req = http.request(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': 'bare-webhooks',
          'webhook-id': payload.id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': wh.sign(payload.id, now, payload.body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      },
    );
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

/** Every payload to one endpoint, `inFlight` workers taking the next one as soon as theirs is answered. */
async function drain(target: { url: string; secret: string }): Promise<number> {
  const url = new URL(target.url);
  const wh = new Webhook(target.secret);
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: job.inFlight }, async () => {
      while (next < job.payloads.length) {
        if (!(await post(url, wh, job.payloads[next++]!))) failed++;
      }
    }),
  );
  return failed;
}

console.log('ready');
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
const sampler = setInterval(sample, 100);
const t0 = process.hrtime.bigint();
const failed = (await Promise.all(job.targets.map(drain))).reduce((a, b) => a + b, 0);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
clearInterval(sampler);
sample();
console.log(JSON.stringify({ seconds, requests: job.payloads.length * job.targets.length, failed, heapPeak, rssPeak }));
lines.close();
agent.destroy();
