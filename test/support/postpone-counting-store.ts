import { SqliteQueueStore, type DeliveryBatch } from '../../src/queue/index.js';

/**
 * The real SQLite queue store, counting the recipients it gave back untried (QueueStore.postpone).
 * A postponement writes no event, so tests wait on this count instead of on onCommit.
 */
export class PostponeCountingStore extends SqliteQueueStore {
  postponed = 0;
  private readonly postponeListeners = new Set<() => void>();

  override async postpone(batch: DeliveryBatch, until: Date, now: Date): Promise<number> {
    const n = await super.postpone(batch, until, now);
    this.postponed += n;
    for (const listener of [...this.postponeListeners]) listener();
    return n;
  }

  /** Calls `listener` after every postponement. */
  onPostponed(listener: () => void): void {
    this.postponeListeners.add(listener);
  }

  /** Resolves once at least `n` recipients have been given back. */
  givenBack(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.postponed < n) return;
        this.postponeListeners.delete(check);
        resolve();
      };
      this.postponeListeners.add(check);
      check();
    });
  }
}
