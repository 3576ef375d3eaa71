/**
 * The writer thread behind ThreadedQueueStore: owns one SQLite connection and the
 * SqliteQueueStore on it, answers calls in arrival order, and forwards every commit's events.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite } from '../storage/index.js';
import { SqliteQueueStore } from './sqlite-queue-store.js';
import type { MailEvent } from '../core/index.js';
import type { NewMessage, QueueStore } from './types.js';

type Method = Exclude<keyof QueueStore, 'onCommit'> | 'ready';

export interface WorkerRequest {
  id: number;
  method: Method;
  args: unknown[];
}

export type WorkerReply =
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: { message: string; name: string; code?: string } }
  | { kind: 'commit'; events: MailEvent[] };

/** Bodies arrive as Uint8Array (structured clone); SQLite binds them as BLOBs only as Buffers. */
function asMessage(msg: NewMessage): NewMessage {
  const body = msg.body as Uint8Array;
  return { ...msg, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
}

if (parentPort) {
  const port = parentPort;
  const store = new SqliteQueueStore(openSqlite((workerData as { file: string }).file));
  store.onCommit((events) => port.postMessage({ kind: 'commit', events } satisfies WorkerReply));

  port.on('message', (req: WorkerRequest) => {
    let work: Promise<unknown>;
    try {
      const args = req.args;
      switch (req.method) {
        case 'ready':
          work = Promise.resolve(true);
          break;
        case 'enqueue':
          work = store.enqueue(asMessage(args[0] as NewMessage));
          break;
        case 'recordAttempt': {
          const rec = args[0] as Parameters<QueueStore['recordAttempt']>[0];
          work = store.recordAttempt({ ...rec, dsns: rec.dsns?.map(asMessage) });
          break;
        }
        default:
          work = (store[req.method] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      }
    } catch (err) {
      work = Promise.reject(err);
    }
    work.then(
      (value) => port.postMessage({ kind: 'result', id: req.id, ok: true, value } satisfies WorkerReply),
      (err: Error & { code?: string }) =>
        port.postMessage({ kind: 'result', id: req.id, ok: false, error: { message: err.message, name: err.name, code: err.code } } satisfies WorkerReply),
    );
  });
}
