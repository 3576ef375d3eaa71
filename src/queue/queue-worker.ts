/**
 * The writer thread behind ThreadedQueueStore: owns one SQLite connection and the
 * SqliteQueueStore on it, answers calls in arrival order, and sends every commit's events to
 * every connected client (the main thread, the delivery thread).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { openSqlite } from '../storage/index.js';
import { SqliteQueueStore } from './sqlite-queue-store.js';
import type { MailEvent } from '../core/index.js';
import type { NewMessage, QueueStore } from './types.js';

type Method = Exclude<keyof QueueStore, 'onCommit'> | 'ready';

export type WorkerRequest =
  | { kind: 'call'; id: number; method: Method; args: unknown[] }
  /** Another thread's client: requests and commit events over its own port. */
  | { kind: 'connect'; port: MessagePort };

export type WorkerReply =
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: { message: string; name: string; code?: string } }
  | { kind: 'commit'; events: MailEvent[] };

/** Bodies arrive as Uint8Array (structured clone); SQLite binds them as BLOBs only as Buffers. */
function asMessage(msg: NewMessage): NewMessage {
  const body = msg.body as Uint8Array;
  return { ...msg, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
}

interface Client {
  postMessage(message: WorkerReply): void;
  on(event: 'message', listener: (req: WorkerRequest) => void): void;
}

if (parentPort && (workerData as { role?: string } | null)?.role === 'queue-store') {
  const store = new SqliteQueueStore(openSqlite((workerData as { file: string }).file));
  const clients = new Set<Client>();
  store.onCommit((events) => {
    for (const client of clients) client.postMessage({ kind: 'commit', events });
  });

  const serve = (client: Client) => {
    clients.add(client);
    client.on('message', (req) => {
      if (req.kind === 'connect') return serve(req.port as unknown as Client);
      call(req.method, req.args).then(
        (value) => client.postMessage({ kind: 'result', id: req.id, ok: true, value }),
        (err: Error & { code?: string }) => client.postMessage({ kind: 'result', id: req.id, ok: false, error: { message: err.message, name: err.name, code: err.code } }),
      );
    });
    (client as unknown as MessagePort).on?.('close', () => clients.delete(client));
  };

  const call = (method: Method, args: unknown[]): Promise<unknown> => {
    try {
      switch (method) {
        case 'ready':
          return Promise.resolve(true);
        case 'enqueue':
          return store.enqueue(asMessage(args[0] as NewMessage));
        case 'recordAttempt': {
          const rec = args[0] as Parameters<QueueStore['recordAttempt']>[0];
          return store.recordAttempt({ ...rec, dsns: rec.dsns?.map(asMessage) });
        }
        default:
          return (store[method] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      }
    } catch (err) {
      return Promise.reject(err);
    }
  };

  serve(parentPort as unknown as Client);
}
