import { isIP } from 'node:net';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import type { HeraldConfig } from '../config/index.js';
import { parseReply, returnPathAddress, silentLogger, type DeliveryFailure, type Logger, type RecipientOutcome, type Resolver, type SmtpReply } from '../core/index.js';
import type { BatchRecipient, DeliveryBatch } from '../queue/index.js';
import { MxRouter, type RouteHost, type Router } from './router.js';

/** What one attempt at one batch produced: an outcome for every recipient of the batch. */
export interface TransportResult {
  /** The host (MX or smart host name) the transaction ran against, when one was reached. */
  host?: string;
  /** Whether that session was encrypted (STARTTLS or implicit TLS). */
  tls?: boolean;
  outcomes: Map<number, RecipientOutcome>;
}

/** Delivers one batch; returns an outcome for every recipient and throws only on our own bugs. */
export interface Transport {
  deliver(batch: DeliveryBatch, body: Buffer, signal?: AbortSignal): Promise<TransportResult>;
  /** Closes pooled connections (QUIT). */
  close(): Promise<void>;
}

export interface SmtpMxTransportOptions {
  /** hostname: the EHLO name; connectTimeout: connect and greeting timeout in ms; outboundPort and smartHost feed the default router. */
  config: Pick<HeraldConfig, 'hostname' | 'connectTimeout' | 'outboundPort' | 'smartHost' | 'destinationConcurrency'>;
  /** DNS for the default MxRouter (required unless `router` is given). */
  resolver?: Resolver;
  /** Overrides the default MxRouter built from `resolver` and `config`. */
  router?: Router;
  /** Inactivity timeout once connected; RFC 5321 §4.5.3.2.6 allows the server 10 min after the final dot. */
  commandTimeoutMs?: number;
  /** How long a finished connection waits in the pool for the next batch to the same host. */
  idleMs?: number;
  /**
   * Most idle connections kept per host; default config.destinationConcurrency, so that every
   * connection a busy destination uses can wait for its next batch instead of being reopened.
   */
  maxIdlePerHost?: number;
  /**
   * Signs per-recipient return paths (VERP) for messages whose meta names a bounce domain: each
   * recipient then gets its own transaction with `b+<message>.<recipient>.<tag>@<bounce domain>`
   * as envelope sender, so a later bounce identifies it.
   */
  returnPathSecret?: Buffer;
  /** Messages sent over one connection before it is closed. */
  maxMessagesPerConnection?: number;
  /** Most addresses tried for one batch (Postfix: smtp_mx_address_limit = 5). */
  maxAddresses?: number;
  /**
   * Most recipients in one SMTP transaction; more are sent in further transactions on the same
   * connection. RFC 5321 §4.5.3.1.8 obliges servers to take 100 (Postfix: smtp_destination_recipient_limit = 50).
   */
  maxRecipientsPerTransaction?: number;
  logger?: Logger;
}

/** The fields nodemailer puts on its errors (see nodemailer's errors.js and _formatError). */
interface SmtpClientError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  recipient?: string;
  rejectedErrors?: SmtpClientError[];
}

/**
 * SMTPConnection with one addition: the SMTPUTF8 parameter on MAIL FROM when only the headers
 * are internationalised. nodemailer adds it for non-ASCII addresses alone, but RFC 6531 §3.4
 * asks for it whenever the message carries UTF-8 headers (RFC 6532).
 */
class HeraldSmtpConnection extends SMTPConnection {
  forceSmtpUtf8 = false;

  _sendCommand(command: string, logCommand?: string): void {
    let line = command;
    if (this.forceSmtpUtf8 && /^MAIL FROM:/i.test(line) && !/\sSMTPUTF8\b/i.test(line)) line += ' SMTPUTF8';
    (SMTPConnection.prototype as unknown as { _sendCommand(this: SMTPConnection, c: string, l?: string): void })._sendCommand.call(this, line, logCommand);
  }

  /** The extensions the server announced in its (last) EHLO reply. */
  extensions(): string[] {
    const own = (this as unknown as { _supportedExtensions?: unknown })._supportedExtensions;
    return Array.isArray(own) ? own.map(String) : [];
  }

  /** The recipients the server refused so far in this transaction (kept by nodemailer per envelope). */
  rejectedSoFar(): SmtpClientError[] {
    const envelope = (this as unknown as { _envelope?: { rejectedErrors?: SmtpClientError[] } | false })._envelope;
    return (envelope && envelope.rejectedErrors) || [];
  }
}

