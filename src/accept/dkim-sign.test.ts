import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  keepOnlySignature,
  makeKey,
  messageKinds,
  plainMessage,
  records,
  splitSignatures,
  utf8Message,
  verifyWithMailauth,
  type KeyRecords,
  type TestKey,
} from '../../test/support/dkim.js';
import { dkimSign, OVERSIGNED_HEADERS, SIGNED_HEADERS, type SigningIdentity } from './dkim-sign.js';

const NOW = new Date('2024-05-14T09:05:00Z');

let rsa: TestKey;
let ed: TestKey;
let keys: KeyRecords;

before(async () => {
  [rsa, ed] = await Promise.all([makeKey('rsa-sha256', 'sender.test', 'rsa2024'), makeKey('ed25519-sha256', 'sender.test', 'ed2024')]);
  keys = records(rsa, ed);
});

async function signed(message: Buffer, identities: SigningIdentity[] = [rsa.identity]): Promise<{ fields: string; message: Buffer }> {
  const fields = await dkimSign(message, identities, { now: NOW });
  return { fields, message: Buffer.concat([Buffer.from(fields, 'latin1'), message]) };
}

async function results(message: Buffer): Promise<string[]> {
  return (await verifyWithMailauth(message, keys)).map((v) => v.result);
}

/** A tag's value from a DKIM-Signature field, FWS removed. */
function tag(field: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${name}=([^;]*)`).exec(field.replace(/^DKIM-Signature:/, ''));
  return m?.[1].replace(/\s+/g, '');
}

/** Inserts a header field line right after the first `afterLines` lines of the message. */
function insertHeader(message: Buffer, line: string, afterLines: number): Buffer {
  let pos = 0;
  for (let i = 0; i < afterLines; i++) pos = message.indexOf('\r\n', pos) + 2;
  return Buffer.concat([message.subarray(0, pos), Buffer.from(`${line}\r\n`), message.subarray(pos)]);
}

/** RFC 6376 §3.4.4 as literally as it reads, on a whole string: the reference the signer must match. */
function referenceBodyHash(body: Buffer): string {
  const lines = body.toString('latin1').split('\r\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const canon = lines.map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (canon.length > 0 && canon[canon.length - 1] === '') canon.pop();
  const text = canon.length > 0 ? `${canon.join('\r\n')}\r\n` : '';
  return createHash('sha256').update(text, 'latin1').digest('base64');
}

const HEADERS = 'From: a@sender.test\r\nTo: b@b.test\r\nSubject: s\r\nDate: Tue, 14 May 2024 09:05:00 +0000\r\nMessage-ID: <x@sender.test>\r\n\r\n';

async function bodyHashOf(body: string | Buffer): Promise<string> {
  const fields = await dkimSign(Buffer.concat([Buffer.from(HEADERS), Buffer.from(body)]), [ed.identity], { now: NOW });
  return tag(fields, 'bh')!;
}

describe('dkimSign: verified by mailauth', () => {
  for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
    test(`${algorithm}: plain, multipart and SMTPUTF8 messages pass`, async () => {
      const key = algorithm === 'rsa-sha256' ? rsa : ed;
      for (const { kind, message } of await messageKinds()) {
        const s = await signed(message, [key.identity]);
        assert.deepEqual(await verifyWithMailauth(s.message, keys).then((v) => v.map((x) => x.result)), ['pass'], kind);
        assert.equal(tag(s.fields, 'a'), algorithm);
      }
    });
  }

  test('both identities at once: one field each, in order, both pass', async () => {
    for (const { kind, message } of await messageKinds()) {
      const s = await signed(message, [rsa.identity, ed.identity]);
      const fields = splitSignatures(s.fields);
      assert.equal(fields.length, 2, kind);
      assert.equal(tag(fields[0], 's'), 'rsa2024');
      assert.equal(tag(fields[1], 's'), 'ed2024');
      // The same body hash: one pass serves both.
      assert.equal(tag(fields[0], 'bh'), tag(fields[1], 'bh'));
      assert.deepEqual(await results(s.message), ['pass', 'pass'], kind);
      // Each also stands on its own.
      assert.deepEqual(await results(keepOnlySignature(s.fields, 1, message)), ['pass'], kind);
    }
  });

  test('the field: relaxed/relaxed, t= from options.now, no l=, folded lines ending in CRLF', async () => {
    const { fields } = await signed(plainMessage(), [rsa.identity]);
    assert.match(fields, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=sender\.test;\s+s=rsa2024;\s+t=/);
    assert.ok(fields.endsWith('\r\n'));
    assert.equal(tag(fields, 't'), String(NOW.getTime() / 1000));
    assert.equal(tag(fields, 'l'), undefined);
    assert.equal(tag(fields, 'bh'), referenceBodyHash(plainMessage().subarray(plainMessage().indexOf('\r\n\r\n') + 4)));
    for (const line of fields.slice(0, -2).split('\r\n')) assert.ok(line.length <= 78, `line too long: ${line}`);
    assert.ok(fields.slice(0, -2).split('\r\n').slice(1).every((l) => /^\t\S/.test(l)), 'continuation lines start with a tab');
  });

  test('h= lists each signed field as often as it occurs, the over-signed ones once more', async () => {
    const { fields } = await signed(plainMessage());
    assert.deepEqual(tag(fields, 'h')!.split(':'), [
      'From', 'From', 'To', 'To', 'Cc', 'Subject', 'Subject', 'Date', 'Date', 'Message-ID', 'Message-ID',
      'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Reply-To',
    ]);
    // Every over-signed name is a signed name.
    assert.ok(OVERSIGNED_HEADERS.every((n) => SIGNED_HEADERS.includes(n)));
    // Two To fields: both signed, plus one.
    const twoTo = insertHeader(plainMessage(), 'to: Bob <bob@b.test>', 2);
    const s = await signed(twoTo);
    assert.equal(tag(s.fields, 'h')!.split(':').filter((n) => n === 'To').length, 3);
    assert.deepEqual(await results(s.message), ['pass']);
  });

  test('a U-label signing domain is signed as its A-label (d= is a DNS name, RFC 6376 §3.5)', async () => {
    const idn = await makeKey('ed25519-sha256', 'exämple.test', 'ed');
    assert.equal(idn.name, 'ed._domainkey.exämple.test');
    const s = await signed(utf8Message(), [idn.identity]);
    assert.equal(tag(s.fields, 'd'), 'xn--exmple-cua.test');
    const v = await verifyWithMailauth(s.message, { 'ed._domainkey.xn--exmple-cua.test': idn.txt });
    assert.deepEqual(v.map((x) => x.result), ['pass']);
  });

  test('an all-digit selector stays as it is (it is a DNS label, not an IPv4 address)', async () => {
    const dated = await makeKey('ed25519-sha256', 'sender.test', '20240101');
    const s = await signed(plainMessage(), [dated.identity]);
    assert.equal(tag(s.fields, 's'), '20240101');
    assert.deepEqual((await verifyWithMailauth(s.message, records(dated))).map((v) => v.result), ['pass']);
  });
});

describe('dkimSign: what breaks the signature and what does not', () => {
  for (const [what, line, after] of [
    ['a second From on top', 'From: Mallory <m@evil.test>', 0],
    ['a second From below the first', 'From: Mallory <m@evil.test>', 1],
    ['a second Subject', 'Subject: Urgent: verify your account', 0],
    ['a second Date above the first', 'Date: Wed, 15 May 2024 10:00:00 +0000', 3],
    ['a Reply-To where there was none', 'Reply-To: m@evil.test', 0],
    ['a Cc where there was none', 'Cc: m@evil.test', 3],
  ] as const) {
    test(`adding ${what} after signing fails (over-signing, RFC 6376 §8.15)`, async () => {
      const s = await signed(plainMessage(), [rsa.identity, ed.identity]);
      const tampered = insertHeader(s.message, line, s.fields.split('\r\n').length - 1 + after);
      assert.deepEqual(await results(tampered), ['fail', 'fail']);
    });
  }

  test('adding a field that is not signed keeps it passing', async () => {
    const s = await signed(plainMessage(), [rsa.identity, ed.identity]);
    const added = insertHeader(s.message, 'Received: from relay.test by mx.b.test; Tue, 14 May 2024 09:06:00 +0000', 0);
    assert.deepEqual(await results(added), ['pass', 'pass']);
  });

  test('changing one body byte fails with a body hash mismatch', async () => {
    for (const { kind, message } of await messageKinds()) {
      const s = await signed(message, [rsa.identity, ed.identity]);
      const tampered = Buffer.from(s.message);
      // A byte in the middle of the body, never a line ending.
      let at = s.message.indexOf('\r\n\r\n') + 4 + Math.floor((s.message.length - s.message.indexOf('\r\n\r\n')) / 2);
      while (tampered[at] === 0x0d || tampered[at] === 0x0a || tampered[at] === 0x20) at++;
      tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
      const verdicts = await verifyWithMailauth(tampered, keys);
      assert.deepEqual(verdicts.map((v) => v.result), ['neutral', 'neutral'], kind);
      assert.ok(verdicts.every((v) => /body hash did not verify/.test(v.detail)), verdicts.map((v) => v.detail).join('; '));
    }
  });

  test('changing a signed header value fails', async () => {
    const s = await signed(utf8Message(), [rsa.identity, ed.identity]);
    const tampered = Buffer.from(s.message.toString('utf8').replace('Grüße', 'Grüsse'));
    assert.deepEqual(await results(tampered), ['fail', 'fail']);
  });

  test('relaxed header canonicalisation tolerates what relays do to white space and case', async () => {
    const s = await signed(utf8Message(), [rsa.identity, ed.identity]);
    const head = s.message.indexOf('\r\n\r\n');
    const rewritten = s.message
      .subarray(s.fields.length, head)
      .toString('utf8')
      .replace('Subject:   Grüße   aus\tKöln —\r\n   noch', 'SUBJECT: Grüße aus Köln — noch')
      .replace('From: ', 'from:\t');
    const relayed = Buffer.concat([Buffer.from(s.fields), Buffer.from(rewritten), s.message.subarray(head)]);
    assert.deepEqual(await results(relayed), ['pass', 'pass']);
  });
});

describe('dkimSign: relaxed body canonicalisation (RFC 6376 §3.4.4)', () => {
  test('trailing white space, WSP runs and trailing empty lines do not change the body hash', async () => {
    const base = await bodyHashOf('Hello world\r\n\tindented line\r\nend\r\n');
    for (const variant of [
      'Hello world\r\n\tindented line\r\nend\r\n\r\n',
      'Hello world\r\n\tindented line\r\nend\r\n\r\n\r\n\r\n',
      'Hello world \r\n\tindented line\t\r\nend   \r\n',
      'Hello \t world\r\n \t indented   line\r\nend\r\n \t \r\n\t\r\n',
      'Hello  world\r\n  indented\tline\r\nend\r\n  \r\n',
    ]) {
      assert.equal(await bodyHashOf(variant), base, JSON.stringify(variant));
    }
    for (const different of [
      'Helloworld\r\n\tindented line\r\nend\r\n',
      'Hello world\r\nindented line\r\nend\r\n',
      'Hello world\r\n\r\n\tindented line\r\nend\r\n',
      'Hello world\r\n\tindented line\r\nend\r\n.\r\n',
    ]) {
      assert.notEqual(await bodyHashOf(different), base, JSON.stringify(different));
    }
  });

  test('an empty body hashes as nothing, however many empty lines it has', async () => {
    const empty = createHash('sha256').digest('base64');
    for (const body of ['', '\r\n', '\r\n\r\n\r\n', ' \r\n\t\r\n']) assert.equal(await bodyHashOf(body), empty, JSON.stringify(body));
    // A message with no blank line has no body at all. (mailauth cannot check this one: it
    // waits for the end of the header block and reports no signature.)
    const headerOnly = Buffer.from(HEADERS.slice(0, -2));
    assert.equal(tag(await dkimSign(headerOnly, [ed.identity], { now: NOW }), 'bh'), empty);
  });

  test('an unterminated last line is hashed as if it ended in CRLF', async () => {
    assert.equal(await bodyHashOf('last line'), await bodyHashOf('last line\r\n'));
    assert.equal(await bodyHashOf('last line \t'), referenceBodyHash(Buffer.from('last line \t')));
  });

  test('matches the reference on random bodies, and mailauth agrees', async () => {
    // A seeded generator: the same bodies on every run.
    let seed = 0x2545f491;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x1_0000_0000;
    };
    const pieces = ['a', 'word', ' ', '  ', '\t', ' \t ', '\r\n', '\r\n', '\r\n\r\n', ' \r\n', 'ü', '✓', '.'];
    for (let n = 0; n < 300; n++) {
      let body = '';
      const count = Math.floor(random() * 40);
      for (let i = 0; i < count; i++) body += pieces[Math.floor(random() * pieces.length)];
      if (random() < 0.8 && !body.endsWith('\r\n')) body += '\r\n';
      const bytes = Buffer.from(body);
      assert.equal(await bodyHashOf(bytes), referenceBodyHash(bytes), JSON.stringify(body));
      if (n % 20 === 0 && body.endsWith('\r\n')) {
        const message = Buffer.concat([Buffer.from(HEADERS), bytes]);
        const fields = await dkimSign(message, [ed.identity], { now: NOW });
        assert.deepEqual(await results(Buffer.concat([Buffer.from(fields), message])), ['pass'], JSON.stringify(body));
      }
    }
  });

  test('rewritten lines that end at the edge of the 64 KiB scratch buffer', async () => {
    for (let length = 65_532; length <= 65_538; length++) {
      // A leading TAB makes the line one to rewrite: SP + (length - 1) bytes, then CRLF.
      const body = Buffer.from(`\t${'a'.repeat(length - 1)}\r\n\r\nb\tc\r\n`);
      assert.equal(await bodyHashOf(body), referenceBodyHash(body), `line of ${length}`);
    }
  });

  test('long lines that need rewriting and runs across the scratch buffer and yield points', async () => {
    const longDirty = `${'a \t b  '.repeat(30_000)}\r\n`; // 210 kB, longer than the 64 KiB scratch
    const block = `${'QUJDRA=='.repeat(9)}AB\r\n`.repeat(20_000); // 1.5 MB of canonical lines
    const body = Buffer.from(`${block}\r\n\r\n${longDirty}  \r\n${block}\t\r\n\r\n \r\n${block}${longDirty}\r\n\r\n`);
    assert.equal(await bodyHashOf(body), referenceBodyHash(body));
    const message = Buffer.concat([Buffer.from(HEADERS), body]);
    const fields = await dkimSign(message, [rsa.identity], { now: NOW });
    assert.deepEqual(await results(Buffer.concat([Buffer.from(fields), message])), ['pass']);
  });
});

describe('dkimSign: refusals', () => {
  test('no identities: no fields', async () => {
    assert.equal(await dkimSign(plainMessage(), []), '');
  });

  test('a message without From cannot be signed (RFC 6376 §5.4)', async () => {
    const noFrom = Buffer.from(plainMessage().toString('latin1').replace(/^From: .*\r\n/m, ''), 'latin1');
    await assert.rejects(dkimSign(noFrom, [ed.identity]), /no From header field/);
  });

  test('a key that does not match the algorithm, a short RSA key, a bad selector or domain', async () => {
    await assert.rejects(dkimSign(plainMessage(), [{ ...ed.identity, algorithm: 'rsa-sha256' }]), /rsa-sha256 but its key is ed25519/);
    await assert.rejects(dkimSign(plainMessage(), [{ ...rsa.identity, algorithm: 'ed25519-sha256' }]), /ed25519-sha256 but its key is rsa/);
    const short = await makeKey('rsa-sha256', 'sender.test', 'short', 768);
    await assert.rejects(dkimSign(plainMessage(), [short.identity]), /768-bit RSA key/);
    await assert.rejects(dkimSign(plainMessage(), [{ ...ed.identity, selector: 'a; l=0' }]), /invalid selector/);
    await assert.rejects(dkimSign(plainMessage(), [{ ...ed.identity, domain: 'sender.test\r\nBcc: x' }]), /invalid signing domain/);
  });
});

describe('dkimSign: a 25 MB message', () => {
  test('signs in one pass with bounded extra memory, and verifies', async () => {
    const head = Buffer.from(
      'From: a@sender.test\r\nTo: b@b.test\r\nSubject: big\r\nDate: Tue, 14 May 2024 09:05:00 +0000\r\nMessage-ID: <big@sender.test>\r\n' +
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n' +
        'Content-Transfer-Encoding: base64\r\n\r\n',
    );
    const tail = Buffer.from('\r\n--b--\r\n');
    const size = 25 * 1024 * 1024;
    const message = Buffer.allocUnsafe(size);
    head.copy(message);
    // base64 lines of 76 characters (RFC 2045 §6.8), and a few lines that need rewriting.
    message.fill(`${'SGVyYWxkIQ=='.repeat(6)}AAAA\r\n`, head.length, size - tail.length);
    for (let at = 5_000_000; at < 20_000_000; at += 5_000_000) message.write('x  y\t\r\n', message.indexOf('\r\n', at) + 2);
    tail.copy(message, size - tail.length);

    const before = process.memoryUsage();
    let peakArrayBuffers = before.arrayBuffers;
    let peakRss = before.rss;
    let samples = 0;
    let signing = true;
    // Sampled on each turn of the event loop the signer gives back while it hashes.
    const sample = () => {
      const now = process.memoryUsage();
      peakArrayBuffers = Math.max(peakArrayBuffers, now.arrayBuffers);
      peakRss = Math.max(peakRss, now.rss);
      samples++;
      if (signing) setImmediate(sample);
    };
    setImmediate(sample);
    const fields = await dkimSign(message, [rsa.identity, ed.identity], { now: NOW });
    signing = false;
    sample();

    assert.ok(samples > 10, `the signer gave the event loop turns while hashing (${samples} samples)`);
    const extraBuffers = peakArrayBuffers - before.arrayBuffers;
    const extraRss = peakRss - before.rss;
    // Loose bounds: a second copy of the message would be 25 MB on both counts.
    assert.ok(extraBuffers < size / 8, `array buffers grew by ${extraBuffers} bytes`);
    assert.ok(extraRss < size / 2, `rss grew by ${extraRss} bytes`);

    assert.deepEqual(await results(Buffer.concat([Buffer.from(fields), message])), ['pass', 'pass']);
  });
});
