import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeLineEndings, scanLines, type LineScan } from './line-endings.js';

/** A deliberately naive reference: walk byte by byte. */
function reference(buf: Buffer): LineScan {
  let bareCr = 0;
  let bareLf = 0;
  let longest = 0;
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0d) {
      const crlf = buf[i + 1] === 0x0a;
      if (!crlf) bareCr++;
      longest = Math.max(longest, i - start + 2);
      if (crlf) i++;
      start = i + 1;
    } else if (buf[i] === 0x0a) {
      bareLf++;
      longest = Math.max(longest, i - start + 2);
      start = i + 1;
    }
  }
  const unterminated = start < buf.length;
  if (unterminated) longest = Math.max(longest, buf.length - start + 2);
  return { bareCr, bareLf, longestLine: longest, unterminated };
}

// A small seeded PRNG so a failure can be replayed from the printed seed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomMessage(next: () => number): Buffer {
  const alphabet = [0x0d, 0x0a, 0x61, 0x2e, 0xc3, 0x20];
  const len = Math.floor(next() * 300);
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    // Mostly text with runs, so both long lines and dense line endings occur.
    out[i] = next() < 0.7 ? 0x61 : alphabet[Math.floor(next() * alphabet.length)];
  }
  return out;
}

test('CRLF-only text has no bare endings and the right longest line', () => {
  const scan = scanLines(Buffer.from('ab\r\ncdef\r\n\r\n'));
  assert.deepEqual(scan, { bareCr: 0, bareLf: 0, longestLine: 6, unterminated: false });
});

test('bare LF, bare CR and CR CR LF are found', () => {
  assert.equal(scanLines(Buffer.from('a\nb\r\n')).bareLf, 1);
  assert.equal(scanLines(Buffer.from('a\rb\r\n')).bareCr, 1);
  assert.deepEqual(scanLines(Buffer.from('a\r\r\n')), { bareCr: 1, bareLf: 0, longestLine: 3, unterminated: false });
  assert.deepEqual(scanLines(Buffer.from('\n')), { bareCr: 0, bareLf: 1, longestLine: 2, unterminated: false });
  assert.deepEqual(scanLines(Buffer.alloc(0)), { bareCr: 0, bareLf: 0, longestLine: 0, unterminated: false });
});

test('line length counts the CRLF, and an unterminated last line as if it had one', () => {
  const line = 'x'.repeat(998);
  assert.equal(scanLines(Buffer.from(`${line}\r\n`)).longestLine, 1000);
  assert.equal(scanLines(Buffer.from(`a\r\n${line}x`)).longestLine, 1001);
});

test('normalisation rewrites bare endings to CRLF and returns clean input as is', () => {
  assert.equal(normalizeLineEndings(Buffer.from('a\nb\rc\r\r\nd\r\n')).toString(), 'a\r\nb\r\nc\r\n\r\nd\r\n');
  assert.equal(normalizeLineEndings(Buffer.from('end')).toString(), 'end\r\n');
  const clean = Buffer.from('a\r\nb\r\n');
  assert.equal(normalizeLineEndings(clean), clean);
});

test('property: the scanner agrees with the naive reference on random input', () => {
  const seed = Date.now() % 1_000_000;
  const next = rng(seed);
  for (let i = 0; i < 5000; i++) {
    const buf = randomMessage(next);
    assert.deepEqual(scanLines(buf), reference(buf), `seed ${seed}, case ${i}: ${JSON.stringify(buf.toString('latin1'))}`);
  }
});

test('property: normalised output has only CRLF, keeps the text, and is stable', () => {
  const seed = (Date.now() * 7) % 1_000_000;
  const next = rng(seed);
  for (let i = 0; i < 5000; i++) {
    const buf = randomMessage(next);
    const scan = scanLines(buf);
    const out = normalizeLineEndings(buf, scan);
    const where = `seed ${seed}, case ${i}: ${JSON.stringify(buf.toString('latin1'))}`;
    const again = scanLines(out);
    assert.equal(again.bareCr + again.bareLf, 0, where);
    assert.equal(again.unterminated, false, where);
    assert.equal(again.longestLine, scan.longestLine, where);
    assert.equal(normalizeLineEndings(out), out, where);
    const text = (b: Buffer) => b.toString('latin1').replace(/[\r\n]/g, '');
    assert.equal(text(out), text(buf), where);
    // Every line ending of the input becomes exactly one CRLF.
    const endings = (buf.toString('latin1').match(/\r\n|\r|\n/g) ?? []).length + (scan.unterminated ? 1 : 0);
    assert.equal((out.toString('latin1').match(/\r\n/g) ?? []).length, endings, where);
  }
});

test('a large message is scanned without trouble', () => {
  const line = Buffer.from('a'.repeat(76) + '\r\n');
  const big = Buffer.concat(Array.from({ length: 100_000 }, () => line));
  assert.deepEqual(scanLines(big), { bareCr: 0, bareLf: 0, longestLine: 78, unterminated: false });
});