interface Session {
  conn: HeraldSmtpConnection;
  key: string;
  host: RouteHost;
  tls: boolean;
  messages: number;
  closed: boolean;
  idleTimer?: NodeJS.Timeout;
}

/** Why a connection attempt failed, kept for the outcome when every host fails. */
class ConnectFailure extends Error {
  constructor(readonly failure: DeliveryFailure, readonly tlsFailed: boolean) {
    super(failure.reason);
  }
}

/** What the message needs from the server (RFC 6152, RFC 6531). */
interface Needs {
  eightBit: boolean;
  utf8Addresses: boolean;
  utf8Headers: boolean;
}

const NON_ASCII = /[^\x00-\x7f]/;

export function messageNeeds(mailFrom: string, recipients: readonly string[], body: Buffer): Needs {
  const headerEnd = body.indexOf('\r\n\r\n');
  const headers = headerEnd >= 0 ? body.subarray(0, headerEnd) : body;
  return {
    eightBit: body.some((b) => b > 0x7f),
    utf8Addresses: NON_ASCII.test(mailFrom) || recipients.some((r) => NON_ASCII.test(r)),
    utf8Headers: headers.some((b) => b > 0x7f),
  };
}

/**
 * Delivers batches over SMTP to the hosts the router names, in order (RFC 5321 §5.1), with
 * opportunistic STARTTLS, pipelining (nodemailer's SMTPConnection), and a small per-host pool of
 * idle connections so the next batch to the same host skips the connect, greeting, EHLO and TLS
 * handshake.
 */
export class SmtpMxTransport implements Transport {
  private readonly idle = new Map<string, Session[]>();
  private readonly open = new Set<Session>();
  private readonly log: Logger;
  private readonly router: Router;
  private closing = false;

