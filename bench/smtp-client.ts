// A minimal SMTP client on a bare socket, used for the latency measurement so that Herald,
// Postfix and the bare sink are timed by exactly the same code with nothing (no nodemailer, no
// pipelining, no TLS) in between. Commands are sent one at a time and each reply is awaited.
import { connect, type Socket } from 'node:net';

interface Reply { code: number; text: string }

class Session {
  private buf = '';
  private waiting: { ok: (r: Reply) => void; fail: (e: Error) => void }[] = [];
  private ready: Reply[] = [];
  private failed: Error | null = null;

  constructor(private readonly sock: Socket) {
    sock.setEncoding('latin1');
    sock.setNoDelay(true);
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error('connection closed')));
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let lines: string[] = [];
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i < 0) break;
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      lines.push(line);
      // The last line of a reply has a space (or nothing) after the code.
      if (line.length <= 3 || line[3] === ' ') {
        const reply = { code: Number(line.slice(0, 3)), text: lines.join('\n') };
        lines = [];
        const w = this.waiting.shift();
        if (w) w.ok(reply);
        else this.ready.push(reply);
      }
    }
    if (lines.length) this.buf = lines.map((l) => l + '\r\n').join('') + this.buf;
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const w of this.waiting.splice(0)) w.fail(e);
  }

  reply(): Promise<Reply> {
    const r = this.ready.shift();
    if (r) return Promise.resolve(r);
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((ok, fail) => this.waiting.push({ ok, fail }));
  }

  async command(line: string, expect: number): Promise<Reply> {
    this.sock.write(line + '\r\n');
    return this.expect(expect, line);
  }

  async expect(code: number, what: string): Promise<Reply> {
    const r = await this.reply();
    if (Math.floor(r.code / 100) !== Math.floor(code / 100)) throw new Error(`${what.slice(0, 40)}: expected ${code}, got ${r.text}`);
    return r;
  }

  write(data: string): void {
    this.sock.write(data);
  }

  close(): void {
    this.sock.end('QUIT\r\n');
    this.sock.destroy();
  }
}

function open(host: string, port: number): Promise<Session> {
  return new Promise((ok, fail) => {
    const sock = connect({ host, port }, () => ok(new Session(sock)));
    sock.once('error', fail);
  });
}

/** A message of about `size` bytes of body, dot-safe, CRLF line ends, 76-character lines. */
export function makeMessage(size: number, n: number): string {
  const line = 'x'.repeat(76) + '\r\n';
  const body = line.repeat(Math.ceil(size / line.length)).slice(0, size);
  return `From: <bench@client.example>\r\nTo: <rcpt@dest.example>\r\nSubject: latency ${n}\r\nMessage-ID: <lat-${n}-${Date.now()}@client.example>\r\n\r\n${body}\r\n.\r\n`;
}

async function transaction(s: Session, message: string): Promise<void> {
  await s.command('MAIL FROM:<bench@client.example>', 250);
  await s.command('RCPT TO:<rcpt@dest.example>', 250);
  await s.command('DATA', 354);
  s.write(message);
  await s.expect(250, 'end of data');
}

/**
 * Sends `count` messages one after another and returns each one's latency in milliseconds.
 * perConnection=false: one session; time from MAIL to the 250 after the data.
 * perConnection=true: a new connection per message; time from connect to that 250.
 */
export async function measureLatency(host: string, port: number, opts: { count: number; size: number; perConnection: boolean }): Promise<number[]> {
  const times: number[] = [];
  let s: Session | null = null;
  try {
    for (let i = 0; i < opts.count; i++) {
      const message = makeMessage(opts.size, i);
      const t0 = process.hrtime.bigint();
      if (!s) {
        s = await open(host, port);
        await s.expect(220, 'greeting');
        await s.command('EHLO client.example', 250);
      }
      await transaction(s, message);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (opts.perConnection) {
        s.close();
        s = null;
      }
    }
  } finally {
    s?.close();
  }
  return times;
}

/** Nearest-rank percentile of a list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
