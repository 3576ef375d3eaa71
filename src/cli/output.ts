/** How every command speaks: plain words for people, one JSON document for scripts (--json). */

export class CliError extends Error {
  constructor(message: string, readonly code = 'error', readonly exitCode = 1) {
    super(message);
  }
}

export interface OutputOptions {
  json?: boolean;
}

export function emit(opts: OutputOptions, data: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(JSON.stringify(data, jsonDates, 2) + '\n');
  else process.stdout.write(human() + '\n');
}

function jsonDates(this: unknown, _key: string, value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

/** A plain text table: columns sized to their content, no colours (works in logs and pipes). */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export function ago(date: Date | null, now = new Date()): string {
  if (!date) return '-';
  const s = Math.round((date.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(s);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86400 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

export function reportError(err: unknown, json: boolean): number {
  const e = err instanceof CliError ? err : null;
  const message = err instanceof Error ? err.message : String(err);
  if (json) process.stdout.write(JSON.stringify({ error: { code: e?.code ?? 'error', message } }) + '\n');
  process.stderr.write(`herald: ${message}\n`);
  return e?.exitCode ?? 1;
}
