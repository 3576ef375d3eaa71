import type { MailEvent } from '../core/index.js';

/** The queue's outbox read (`QueueStore.readEvents`): events with seq > afterSeq, in seq order. */
export type ReadEvents = (afterSeq: number, limit: number) => Promise<MailEvent[]>;

/** Writes an event to the outbox (`QueueStore.recordEvent`); resolves once durable. */
export type RecordEvent = (event: MailEvent) => Promise<void>;

/**
 * The newest seq in the outbox (0 when empty), found with the outbox read alone: readEvents(x, 1)
 * is empty exactly when x >= the newest seq, so a doubling search then a binary search find it in
 * about 2·log2(seq) indexed reads. A new endpoint starts there, so it is not sent the history.
 */
export async function outboxHead(readEvents: ReadEvents): Promise<number> {
  const after = async (x: number) => (await readEvents(x, 1))[0]?.seq ?? null;
  const first = await after(0);
  if (first === null) return 0;
  // Invariant: an event exists after lo; none exists after hi.
  let lo = first;
  let hi = Math.max(2 * first, 1);
  for (let seen = await after(hi); seen !== null; seen = await after(hi)) {
    lo = seen;
    hi = 2 * seen;
  }
  // Every event seen lies at or below the head: jump lo to it.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const seen = await after(mid);
    if (seen === null) hi = mid;
    else lo = Math.max(mid, seen);
  }
  return (await after(lo)) === null ? lo : hi;
}

/**
 * The outbox as many endpoints read it: endpoints that are caught up all read the same newest
 * events, so those are kept in memory (a contiguous window) and one outbox read serves them all.
 * An endpoint replaying older events reads the store directly. What the window holds is exactly
 * what the store held: it only grows by a read that starts where it ends.
 */
export class OutboxReader {
  private window: MailEvent[] = [];
  /** The window holds every event with from < seq <= its last seq; -1 while empty. */
  private from = -1;

  constructor(
    private readonly readEvents: ReadEvents,
    private readonly maxWindow = 5000,
  ) {}

  private get last(): number {
    return this.window.length ? this.window[this.window.length - 1].seq! : this.from;
  }

  async read(afterSeq: number, limit: number): Promise<MailEvent[]> {
    if (this.from >= 0 && afterSeq >= this.from && afterSeq < this.last) {
      let lo = 0;
      let hi = this.window.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.window[mid].seq! <= afterSeq) lo = mid + 1;
        else hi = mid;
      }
      return this.window.slice(lo, lo + limit);
    }
    const fresh = await this.readEvents(afterSeq, limit);
    if (fresh.length > 0) {
      // Checked after the read: another reader may have moved the window meanwhile.
      if (this.from >= 0 && afterSeq === this.last) this.window.push(...fresh);
      else if (this.from < 0 || afterSeq > this.last) {
        this.window = [...fresh];
        this.from = afterSeq;
      }
      if (this.window.length > this.maxWindow) {
        const drop = this.window.length - this.maxWindow;
        this.from = this.window[drop - 1].seq!;
        this.window = this.window.slice(drop);
      }
    }
    return fresh;
  }
}
