// The webhook step's receiver: what a user's endpoint does, and nothing more. Every request's
// Standard Webhooks signature is verified with the standardwebhooks library (the secret is looked
// up by the request's path), the request is counted and answered 204 at once. Run as its own
// process (`node --import tsx bench/webhook-receiver.ts [--slow=MIN-MAX] HOST:PORT [HOST:PORT …]`),
// listening on each address given, so that its CPU is not mixed with the sender's, for Herald and
// the bare loop alike. With --slow, requests to paths under /slow/ are answered after a random
// MIN to MAX milliseconds, like an endpoint across a network. Control calls, on any address:
//   PUT  /_secrets   {"/path": "whsec_…", …}   the secret of each path
//   POST /_reset                              counts back to zero
//   GET  /_wait?total=N                       answers once N requests have arrived, with the counts
//   PUT  /_record?path=/p                     keep the body of each event first received at /p…
//   GET  /_recorded                           …and hand them out, in order of arrival
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface ReceiverCounts {
  /** Requests received since the last reset. */
  total: number;
  /** Distinct (path, webhook-id) pairs among them. */
  unique: number;
  /** Requests whose signature did not verify, and the first reason. */
  refused: number;
  firstRefusal: string | null;
}

const [SLOW_MIN, SLOW_MAX] = (process.argv.find((a) => a.startsWith('--slow='))?.slice(7) ?? '0-0').split('-').map(Number) as [number, number];
const secrets = new Map<string, Webhook>();
let seen = new Set<string>();
let counts: ReceiverCounts = { total: 0, unique: 0, refused: 0, firstRefusal: null };
let waiters: { total: number; res: http.ServerResponse }[] = [];
let recordPath: string | null = null;
const recorded: { id: string; body: string }[] = [];

const json = (res: http.ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

function received(path: string, headers: http.IncomingHttpHeaders, body: string): void {
  counts.total++;
  const id = String(headers['webhook-id'] ?? '');
  const key = `${path} ${id}`;
  if (!seen.has(key)) {
    seen.add(key);
    counts.unique++;
    if (path === recordPath) recorded.push({ id, body });
  }
  const wh = secrets.get(path);
  try {
    if (!wh) throw new Error(`no secret for ${path}`);
    wh.verify(body, headers as Record<string, string>);
  } catch (err) {
    counts.refused++;
    counts.firstRefusal ??= `${path} ${id}: ${(err as Error).message}`;
  }
  if (waiters.length && waiters.some((w) => counts.total >= w.total)) {
    waiters = waiters.filter((w) => (counts.total >= w.total ? (json(w.res, 200, counts), false) : true));
  }
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const body = Buffer.concat(chunks).toString('utf8');
    if (url.pathname === '/_secrets' && req.method === 'PUT') {
      for (const [path, secret] of Object.entries(JSON.parse(body) as Record<string, string>)) secrets.set(path, new Webhook(secret));
      return json(res, 200, { paths: secrets.size });
    }
    if (url.pathname === '/_reset' && req.method === 'POST') {
      seen = new Set();
      counts = { total: 0, unique: 0, refused: 0, firstRefusal: null };
      return json(res, 200, counts);
    }
    if (url.pathname === '/_record' && req.method === 'PUT') {
      recordPath = url.searchParams.get('path');
      recorded.length = 0;
      return json(res, 200, { path: recordPath });
    }
    if (url.pathname === '/_recorded') return json(res, 200, recorded);
    if (url.pathname === '/_wait') {
      const total = Number(url.searchParams.get('total'));
      if (counts.total >= total) return json(res, 200, counts);
      waiters.push({ total, res });
      return;
    }
    received(url.pathname, req.headers, body);
    if (url.pathname.startsWith('/slow/')) setTimeout(() => res.writeHead(204).end(), SLOW_MIN + Math.random() * (SLOW_MAX - SLOW_MIN));
    else res.writeHead(204).end();
  });
}

const servers: http.Server[] = [];
for (const address of process.argv.slice(2).filter((a) => !a.startsWith('--'))) {
  const [host, port] = address.split(':');
  const server = http.createServer(handle);
  // Herald and the bare loop both keep connections open between requests.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(Number(port), host, resolve));
  servers.push(server);
}
console.log(`webhook-receiver listening on ${process.argv.slice(2).join(', ')}`);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    for (const s of servers) s.closeAllConnections();
    process.exit(0);
  });
}
