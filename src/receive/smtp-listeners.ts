import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import { anyNetworkContains, isValidEnvelopeAddress, Replies, SmtpRejection, systemClock, type Clock, type InboundMessage, type Logger } from '../core/index.js';
import type { HeraldConfig } from '../config/index.js';
import type { AcceptPipeline, ListenerKind, Submission } from '../accept/index.js';
import { AuthLockout, ConnectionCounter } from './limits.js';
import { PatchedSmtpServer, type OutgoingReply, type SmtpConnection } from './smtp-server-patches.js';

/** The credential facts the listeners need (SqlCredentialStore satisfies this). */
export interface ListenerCredential {
  id: string;
  accountId: string;
  username?: string;
}

export interface CredentialLookup {
  verifyPassword(username: string, password: string): Promise<ListenerCredential | null>;
  matchNetwork(ip: string): Promise<ListenerCredential | null>;
  isActive(id: string): Promise<boolean>;
}

/**
 * Herald's own inbound addresses (the bounce domains' return paths). The MX listener asks this
 * for every recipient first: 'ours' is accepted and handed to `receive` instead of the queue,
 * 'unknown-user' gets 550 5.1.1, 'not-ours' is relaying — allowed only to network credentials,
 * else 550 5.7.1. `receive` resolves once what the message means is recorded durably.
 */
export interface InboundRecipients {
  lookup(address: string): Promise<'ours' | 'unknown-user' | 'not-ours'>;
  receive(message: InboundMessage): Promise<void>;
}

const noInboundDomains: InboundRecipients = { lookup: async () => 'not-ours', receive: async () => {} };

export interface SmtpListenersOptions {
  config: HeraldConfig;
  accept: AcceptPipeline;
  credentials: CredentialLookup;
  tls: { key: string | Buffer; cert: string | Buffer };
  /** The room's logger (the composition root binds `room: 'receive'`). */
  logger: Logger;
  clock?: Clock;
  inbound?: InboundRecipients;
  /** Counts for /metrics: each session opened, each reply written (by its code). */
  observe?: SmtpObserver;
}

export interface SmtpObserver {
  session(listener: ListenerKind): void;
  reply(listener: ListenerKind, code: number): void;
}

export interface ListeningSocket {
  kind: ListenerKind;
  address: string;
  port: number;
}

