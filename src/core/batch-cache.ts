/**
 * Values that never change once they exist (a message's labels), kept per id after one lookup,
 * with the ids a caller lacks looked up together in ONE call. At most `size` are kept, the least
 * recently used dropped first. A failed lookup is not kept (the next ask tries again); an id the
 * lookup did not find is kept as null only when `rememberMissing` (a reader that may ask before
 * the value is committed must not remember its absence).
 */
export class BatchLookupCache<V> {
  private readonly kept = new Map<string, Promise<V | null>>();

  constructor(
    private readonly options: {
      lookup: (ids: string[]) => Promise<ReadonlyMap<string, V>>;
      size: number;
      rememberMissing: boolean;
    },
  ) {}

  /** Each id's value (null: not found), from what is kept and one lookup of the rest. */
  getMany(ids: Iterable<string>): Map<string, Promise<V | null>> {
    const found = new Map<string, Promise<V | null>>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const hit = this.kept.get(id);
      if (hit) {
        // Most recently used goes last: the oldest is dropped first.
        this.kept.delete(id);
        this.kept.set(id, hit);
        found.set(id, hit);
      } else missing.push(id);
    }
    if (missing.length === 0) return found;
    const batch = this.options.lookup(missing);
    for (const id of missing) {
      const forget = () => {
        if (this.kept.get(id) === pending) this.kept.delete(id);
      };
      const pending: Promise<V | null> = batch.then(
        (values) => {
          const value = values.get(id);
          if (value !== undefined) return value;
          if (!this.options.rememberMissing) forget();
          return null;
        },
        (err: unknown) => {
          forget();
          throw err;
        },
      );
      // Handled here too: an id looked up ahead and never awaited must not make an unhandled rejection.
      pending.catch(() => {});
      this.kept.set(id, pending);
      found.set(id, pending);
    }
    while (this.kept.size > this.options.size) this.kept.delete(this.kept.keys().next().value!);
    return found;
  }
}
