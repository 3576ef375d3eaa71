/**
 * A receiving MTA for tests, built on smtp-server, listening on a loopback address. It records
 * every message exactly as received (raw bytes after dot-unstuffing), with its envelope, whether
 * the session used TLS, and the client's EHLO name; replies can be scripted per recipient and
 * for DATA. On Linux every 127.x.y.z address is loopback, so several sinks (several "MX hosts")
 * can share one port on 127.0.0.2, 127.0.0.3, … — which is how HERALD_OUTBOUND_PORT reaches them.
 *
 *   const sink = await startSmtpSink({ host: '127.0.0.2' });
 *   sink.setRecipientReply('full@example.test', { code: 452, text: '4.2.2 Mailbox full' });
 *   sink.setDataReply({ code: 451, text: '4.3.0 Try later' }, { times: 1 });   // once, then 250
 *   const msg = await sink.nextMessage();   // or await sink.waitFor(3)
 *   await sink.close();
 *
 * STARTTLS is offered with a self-signed certificate (tls: true makes it implicit TLS instead,
 * tls: false hides STARTTLS). auth: { user, pass } requires AUTH PLAIN/LOGIN before MAIL.
 */
import selfsigned from 'selfsigned';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export interface SinkReply {
  code: number;
  /** Reply text; put an enhanced status code first ("5.1.1 User unknown") when wanted. */
  text: string;
}

export interface ReceivedMessage {
  mailFrom: string;
  rcptTo: string[];
  /** The message exactly as received (after dot-unstuffing). */
  raw: Buffer;
  tls: boolean;
  /** The EHLO/HELO name the client gave. */
  ehlo: string;
  /** MAIL FROM parameters (BODY, SMTPUTF8, SIZE …) as smtp-server parsed them. */
  mailParams: Record<string, unknown>;
  /** The username when the client authenticated. */
  user?: string;
  /** Which TCP connection (1-based, in order of arrival) carried it. */
  connection: number;
}

export interface SmtpSinkOptions {
  host?: string;
  port?: number;
  /** true: implicit TLS on connect; false: no STARTTLS; undefined (default): STARTTLS offered. */
  tls?: boolean;
  /** Require AUTH with these credentials before MAIL FROM. */
  auth?: { user: string; pass: string };
  /** Hide extensions to test the client's behaviour without them. */
  hide?: ('SMTPUTF8' | '8BITMIME' | 'PIPELINING')[];
  /** Holds each message this long before replying to its data, so concurrent sessions overlap. */
  dataDelayMs?: number;
}

export interface SmtpSink {
  port: number;
  host: string;
  messages: ReceivedMessage[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** The most TCP connections open at the same time so far. */
  readonly maxOpenConnections: number;
  /** The most messages being received (DATA begun, not yet answered) at the same time so far. */
  readonly maxConcurrentData: number;
  /** Resolves with the next message not yet handed out by nextMessage(). */
  nextMessage(): Promise<ReceivedMessage>;
  /** Resolves once at least `count` messages have been received. */
  waitFor(count: number): Promise<ReceivedMessage[]>;
  /** Reply to RCPT TO for this address (null: accept). `times`: only for the next n RCPTs of it. */
  setRecipientReply(address: string, reply: SinkReply | null, options?: { times?: number }): void;
  /** Reply after the message data (null: 250). `times`: only for the next n messages. */
  setDataReply(reply: SinkReply | null, options?: { times?: number }): void;
  close(): Promise<void>;
}

interface Scripted {
  reply: SinkReply;
  times: number;
}

let certificate: Promise<{ key: string; cert: string }> | undefined;
function testCertificate(): Promise<{ key: string; cert: string }> {
  certificate ??= selfsigned
    .generate([{ name: 'commonName', value: 'sink.test' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' })
    .then((pems) => ({ key: pems.private, cert: pems.cert }));
  return certificate;
}

function smtpError(reply: SinkReply): Error {
  return Object.assign(new Error(reply.text), { responseCode: reply.code });
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const host = options.host ?? '127.0.0.2';
  const { key, cert } = await testCertificate();
  const messages: ReceivedMessage[] = [];
  const recipientReplies = new Map<string, Scripted>();
  let dataReply: Scripted | undefined;
  let connections = 0;
  let open = 0;
  let maxOpen = 0;
  let receiving = 0;
  let maxReceiving = 0;
  const connectionOf = new Map<string, number>();
  const waiters: { count: number; resolve(list: ReceivedMessage[]): void }[] = [];
  let handedOut = 0;

  const take = (scripted: Scripted | undefined): SinkReply | undefined => {
    if (!scripted) return undefined;
    if (scripted.times <= 0) return undefined;
    scripted.times--;
    return scripted.reply;
  };

  const hide = new Set(options.hide ?? []);
  const serverOptions: SMTPServerOptions = {
    secure: options.tls === true,
    key,
    cert,
    hideSTARTTLS: options.tls === false,
    hideSMTPUTF8: hide.has('SMTPUTF8'),
    hide8BITMIME: hide.has('8BITMIME'),
    hidePIPELINING: hide.has('PIPELINING'),
    disableReverseLookup: true,
    logger: false,
    size: 50 * 1024 * 1024,
    authOptional: !options.auth,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) return callback(null, { user: auth.username });
      callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
    },
    onConnect(session, callback) {
      connections++;
      connectionOf.set(session.id, connections);
      maxOpen = Math.max(maxOpen, ++open);
      callback();
    },
    onClose() {
      open--;
    },
    onRcptTo(address, _session, callback) {
      const reply = take(recipientReplies.get(address.address));
      if (reply && reply.code >= 400) return callback(smtpError(reply));
      callback();
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      maxReceiving = Math.max(maxReceiving, ++receiving);
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        if (options.dataDelayMs) await new Promise((resolve) => setTimeout(resolve, options.dataDelayMs));
        receiving--;
        const reply = take(dataReply);
        if (reply && reply.code >= 400) return callback(smtpError(reply));
        const message: ReceivedMessage = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          tls: session.secure,
          ehlo: session.hostNameAppearsAs,
          mailParams: (session.envelope.mailFrom ? session.envelope.mailFrom.args : {}) || {},
          user: typeof session.user === 'string' ? session.user : undefined,
          connection: connectionOf.get(session.id) ?? 0,
        };
        messages.push(message);
        for (const w of [...waiters]) {
          if (messages.length >= w.count) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(messages.slice());
          }
        }
        callback(null, 'OK: queued');
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => {}); // client-side resets in tests are not failures of the sink

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const waitFor = (count: number) =>
    messages.length >= count ? Promise.resolve(messages.slice()) : new Promise<ReceivedMessage[]>((resolve) => waiters.push({ count, resolve }));

  return {
    port,
    host,
    messages,
    get connections() {
      return connections;
    },
    get maxOpenConnections() {
      return maxOpen;
    },
    get maxConcurrentData() {
      return maxReceiving;
    },
    waitFor,
    async nextMessage() {
      const index = handedOut++;
      const list = await waitFor(index + 1);
      return list[index];
    },
    setRecipientReply(addr, reply, opts = {}) {
      if (reply === null) recipientReplies.delete(addr);
      else recipientReplies.set(addr, { reply, times: opts.times ?? Infinity });
    },
    setDataReply(reply, opts = {}) {
      dataReply = reply === null ? undefined : { reply, times: opts.times ?? Infinity };
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
