/**
 * Progress of a long command on standard error: a bar redrawn in place on a terminal (at most ten
 * times a second), a plain line at every tenth otherwise (logs and pipes). Standard output is kept
 * for the command's result alone, so `--json` output stays one document.
 */
export interface Progress {
  /** `total` undefined: unknown (a stream); then `every` units of `done` print a line off a terminal. */
  update(done: number, total: number | undefined, words: string): void;
  finish(): void;
}

export function progressBar(label: string, options: { every?: number } = {}): Progress {
  const err = process.stderr;
  const tty = err.isTTY === true;
  const every = options.every ?? 100_000;
  let lastDraw = 0;
  let lastStep = 0;
  let drawn = false;
  let last: { done: number; total: number | undefined; words: string } | null = null;
  const draw = () => {
    if (!last) return;
    const { done, total, words } = last;
    const fraction = total ? Math.min(1, done / total) : undefined;
    const tail = `${fraction === undefined ? '' : `${Math.floor(fraction * 100)}% `}${words}`;
    const width = Math.max(10, Math.min(40, (err.columns ?? 80) - tail.length - 4));
    const bar = fraction === undefined ? '' : `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, ' ')}] `;
    err.write(`\r${bar}${tail}\x1b[K`);
    drawn = true;
  };
  return {
    update(done, total, words) {
      last = { done, total, words };
      if (tty) {
        const now = Date.now();
        if (now - lastDraw >= 100) {
          lastDraw = now;
          draw();
        }
        return;
      }
      const step = total ? Math.floor((done / total) * 10) : Math.floor(done / every);
      if (step > lastStep) {
        lastStep = step;
        err.write(`${label}: ${total ? `${Math.min(100, step * 10)}% (${words})` : words}\n`);
      }
    },
    finish() {
      if (!tty) return;
      draw();
      if (drawn) err.write('\n');
    },
  };
}