export interface SmtpListeners {
  /**
   * Binds every listener whose configured port is not 0. With `ephemeral`, each binds port 0
   * instead (the system picks a free port) and the real ports are in the result — for tests.
   */
  start(options?: { ephemeral?: boolean }): Promise<ListeningSocket[]>;
  /**
   * Graceful stop, first half: new sessions get 421 4.3.2, idle sessions are told the same at
   * once, and a session in a transaction finishes it (its 250 included) and is told then.
   * Resolves when no session is left.
   */
  drain(): Promise<void>;
  /**
   * Drains for at most `graceMs` (default HERALD_SHUTDOWN_TIMEOUT), then ends the sessions still
   * open with 421 4.3.2 and closes the listeners.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** Per-connection facts Herald keeps beside smtp-server's session. */
interface ConnectionState {
  ip: string;
  listener: ListenerKind;
  networkCredential: ListenerCredential | null;
  counted: boolean;
  /** The connection ended: a lookup finishing after that must not count it. */
  closed: boolean;
  /** This transaction's recipients that are Herald's own addresses (MX listener only). */
  inbound: Set<string>;
  tls?: { protocol: string; cipher: string };
}

/** What onAuth stores as session.user. */
interface SessionUser {
  id: string;
  accountId: string;
  username: string;
}

/** smtp-server sends `err.responseCode` and `err.message`; the message carries our enhanced code. */
function toServerError(rejection: SmtpRejection): Error & { responseCode: number } {
  const { code, enhanced, text } = rejection.reply;
  return Object.assign(new Error(`${enhanced} ${text}`), { responseCode: code });
}

const ENHANCED_PREFIX = /^([245])\.\d{1,3}\.\d{1,3} /;

function exact(rejection: SmtpRejection, close = false): OutgoingReply {
  const { code, enhanced, text } = rejection.reply;
  return { code, data: `${enhanced} ${text}`, context: false, close };
}

const PORT_KEYS = { submission: 'smtpSubmissionPort', submissions: 'smtpSubmissionsPort', mx: 'smtpMxPort' } as const;

export function createSmtpListeners(options: SmtpListenersOptions): SmtpListeners {
  const { config, accept, credentials, logger: log } = options;
  const clock = options.clock ?? systemClock;
  const inbound = options.inbound ?? noInboundDomains;
  const counter = new ConnectionCounter(config);
  const lockout = new AuthLockout(config.authMaxFailures, config.authLockout, clock);
  const states = new WeakMap<SMTPServerSession, ConnectionState>();
  const servers: { kind: ListenerKind; server: PatchedSmtpServer }[] = [];
  let draining: Promise<void> | null = null;
  let drained: (() => void) | null = null;

  const openSessions = () => servers.reduce((n, s) => n + s.server.connections.size, 0);
  const checkDrained = () => {
    if (drained && openSessions() === 0) drained();
  };
  /** A session is in a transaction from MAIL FROM until its DATA is answered or it is reset. */
  const inTransaction = (connection: SmtpConnection) => Boolean(connection._dataStream || connection.session?.envelope?.mailFrom);
  const tellShuttingDown = (connection: SmtpConnection) => {
    const { code, enhanced, text } = Replies.shuttingDown().reply;
    // send() closes the connection itself after a 421.
    connection.send(code, `${enhanced} ${text}`, false);
  };

  /** Ends one session from the server's side with a final 421 (e.g. a DATA deadline). */
  function closeSession(kind: ListenerKind, session: SMTPServerSession, rejection: SmtpRejection): void {
    const server = servers.find((s) => s.kind === kind)?.server;
    for (const connection of server?.connections ?? []) {
      if ((connection as SmtpConnection).session !== session) continue;
      const { code, enhanced, text } = rejection.reply;
      // send() closes the connection itself after a 421.
      (connection as SmtpConnection).send(code, `${enhanced} ${text}`, false);
    }
  }

  /** smtp-server's own texts, mapped to Herald's documented replies (docs/troubleshooting.md). */
  function rewrite(reply: OutgoingReply, connection: SmtpConnection): OutgoingReply | undefined {
    const { code, data } = reply;
    if (Array.isArray(data)) {
      // RFC 4954 §4 / RFC 8314 §3.3: AUTH is offered only once the session is encrypted.
      if (code === 250 && !connection.secure && data.some((l) => l.startsWith('AUTH '))) {
        return { ...reply, data: data.filter((l) => !l.startsWith('AUTH ')) };
      }
      return undefined;
    }
    const text = data ?? '';
    // Our own replies (handlers, the DATA result) already carry their enhanced code.
    const m = ENHANCED_PREFIX.exec(text);
    if (m && Number(m[1]) === Math.floor(code / 100)) return { code, data: text, context: false };
    if (code === 421 && text === 'Error: Command line too long') return exact(Replies.lineTooLong(), true);
    if (code === 421 && text === 'Timeout - closing connection') return exact(Replies.idleTimeout());
    if (code === 421 && text === 'Server shutting down') return exact(Replies.shuttingDown());
    if (code === 538) return exact(Replies.authNeedsTls());
    if (code === 552) return exact(Replies.tooBig(config.maxMessageSize));
    return undefined;
  }

  function stateOf(session: SMTPServerSession, kind: ListenerKind): ConnectionState {
    let state = states.get(session);
    if (!state) {
      state = { ip: session.remoteAddress, listener: kind, networkCredential: null, counted: false, closed: false, inbound: new Set() };
      states.set(session, state);
    }
    return state;
  }

  function serverOptions(kind: ListenerKind): SMTPServerOptions {
    return {
      name: config.hostname,
      key: options.tls.key,
      cert: options.tls.cert,
      secure: kind === 'submissions',
      size: config.maxMessageSize,
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      hideREQUIRETLS: true,
      authMethods: ['PLAIN', 'LOGIN'],
      // AUTH is checked in onMailFrom, where network credentials are known.
      authOptional: true,
      disabledCommands: kind === 'mx' ? ['AUTH'] : [],
      // Nothing uses the client's PTR name, and the lookup delays every greeting.
      disableReverseLookup: true,
      socketTimeout: config.smtpIdleTimeout,
      // The parser's limit excludes the CRLF; maxLineLength includes it (RFC 5321 §4.5.3.1.4).
      maxCommandLength: config.maxLineLength - 2,
      logger: false,

      onConnect(session, callback) {
        const ip = session.remoteAddress;
        options.observe?.session(kind);
        if (draining) return callback(toServerError(Replies.shuttingDown()));
        if (anyNetworkContains(config.blockedClients, ip)) {
          log.info({ listener: kind, ip }, 'connection refused: client blocked');
          return callback(toServerError(Replies.clientBlocked(ip)));
        }
        const state = stateOf(session, kind);
        credentials.matchNetwork(ip).then(
          (networkCredential) => {
            state.networkCredential = networkCredential;
            // The client may have gone while the lookup ran: onClose has run, nothing to count.
            if (state.closed) return callback();
            const verdict = counter.tryOpen(ip, networkCredential !== null);
            if (verdict !== 'ok') {
              log.warn({ listener: kind, ip, limit: verdict }, 'connection refused: too many connections');
              return callback(toServerError(verdict === 'total' ? Replies.serverBusy() : Replies.tooManyConnections()));
            }
            state.counted = true;
            log.debug({ listener: kind, ip, cid: session.id, networkCredential: networkCredential?.id }, 'connection');
            callback();
          },
          (err: unknown) => {
            log.error({ listener: kind, ip, err }, 'credential lookup failed');
            callback(toServerError(Replies.storeFailed()));
          },
        );
      },

      onSecure(socket, session, callback) {
        const tls = socket as TLSSocket;
        const cipher = tls.getCipher?.();
        stateOf(session, kind).tls = { protocol: tls.getProtocol?.() ?? 'TLS', cipher: cipher?.standardName ?? cipher?.name ?? 'unknown' };
        callback();
      },

      onAuth(auth, session, callback) {
        const ip = session.remoteAddress;
        if (lockout.isLocked(ip)) {
          log.warn({ listener: kind, ip }, 'AUTH refused: address locked out');
          return callback(toServerError(Replies.authLockedOut()));
        }
        const username = auth.username ?? '';
        credentials.verifyPassword(username, auth.password ?? '').then(
          (credential) => {
            if (!credential) {
              lockout.recordFailure(ip);
              log.warn({ listener: kind, ip, username: username.slice(0, 100), method: auth.method }, 'AUTH failed');
              return callback(toServerError(Replies.authFailed()));
            }
            lockout.recordSuccess(ip);
            const user: SessionUser = { id: credential.id, accountId: credential.accountId, username: credential.username ?? username };
            log.info({ listener: kind, ip, username: user.username, credentialId: credential.id }, 'AUTH succeeded');
            callback(null, { user });
          },
          (err: unknown) => {
            log.error({ listener: kind, ip, err }, 'credential store failed during AUTH');
            callback(toServerError(Replies.authUnavailable()));
          },
        );
      },

      onMailFrom(_address: SMTPServerAddress, session, callback) {
        const state = stateOf(session, kind);
        state.inbound.clear();
        // A revoke takes effect at the next transaction of a session that is already open.
        const user = session.user as SessionUser | undefined;
        Promise.all([user ? credentials.isActive(user.id) : true, credentials.matchNetwork(state.ip)]).then(
          ([userActive, networkCredential]) => {
            if (!userActive) {
              log.info({ listener: kind, ip: state.ip, credentialId: user?.id }, 'credential revoked during the session');
              session.user = undefined;
            }
            state.networkCredential = networkCredential;
            // RFC 6409 §4.3: the submission ports take mail from authorised clients only.
            if (kind !== 'mx' && !session.user && !state.networkCredential) return callback(toServerError(Replies.authRequired()));
            callback();
          },
          (err: unknown) => {
            log.error({ listener: kind, ip: state.ip, err }, 'credential lookup failed');
            callback(toServerError(Replies.storeFailed()));
          },
        );
      },

      onRcptTo(address: SMTPServerAddress, session, callback) {
        const state = stateOf(session, kind);
        // smtp-server takes the domainless <postmaster> (RFC 5321 §4.1.1.3), which only names a
        // local mailbox; Herald has none yet, so it is refused here rather than after DATA.
        if (!isValidEnvelopeAddress(address.address)) return callback(toServerError(Replies.badRecipient()));
        const rcptTo = session.envelope.rcptTo;
        if (rcptTo.length >= config.maxRecipients) {
          // A repeated recipient replaces its earlier entry, so it does not count twice.
          const key = address.address.toLowerCase();
          if (!rcptTo.some((r) => r.address.toLowerCase() === key)) return callback(toServerError(Replies.tooManyRecipients()));
        }
        // Only the MX port receives mail for Herald's own addresses; submitters relay.
        if (kind !== 'mx') return callback();
        inbound.lookup(address.address).then(
          (verdict) => {
            if (verdict === 'ours') {
              state.inbound.add(address.address);
              return callback();
            }
            if (verdict === 'unknown-user') return callback(toServerError(Replies.userUnknown()));
            if (session.user || state.networkCredential) return callback();
            log.info({ listener: kind, ip: state.ip }, 'relaying denied');
            callback(toServerError(Replies.relayDenied()));
          },
          (err: unknown) => {
            log.error({ listener: kind, err }, 'inbound recipient lookup failed');
            callback(toServerError(Replies.storeFailed()));
          },
        );
      },

      onData(stream: SMTPServerDataStream, session, callback) {
        const state = stateOf(session, kind);
        const limit = config.maxMessageSize;
        const chunks: Buffer[] = [];
        let size = 0;
        // The idle timeout restarts with every byte, so a client trickling its message could
        // hold the session for ever; the whole transfer gets one deadline (RFC 5321 §4.5.3.2
        // suggests 10 minutes for the data block).
        const deadline = setTimeout(() => {
          log.info({ listener: kind, ip: state.ip }, 'message transfer took too long; closing the session');
          closeSession(kind, session, Replies.dataTimeout());
        }, config.smtpDataTimeout);
        deadline.unref();
        // A client gone mid-DATA destroys the stream with an error; nothing is left to answer.
        stream.on('error', () => clearTimeout(deadline));
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= limit) chunks.push(chunk); // past the limit, keep reading but stop storing
        });
        stream.on('end', () => {
          clearTimeout(deadline);
          if (stream.sizeExceeded || size > limit) return callback(toServerError(Replies.tooBig(limit)));
          const user = session.user as SessionUser | undefined;
          const credential = user || state.networkCredential || undefined;
          const body = Buffer.concat(chunks, size);
          const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const recipients = session.envelope.rcptTo.map((r) => r.address);
          const own = recipients.filter((r) => state.inbound.has(r));
          const relayed = recipients.filter((r) => !state.inbound.has(r));
          const received = own.length
            ? inbound.receive({ mailFrom, recipients: own, body, receivedAt: clock.now(), clientIp: state.ip, helo: session.hostNameAppearsAs || undefined })
            : Promise.resolve();
          if (relayed.length === 0) {
            received.then(
              () => callback(null, '2.0.0 Ok: received'),
              (err: unknown) => {
                log.error({ listener: kind, ip: state.ip, err }, 'inbound message could not be recorded');
                callback(toServerError(Replies.storeFailed()));
              },
            );
            return;
          }
          const submission: Submission = {
            source: 'smtp',
            accountId: credential?.accountId ?? 'default',
            mailFrom,
            recipients: relayed,
            body,
            receivedAt: clock.now(),
            smtp: {
              ip: state.ip,
              helo: session.hostNameAppearsAs || undefined,
              listener: kind,
              tls: session.secure ? state.tls : undefined,
              authUser: user?.username,
              credentialId: credential?.id,
            },
          };
          // The 250 is a promise (DESIGN §2): it goes out only once accept() resolved, which is
          // after the store's durable commit.
          Promise.all([received, accept.accept(submission)]).then(
            ([, accepted]) => callback(null, `2.0.0 Ok: queued as ${accepted.id}`),
            (err: unknown) => {
              if (err instanceof SmtpRejection) return callback(toServerError(err));
              log.error({ listener: kind, ip: state.ip, err }, 'accept failed');
              callback(toServerError(Replies.storeFailed()));
            },
          );
        });
      },

