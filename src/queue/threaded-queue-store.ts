import { Worker } from 'node:worker_threads';
import type { MailEvent, MessageId } from '../core/index.js';
import type {
  AttemptRecord,
  ClaimRequest,
  DeliveryBatch,
  ListRequest,
  MessageDetail,
  MessageSummary,
  NewMessage,
  QueueStore,
  RecipientState,
} from './types.js';
import type { WorkerReply, WorkerRequest } from './queue-worker.js';

function sourceBootstrap(workerUrl: URL): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(workerUrl.href)});`;
}

/**
 * The SQLite queue on a writer thread. `SqliteQueueStore` runs unchanged inside a worker; this
 * class forwards each call to it. Why: SMTP parsing and SQLite (statements and the fsync of every
 * commit) then use the two cores in parallel instead of taking turns on the main thread. Group
 * commit still happens: requests arriving while the worker waits on an fsync are drained together
 * in its next turn and share one transaction.
 *
 * Promises resolve in the order the worker answers; commit events reach `onCommit` listeners
 * before the call that caused them resolves, exactly as with the in-thread store.
 */
export class ThreadedQueueStore implements QueueStore {
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners: ((events: MailEvent[]) => void)[] = [];
  private nextId = 1;
  private closed: Promise<void> | null = null;
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the queue writer thread exited (code ${code})`)));
  }

  /** Starts the writer thread on the database file and resolves once its migrations ran. */
  static async open(file: string): Promise<ThreadedQueueStore> {
    const here = import.meta.url;
    // Under tsx the sources are .ts; the compiled build is .js next to this file.
    const fromSource = here.endsWith('.ts');
    const workerUrl = new URL(fromSource ? './queue-worker.ts' : './queue-worker.js', here);
    // Run from TypeScript sources (tests, `npm run bench`), the worker must register tsx itself:
    // Node 20 does not carry a parent's module hooks into worker threads.
    const entry = fromSource ? new URL(`data:text/javascript,${encodeURIComponent(sourceBootstrap(workerUrl))}`) : workerUrl;
    const worker = new Worker(entry, { workerData: { file } });
    const store = new ThreadedQueueStore(worker);
    await store.call('ready', []);
    return store;
  }

  private onReply(reply: WorkerReply): void {
    if (reply.kind === 'commit') {
      for (const listener of this.listeners) listener(reply.events);
      return;
    }
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.value);
    else waiter.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name, code: reply.error.code }));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }

  private call<T>(method: WorkerRequest['method'], args: unknown[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies WorkerRequest);
    });
  }

  enqueue(msg: NewMessage): Promise<void> {
    return this.call('enqueue', [msg]);
  }
  claimDue(req: ClaimRequest): Promise<DeliveryBatch[]> {
    return this.call('claimDue', [req]);
  }
  recordAttempt(rec: AttemptRecord): Promise<void> {
    return this.call('recordAttempt', [rec]);
  }
  reapExpiredLeases(now: Date, options?: { all?: boolean }): Promise<number> {
    return this.call('reapExpiredLeases', [now, options]);
  }
  nextDueAt(): Promise<Date | null> {
    return this.call('nextDueAt', []);
  }
  async getBody(id: MessageId): Promise<Buffer | null> {
    // Structured clone turns a Buffer into a plain Uint8Array; view it as a Buffer again.
    const body = await this.call<Uint8Array | null>('getBody', [id]);
    return body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : null;
  }
  get(id: MessageId): Promise<MessageDetail | null> {
    return this.call('get', [id]);
  }
  list(req: ListRequest): Promise<MessageSummary[]> {
    return this.call('list', [req]);
  }
  retryNow(id: MessageId | 'all', now: Date): Promise<number> {
    return this.call('retryNow', [id, now]);
  }
  hold(id: MessageId, now: Date): Promise<number> {
    return this.call('hold', [id, now]);
  }
  release(id: MessageId, now: Date): Promise<number> {
    return this.call('release', [id, now]);
  }
  remove(id: MessageId, now: Date): Promise<boolean> {
    return this.call('remove', [id, now]);
  }
  readEvents(afterSeq: number, limit: number): Promise<MailEvent[]> {
    return this.call('readEvents', [afterSeq, limit]);
  }
  countByState(): Promise<Record<RecipientState, number>> {
    return this.call('countByState', []);
  }
  onCommit(listener: (events: MailEvent[]) => void): void {
    this.listeners.push(listener);
  }
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (!this.failure) await this.call('close', []);
      await this.worker.terminate();
    })();
    return this.closed;
  }
}
