import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { tempDatabase } from '../../test/support/sqlite.js';
import { SqliteSqlDatabase } from '../storage/index.js';
import { SqlSuppressionStore } from './sql-suppression-store.js';

async function setup(t: { after(fn: () => void): void }) {
  // The files go beside the database in its temporary directory, removed with it.
  const open = tempDatabase(t, 'herald-csv-');
  const db = open();
  const dir = dirname(open.file);
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  return { dir, file, store: await SqlSuppressionStore.open(new SqliteSqlDatabase(db)) };
}

test('one address per line, no header: blank lines skipped, bad lines reported by number', async (t) => {
  const { store, file } = await setup(t);
  const path = file('list.txt', '\uFEFFann@example.com\r\nBob@Example.NET\r\n\r\nnot an address\r\n  carol@example.org  \r\nDave <dave@example.com>\r\n@example.com\r\nann@example.com');
  const result = await store.importCsv('acme', path);
  assert.equal(result.lines, 8);
  assert.equal(result.addresses, 5);
  assert.equal(result.column, null);
  assert.deepEqual({ added: result.added, updated: result.updated, unchanged: result.unchanged }, { added: 8, updated: 0, unchanged: 2 }, 'both streams by default; ann twice');
  assert.deepEqual(
    result.invalidLines.map((l) => [l.line, l.text, l.error]),
    [
      [4, 'not an address', '"not an address" is not an email address'],
      [7, '@example.com', '"@example.com" is not an email address'],
    ],
  );
  assert.equal(result.invalid, 2);
  assert.equal((await store.check('acme', 'broadcast', ['Bob@example.net', 'carol@example.org', 'dave@example.com'])).size, 3);
  assert.equal((await store.get('acme', 'ann@example.com'))[0].reason, 'manual');
});

test('a header names the address column; delimiters, quotes and records spanning lines are understood', async (t) => {
  const { store, file } = await setup(t);
  const semicolons = file(
    'export.csv',
    [
      'Name;Email Address;Note',
      'Ann;ann@example.com;"likes ; semicolons"',
      'Bob;"bob@example.com";"a note',
      'over two lines"',
      'Carol;;no address',
      'Dave;dave.example.com;bad',
      'Erin;erin@example.com;',
    ].join('\n'),
  );
  const result = await store.importCsv('acme', semicolons, { stream: 'broadcast' });
  assert.equal(result.column, 'email address');
  assert.equal(result.addresses, 3);
  assert.deepEqual(result.invalidLines.map((l) => [l.line, l.error]), [
    [5, 'no address in the email address column'],
    [6, '"dave.example.com" is not an email address'],
  ], 'line numbers count the physical lines of the file');
  assert.equal(await store.count('acme', 'broadcast'), 3);
  assert.equal(await store.count('acme', 'transactional'), 0);

  const mailgun = file('bounces.csv', 'address,code,error,created_at\nfrank@example.com,550,"No such user, sorry",2030-01-01\n');
  const second = await store.importCsv('acme', mailgun, { stream: 'transactional' });
  assert.equal(second.column, 'address');
  assert.equal(second.addresses, 1);
  assert.equal((await store.check('acme', 'transactional', ['frank@example.com'])).size, 1);
});

test('an endless line and an unclosed quote are reported without stopping the import', async (t) => {
  const { store, file } = await setup(t);
  const path = file('odd.csv', `email\nann@example.com\n${'x'.repeat(200_000)}@example.com\nbob@example.com\n"carol@example.com\n`);
  const result = await store.importCsv('acme', path);
  assert.deepEqual(result.invalidLines.map((l) => [l.line, l.error]), [
    [3, 'the line is longer than 64 KB'],
    [5, 'a quoted field is not closed'],
  ]);
  assert.ok(result.invalidLines[0].text.length <= 201, 'the shown text is cut');
  assert.equal(result.addresses, 2);
});

test('a large file is read in chunks and committed in batches as it goes', async (t) => {
  const { store, dir } = await setup(t);
  const path = join(dir, 'large.csv');
  const lines = 100_000;
  const out = createWriteStream(path);
  out.write('id,email,signed_up\n');
  for (let i = 1; i <= lines; i++) {
    // Every 10,000th line is broken; file line numbers are i + 1 (the header is line 1).
    const address = i % 10_000 === 0 ? `broken-${i}` : `user${i}@example${i % 97}.com`;
    if (!out.write(`${i},${address},2030-01-01\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const size = statSync(path).size;

  const seen: { done: number; total: number | undefined; stored: number; addresses: number }[] = [];
  const result = await store.importCsv('acme', path, {
    stream: 'transactional',
    batchSize: 5000,
    onProgress: async (done, total, counts) => {
      seen.push({ done, total, stored: await store.count('acme', 'transactional'), addresses: counts.addresses });
    },
  });
  assert.equal(result.lines, lines + 1);
  assert.equal(result.addresses, lines - 10);
  assert.equal(result.added, lines - 10);
  assert.equal(result.invalid, 10);
  assert.deepEqual(result.invalidLines.map((l) => l.line), Array.from({ length: 10 }, (_, i) => (i + 1) * 10_000 + 1));
  assert.equal(result.bytes, size);

  assert.ok(seen.length > 10, `progress was reported ${seen.length} times`);
  assert.ok(seen.every((p) => p.total === size));
  assert.ok(seen.every((p, i) => i === 0 || p.done >= seen[i - 1].done), 'bytes only grow');
  assert.equal(seen.at(-1)!.done, size);
  // While the file was still being read, earlier batches were already in the database — and
  // never more than one batch behind what had been read.
  const midway = seen.filter((p) => p.done < size);
  assert.ok(midway.some((p) => p.stored > 0 && p.stored < lines - 10), 'batches committed before the end');
  assert.ok(midway.every((p) => p.addresses - p.stored < 5000));
  assert.equal(await store.count('acme', 'transactional'), lines - 10);
});

test('a stream of unknown length imports the same way; progress has no total', async (t) => {
  const { store } = await setup(t);
  const count = 30_000;
  // Generated as it is read: the whole file never exists anywhere.
  const source = Readable.from(
    (function* () {
      for (let i = 0; i < count; i += 1000) {
        let chunk = '';
        for (let j = i; j < i + 1000; j++) chunk += `person${j}@example.com\n`;
        yield Buffer.from(chunk);
      }
    })(),
  );
  const totals = new Set<number | undefined>();
  const result = await store.importCsv('acme', source, { stream: 'broadcast', onProgress: (_done, total) => void totals.add(total) });
  assert.equal(result.addresses, count);
  assert.equal(result.invalid, 0);
  assert.deepEqual([...totals], [undefined]);
  assert.equal(await store.count('acme', 'broadcast'), count);
});

test('a multi-byte character split across chunks is decoded whole', async (t) => {
  const { store } = await setup(t);
  const bytes = Buffer.from('josé@bücher.example\nzoë@example.com\n');
  const at = bytes.indexOf(Buffer.from('ü')) + 1; // between the two bytes of ü
  const result = await store.importCsv('acme', Readable.from([bytes.subarray(0, at), bytes.subarray(at)]));
  assert.equal(result.invalid, 0, JSON.stringify(result.invalidLines));
  assert.equal((await store.check('acme', 'broadcast', ['josé@xn--bcher-kva.example', 'zoë@example.com'])).size, 2);
});
