/** A periodic clean-up of stored rows (expired keys, records past retention). */
export interface Sweeper {
  /** Sweeps now (after a sweep already running); resolves with how many rows went. */
  sweep(): Promise<number>;
  /** No more sweeps; resolves when the one running, if any, has ended. */
  stop(): Promise<void>;
}

/**
 * Runs `sweep` at once and then every `intervalMs` (default an hour) after the previous one ended,
 * until stopped. `sweep` may answer at once or with a promise; sweeps never overlap. A sweep that
 * throws or rejects is reported to `onError` and tried again at the next interval; the timer never
 * keeps the process alive. `sweep` is told whether a stop came meanwhile, so a long one can end early.
 */
export function startSweeper(options: {
  sweep(stopped: () => boolean): number | Promise<number>;
  onError(err: unknown): void;
  intervalMs?: number;
}): Sweeper {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // The latest sweep asked for; never rejects.
  let last: Promise<number> = Promise.resolve(0);
  const sweep = (): Promise<number> => {
    last = last.then(async () => {
      try {
        return await options.sweep(() => stopped);
      } catch (err) {
        options.onError(err);
        return 0;
      }
    });
    return last;
  };
  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => void sweep().then(() => schedule(options.intervalMs ?? 3_600_000)), delay);
    timer.unref();
  };
  schedule(0);
  return {
    sweep,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await last;
    },
  };
}
