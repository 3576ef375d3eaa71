// Micro-benchmark of the HTTP API's message composition: the one-pass MIME writer
// (src/accept/mime-writer.ts) against nodemailer's MailComposer, which composeMessage used before.
//
//   node --import tsx bench/compose.ts [--n 2000] [--rounds 7]
//
// Two views per message kind, each in µs per message (median of the rounds, wall clock on an
// otherwise idle event loop, and the process CPU time over the same rounds):
//   compose  composeMessage (checks + writer) vs composeMessageWithMailComposer (checks + MailComposer)
//   mime     writeMessage vs MailComposer.compile().build() alone, from prepared values
// Both compose columns run today's checks, which no longer scan attachments with a pattern or
// encode them again: with attachments the old column is cheaper than composeMessage was before.
// Before timing, every pair is checked to produce the same bytes (boundaries aside).
import { parseArgs } from 'node:util';
import MailComposer, { type MailComposerOptions } from 'nodemailer/lib/mail-composer/index.js';
import { composeMessage, composeMessageWithMailComposer, type ComposeOptions } from '../src/accept/compose.js';
import { writeMessage, type WriterMessage } from '../src/accept/mime-writer.js';
import type { MessageContent } from '../src/accept/types.js';

const { values: args } = parseArgs({ options: { n: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '7' } } });
const N = Number(args.n);
const ROUNDS = Number(args.rounds);

const OPTIONS: ComposeOptions = { messageId: '01JBENCH0000@mail.herald.test', date: new Date(Date.UTC(2024, 4, 7, 9, 5, 3)), maxMessageSize: 10 * 1024 * 1024, maxRecipients: 50 };
const DATE = 'Tue, 7 May 2024 09:05:03 +0000';

// About 1 KB each: a plain-text order confirmation, and the same as html on one long line, as
// template engines tend to produce it (so quoted-printable).
const TEXT_1K = 'Hello Ann,\n\nThank you for your order 4711. We are packing it now and will send you the\ntracking number as soon as it leaves the warehouse.\n\n'.concat(
  '  1 x Notebook, squared, A5 ............................. 4.50 EUR\n'.repeat(10),
  '\nKind regards,\nThe Shop\n',
);
const HTML_1K = `<!doctype html><html><body><p>Hello Ann,</p><p>Thank you for your order 4711. We are packing it now.</p><table>${'<tr><td>1 x Notebook, squared, A5</td><td>4.50 EUR</td></tr>'.repeat(12)}</table><p>Kind regards,<br>The Shop</p></body></html>`;
const pseudoRandom = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 7919 + seed * 104729 + ((i * i) >> 3)) & 0xff));
const PNG = pseudoRandom(2 * 1024, 1);
const PDF = pseudoRandom(48 * 1024, 2);

interface Kind {
  name: string;
  content: MessageContent;
  writer: WriterMessage;
}

const kinds: Kind[] = [
  {
    name: 'text 1 KB',
    content: { from: 'The Shop <shop@example.com>', to: ['ann@example.net'], subject: 'Your order 4711', text: TEXT_1K },
    writer: {
      headers: [],
      from: { name: 'The Shop', address: 'shop@example.com' },
      to: [{ name: '', address: 'ann@example.net' }],
      cc: [],
      replyTo: [],
      subject: 'Your order 4711',
      messageId: `<${OPTIONS.messageId}>`,
      date: DATE,
      text: crlf(TEXT_1K),
      attachments: [],
    },
  },
  {
    name: 'text+html 1 KB, UTF-8 subject',
    content: { from: 'The Shop <shop@example.com>', to: ['Ann Example <ann@example.net>'], subject: 'Grüße — Ihre Bestellung 4711 ist unterwegs', text: TEXT_1K, html: HTML_1K },
    writer: {
      headers: [],
      from: { name: 'The Shop', address: 'shop@example.com' },
      to: [{ name: 'Ann Example', address: 'ann@example.net' }],
      cc: [],
      replyTo: [],
      subject: 'Grüße — Ihre Bestellung 4711 ist unterwegs',
      messageId: `<${OPTIONS.messageId}>`,
      date: DATE,
      text: crlf(TEXT_1K),
      html: HTML_1K,
      attachments: [],
    },
  },
  {
    name: 'html + inline image + PDF, 50 KB',
    content: {
      from: 'The Shop <shop@example.com>',
      to: ['Ann Example <ann@example.net>'],
      subject: 'Invoice 4711',
      html: `${HTML_1K}<img src="cid:logo@shop">`,
      attachments: [
        { filename: 'logo.png', content: PNG.toString('base64'), contentId: 'logo@shop' },
        { filename: 'invoice-4711.pdf', content: PDF.toString('base64') },
      ],
    },
    writer: {
      headers: [],
      from: { name: 'The Shop', address: 'shop@example.com' },
      to: [{ name: 'Ann Example', address: 'ann@example.net' }],
      cc: [],
      replyTo: [],
      subject: 'Invoice 4711',
      messageId: `<${OPTIONS.messageId}>`,
      date: DATE,
      html: `${HTML_1K}<img src="cid:logo@shop">`,
      attachments: [
        { filename: 'logo.png', contentType: 'image/png', contentId: 'logo@shop', base64: PNG.toString('base64') },
        { filename: 'invoice-4711.pdf', contentType: 'application/pdf', base64: PDF.toString('base64') },
      ],
    },
  },
];