  constructor(private readonly options: SmtpMxTransportOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'smtp-transport' });
    const { config } = options;
    if (options.router) this.router = options.router;
    else if (options.resolver) this.router = new MxRouter({ resolver: options.resolver, outboundPort: config.outboundPort, smartHost: config.smartHost });
    else throw new Error('SmtpMxTransport needs a resolver or a router');
  }

  async deliver(batch: DeliveryBatch, body: Buffer, signal?: AbortSignal): Promise<TransportResult> {
    const log = this.log.child({ messageId: batch.messageId, domain: batch.domain });
    const outcomes = new Map<number, RecipientOutcome>();
    const all = (outcome: RecipientOutcome): TransportResult => {
      for (const r of batch.recipients) outcomes.set(r.id, outcome);
      return { outcomes };
    };

    if (signal?.aborted || this.closing) return all(deferred('connection', 'Delivery was interrupted (Herald is stopping); will retry'));

    let route;
    try {
      route = await this.router.route(batch.domain);
    } catch (err) {
      // A router bug is temporary: defer, never bounce on our own error.
      log.error({ err }, 'routing failed');
      return all(deferred('site', `Routing ${batch.domain} failed: ${(err as Error).message}`));
    }
    if (route.kind === 'failed') {
      log.info({ reason: route.failure.reason, outcome: route.outcome }, 'route failed');
      return all(route.outcome === 'bounced' ? { kind: 'bounced', failure: route.failure } : { kind: 'deferred', failure: route.failure });
    }

    const needs = messageNeeds(batch.mailFrom, batch.recipients.map((r) => r.address), body);
    let lastFailure: DeliveryFailure | undefined;
    const hosts = route.hosts.slice(0, this.options.maxAddresses ?? 5);
    for (const host of hosts) {
      if (signal?.aborted) break;
      let session: Session;
      try {
        session = await this.acquire(host, signal);
      } catch (err) {
        if (!(err instanceof ConnectFailure)) throw err;
        log.info({ host: host.name, address: host.address, port: host.port, reason: err.failure.reason }, 'host unavailable, trying the next');
        lastFailure = err.failure;
        continue;
      }

      const utf8 = needs.utf8Addresses || needs.utf8Headers;
      if (utf8 && !session.conn.extensions().includes('SMTPUTF8')) {
        this.release(session);
        // RFC 6531 §3.2: without SMTPUTF8 at the server the message cannot be sent as it is.
        const what = needs.utf8Addresses ? 'internationalised addresses' : 'internationalised (UTF-8) headers';
        const reason = `The receiving server ${host.name} does not support SMTPUTF8, which this message needs for its ${what}`;
        log.info({ host: host.name }, reason);
        return {
          host: host.name,
          tls: session.tls,
          ...all({ kind: 'bounced', failure: { scope: 'message', host: host.name, reason, reply: { code: 553, enhanced: needs.utf8Addresses ? '5.6.7' : '5.6.9', text: reason } } }),
        };
      }
      session.conn.forceSmtpUtf8 = utf8;
      const onAbort = () => this.destroy(session);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const returnPath = this.returnPathFor(batch);
        const perTransaction = returnPath ? 1 : (this.options.maxRecipientsPerTransaction ?? 100);
        let reusable = true;
        for (let from = 0; from < batch.recipients.length && reusable && !signal?.aborted; from += perTransaction) {
          if (from > 0) reusable = await this.reset(session);
          if (!reusable) break;
          const recipients = batch.recipients.slice(from, from + perTransaction);
          const mailFrom = returnPath ? returnPath(recipients[0]) : batch.mailFrom;
          const result = await this.transaction(session, { ...batch, recipients, mailFrom }, body, needs, log);
          for (const [id, outcome] of result.outcomes) outcomes.set(id, outcome);
          reusable = result.reusable;
        }
        if (reusable && !signal?.aborted) await this.recycle(session);
        else this.destroy(session);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      for (const r of batch.recipients) {
        // Recipients of a later transaction whose connection was lost, or (our bug) never tried.
        if (!outcomes.has(r.id)) outcomes.set(r.id, deferred('site', `The connection to ${host.name} ended before this recipient was sent; will retry`, host.name));
      }
      log.info({ host: host.name, tls: session.tls, summary: summarize(outcomes) }, 'attempt finished');
      return { host: host.name, tls: session.tls, outcomes };
    }

    if (signal?.aborted) return all(deferred('connection', 'Delivery was interrupted (Herald is stopping); will retry'));
    const failure = lastFailure ?? { scope: 'connection', reason: `No host to deliver to for ${batch.domain}` };
    log.info({ reason: failure.reason }, 'no host reachable, deferring');
    return all({ kind: 'deferred', failure });
  }

  async close(): Promise<void> {
    this.closing = true;
    const ends: Promise<void>[] = [];
    for (const session of [...this.open]) {
      ends.push(new Promise<void>((resolve) => {
        if (session.closed) return resolve();
        const timer = setTimeout(() => {
          this.destroy(session);
          resolve();
        }, 2000);
        session.conn.once('end', () => {
          clearTimeout(timer);
          resolve();
        });
        this.quit(session);
      }));
    }
    this.idle.clear();
    await Promise.all(ends);
  }

  /** The envelope sender per recipient when the message has a bounce domain (never for <> senders). */
  private returnPathFor(batch: DeliveryBatch): ((r: BatchRecipient) => string) | null {
    const domain = batch.meta.returnPath;
    const secret = this.options.returnPathSecret;
    if (!domain || !secret || batch.mailFrom === '') return null;
    return (r) => returnPathAddress(secret, domain, batch.messageId, r.id);
  }

  /** Number of connections open now (pooled and busy); for tests and metrics. */
  get openConnections(): number {
    return this.open.size;
  }

  private key(host: RouteHost): string {
    return `${host.address}|${host.port}|${host.implicitTls ? 'tls' : 'plain'}|${host.auth?.user ?? ''}`;
  }

  private async acquire(host: RouteHost, signal?: AbortSignal): Promise<Session> {
    const key = this.key(host);
    const pooled = this.idle.get(key);
    while (pooled && pooled.length > 0) {
      const session = pooled.pop()!;
      clearTimeout(session.idleTimer);
      if (!session.closed && !session.conn.destroyed) return session;
    }
    try {
      return await this.connect(host, signal, false);
    } catch (err) {
      // Opportunistic TLS (RFC 3207 §4.1 leaves the fallback to the client): a handshake that
      // fails is retried once in plaintext rather than leaving the mail undeliverable.
      if (err instanceof ConnectFailure && err.tlsFailed && !host.implicitTls && !signal?.aborted) {
        return this.connect(host, signal, true);
      }
      throw err;
    }
  }

  private connect(host: RouteHost, signal: AbortSignal | undefined, plaintext: boolean): Promise<Session> {
    const connectTimeoutMs = this.options.config.connectTimeout;
    const conn = new HeraldSmtpConnection({
      host: host.address,
      port: host.port,
      secure: host.implicitTls,
      servername: isIP(host.name) ? undefined : host.name,
      name: this.options.config.hostname,
      ignoreTLS: plaintext,
      opportunisticTLS: true,
      // Opportunistic mode: any certificate will do (RFC 7435); an authenticated policy
      // (MTA-STS, DANE) would turn verification on.
      tls: { rejectUnauthorized: false },
      connectionTimeout: connectTimeoutMs,
      greetingTimeout: connectTimeoutMs,
      socketTimeout: this.options.commandTimeoutMs ?? 600_000,
      dnsTimeout: connectTimeoutMs,
      allowInternalNetworkInterfaces: true,
      logger: false,
    });
    const session: Session = { conn, key: this.key(host), host, tls: false, messages: 0, closed: false };
    this.open.add(session);
    conn.on('end', () => {
      session.closed = true;
      clearTimeout(session.idleTimer);
      this.open.delete(session);
      const list = this.idle.get(session.key);
      if (list) {
        const i = list.indexOf(session);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.idle.delete(session.key);
      }
    });

    return new Promise<Session>((resolve, reject) => {
      let settled = false;
      const fail = (err: SmtpClientError) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        this.destroy(session);
        reject(new ConnectFailure(connectFailure(host, err), err.code === 'ETLS'));
      };
      const onAbort = () => fail(Object.assign(new Error('aborted'), { code: 'EABORT' }));
      signal?.addEventListener('abort', onAbort, { once: true });
      // After the handshake, errors also reach the send()/reset() callbacks; this listener only
      // keeps an 'error' event from becoming an uncaught exception.
      conn.on('error', (err: SmtpClientError) => fail(err));
      conn.connect((err?: SmtpClientError) => {
        if (err) return fail(err);
        const ready = () => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          session.tls = conn.secure;
          resolve(session);
        };
        if (!host.auth) return ready();
        conn.login({ user: host.auth.user, pass: host.auth.pass }, (loginErr) => {
          if (loginErr) return fail(loginErr as SmtpClientError);
          ready();
        });
      });
    });
  }

  /** One MAIL / RCPT… / DATA transaction (pipelined when the server offers PIPELINING, RFC 2920). */
  private transaction(
    session: Session,
    batch: DeliveryBatch,
    body: Buffer,
    needs: Needs,
    log: Logger,
  ): Promise<{ outcomes: Map<number, RecipientOutcome>; reusable: boolean }> {
    const host = session.host.name;
    const byAddress = new Map<string, BatchRecipient[]>();
    for (const r of batch.recipients) byAddress.set(r.address, [...(byAddress.get(r.address) ?? []), r]);
    const outcomes = new Map<number, RecipientOutcome>();
    const set = (address: string | undefined, outcome: RecipientOutcome) => {
      for (const r of (address !== undefined && byAddress.get(address)) || []) outcomes.set(r.id, outcome);
    };
    const pending = () => batch.recipients.filter((r) => !outcomes.has(r.id));
    let siteGone = false;

    // Each RCPT reply is that recipient's outcome (RFC 5321 §4.2: 4yz transient, 5yz permanent).
    const recordRejections = (errors: SmtpClientError[]) => {
      for (const e of errors) {
        const reply = replyOf(e);
        if (reply.code === 421) siteGone = true;
        else set(e.recipient, fromReply(reply, 'recipient', host));
      }
    };

    return new Promise((resolve) => {
      session.messages++;
      session.conn.send(
        { from: batch.mailFrom || false, to: [...byAddress.keys()], size: body.length, use8BitMime: needs.eightBit },
        body,
        (err, info) => {
          if (!err && info) {
            recordRejections((info.rejectedErrors ?? []) as SmtpClientError[]);
            const reply = parseReply(info.response);
            for (const address of info.accepted) set(address, { kind: 'delivered', host, reply });
            return resolve({ outcomes, reusable: !siteGone });
          }
          const e = (err ?? new Error('send failed without an error')) as SmtpClientError;
          // After a refused MAIL FROM the RCPT replies only say "no transaction" (503): ignore them.
          if (e.command !== 'MAIL FROM') recordRejections(e.rejectedErrors ?? session.conn.rejectedSoFar());
          const reply = e.responseCode ? replyOf(e) : undefined;
          let reusable = false;
          if (reply && reply.code === 421) {
            siteGone = true;
          } else if (reply && (e.command === 'MAIL FROM' || e.command === 'DATA')) {
            // A MAIL reply or the DATA reply applies to every recipient still open (RFC 5321 §4.1.1.4).
            for (const r of pending()) outcomes.set(r.id, fromReply(reply, 'message', host));
            reusable = true;
          } else if (reply && e.command === 'RCPT TO') {
            // Every recipient refused; each already has its own reply.
            reusable = true;
          } else if (!reply && e.code === 'EMESSAGE' && /larger than allowed/i.test(e.message)) {
            const text = `Message size ${body.length} exceeds the limit announced by ${host}`;
            for (const r of pending()) outcomes.set(r.id, { kind: 'bounced', failure: { scope: 'message', host, reason: text, reply: { code: 552, enhanced: '5.3.4', text } } });
            reusable = true;
          }
          if (siteGone || pending().length > 0) {
            // 421 or a dropped connection mid-transaction: nothing final was said for these.
            const reason = reply?.code === 421 ? `${host} closed the session: ${reply.code} ${reply.text}` : `Connection to ${host} failed during the transaction (${e.code ?? 'error'}: ${e.message})`;
            for (const r of pending()) outcomes.set(r.id, { kind: 'deferred', failure: { scope: 'site', host, reason, reply: reply?.code === 421 ? reply : undefined } });
            reusable = false;
            log.info({ host, code: e.code, reason }, 'transaction interrupted');
          }
          resolve({ outcomes, reusable: reusable && !siteGone });
        },
      );
    });
  }

  /** RSET: true when the session can take another transaction. */
  private async reset(session: Session): Promise<boolean> {
    const ok = await new Promise<boolean>((resolve) => session.conn.reset((err) => resolve(!err)));
    return ok && !session.closed;
  }

  /** RSET, then park the connection for the next batch to this host. */
  private async recycle(session: Session): Promise<void> {
    const max = this.options.maxMessagesPerConnection ?? 1000;
    if (this.closing || session.closed || session.messages >= max) return this.quit(session);
    if (!(await this.reset(session))) return this.destroy(session);
    const list = this.idle.get(session.key) ?? [];
    if (list.length >= (this.options.maxIdlePerHost ?? this.options.config.destinationConcurrency)) return this.quit(session);
    list.push(session);
    this.idle.set(session.key, list);
    session.idleTimer = setTimeout(() => this.quit(session), this.options.idleMs ?? 5000);
    session.idleTimer.unref();
  }

  /** Puts an unused, healthy session straight back (no transaction ran on it). */
  private release(session: Session): void {
    void this.recycle(session);
  }

  private quit(session: Session): void {
    clearTimeout(session.idleTimer);
    if (session.closed) return;
    try {
      session.conn.quit();
    } catch {
      this.destroy(session);
    }
  }

  private destroy(session: Session): void {
    clearTimeout(session.idleTimer);
    if (session.closed) return;
    session.conn.close();
  }
}

