/** The header block of a message: the bytes before the first empty line (all of it when there is none). */
export function headerBlock(message: Buffer): Buffer {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  const ends = [crlf === -1 ? -1 : crlf + 4, lf === -1 ? -1 : lf + 2].filter((i) => i >= 0);
  return ends.length ? message.subarray(0, Math.min(...ends)) : message;
}

/**
 * Header-style fields (RFC 5322 §2.2, also the fields of a feedback report, RFC 5965 §3.1):
 * names lowercased, folded lines joined, every occurrence kept in order. Lines that are not
 * fields are skipped rather than refused — reports from the wild are often sloppy.
 */
export function readFields(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let last: string[] | undefined;
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    if (line === '') {
      if (fields.size > 0) break;
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (last) last[last.length - 1] = `${last[last.length - 1]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || /\s/.test(line.slice(0, colon).trim())) {
      last = undefined;
      continue;
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = fields.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    fields.set(name, values);
    last = values;
  }
  return fields;
}

/** The first value of a field, or undefined. */
export function firstField(fields: Map<string, string[]>, name: string): string | undefined {
  const value = fields.get(name)?.[0];
  return value === undefined || value === '' ? undefined : value;
}

/** "<ann@a.example>" or "Ann <ann@a.example>" or "ann@a.example" → "ann@a.example". */
export function bareAddress(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const angle = /<([^<>\s]*)>/.exec(value);
  const address = (angle ? angle[1] : value.split(',')[0]).trim();
  return address.includes('@') ? address : undefined;
}
