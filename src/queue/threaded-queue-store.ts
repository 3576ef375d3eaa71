import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { threadEntry, type MailEvent, type MessageId } from '../core/index.js';
import type {
  AttemptRecord,
  ClaimRequest,
  DeliveryBatch,
  LateBounce,
  ListRequest,
  MessageDetail,
  MessageMeta,
  MessageSummary,
  NewMessage,
  QueueGauges,
  QueueStore,
  RecipientState,
} from './types.js';
import type { WorkerReply, WorkerRequest } from './queue-worker.js';

/**
 * The SQLite queue on a writer thread. `SqliteQueueStore` runs unchanged inside a worker; this
 * class forwards each call to it. Why: SMTP parsing and SQLite (statements and the fsync of every
 * commit) then use the two cores in parallel instead of taking turns on the main thread. Group
 * commit still happens: requests arriving while the worker waits on an fsync are drained together
 * in its next turn and share one transaction.
 *
 * Promises resolve in the order the worker answers; commit events reach `onCommit` listeners
 * before the call that caused them resolves, exactly as with the in-thread store. Another thread
 * (delivery) gets its own client with `connectPort()` + `attach()`; every client hears every
 * commit, whoever made it.
 */
export class ThreadedQueueStore implements QueueStore {
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners: ((events: MailEvent[]) => void)[] = [];
  private readonly failureListeners: ((err: Error) => void)[] = [];
  private nextId = 1;
  private closed: Promise<void> | null = null;
  private failure: Error | null = null;

  /** `worker` is set for the client that owns the thread; attached clients only hold a port. */
  private constructor(
    private readonly port: Worker | MessagePort,
    private readonly worker?: Worker,
  ) {
    port.on('message', (reply: WorkerReply) => this.onReply(reply));
    if (worker) {
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => this.fail(new Error(`the queue writer thread exited (code ${code})`)));
    } else {
      port.on('close', () => this.fail(new Error('the connection to the queue writer thread closed')));
    }
  }

  /** Starts the writer thread on the database file and resolves once its migrations ran. */
  static async open(file: string): Promise<ThreadedQueueStore> {
    const worker = new Worker(threadEntry(import.meta.url, './queue-worker'), { workerData: { role: 'queue-store', file } });
    const store = new ThreadedQueueStore(worker, worker);
    await store.call('ready', []);
    return store;
  }

  /** A port to hand to another thread, which turns it into a client with `attach`. */
  connectPort(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.port.postMessage({ kind: 'connect', port: port2 } satisfies WorkerRequest, [port2]);
    return port1;
  }

  /** A client over a port from `connectPort()` (in another thread). */
  static async attach(port: MessagePort): Promise<ThreadedQueueStore> {
    const store = new ThreadedQueueStore(port);
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

  /** Called once if the store thread dies or the connection to it is lost (not on close()). */
  onFailure(listener: (err: Error) => void): void {
    this.failureListeners.push(listener);
  }

  private fail(err: Error): void {
    if (!this.failure && !this.closed) for (const listener of this.failureListeners) listener(err);
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }

  private call<T>(method: Extract<WorkerRequest, { kind: 'call' }>['method'], args: unknown[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ kind: 'call', id, method, args } satisfies WorkerRequest);
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
  postpone(batch: DeliveryBatch, until: Date, now: Date): Promise<number> {
    return this.call('postpone', [batch, until, now]);
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
  metaOf(ids: readonly MessageId[]): Promise<Map<MessageId, MessageMeta>> {
    return this.call('metaOf', [ids]);
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
  purgeFinished(olderThan: Date, limit: number): Promise<number> {
    return this.call('purgeFinished', [olderThan, limit]);
  }
  purgeEvents(olderThan: Date, limit: number): Promise<number> {
    return this.call('purgeEvents', [olderThan, limit]);
  }
  readEvents(afterSeq: number, limit: number): Promise<MailEvent[]> {
    return this.call('readEvents', [afterSeq, limit]);
  }
  recordEvent(event: MailEvent): Promise<void> {
    return this.call('recordEvent', [event]);
  }
  recordLateBounce(report: LateBounce): Promise<{ accountId: string; address: string } | null> {
    return this.call('recordLateBounce', [report]);
  }
  eventsOf(id: MessageId, limit: number): Promise<MailEvent[]> {
    return this.call('eventsOf', [id, limit]);
  }
  countByState(): Promise<Record<RecipientState, number>> {
    return this.call('countByState', []);
  }
  releaseLeases(owner: string, now: Date): Promise<number> {
    return this.call('releaseLeases', [owner, now]);
  }
  gauges(): Promise<QueueGauges> {
    return this.call('gauges', []);
  }
  onCommit(listener: (events: MailEvent[]) => void): void {
    this.listeners.push(listener);
  }
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (!this.worker) {
        // An attached client leaves the store open for its owner.
        (this.port as MessagePort).close();
        return;
      }
      if (!this.failure) await this.call('close', []);
      await this.worker.terminate();
    })();
    return this.closed;
  }
}
