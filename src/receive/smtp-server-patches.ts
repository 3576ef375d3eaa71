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
 * SMTPConnection instances are created inside `SMTPServer.connect()`, which adds each one to
 * `this.connections` and only then calls `init()`, so wrapping `connections.add` is the hook
 * that sees every connection before it says anything.
 */
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

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
  }
}

function patchConnection(connection: SMTPConnection, patches: ConnectionPatches): void {
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) => {
    const out = patches.rewrite({ code, data, context }, connection);
    if (!out) return send(code, data, context);
    send(out.code, out.data, out.context);
    if (out.close && out.code !== 421) connection.close();
  };
  if (patches.greetAtOnce) {
    connection.init = function (this: SMTPConnection) {
      this._setListeners(() => this.connectionReady());
    };
  }
}