function replyOf(err: SmtpClientError): SmtpReply {
  return err.response ? parseReply(err.response) : { code: err.responseCode ?? 0, text: err.message };
}

function deferred(scope: DeliveryFailure['scope'], reason: string, host?: string): RecipientOutcome {
  return { kind: 'deferred', failure: { scope, reason, host } };
}

function fromReply(reply: SmtpReply, scope: DeliveryFailure['scope'], host: string): RecipientOutcome {
  const reason = `${host} said: ${[reply.code, reply.enhanced, reply.text].filter(Boolean).join(' ')}`;
  if (reply.code >= 500 && reply.code < 600) return { kind: 'bounced', failure: { scope, host, reply, reason } };
  // 4yz, and anything malformed, is temporary: never bounce on a reply we do not understand.
  return { kind: 'deferred', failure: { scope, host, reply, reason } };
}

function connectFailure(host: RouteHost, err: SmtpClientError): DeliveryFailure {
  const where = `${host.name} [${host.address}]:${host.port}`;
  if (err.code === 'EAUTH' || err.code === 'ENOAUTH') {
    const reply = err.responseCode ? replyOf(err) : undefined;
    return { scope: 'connection', host: host.name, reply, reason: `${where} refused our credentials${reply ? `: ${reply.code} ${reply.text}` : ''}` };
  }
  if (err.responseCode) {
    // A 4xx/5xx greeting or EHLO/HELO reply: this host will not talk to us now; try the next.
    const reply = replyOf(err);
    return { scope: 'site', host: host.name, reply, reason: `${where} refused the session: ${reply.code} ${reply.enhanced ?? ''} ${reply.text}`.replace(/\s+/g, ' ') };
  }
  const cause = (err as { originalCode?: string }).originalCode ?? err.code ?? 'error';
  return { scope: 'connection', host: host.name, reason: `Could not connect to ${where} (${cause}: ${err.message})` };
}

function summarize(outcomes: Map<number, RecipientOutcome>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes.values()) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
  return counts;
}
