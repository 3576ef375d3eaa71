import { Command } from 'commander';
import { startHerald, VERSION } from '../../main.js';
import { resolveConfig, type GlobalOptions } from '../context.js';
import { emit } from '../output.js';

export function startCommand(): Command {
  return new Command('start')
    .description('start Herald: SMTP listeners, delivery and the HTTP API, with the settings from the environment')
    .option('--log-level <level>', 'debug, info, warn, error or silent')
    .action(async (opts: { logLevel?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = resolveConfig(g, opts.logLevel ? { logLevel: opts.logLevel } : {});
      const herald = await startHerald(config);
      const listening = herald.endpoints.map((e) => ({ ...e, url: e.name === 'http' ? `http://${hostFor(e.address)}:${e.port}/` : `smtp://${hostFor(e.address)}:${e.port}` }));
      emit(g, { event: 'ready', version: VERSION, dataDir: config.dataDir, tls: { origin: herald.tls.origin, cert: herald.tls.certPath }, listening }, () =>
        [
          `Herald ${VERSION} is running.`,
          ...listening.map((l) => `  ${l.name.padEnd(17)} ${l.url}`),
          `  data directory    ${config.dataDir}`,
          `  TLS certificate   ${herald.tls.certPath} (${herald.tls.origin === 'self-signed' ? 'self-signed; set HERALD_TLS_CERT and HERALD_TLS_KEY for a real one' : 'configured'})`,
          '',
          'Next: herald credentials create --name app   (SMTP username and password for your application)',
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
