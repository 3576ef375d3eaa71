import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Tests that need a real peer program (Postfix, swaks, python3, PostgreSQL) call `needPeer`.
 * When the peer is missing the test is skipped with a printed reason — unless
 * HERALD_TEST_STRICT=1, where a missing peer is a failure (CI installs every peer).
 */
export const STRICT = process.env.HERALD_TEST_STRICT === '1';

const PEERS: Record<string, () => boolean> = {
  postfix: () => existsSync('/usr/sbin/postfix') && existsSync('/usr/lib/postfix/sbin/master'),
  'smtp-sink': () => existsSync('/usr/sbin/smtp-sink'),
  'smtp-source': () => existsSync('/usr/sbin/smtp-source'),
  swaks: () => onPath('swaks'),
  python3: () => onPath('python3'),
  root: () => process.getuid?.() === 0,
  // Debian's python3-dkim (dkimpy) is installed for /usr/bin/python3, which need not be the
  // python3 first on PATH (a pyenv shim, say).
  'python3-dkim': () => {
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import dkim'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  },
  'opendkim-testmsg': () => existsSync('/usr/sbin/opendkim-testmsg') && onPath('unshare'),
};

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Returns false (the test should skip) or true; throws under HERALD_TEST_STRICT=1. */
export function missingPeers(...names: (keyof typeof PEERS)[]): string | false {
  const missing = names.filter((n) => !PEERS[n]());
  if (missing.length === 0) return false;
  const reason = `needs ${missing.join(', ')} (install: apt-get install postfix swaks python3 python3-dkim opendkim-tools)`;
  if (STRICT) throw new Error(`HERALD_TEST_STRICT=1 and a peer is missing: ${reason}`);
  console.log(`# skip: ${reason}`);
  return reason;
}
