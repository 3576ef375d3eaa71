import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { isValidEnvelopeAddress } from '../core/index.js';
import { isStreamSelector, isSuppressionReason, type AddResult, type StreamSelector, type SuppressionInput, type SuppressionReason } from './types.js';

/**
 * Suppression lists exported from elsewhere (another provider, a CRM, a spreadsheet): one
 * address per line, or a CSV file whose header names an email/address column. Files can be
 * large, so they are read a chunk at a time and committed in batches — memory stays flat
 * whatever the size — and a bad line is reported with its number instead of stopping the import.
 */

export interface CsvImportOptions {
  /** Default `all` (both streams). */
  stream?: StreamSelector;
  /** Default `manual`. */
  reason?: SuppressionReason;
  /** Addresses per transaction; default 2,000. */
  batchSize?: number;
  /** How many invalid lines are listed in the result (all are counted); default 1,000. */
  maxReportedInvalid?: number;
  /**
   * Called as the file is read: bytes read so far, the file's size when known (a path; not a
   * stream), and the counts so far. Reading waits for a promise it returns.
   */
  onProgress?(done: number, total: number | undefined, counts: CsvImportCounts): void | Promise<void>;
}

export interface InvalidCsvLine {
  /** 1-based line number in the file (the first line of a record spanning lines). */
  line: number;
  /** The line, cut to 200 characters. */
  text: string;
  error: string;
}

export interface CsvImportCounts extends AddResult {
  /** Lines read. */
  lines: number;
  /** Valid addresses found (each added to every stream the import covers). */
  addresses: number;
  /** Lines that were not imported (blank lines and the header are not counted). */
  invalid: number;
  bytes: number;
}

export interface CsvImportResult extends CsvImportCounts {
  invalidLines: InvalidCsvLine[];
  /** The header's address column when the file has a header, else null (the first field is the address). */
  column: string | null;
}

/** What the importer needs of the store. */
export interface SuppressionAdder {
  add(accountId: string, entries: readonly SuppressionInput[]): Promise<AddResult>;
}

// Header names seen in exports of Mailchimp, SendGrid, Mailgun, SES and spreadsheets.
const HEADER_NAMES = new Set(['email', 'e-mail', 'email address', 'e-mail address', 'email_address', 'emailaddress', 'address', 'recipient', 'mail']);
/** A record longer than this is not an address line: reported and skipped, never buffered further. */
const MAX_RECORD_LENGTH = 64 * 1024;
const SHOWN_TEXT = 200;

interface Line {
  line: number;
  text: string;
  /** The line was longer than MAX_RECORD_LENGTH; `text` is its beginning. */
  tooLong?: boolean;
}

/** Splits the input into lines, one array per chunk, counting the bytes read. */
async function* readLines(input: AsyncIterable<Buffer | string>, progress: { bytes: number }): AsyncGenerator<Line[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  let overlong: string | null = null;
  const take = (text: string): Line => {
    line++;
    if (overlong !== null) {
      const l = { line, text: overlong, tooLong: true };
      overlong = null;
      return l;
    }
    return { line, text: text.endsWith('\r') ? text.slice(0, -1) : text };
  };
  for await (const chunk of input) {
    progress.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    const lines: Line[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      lines.push(take(rest + text.slice(start, nl)));
      rest = '';
      start = nl + 1;
    }
    if (overlong === null) {
      rest += text.slice(start);
      if (rest.length > MAX_RECORD_LENGTH) {
        overlong = rest.slice(0, SHOWN_TEXT);
        rest = '';
      }
    }
    yield lines;
  }
  const tail = rest + decoder.end();
  if (overlong !== null || tail !== '') yield [take(tail)];
}

function quotesBalanced(text: string): boolean {
  let n = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) n++;
  return n % 2 === 0;
}

/** The delimiter of the first record: the most frequent of comma, semicolon and tab outside quotes. */
function detectDelimiter(text: string): string {
  const counts = new Map<string, number>([[',', 0], [';', 0], ['\t', 0]]);
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && counts.has(c)) counts.set(c, counts.get(c)! + 1);
  }
  let best = ',';
  for (const [d, n] of counts) if (n > counts.get(best)!) best = d;
  return best;
}

