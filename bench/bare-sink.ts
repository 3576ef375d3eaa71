// The benchmark's ceiling: a bare Node `smtp-server` that accepts every message and discards it.
// Run as its own process (`node --import tsx bench/bare-sink.ts HOST PORT`) so its CPU and the
// load generator's are not mixed, and so it gets a core of its own like the servers it is compared to.
import { SMTPServer } from 'smtp-server';

const [host = '127.0.0.1', portText = '2525'] = process.argv.slice(2);

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

const server = new SMTPServer({
  name: 'bare-sink.test',
  banner: 'bare discarding sink',
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  disableReverseLookup: true,
  logger: false,
  size: 100 * 1024 * 1024,
  maxClients: 10_000,
  onData(stream, _session, callback) {
    stream.on('end', () => callback());
    stream.resume();
  },
});
server.on('error', (err) => console.error('bare-sink:', err.message));
server.listen(Number(portText), host, () => console.log(`bare-sink listening on ${host}:${portText}`));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => server.close(() => process.exit(0)));
