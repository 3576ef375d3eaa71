import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A request a receiver got, and whether its Standard Webhooks signature checked out. */
export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: any;
  /** true, or why Webhook.verify refused it. */
  verified: true | string;
}

export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Hold the answer this long (a slow endpoint). */
  delayMs?: number;
  /** Never answer (a timeout). */
  hang?: boolean;
}

export interface WebhookReceiver {
  url(path?: string): string;
  readonly requests: ReceivedWebhook[];
  /** The most requests that were ever waiting for their answer at once. */
  readonly mostInFlight: number;
  /** The secret requests are verified with (set it from the creation answer). */
  secret: string | null;
  /** Decides each answer; default 200 "ok". */
  answer: (req: ReceivedWebhook, index: number) => Answer;
  /** Resolves when at least `count` requests arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/**
 * A webhook endpoint on 127.0.0.1 that checks every request with the standardwebhooks library —
 * what a user's receiver does. `now` is the time verification happens at: Webhook.verify refuses
 * timestamps more than 5 minutes from Date.now(), and a test's clock may be hours ahead.
 */
export async function startWebhookReceiver(options: { now?: () => number } = {}): Promise<WebhookReceiver> {
  const waiters = new Set<() => void>();
  const hanging = new Set<http.ServerResponse>();
  let inFlight = 0;
  let mostInFlight = 0;
  const receiver: WebhookReceiver = {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    requests: [],
    get mostInFlight() {
      return mostInFlight;
    },
    secret: null,
    answer: () => ({ status: 200, body: 'ok' }),
    waitFor(count, timeoutMs = 20_000) {
      if (receiver.requests.length >= count) return Promise.resolve(receiver.requests);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} webhook requests, got ${receiver.requests.length}`));
        }, timeoutMs);
        const check = () => {
          if (receiver.requests.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(receiver.requests);
        };
        waiters.add(check);
      });
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let verified: true | string = 'no secret set';
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        // Kept as text.
      }
      if (receiver.secret) {
        try {
          verifyAt(options.now?.() ?? Date.now(), () => new Webhook(receiver.secret!).verify(body, headers));
          verified = true;
        } catch (err) {
          verified = (err as Error).message;
        }
      }
      const received: ReceivedWebhook = { path: req.url ?? '', headers, body, json, verified };
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      const index = receiver.requests.length;
      receiver.requests.push(received);
      for (const w of [...waiters]) w();
      const answer = receiver.answer(received, index);
      if (answer.hang) {
        hanging.add(res);
        return;
      }
      // Counted out before the answer is written: the client cannot send its next request sooner.
      const send = () => {
        inFlight--;
        res.writeHead(answer.status, answer.headers ?? { 'content-type': 'text/plain' }).end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return receiver;
}

/** Runs a synchronous check with Date.now() reading `now`. */
function verifyAt<T>(now: number, check: () => T): T {
  const real = Date.now;
  Date.now = () => now;
  try {
    return check();
  } finally {
    Date.now = real;
  }
}
