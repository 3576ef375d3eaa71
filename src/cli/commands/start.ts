import { Command } from 'commander';
import { VERSION } from '../../runtime/version.js';
import { resolveConfig, type GlobalOptions } from '../context.js';
import { CliError, emit } from '../output.js';

export function startCommand(): Command {
  return new Command('start')
    .description('start Herald: SMTP listeners, delivery and the HTTP API, with the settings from the environment')
    .option('--log-level <level>', 'debug, info, warn, error or silent')
    .option('--roles <roles>', 'what this node does, comma-separated: smtp, api, worker (default: all three; HERALD_ROLES)')
    .action(async (opts: { logLevel?: string; roles?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = resolveConfig(g, { ...(opts.logLevel ? { logLevel: opts.logLevel } : {}), ...(opts.roles ? { roles: opts.roles } : {}) });
      // Loaded only here: the other commands need none of the server's rooms.
      const { startHerald } = await import('../../main.js');
      const herald = await startHerald(config).catch((err: NodeJS.ErrnoException & { port?: number }) => {
        throw explainStartError(err);
      });
      const listening = herald.endpoints.map((e) => ({ ...e, url: e.name === 'http' ? `http://${hostFor(e.address)}:${e.port}/` : `smtp://${hostFor(e.address)}:${e.port}` }));
      const key = herald.bootstrapKey;
      const ready: Record<string, unknown> = { event: 'ready', version: VERSION, dataDir: config.dataDir, tls: { origin: herald.tls.origin, cert: herald.tls.certPath }, listening };
      if (key) ready.adminApiKey = { id: key.id, account: key.accountId, scope: key.scope, key: key.key };
      emit(g, ready, () =>
        [
          `Herald ${VERSION} is running.`,
          ...listening.map((l) => `  ${l.name.padEnd(17)} ${l.url}`),
          `  data directory    ${config.dataDir}`,
          `  TLS certificate   ${herald.tls.certPath} (${herald.tls.origin === 'self-signed' ? 'self-signed; set HERALD_TLS_CERT and HERALD_TLS_KEY for a real one' : 'configured'})`,
          ...(key
            ? [
                '',
                'First start: an admin API key for the default account (shown only now; store it safely):',
                `  ${key.key}`,
                '  Use it as: Authorization: Bearer <key>. Make more with: herald api-keys create --name app --scope send',
              ]
            : []),
          '',
          'Next: herald domains add example.com         (the domain you send as: DKIM key and DNS records, docs/domains.md)',
          '      herald credentials create --name app   (SMTP username and password for your application)',
          '      herald api-keys create --name app --scope send   (a key for the HTTP API, docs/api.md)',
          '      herald users create --email you@example.com   (a sign-in for the dashboard at the http address above, docs/dashboard.md)',
          'Stop with Ctrl-C.',
        ].join('\n'),
      );
      let signals = 0;
      const shutdown = (signal: string) => {
        if (++signals > 1) process.exit(130);
        process.stderr.write(`herald: ${signal} received, stopping (again to force)\n`);
        herald.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    });
}

function hostFor(address: string): string {
  if (address === '::' || address === '0.0.0.0') return 'localhost';
  return address.includes(':') ? `[${address}]` : address;
}

/** Turns the usual start-up failures into a sentence that says what to do. */
function explainStartError(err: NodeJS.ErrnoException & { port?: number; address?: string }): Error {
  const where = err.port ? `port ${err.port}` : 'a port';
  if (err.code === 'EACCES') {
    return new CliError(
      `cannot listen on ${where}: permission denied. Ports below 1024 need root or CAP_NET_BIND_SERVICE ` +
        '(setcap cap_net_bind_service=+ep "$(command -v node)"); ' +
        'to run as a normal user move them, e.g. HERALD_SMTP_SUBMISSION_PORT=2587 HERALD_SMTP_SUBMISSIONS_PORT=2465 HERALD_SMTP_MX_PORT=2525',
      'listen_denied',
    );
  }
  if (err.code === 'EADDRINUSE') {
    return new CliError(`cannot listen on ${where}: another program already uses it (is Herald or another mail server running? try: ss -ltnp)`, 'address_in_use');
  }
  if (err.code === 'EADDRNOTAVAIL') {
    return new CliError(`cannot listen on ${err.address ?? 'that address'}: it is not an address of this machine (check HERALD_SMTP_BIND / HERALD_HTTP_BIND)`, 'address_not_available');
  }
  return err;
}