/** RFC 4180 fields: quoted fields may hold the delimiter, line breaks and doubled quotes. */
function parseFields(text: string, delimiter: string): string[] {
  if (!text.includes('"')) return text.split(delimiter);
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/** `Ann <ann@example.com>` and `<ann@example.com>` are taken for the address inside the brackets. */
function addressOf(value: string): string {
  const v = value.trim();
  const m = /<([^<>]*)>$/.exec(v);
  return m ? m[1].trim() : v;
}

const shown = (text: string) => (text.length > SHOWN_TEXT ? text.slice(0, SHOWN_TEXT) + '…' : text);

/**
 * Imports a CSV file (a path) or stream into the account's suppression list. The first line is
 * a header when one of its fields is `email`, `address` (or a usual variant); the address is
 * then that column, else the first field of each line. Comma, semicolon and tab delimiters are
 * recognised, quoted fields follow RFC 4180, `Name <address>` is taken for the address. Blank
 * lines are skipped; any other line without a valid address is reported and skipped.
 */
export async function importSuppressionCsv(store: SuppressionAdder, accountId: string, source: Readable | string, options: CsvImportOptions = {}): Promise<CsvImportResult> {
  const stream = options.stream ?? 'all';
  const reason = options.reason ?? 'manual';
  if (!isStreamSelector(stream)) throw new RangeError(`stream is "transactional", "broadcast" or "all", not "${String(stream)}"`);
  if (!isSuppressionReason(reason)) throw new RangeError(`"${String(reason)}" is not a suppression reason`);
  const batchSize = options.batchSize ?? 2000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a whole number of at least 1');
  const maxReported = options.maxReportedInvalid ?? 1000;

  const total = typeof source === 'string' ? (await stat(source)).size : undefined;
  const input = typeof source === 'string' ? createReadStream(source) : source;
  const result: CsvImportResult = { lines: 0, addresses: 0, invalid: 0, bytes: 0, added: 0, updated: 0, unchanged: 0, invalidLines: [], column: null };
  const progress = { bytes: 0 };
  let delimiter: string | null = null;
  let column = 0;
  let batch: SuppressionInput[] = [];
  let pending: Line | null = null;

  const invalid = (line: number, text: string, error: string) => {
    result.invalid++;
    if (result.invalidLines.length < maxReported) result.invalidLines.push({ line, text: shown(text), error });
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const added = await store.add(accountId, batch);
    result.added += added.added;
    result.updated += added.updated;
    result.unchanged += added.unchanged;
    batch = [];
  };
  const record = (r: Line) => {
    let text = r.text;
    if (delimiter === null) {
      text = text.replace(/^\uFEFF/, '');
      if (text.trim() === '') return;
      delimiter = detectDelimiter(text);
      const names = parseFields(text, delimiter).map((f) => f.trim().toLowerCase());
      const at = names.findIndex((n) => HEADER_NAMES.has(n));
      if (at !== -1) {
        column = at;
        result.column = names[at];
        return;
      }
    }
    if (text.trim() === '') return;
    const fields = parseFields(text, delimiter);
    const value = fields[column]?.trim() ?? '';
    if (value === '') {
      invalid(r.line, text, result.column ? `no address in the ${result.column} column` : 'no address in the first field');
      return;
    }
    const address = addressOf(value);
    if (!isValidEnvelopeAddress(address)) {
      invalid(r.line, text, `${JSON.stringify(shown(value))} is not an email address`);
      return;
    }
    result.addresses++;
    batch.push({ address, stream, reason });
  };

  for await (const lines of readLines(input, progress)) {
    for (const l of lines) {
      result.lines = l.line;
      if (l.tooLong) {
        invalid(pending?.line ?? l.line, l.text, `the line is longer than ${MAX_RECORD_LENGTH / 1024} KB`);
        pending = null;
        continue;
      }
      // A quoted field may span lines: the record goes on until its quotes balance.
      if (pending !== null) {
        pending.text += '\n' + l.text;
        if (quotesBalanced(pending.text)) {
          record(pending);
          pending = null;
          if (batch.length >= batchSize) await flush();
        } else if (pending.text.length > MAX_RECORD_LENGTH) {
          invalid(pending.line, pending.text, 'a quoted field is not closed');
          pending = null;
        }
      } else if (l.text.includes('"') && !quotesBalanced(l.text)) {
        pending = { line: l.line, text: l.text };
      } else {
        record(l);
        if (batch.length >= batchSize) await flush();
      }
    }
    result.bytes = progress.bytes;
    await options.onProgress?.(progress.bytes, total, counts(result));
  }
  if (pending !== null) invalid(pending.line, pending.text, 'a quoted field is not closed');
  await flush();
  result.bytes = progress.bytes;
  options.onProgress?.(progress.bytes, total, counts(result));
  return result;
}

function counts(r: CsvImportResult): CsvImportCounts {
  return { lines: r.lines, addresses: r.addresses, invalid: r.invalid, bytes: r.bytes, added: r.added, updated: r.updated, unchanged: r.unchanged };
}
