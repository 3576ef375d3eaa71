// The benchmark's ceilings: a bare Node `smtp-server` that accepts every message and discards it,
// and (with a directory) the same server made durable the cheapest way there is — each message
// appended to one file, its 250 held until an fdatasync that began after its bytes were written
// has returned, with every message that arrives during one fdatasync sharing the next.
// Run as its own process (`node --import tsx bench/bare-sink.ts HOST PORT [DIR]`) so its CPU and
// the load generator's are not mixed, and so it gets a core of its own like the servers it is
// compared to.
import { fdatasync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

const [host = '127.0.0.1', portText = '2525', dir] = process.argv.slice(2);

// smtp-server waits a hard-coded 100 ms before the greeting of every connection (an early-talker
// check, SMTPConnection#init). A client that connects per message would measure that timer, not
// the server, so start the session at once, as Herald's submission listeners do. The module path
// is computed so TypeScript does not look for declarations the package does not ship.
const connectionModule = 'smtp-server/lib/smtp-connection.js';
const { SMTPConnection } = (await import(connectionModule)) as {
  SMTPConnection: { prototype: { init(): void; _setListeners(cb: () => void): void; connectionReady(): void } };
};
SMTPConnection.prototype.init = function init(this: { _setListeners(cb: () => void): void; connectionReady(): void }) {
  this._setListeners(() => this.connectionReady());
};

/** Appends a message and calls back once it is on disk (group commit: one fdatasync at a time). */
function durableLog(file: string): (message: Buffer, done: (err?: Error | null) => void) => void {
  const fd = openSync(file, 'a');
  let written: ((err?: Error | null) => void)[] = [];
  let syncing = false;
  const sync = () => {
    if (syncing || written.length === 0) return;
    syncing = true;
    const group = written;
    written = [];
    fdatasync(fd, (err) => {
      syncing = false;
      for (const done of group) done(err);
      sync();
    });
  };
  return (message, done) =>
    write(fd, message, (err) => {
      if (err) return done(err);
      written.push(done);
      sync();
    });
}

const append = dir ? durableLog(join(dir, 'messages.log')) : null;

const server = new SMTPServer({
  name: 'bare-sink.test',
  banner: append ? 'bare durable sink' : 'bare discarding sink',
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  disableReverseLookup: true,
  logger: false,
  size: 100 * 1024 * 1024,
  maxClients: 10_000,
  onData(stream, _session, callback) {
    if (!append) {
      stream.on('end', () => callback());
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => append(Buffer.concat(chunks), (err) => callback(err ?? undefined)));
  },
});
server.on('error', (err) => console.error('bare-sink:', err.message));
server.listen(Number(portText), host, () => console.log(`bare-sink listening on ${host}:${portText}${dir ? `, appending to ${dir}` : ''}`));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => server.close(() => process.exit(0)));
