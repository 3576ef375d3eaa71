/**
 * The two places Herald reaches inside smtp-server. Checked against smtp-server 3.21.6
 * (dist/esm/smtp-connection.js and smtp-server.js); re-read both when upgrading.
 *
 * 1. Replies. `SMTPConnection.send(code, data, context)` derives an enhanced status code from
 *    the basic code (550 → 5.1.1, 538 → 5.7.0, ...) and writes the library's own texts
 *    ("Error: Command line too long", "Timeout - closing connection"). Herald's replies are
 *    public interface, so every reply goes through a `rewrite` hook first; whatever it returns
 *    is written with context `false`, which makes send() add no enhanced code of its own.
 * 2. The greeting. `SMTPConnection.init()` waits a hard-coded 100 ms before the greeting (an
 *    early-talker check). With `greetAtOnce`, init() is replaced by what it does minus the wait
 *    and the maxClients check (Herald counts connections itself): set up the socket listeners,
 *    then `connectionReady()` at once.
 *
 * 3. The PROXY protocol. smtp-server's `useProxy` reads v1 only and trusts exact addresses. With
 *    `proxy`, `SMTPServer._expectsProxyHeader(socket)` (which also arms the pre-session timeout
 *    in `_acceptSocket`) asks Herald's CIDR list instead, and `_handleProxy(socket, callback)`
 *    reads a v1 or v2 header itself (proxy-protocol.ts) and hands the client address on as
 *    `socketOptions.remoteAddress`, which SMTPConnection takes as the session's address.
 *
 * SMTPConnection instances are created inside `SMTPServer.connect()`, which adds each one to
 * `this.connections` and only then calls `init()`, so wrapping `connections.add` is the hook
 * that sees every connection before it says anything.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { parseProxyHeader } from './proxy-protocol.js';

export type SmtpConnection = SMTPConnection;

/** A reply as written: `context: false` means "no enhanced code added by the library". */
export interface OutgoingReply {
  code: number;
  data?: string | string[] | null;
  context?: string | false;
  /** Close the connection after writing (send() itself closes only after a 421). */
  close?: boolean;
}

export interface ConnectionPatches {
  greetAtOnce: boolean;
  /** Returns the reply to write instead, or undefined to write the library's reply unchanged. */
  rewrite(reply: OutgoingReply, connection: SMTPConnection): OutgoingReply | undefined;
  /** Called after each reply is written, with the code that went out. */
  afterReply?(code: number, connection: SMTPConnection): void;
  /** PROXY protocol: which peers must send a header; how to report a bad one. */
  proxy?: { trusted(address: string): boolean; invalid(address: string, reason: string): void };
}

/** The socket options smtp-server's connect() takes from _handleProxy. */
interface SocketOptions {
  id: string;
  remoteAddress?: string;
  remotePort?: number;
}

interface ProxyInternals {
  _expectsProxyHeader(socket: Socket): boolean;
  _handleProxy(socket: Socket, callback: (err: Error | null, options?: SocketOptions) => void): void;
}

export class PatchedSmtpServer extends SMTPServer {
  constructor(options: SMTPServerOptions, patches: ConnectionPatches) {
    super(options);
    const connections = this.connections;
    const add = connections.add.bind(connections);
    connections.add = (connection: SMTPConnection) => {
      patchConnection(connection, patches);
      return add(connection);
    };
    if (patches.proxy) installProxyProtocol(this as unknown as ProxyInternals, patches.proxy);
  }
}

function installProxyProtocol(server: ProxyInternals, proxy: NonNullable<ConnectionPatches['proxy']>): void {
  const original = server._handleProxy.bind(server);
  server._expectsProxyHeader = (socket) => proxy.trusted(socket.remoteAddress ?? '');
  server._handleProxy = (socket, callback) => {
    // Untrusted peers: the library's own path, which now finds no header expected.
    if (!proxy.trusted(socket.remoteAddress ?? '')) return original(socket, callback);
    // The same id format smtp-server gives its sessions.
    const id = BigInt('0x' + randomBytes(10).toString('hex')).toString(32).padStart(16, '0');
    let buffered = Buffer.alloc(0);
    let finished = false;
    const finish = (err: Error | null, options?: SocketOptions) => {
      if (finished) return;
      finished = true;
      socket.off('readable', read);
      socket.off('error', fail);
      socket.off('close', closed);
      socket.off('end', closed);
      if (err) {
        // A late error on a socket being torn down must not become an uncaught exception.
        socket.on('error', () => {});
        socket.destroy();
      }
      callback(err, options);
    };
    const fail = (err: Error) => finish(err);
    const closed = () => finish(new Error('connection closed before its PROXY header'));
    const read = () => {
      let chunk: Buffer | null;
      while (!finished && (chunk = socket.read() as Buffer | null) !== null) {
        buffered = Buffer.concat([buffered, chunk]);
        const header = parseProxyHeader(buffered);
        if (header.status === 'incomplete') continue;
        if (header.status === 'invalid') {
          proxy.invalid(socket.remoteAddress ?? '', header.reason);
          return finish(new Error(header.reason));
        }
        // What followed the header is the SMTP session's (or the TLS handshake's) first bytes.
        const rest = buffered.subarray(header.length);
        if (rest.length) socket.unshift(rest);
        return finish(null, header.source ? { id, remoteAddress: header.source.address, remotePort: header.source.port } : { id });
      }
    };
    socket.on('readable', read);
    socket.on('error', fail);
    socket.on('close', closed);
    socket.on('end', closed);
  };
}

function patchConnection(connection: SMTPConnection, patches: ConnectionPatches): void {
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) => {
    const out = patches.rewrite({ code, data, context }, connection);
    if (!out) {
      send(code, data, context);
      patches.afterReply?.(code, connection);
      return;
    }
    send(out.code, out.data, out.context);
    if (out.close && out.code !== 421) connection.close();
    patches.afterReply?.(out.code, connection);
  };
  if (patches.greetAtOnce) {
    connection.init = function (this: SMTPConnection) {
      this._setListeners(() => this.connectionReady());
    };
  }
}
