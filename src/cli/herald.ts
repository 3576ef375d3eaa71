#!/usr/bin/env node
import { buildProgram } from './program.js';
import { reportError } from './output.js';

const program = buildProgram();
program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const code = (err as { code?: string }).code ?? '';
  // commander already printed help/version/usage errors.
  if (code.startsWith('commander.')) process.exit((err as { exitCode?: number }).exitCode ?? 2);
  process.exit(reportError(err, process.argv.includes('--json')));
}
