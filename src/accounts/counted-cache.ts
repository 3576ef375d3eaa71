import type { ChangeCounter } from '../storage/index.js';

/**
 * What a store keeps in memory from its tables, brought up to date against the tables' change
 * counter before each use (`current()`): when the counter moved, `reload` runs.
 *
 * Looks run one at a time. A caller that comes while one runs waits for the next, which starts
 * after it came and is shared by everyone who came meanwhile: so no caller is answered from before
 * a change committed before it asked, and two reloads never race to leave the older one in place
 * (with a pool of PostgreSQL connections, answers can come back in any order).
 */
export class CountedCache {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  /** Until a reload succeeds, every look reloads (a failed one must not leave the old copy trusted). */
  private stale = true;
  /**
   * Moves with every reload. A lookup that reads a row outside `reload` keeps it only when this
   * did not move meanwhile: a row read before a change must not outlive the reload it raced.
   */
  generation = 0;

  constructor(
    private readonly counter: ChangeCounter,
    private readonly reload: () => Promise<void> | void,
  ) {}

  current(): Promise<void> {
    if (!this.running) return this.start();
    const start = () => {
      this.next = null;
      return this.start();
    };
    this.next ??= this.running.then(start, start);
    return this.next;
  }

  private start(): Promise<void> {
    const run = this.look().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  private async look(): Promise<void> {
    const moved = await this.counter.moved();
    if (!moved && !this.stale) return;
    this.stale = true;
    this.generation++;
    await this.reload();
    this.stale = false;
  }
}
