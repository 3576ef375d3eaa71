/** A periodic clean-up of stored rows (expired keys, records past retention). */
export interface Sweeper {
  /** Sweeps now; returns how many rows went. */
  sweep(): number;
  stop(): void;
}

/**
 * Runs `sweep` at once and then every `intervalMs` (default an hour) until stopped. A sweep that
 * throws is reported to `onError` and tried again at the next interval; the timer never keeps
 * the process alive. `sweep` is told whether a stop came meanwhile, so a long one can end early.
 */
export function startSweeper(options: { sweep(stopped: () => boolean): number; onError(err: unknown): void; intervalMs?: number }): Sweeper {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const sweep = (): number => {
    try {
      return options.sweep(() => stopped);
    } catch (err) {
      options.onError(err);
      return 0;
    }
  };
  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      sweep();
      schedule(options.intervalMs ?? 3_600_000);
    }, delay);
    timer.unref();
  };
  schedule(0);
  return {
    sweep,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