/** The same message as MailComposer takes it (what composeMessageWithMailComposer hands it). */
function mailComposerOptions(w: WriterMessage): MailComposerOptions {
  return {
    from: w.from,
    to: [...w.to],
    ...(w.cc.length ? { cc: [...w.cc] } : {}),
    ...(w.replyTo.length ? { replyTo: [...w.replyTo] } : {}),
    subject: w.subject,
    text: w.text,
    html: w.html,
    headers: [...w.headers],
    messageId: w.messageId,
    date: w.date,
    attachments: w.attachments.map((a) => ({
      filename: a.filename,
      content: Buffer.from(a.base64 ?? '', 'base64'),
      contentType: a.contentType,
      contentDisposition: a.contentId ? ('inline' as const) : ('attachment' as const),
      ...(a.contentId ? { cid: a.contentId } : {}),
      contentTransferEncoding: 'base64' as const,
    })),
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

function crlf(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\r\n');
}

/** The random part of the boundaries is the only difference the two may have. */
const sameBytes = (a: Buffer, b: Buffer) => {
  const norm = (x: Buffer) => x.toString('latin1').replace(/--_NmP-[0-9a-f]{16}-Part_/g, '--_NmP-*-Part_');
  return norm(a) === norm(b);
};

type Run = () => Promise<unknown> | unknown;

interface Timing {
  wall: number;
  cpu: number;
}

/** µs per message: the median round's wall time, CPU time over all rounds. */
async function time(runs: Record<string, Run>): Promise<Record<string, Timing>> {
  const names = Object.keys(runs);
  const walls: Record<string, number[]> = {};
  const cpus: Record<string, number> = {};
  for (const name of names) {
    walls[name] = [];
    cpus[name] = 0;
    for (let i = 0; i < Math.max(200, N / 4); i++) await runs[name]!(); // warm-up
  }
  // Rounds alternate between the variants, so a noisy moment hurts both alike.
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of names) {
      const run = runs[name]!;
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      for (let i = 0; i < N; i++) await run();
      walls[name]!.push(Number(process.hrtime.bigint() - start) / 1e3 / N);
      const used = process.cpuUsage(cpu);
      cpus[name]! += (used.user + used.system) / N;
    }
  }
  const out: Record<string, Timing> = {};
  for (const name of names) {
    const sorted = walls[name]!.sort((a, b) => a - b);
    out[name] = { wall: sorted[Math.floor(sorted.length / 2)]!, cpu: cpus[name]! / ROUNDS };
  }
  return out;
}

const fmt = (us: number) => us.toFixed(1).padStart(8);
const rows: string[] = [];
for (const kind of kinds) {
  // Prepared once, outside the timing, like the writer's input.
  const composerInput = mailComposerOptions(kind.writer);
  const [newBody, oldBody, writerBody, mcBody] = [
    (await composeMessage(kind.content, OPTIONS)).body,
    (await composeMessageWithMailComposer(kind.content, OPTIONS)).body,
    writeMessage(kind.writer),
    await new MailComposer(composerInput).compile().build(),
  ];
  if (!sameBytes(newBody, oldBody) || !sameBytes(writerBody, mcBody) || !sameBytes(newBody, writerBody)) {
    throw new Error(`${kind.name}: the writer and MailComposer differ`);
  }
  const t = await time({
    'compose new': () => composeMessage(kind.content, OPTIONS),
    'compose old': () => composeMessageWithMailComposer(kind.content, OPTIONS),
    'mime new': () => writeMessage(kind.writer),
    'mime old': () => new MailComposer(composerInput).compile().build(),
  });
  const line = (view: string) => {
    const o = t[`${view} old`]!;
    const n = t[`${view} new`]!;
    return `${kind.name.padEnd(34)} ${view.padEnd(8)} ${fmt(o.wall)} ${fmt(n.wall)} ${(o.wall / n.wall).toFixed(1).padStart(6)}x ${fmt(o.cpu)} ${fmt(n.cpu)} ${(o.cpu / n.cpu).toFixed(1).padStart(6)}x`;
  };
  rows.push(line('compose'), line('mime'));
  process.stderr.write(`${kind.name}: ${newBody.length} octets\n`);
}

console.log(`node ${process.version}, ${N} messages x ${ROUNDS} rounds per cell; µs per message`);
console.log(`${'message'.padEnd(34)} ${'view'.padEnd(8)} ${'old wall'.padStart(8)} ${'new wall'.padStart(8)} ${'ratio'.padStart(7)} ${'old cpu'.padStart(8)} ${'new cpu'.padStart(8)} ${'ratio'.padStart(7)}`);
for (const row of rows) console.log(row);