      onClose(session) {
        const state = states.get(session);
        if (state) state.closed = true;
        if (state?.counted) {
          state.counted = false;
          counter.close(state.ip);
        }
        // The connection leaves the server's set as it closes; look once it has.
        if (draining) setImmediate(checkDrained);
      },
    };
  }

  return {
    async start(startOptions = {}) {
      const bound: ListeningSocket[] = [];
      for (const kind of ['submission', 'submissions', 'mx'] as const) {
        const configured = config[PORT_KEYS[kind]];
        if (configured === 0) continue;
        const server = new PatchedSmtpServer(serverOptions(kind), {
          // RFC 5321 §4.3.1 early-talker detection is worth 100 ms only where strangers connect.
          greetAtOnce: kind !== 'mx',
          rewrite,
          afterReply(code, connection) {
            options.observe?.reply(kind, code);
            // Stopping: a session whose transaction just ended (its DATA answered, or RSET) is
            // told now. Looked at on the next turn: smtp-server resets the envelope right after
            // writing the DATA reply.
            if (draining && code !== 421 && code !== 354) {
              setImmediate(() => {
                if (!connection._closing && !connection._closed && !inTransaction(connection)) tellShuttingDown(connection);
              });
            }
          },
          proxy:
            config.smtpProxyProtocol === 'on'
              ? {
                  trusted: (address) => anyNetworkContains(config.proxyTrusted, address),
                  invalid: (address, reason) => log.warn({ listener: kind, ip: address, reason }, 'bad PROXY protocol header from a trusted balancer; connection closed'),
                }
              : undefined,
        });
        server.on('error', (err: Error) => log.warn({ listener: kind, err }, 'SMTP connection error'));
        const port = startOptions.ephemeral ? 0 : configured;
        await new Promise<void>((resolve, reject) => {
          const onError = (err: Error) => reject(err);
          server.server.once('error', onError);
          server.server.listen(port, config.smtpBind, () => {
            server.server.off('error', onError);
            resolve();
          });
        }).catch(async (err: Error) => {
          for (const s of servers) await closeServer(s.server);
          servers.length = 0;
          // Keep code and port: the CLI turns EACCES/EADDRINUSE into advice.
          const { code } = err as NodeJS.ErrnoException;
          throw Object.assign(new Error(`cannot listen for SMTP (${kind}) on ${config.smtpBind ?? '*'}:${port}: ${err.message}`), { code, port });
        });
        servers.push({ kind, server });
        const address = server.server.address() as AddressInfo;
        bound.push({ kind, address: address.address, port: address.port });
        log.info({ listener: kind, address: address.address, port: address.port }, 'SMTP listener started');
      }
      return bound;
    },

    drain() {
      draining ??= new Promise<void>((resolve) => {
        drained = resolve;
        log.info({ sessions: openSessions() }, 'SMTP listeners stopping: new sessions get 421 4.3.2');
        for (const { server } of servers) {
          for (const connection of server.connections) if (!inTransaction(connection)) tellShuttingDown(connection);
        }
        setImmediate(checkDrained);
      });
      return draining;
    },

    async stop(stopOptions = {}) {
      let timer: NodeJS.Timeout | undefined;
      const timeUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, stopOptions.graceMs ?? config.shutdownTimeout);
      });
      await Promise.race([this.drain(), timeUp]);
      clearTimeout(timer);
      const closing = servers.map(({ server }) => closeServer(server));
      servers.length = 0;
      await Promise.all(closing);
    },
  };
}

function closeServer(server: PatchedSmtpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Whatever is left ran out of time: ended with 421 4.3.2 (a message not yet answered is
    // not acknowledged, so its client sends it again later).
    for (const connection of server.connections) {
      connection.send(421, 'Server shutting down');
      connection.close();
    }
  });
}
