/**
 * Line-ending and line-length scanning on raw message bytes. SMTP allows only CRLF as a line
 * ending (RFC 5321 §2.3.8); a bare CR or LF is how "SMTP smuggling" hides a second message
 * inside the first, so Herald never passes one on (DESIGN §4).
 *
 * Works on Buffers with native `indexOf` (memchr) to jump from line ending to line ending:
 * no per-line allocation, linear in the message size.
 */

const CR = 0x0d;
const LF = 0x0a;

export interface LineScan {
  /** CRs not followed by LF. */
  bareCr: number;
  /** LFs not preceded by CR. */
  bareLf: number;
  /**
   * The longest line in octets as it will be stored: its content plus CRLF (RFC 5321
   * §4.5.3.1.6 counts the CRLF). Bare CR and bare LF end a line, as normalisation makes them.
   */
  longestLine: number;
  /** The last line has no line ending (the message does not end with one). */
  unterminated: boolean;
}

export function scanLines(buf: Buffer): LineScan {
  const len = buf.length;
  let bareCr = 0;
  let bareLf = 0;
  let longest = 0;
  let pos = 0; // start of the current line
  let nextCr = buf.indexOf(CR, 0);
  let nextLf = buf.indexOf(LF, 0);
  while (nextCr !== -1 || nextLf !== -1) {
    let end: number; // first byte of this line's ending
    let next: number; // start of the next line
    if (nextCr !== -1 && (nextLf === -1 || nextCr < nextLf)) {
      end = nextCr;
      if (nextLf === nextCr + 1) {
        next = nextLf + 1;
        nextCr = buf.indexOf(CR, next);
        nextLf = buf.indexOf(LF, next);
      } else {
        bareCr++;
        next = nextCr + 1;
        nextCr = buf.indexOf(CR, next);
      }
    } else {
      // An LF reached before any CR cannot have a CR right before it.
      end = nextLf;
      bareLf++;
      next = nextLf + 1;
      nextLf = buf.indexOf(LF, next);
    }
    if (end - pos + 2 > longest) longest = end - pos + 2;
    pos = next;
  }
  const unterminated = pos < len;
  if (unterminated && len - pos + 2 > longest) longest = len - pos + 2;
  return { bareCr, bareLf, longestLine: longest, unterminated };
}

/**
 * Rewrites every bare CR and bare LF to CRLF and ends an unterminated last line with CRLF.
 * Returns the input itself when nothing needs to change.
 */
export function normalizeLineEndings(buf: Buffer, scan: LineScan = scanLines(buf)): Buffer {
  const extra = scan.bareCr + scan.bareLf + (scan.unterminated ? 2 : 0);
  if (extra === 0) return buf;
  const out = Buffer.allocUnsafe(buf.length + extra);
  let o = 0;
  let from = 0; // start of the run of bytes not yet copied
  let i = 0;
  const len = buf.length;
  while (i < len) {
    const b = buf[i];
    if (b === CR) {
      if (buf[i + 1] === LF) {
        i += 2;
        continue;
      }
      o += buf.copy(out, o, from, i);
      out[o++] = CR;
      out[o++] = LF;
      from = ++i;
    } else if (b === LF) {
      o += buf.copy(out, o, from, i);
      out[o++] = CR;
      out[o++] = LF;
      from = ++i;
    } else {
      i++;
    }
  }
  o += buf.copy(out, o, from, len);
  if (scan.unterminated) {
    out[o++] = CR;
    out[o++] = LF;
  }
  return o === out.length ? out : out.subarray(0, o);
}
