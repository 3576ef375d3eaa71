const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses "250ms", "30s", "5m", "1h", "5d" (or a bare number of seconds) into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(text);
  if (!m) throw new Error(`not a duration: "${text}" (use e.g. 30s, 5m, 1h, 5d)`);
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? 's').toLowerCase()]);
}

/** Parses a comma-separated list of durations ("1m,5m,15m"). */
export function parseDurationList(text: string): number[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean).map(parseDuration);
  if (list.length === 0) throw new Error('the list of durations is empty');
  return list;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
