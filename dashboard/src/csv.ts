/**
 * CSV for the suppressions page, in the browser: reading an uploaded list the way `herald
 * suppressions import` reads one (one address per line, or a header naming an email column;
 * comma, semicolon or tab; RFC 4180 quotes; `Name <addr>`), and writing the export. The server
 * still judges every address: the import sends what it finds and reports what Herald refused.
 */

const HEADER_NAMES = new Set(['email', 'e-mail', 'email address', 'e-mail address', 'email_address', 'emailaddress', 'address', 'recipient', 'mail']);

export interface CsvAddress {
  /** 1-based line where the record starts. */
  line: number;
  address: string;
}

export interface ParsedList {
  addresses: CsvAddress[];
  /** Lines with no address at all (a field that is not an address is left to the server). */
  empty: { line: number; text: string }[];
  /** The header's address column, or null when the address is each line's first field. */
  column: string | null;
}

/** Splits text into records of fields, quotes as in RFC 4180 (a quoted field may span lines). */
function records(text: string, delimiter: string): { line: number; fields: string[]; raw: string }[] {
  const out: { line: number; fields: string[]; raw: string }[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const startLine = line;
    const start = i;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') {
          field += '"';
          i++;
        } else if (c === '"') quoted = false;
        else {
          if (c === '\n') line++;
          field += c;
        }
      } else if (c === '"' && field.trim() === '') {
        quoted = true;
        field = '';
      } else if (c === delimiter) {
        fields.push(field);
        field = '';
      } else if (c === '\n' || c === '\r') break;
      else field += c;
    }
    fields.push(field);
    const raw = text.slice(start, i);
    if (text[i] === '\r' && text[i + 1] === '\n') i++;
    i++;
    line++;
    out.push({ line: startLine, fields, raw });
  }
  return out;
}

/** `Ann <ann@example.com>` → `ann@example.com`; anything else trimmed as it is. */
function bare(field: string): string {
  const m = /<([^<>]*)>\s*$/.exec(field);
  return (m ? m[1] : field).trim();
}

export function parseAddressList(input: string): ParsedList {
  const text = input.replace(/^\uFEFF/, '');
  const first = text.slice(0, text.search(/\r?\n|$/));
  const delimiter = [',', ';', '\t'].map((d) => ({ d, n: first.split(d).length })).sort((a, b) => b.n - a.n)[0].d;
  const rows = records(text, delimiter);
  let column = 0;
  let columnName: string | null = null;
  const head = rows[0]?.fields.map((f) => f.trim().toLowerCase()) ?? [];
  const named = head.findIndex((f) => HEADER_NAMES.has(f));
  if (named >= 0) {
    column = named;
    columnName = rows[0].fields[named].trim();
    rows.shift();
  }
  const addresses: CsvAddress[] = [];
  const empty: ParsedList['empty'] = [];
  for (const r of rows) {
    if (r.raw.trim() === '') continue;
    const address = bare(r.fields[column] ?? '');
    if (address) addresses.push({ line: r.line, address });
    else empty.push({ line: r.line, text: r.raw.slice(0, 200) });
  }
  return { addresses, empty, column: columnName };
}

function cell(value: string | null): string {
  const v = value ?? '';
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One CSV line (with its line break) from fields. */
export function csvLine(fields: (string | null)[]): string {
  return fields.map(cell).join(',') + '\r\n';
}
