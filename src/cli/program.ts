import { Command } from 'commander';
// Not runtime/index.js: that would load the logger and TLS code every command starts with.
import { VERSION } from '../runtime/version.js';
import { accountsCommand } from './commands/accounts.js';
import { apiKeysCommand } from './commands/api-keys.js';
import { configCommand } from './commands/config.js';
import { credentialsCommand } from './commands/credentials.js';
import { domainsCommand } from './commands/domains.js';
import { inboundCommand } from './commands/inbound.js';
import { migrateCommand, migrateStoreCommand } from './commands/migrate.js';
import { queueCommand } from './commands/queue.js';
import { startCommand } from './commands/start.js';
import { statsCommand } from './commands/stats.js';
import { suppressionsCommand } from './commands/suppressions.js';
import { webhooksCommand } from './commands/webhooks.js';
import { usersCommand } from './commands/users.js';

export function buildProgram(): Command {
  const program = new Command('herald')
    .description('Herald — self-hosted email delivery: SMTP and HTTP in, every message delivered.')
    .version(VERSION)
    .option('--json', 'print one JSON document (for scripts)')
    .option('--data-dir <dir>', 'data directory (default: HERALD_DATA_DIR or ./data)')
    .option('--config <file>', 'JSON config file (default: HERALD_CONFIG)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nDocs: README.md and docs/ (configuration, CLI, troubleshooting).');
  for (const sub of [startCommand(), accountsCommand(), apiKeysCommand(), credentialsCommand(), domainsCommand(), queueCommand(), inboundCommand(), suppressionsCommand(), statsCommand(), webhooksCommand(), usersCommand(), configCommand(), migrateCommand(), migrateStoreCommand()]) program.addCommand(sub);
  return program;
}
