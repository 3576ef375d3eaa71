import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import nodemailer from 'nodemailer';
import selfsigned from 'selfsigned';
import { loadConfig, type ConfigKey } from '../config/index.js';
import type { Clock } from '../core/index.js';
import { openSqlite, SqliteSqlDatabase } from '../storage/index.js';
import { SqliteQueueStore } from '../queue/index.js';
import { SqlCredentialStore } from '../accounts/index.js';
import { createAcceptPipeline, type ListenerKind } from '../accept/index.js';
import { missingPeers } from '../../test/support/peers.js';
import { createSmtpListeners } from './index.js';

const certificate = selfsigned.generate([{ name: 'commonName', value: 'mx.herald.test' }], { keySize: 2048 });

/** A clock the lockout test can move. */
class TestClock implements Clock {
  private at = Date.UTC(2024, 4, 7, 9, 0, 0);
  now = () => new Date(this.at);
  advance(ms: number) {
    this.at += ms;
  }
}

async function boot(t: TestContext, overrides: Partial<Record<ConfigKey, string>> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-receive-'));
  const db = openSqlite(join(dir, 'herald.db'));
  // The credentials use a connection of their own, as the CLI does: a queue failure (the store
  // closed under the listeners) then leaves AUTH and network credentials working.
  const credentialsDb = SqliteSqlDatabase.open(join(dir, 'herald.db'));
  const clock = new TestClock();
  const store = new SqliteQueueStore(db, { clock });
  const credentials = await SqlCredentialStore.open(credentialsDb, { clock });
  const { config } = loadConfig({ env: {}, overrides: { hostname: 'mx.herald.test', smtpBind: '127.0.0.1', ...overrides } });
  const pems = await certificate;
  const accept = createAcceptPipeline({ store, config, clock });
  const listeners = createSmtpListeners({ config, accept, credentials, tls: { key: pems.private, cert: pems.cert }, clock, logger: silent });
  const bound = await listeners.start({ ephemeral: true });
  t.after(async () => {
    await listeners.stop();
    await store.close().catch(() => {}); // some tests close it themselves
    if (db.open) db.close();
    await credentialsDb.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const port = (kind: ListenerKind) => bound.find((b) => b.kind === kind)!.port;
  return { store, credentials, clock, config, port };
}

const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

/** A raw SMTP client: writes exactly what it is told, reads whole replies. */
class RawClient {
  private buffer = '';
  private lines: string[] = [];
  private readonly replies: string[] = [];
  private readonly waiters: { resolve(r: string): void; reject(e: Error): void }[] = [];
  private isClosed = false;
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(private socket: net.Socket) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.attach(socket);
  }

  static async connect(port: number, options: { implicitTls?: boolean } = {}): Promise<RawClient> {
    const socket = options.implicitTls
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once(options.implicitTls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  private attach(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (socket !== this.socket) return;
      this.isClosed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`));
      this.resolveClosed();
    });
  }

  private onData(chunk: Buffer) {
    this.buffer += chunk.toString('utf8');
    let i: number;
    while ((i = this.buffer.indexOf('\r\n')) !== -1) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      this.lines.push(line);
      if (line.length < 4 || line[3] === ' ') {
        const reply = this.lines.join('\n');
        this.lines = [];
        const waiter = this.waiters.shift();
        if (waiter) waiter.resolve(reply);
        else this.replies.push(reply);
      }
    }
  }

  reply(): Promise<string> {
    const queued = this.replies.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.isClosed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  write(data: string | Buffer) {
    this.socket.write(data);
  }

  command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  async starttls(): Promise<void> {
    assert.match(await this.command('STARTTLS'), /^220 /);
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = tls.connect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  /** MAIL, RCPT…, DATA, the dot-stuffed body and the final dot; returns the last reply. */
  async send(from: string, to: string[], body: string | Buffer): Promise<string> {
    assert.match(await this.command(`MAIL FROM:<${from}>`), /^250 /);
    for (const rcpt of to) assert.match(await this.command(`RCPT TO:<${rcpt}>`), /^250 /);
    assert.match(await this.command('DATA'), /^354 /);
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const stuffed = raw.toString('latin1').replace(/^\./gm, '..');
    this.write(Buffer.from(stuffed, 'latin1'));
    this.write('.\r\n');
    return this.reply();
  }

  end() {
    this.socket.end();
  }
}

async function greeted(port: number, options: { implicitTls?: boolean } = {}) {
  const client = await RawClient.connect(port, options);
  assert.match(await client.reply(), /^220 mx\.herald\.test ESMTP/);
  return client;
}

const QUEUED = /^250 2\.0\.0 Ok: queued as ([0-9a-z]{26})$/;
const MESSAGE = 'From: app@example.com\r\nTo: user@example.net\r\nSubject: test\r\nMessage-ID: <m1@example.com>\r\nDate: Tue, 7 May 2024 09:00:00 +0000\r\n\r\nHello.\r\n';

function run(cmd: string, args: string[], input?: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input) child.stdin!.end(input);
  });
}

test('MX: EHLO lists the extensions without AUTH; an unknown client may not relay', async (t) => {
  const { port, store } = await boot(t);
  const c = await greeted(port('mx'));
  const ehlo = await c.command('EHLO client.example');
  for (const ext of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'STARTTLS', 'SIZE 26214400']) {
    assert.ok(ehlo.split('\n').some((l) => l.slice(4) === ext), `${ext} in ${ehlo}`);
  }
  assert.ok(!/AUTH|DSN/.test(ehlo), ehlo);
  assert.equal(await c.command('MAIL FROM:<someone@example.com>'), '250 2.1.0 Accepted');
  assert.equal(await c.command('RCPT TO:<user@example.net>'), '550 5.7.1 Relaying denied');
  assert.equal(await c.command('AUTH PLAIN AGZvbwBiYXI='), '500 5.5.2 Error: command not recognized');
  c.end();
  assert.equal((await store.list({ limit: 10 })).length, 0);
});

test('a network credential relays without AUTH; the 250 names the queue id', async (t) => {
  const { port, store, credentials } = await boot(t);
  const cred = await credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
  for (const kind of ['mx', 'submission'] as const) {
    const c = await greeted(port(kind));
    await c.command('EHLO app.local');
    const reply = await c.send('app@example.com', ['user@example.net', 'other@example.org'], MESSAGE);
    const id = QUEUED.exec(reply)?.[1];
    assert.ok(id, reply);
    const detail = await store.get(id);
    assert.deepEqual(detail?.recipients.map((r) => r.address).sort(), ['other@example.org', 'user@example.net']);
    assert.equal(detail?.meta.credential, cred.id);
    assert.equal(detail?.meta.clientIp, '127.0.0.1');
    assert.match((await store.getBody(id))!.toString(), /^Received: from app\.local \(\[127\.0\.0\.1\]\)\r\n\tby mx\.herald\.test \(Herald\) with ESMTP id /);
    assert.equal(await c.command('QUIT'), '221 2.0.0 Bye');
  }
});

test('submission: AUTH only after TLS (538 5.7.11), MAIL only after AUTH (530 5.7.0), bad password 535 5.7.8', async (t) => {
  const { port, credentials, store } = await boot(t);
  const app = await credentials.create({ name: 'app' });
  const c = await greeted(port('submission'));
  const plainEhlo = await c.command('EHLO client.example');
  assert.ok(plainEhlo.includes('STARTTLS') && !plainEhlo.includes('AUTH'), plainEhlo);
  assert.equal(await c.command('AUTH PLAIN ' + Buffer.from(`\0${app.username}\0${app.password}`).toString('base64')), '538 5.7.11 Encryption required for requested authentication mechanism');
  assert.equal(await c.command('MAIL FROM:<app@example.com>'), '530 5.7.0 Authentication required');

  await c.starttls();
  const tlsEhlo = await c.command('EHLO client.example');
  assert.ok(tlsEhlo.includes('AUTH PLAIN LOGIN') && !tlsEhlo.includes('STARTTLS'), tlsEhlo);
  assert.equal(await c.command('MAIL FROM:<app@example.com>'), '530 5.7.0 Authentication required');
  assert.equal(await c.command('AUTH PLAIN ' + Buffer.from(`\0${app.username}\0wrong`).toString('base64')), '535 5.7.8 Authentication credentials invalid');
  assert.match(await c.command('AUTH LOGIN'), /^334 /);
  assert.match(await c.command(Buffer.from(app.username!).toString('base64')), /^334 /);
  assert.equal(await c.command(Buffer.from(app.password!).toString('base64')), '235 2.7.0 Authentication successful');
  const id = QUEUED.exec(await c.send('app@example.com', ['user@example.net'], MESSAGE))?.[1];
  assert.ok(id);
  const body = (await store.getBody(id))!.toString();
  assert.match(body, /^Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n\t\(using TLSv1\.[23] with cipher \S+\)\r\n\tby mx\.herald\.test \(Herald\) with ESMTPSA id /);
  // A revoke reaches a session that is already authenticated at its next transaction.
  await credentials.revoke('app');
  assert.equal(await c.command('MAIL FROM:<app@example.com>'), '530 5.7.0 Authentication required');
  c.end();
});

test('repeated AUTH failures lock the address out (454 4.7.0) until the lockout passes', async (t) => {
  const { port, credentials, clock, config } = await boot(t, { authMaxFailures: '3', authLockout: '10m' });
  const app = await credentials.create({ name: 'app' });
  const token = (password: string) => 'AUTH PLAIN ' + Buffer.from(`\0${app.username}\0${password}`).toString('base64');
  const c = await greeted(port('submissions'), { implicitTls: true });
  await c.command('EHLO client.example');
  for (let i = 0; i < 3; i++) assert.equal(await c.command(token('wrong')), '535 5.7.8 Authentication credentials invalid');
  assert.equal(await c.command(token(app.password!)), '454 4.7.0 Too many failed login attempts, try again later');
  clock.advance(config.authLockout);
  assert.equal(await c.command(token(app.password!)), '235 2.7.0 Authentication successful');
  c.end();
});

test('a blocked client is refused at connect with its address in the reply', async (t) => {
  const { port } = await boot(t, { blockedClients: '10.0.0.0/8,127.0.0.1/32' });
  const c = await RawClient.connect(port('submission'));
  assert.equal(await c.reply(), '550 5.7.1 Service unavailable; Client host [127.0.0.1] blocked');
  await c.closed;
});

test('concurrent connections per address are limited; network credentials are exempt', async (t) => {
  const { port, credentials } = await boot(t, { maxConnectionsPerIp: '2' });
  const open = [await greeted(port('submission')), await greeted(port('mx'))];
  const third = await RawClient.connect(port('submission'));
  assert.equal(await third.reply(), '421 4.7.0 Too many connections from your address, try again later');
  await third.closed;

  await credentials.create({ name: 'local', networks: ['127.0.0.1'] });
  const exempt = await greeted(port('submission'));
  for (const c of [...open, exempt]) c.end();
});

test('the connection limit in all counts every listener', async (t) => {
  const { port } = await boot(t, { maxConnections: '1' });
  const first = await greeted(port('submission'));
  const second = await RawClient.connect(port('submissions'), { implicitTls: true });
  assert.equal(await second.reply(), '421 4.7.0 Too many connections, try again later');
  await second.closed;
  first.end();
});

test('a store failure after DATA is 451 4.3.0, never a 250', async (t) => {
  const { port, credentials, store } = await boot(t);
  await credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
  const c = await greeted(port('submission'));
  await c.command('EHLO client.example');
  await store.close();
  assert.equal(await c.send('a@example.com', ['b@example.net'], MESSAGE), '451 4.3.0 Local error in processing; try again later');
  c.end();
});

test('too many recipients get 452 4.5.3', async (t) => {
  const { port, credentials } = await boot(t, { maxRecipients: '2' });
  await credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
  const c = await greeted(port('mx'));
  await c.command('EHLO client.example');
  await c.command('MAIL FROM:<a@example.com>');
  assert.equal(await c.command('RCPT TO:<one@example.net>'), '250 2.1.5 Accepted');
  assert.equal(await c.command('RCPT TO:<two@example.net>'), '250 2.1.5 Accepted');
  assert.equal(await c.command('RCPT TO:<postmaster>'), '553 5.1.3 Recipient address rejected: invalid address');
  assert.equal(await c.command('RCPT TO:<three@example.net>'), '452 4.5.3 Too many recipients');
  assert.equal(await c.command('RCPT TO:<ONE@example.net>'), '250 2.1.5 Accepted', 'a repeated recipient does not count twice');
  c.end();
});

test('oversize: SIZE at MAIL and DATA over the limit get 552 5.3.4', async (t) => {
  const { port, credentials, store } = await boot(t, { maxMessageSize: '1KB' });
  await credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
  const c = await greeted(port('submission'));
  await c.command('EHLO client.example');
  const tooBig = '552 5.3.4 Message size exceeds fixed limit of 1024 bytes';
  assert.equal(await c.command('MAIL FROM:<a@example.com> SIZE=5000'), tooBig);
  const body = `Subject: big\r\n\r\n${'x'.repeat(70)}\r\n`.repeat(20);
  assert.equal(await c.send('a@example.com', ['b@example.net'], body), tooBig);
  assert.match(await c.send('a@example.com', ['b@example.net'], 'Subject: small\r\n\r\nok\r\n'), QUEUED, 'the session goes on');
  assert.equal((await store.list({ limit: 10 })).length, 1);
  c.end();
});

test('over-long lines get 500 5.5.2: a command line, and a text line in DATA', async (t) => {
  const { port, credentials, store } = await boot(t);
  await credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
  const c = await greeted(port('submission'));
  await c.command('EHLO client.example');
  assert.equal(await c.send('a@example.com', ['b@example.net'], `Subject: long\r\n\r\n${'y'.repeat(999)}\r\n`), '500 5.5.2 Line too long');
  assert.equal((await store.list({ limit: 10 })).length, 0);
  assert.equal(await c.command(`NOOP ${'z'.repeat(1000)}`), '500 5.5.2 Line too long');
  await c.closed;
});

test('a bare LF in DATA is rejected with 550 5.6.0 and nothing is queued', async (t) => {
  const { port, credentials, store } = await boot(t);
  await credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
  const c = await greeted(port('mx'));
  await c.command('EHLO client.example');
  // The classic smuggling shape: a bare LF before the dot.
  const reply = await c.send('a@example.com', ['b@example.net'], 'Subject: x\r\n\r\nfirst\n.\nMAIL FROM:<evil@example.com>\r\n');
  assert.equal(reply, '550 5.6.0 Message contains a bare CR or LF; send lines ending in CRLF');
  assert.equal((await store.list({ limit: 10 })).length, 0);
  c.end();
});

test('with bareLineEndings=normalize, bare line endings are stored as CRLF', async (t) => {
  const { port, credentials, store } = await boot(t, { bareLineEndings: 'normalize' });
  await credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
  const c = await greeted(port('mx'));
  await c.command('EHLO client.example');
  const id = QUEUED.exec(await c.send('a@example.com', ['b@example.net'], 'Subject: x\r\n\r\none\ntwo\rthree\r\n'))?.[1];
  assert.ok(id);
  assert.match((await store.getBody(id))!.toString('latin1'), /\r\n\r\none\r\ntwo\r\nthree\r\n$/);
  c.end();
});

test('pipelining: commands written in one go get their replies in order', async (t) => {
  const { port, credentials, store } = await boot(t);
  await credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
  const c = await greeted(port('submission'));
  c.write('EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n');
  assert.match(await c.reply(), /^250-mx\.herald\.test[\s\S]*\n250-PIPELINING/);
  assert.equal(await c.reply(), '250 2.1.0 Accepted');
  assert.equal(await c.reply(), '250 2.1.5 Accepted');
  assert.equal(await c.reply(), '250 2.1.5 Accepted');
  assert.match(await c.reply(), /^354 /);
  c.write(`${MESSAGE}.\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n`);
  const id = QUEUED.exec(await c.reply())?.[1];
  assert.ok(id);
  assert.equal(await c.reply(), '250 2.1.0 Accepted');
  assert.equal(await c.reply(), '250 2.1.5 Accepted');
  assert.match(await c.reply(), /^354 /);
  c.write(`${MESSAGE}.\r\nQUIT\r\n`);
  assert.match(await c.reply(), QUEUED);
  assert.equal(await c.reply(), '221 2.0.0 Bye');
  await c.closed;
  assert.equal((await store.get(id))!.recipients.length, 2);
});

test('an idle session is closed with 421 4.4.2', async (t) => {
  const { port } = await boot(t, { smtpIdleTimeout: '150ms' });
  const c = await greeted(port('submission'));
  assert.equal(await c.reply(), '421 4.4.2 Idle timeout, closing connection');
  await c.closed;
});

test('a message trickling in past the DATA deadline gets 421 4.4.2 and is not queued', async (t) => {
  // The idle timeout alone never fires: the client keeps sending, just too slowly.
  const { port, credentials, store } = await boot(t, { smtpDataTimeout: '300ms', smtpIdleTimeout: '1h' });
  await credentials.create({ name: 'local', networks: ['127.0.0.0/8'] });
  const c = await greeted(port('submission'));
  await c.command('EHLO client.example');
  assert.match(await c.command('MAIL FROM:<a@example.com>'), /^250 /);
  assert.match(await c.command('RCPT TO:<b@example.net>'), /^250 /);
  assert.match(await c.command('DATA'), /^354 /);
  c.write('Subject: slow\r\n\r\nthe first line of many\r\n');
  assert.equal(await c.reply(), '421 4.4.2 Message transfer took too long, closing connection');
  await c.closed;
  assert.deepEqual(await store.list({ limit: 10 }), []);
});

test('nodemailer: STARTTLS + AUTH on 587 and implicit TLS + AUTH on 465', async (t) => {
  const { port, credentials, store } = await boot(t);
  const app = await credentials.create({ name: 'app' });
  for (const [kind, secure] of [['submission', false], ['submissions', true]] as const) {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: port(kind),
      secure,
      requireTLS: !secure,
      auth: { user: app.username!, pass: app.password! },
      tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({ from: 'app@example.com', to: 'user@example.net', subject: `via ${kind}`, text: 'Grüße aus Herald\n' });
    transport.close();
    const id = QUEUED.exec(info.response)?.[1];
    assert.ok(id, info.response);
    const detail = (await store.get(id))!;
    assert.equal(detail.meta.subject, `via ${kind}`);
    assert.deepEqual(detail.recipients.map((r) => r.address), ['user@example.net']);
    assert.match((await store.getBody(id))!.toString(), /with ESMTPSA id /);
  }
});

test("Python's smtplib: STARTTLS, AUTH, an 8-bit SMTPUTF8 message stored byte for byte", async (t) => {
  const missing = missingPeers('python3');
  if (missing) return t.skip(missing);
  const { port, credentials, store } = await boot(t);
  const app = await credentials.create({ name: 'app' });
  const message = Buffer.concat([
    Buffer.from(
      'From: Jürgen <jürgen@bücher.example>\r\nTo: zoë@bücher.example\r\nSubject: Grüße, ünïcødé ✉\r\n' +
        'Message-ID: <utf8@bücher.example>\r\nDate: Tue, 7 May 2024 09:00:00 +0000\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
        'Ein Gruß mit 8 Bit: äöü ß € 😀\r\n.leading dot stays\r\n',
    ),
    Buffer.from([0xff, 0xfe, 0x80, 0x20, 0x0d, 0x0a]), // 8-bit bytes that are not UTF-8 at all
  ]);
  const script = `
import json, smtplib, ssl, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
msg = sys.stdin.buffer.read()
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', port, local_hostname='python.client', timeout=30)
s.starttls(context=ctx); s.ehlo('python.client'); s.login(user, password)
code, resp = s.mail('jürgen@bücher.example', ['SMTPUTF8', 'BODY=8BITMIME']); assert code == 250, resp
code, resp = s.rcpt('zoë@bücher.example'); assert code == 250, resp
code, resp = s.data(msg)
s.quit()
print(json.dumps({'code': code, 'resp': resp.decode()}))
`;
  const result = await run('python3', ['-c', script, String(port('submission')), app.username!, app.password!], message);
  assert.equal(result.code, 0, result.stderr);
  const { code, resp } = JSON.parse(result.stdout) as { code: number; resp: string };
  const id = QUEUED.exec(`${code} ${resp}`)?.[1];
  assert.ok(id, `${code} ${resp}`);
  const stored = (await store.getBody(id))!;
  assert.ok(stored.subarray(stored.length - message.length).equals(message), 'the message bytes are unchanged');
  assert.match(stored.subarray(0, stored.length - message.length).toString(), /^Received: (?:[^\r]*\r\n\t)+[^\r]*\r\n$/, 'only a Received field is prepended');
  const detail = (await store.get(id))!;
  assert.equal(detail.mailFrom, 'jürgen@xn--bcher-kva.example');
  assert.deepEqual(detail.recipients.map((r) => r.address), ['zoë@xn--bcher-kva.example']);
  assert.equal(detail.meta.subject, 'Grüße, ünïcødé ✉');
});

test('swaks: STARTTLS + AUTH on 587, TLS on connect on 465, relay denied on 25', async (t) => {
  const missing = missingPeers('swaks');
  if (missing) return t.skip(missing);
  const { port, credentials, store } = await boot(t);
  const app = await credentials.create({ name: 'app' });
  const common = ['--server', '127.0.0.1', '--from', 'app@example.com', '--to', 'user@example.net', '--helo', 'swaks.test'];
  const auth = ['--auth', 'LOGIN', '--auth-user', app.username!, '--auth-password', app.password!];
  for (const [kind, tlsFlag] of [['submission', '--tls'], ['submissions', '--tlsc']] as const) {
    const result = await run('swaks', [...common, '--port', String(port(kind)), tlsFlag, ...auth]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const id = /<~ +250 2\.0\.0 Ok: queued as ([0-9a-z]{26})/.exec(result.stdout)?.[1];
    assert.ok(id, result.stdout);
    assert.ok(await store.get(id));
  }
  const denied = await run('swaks', [...common, '--port', String(port('mx'))]);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stdout, /<\*\* +550 5\.7\.1 Relaying denied/);
});
