const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Parses "25MB", "512k", "1048576" into bytes. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = (m?.[2] || 'b').toLowerCase();
  if (!m || !(unit in SIZE_UNITS)) throw new Error(`not a size: "${text}" (use e.g. 25MB, 512KB, 1048576)`);
  return Math.round(Number(m[1]) * SIZE_UNITS[unit]);
}
