// The facts about the machine a benchmark ran on, as every block of docs/performance.md states
// them (rendered by report.ts machineLine).
import { execFileSync } from 'node:child_process';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

function sh(cmd: string, argv: string[]): string {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

/** CPU, memory, kernel, Node, the file system of the temporary directory, Postfix, and which Herald (commit, build). */
export function describeMachine(o: { dist: boolean }): Record<string, string | number> {
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? '?',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    postfix: sh('/usr/sbin/postconf', ['-h', 'mail_version']),
    filesystem: sh('sh', ['-c', `df -T ${JSON.stringify(process.env.TMPDIR ?? tmpdir())} | awk 'NR==2{print $2}'`]),
    herald: `${sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])}${sh('git', ['-C', ROOT, 'status', '--porcelain', 'src']) ? ' + uncommitted changes' : ''} (${o.dist ? 'dist' : 'tsx'})`,
  };
}
