import { Command } from 'commander';
import { SCHEMA, describeConfig, loadConfig, type ConfigKey } from '../../config/index.js';
import { emit, table } from '../output.js';
import type { GlobalOptions } from '../context.js';

export function configCommand(): Command {
  const cmd = new Command('config').description('Herald settings');
  cmd
    .command('print')
    .description('show the effective settings and where each came from (default, file, env, flag)')
    .action((_o: unknown, sub: Command) => {
      const g = sub.optsWithGlobals<GlobalOptions>();
      const { config, origins } = loadConfig({ file: g.config, overrides: g.dataDir ? { dataDir: g.dataDir } : {} });
      const values = describeConfig(config);
      emit(g, values, () =>
        table(
          ['SETTING', 'ENVIRONMENT', 'VALUE', 'FROM'],
          (Object.keys(SCHEMA) as ConfigKey[]).map((k) => [k, SCHEMA[k].env, JSON.stringify(values[k]), origins[k]]),
        ),
      );
    });
  return cmd;
}
