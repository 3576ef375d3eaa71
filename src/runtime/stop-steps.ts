import type { Logger } from '../core/index.js';

/** One part of a graceful stop, named for the log. */
export interface StopStep {
  what: string;
  stop(): Promise<void>;
}

/**
 * Runs the steps one after another, in the order given, giving each at most `timeoutMs`. A step
 * that fails is logged; one that takes longer is logged by name and left behind, so a part that
 * never finishes cannot keep the process from stopping (SIGTERM would otherwise hang until the
 * supervisor kills it, and nobody would learn which part held it).
 */
export async function runStopSteps(steps: readonly StopStep[], timeoutMs: number, logger: Pick<Logger, 'error'>): Promise<void> {
  for (const { what, stop } of steps) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const finished = stop().then(
      () => 'done' as const,
      (err: unknown) => {
        logger.error({ err, what }, `error while stopping: ${what}`);
        return 'done' as const;
      },
    );
    const outcome = await Promise.race([finished, late]);
    clearTimeout(timer);
    if (outcome === 'late') logger.error({ what, timeoutMs }, `stopping: ${what} did not finish within ${timeoutMs} ms; going on without it`);
  }
}
