import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, processTree, waitForSmtp } from './processes.js';

/**
 * Private Postfix instances for the interop tests and the benchmark.
 *
 * Each instance lives in one temp directory with its own config_directory (etc/),
 * queue_directory (spool/), data_directory (data/) and log file (maillog, written by postlogd),
 * and is driven with `postfix -c DIR/etc start|stop`. As root no edit of the system
 * /etc/postfix/main.cf is needed: `alternate_config_directories` only restricts the set-gid
 * programs for non-root callers, and `postfix -c`, `sendmail -C` and `postqueue -c` all work for
 * root with any directory. The system instance (port 25) is never touched.
 *
 * Roles:
 *  - 'mx': accepts mail for `domains` and stores it in maildirs (virtual(8)); each listed mailbox
 *    gets its own maildir, every other address of a domain lands in that domain's catch-all.
 *  - 'client': relays everything to `relayHost` (Herald), as an application's local MTA would.
 *  - 'relay': the benchmark baseline; relays everything from 127.0.0.0/8 to `relayHost`.
 */

const run = promisify(execFile);
const POSTFIX = '/usr/sbin/postfix';
const SENDMAIL = '/usr/sbin/sendmail';
const POSTQUEUE = '/usr/sbin/postqueue';
// virtual(8) needs a uid/gid ≥ virtual_minimum_uid (100) for the mailbox files: nobody/nogroup.
const MAILBOX_UID = 65534;
const MAILBOX_GID = 65534;

export type PostfixRole = 'mx' | 'client' | 'relay';

export interface PostfixOptions {
  role: PostfixRole;
  /** Listen address of its smtpd: any 127.0.0.x works on Linux without configuring an alias. */
  host?: string;
  /** smtpd port; a free one when omitted. */
  port?: number;
  /** myhostname: greeting, Received headers, loop detection. */
  hostname?: string;
  /** mx: domains whose mail is stored here. */
  domains?: string[];
  /** mx: addresses with a maildir of their own (others go to the domain's catch-all maildir). */
  mailboxes?: string[];
  /** mx: false to reject unlisted addresses at RCPT (550 5.1.1 … User unknown); default true. */
  catchAll?: boolean;
  /** client, relay: next hop as host:port; sent there as [host]:port, without DNS. */
  relayHost?: string;
  /** Extra main.cf parameters, applied last. */
  settings?: Record<string, string>;
  /** Keep the directory after stop() (also HERALD_TEST_KEEP_TMP=1). */
  keep?: boolean;
}

export interface MailboxMessage {
  /** Path of the maildir file. */
  file: string;
  /** The recipient this copy was delivered to (virtual(8)'s Delivered-To header). */
  recipient: string;
  /** The file's bytes: Return-Path, Delivered-To and Received headers prepended by Postfix, LF line ends. */
  raw: Buffer;
}

export interface PostfixInstance {
  role: PostfixRole;
  host: string;
  port: number;
  hostname: string;
  dir: string;
  configDir: string;
  logFile: string;
  mailDir: string;
  /** The master process id (CPU accounting reads it and its children). */
  masterPid: number;
  /** Master plus all live children. */
  pids(): number[];
  log(): string;
  /** Injects a message with this instance's sendmail(1); `raw` uses LF or CRLF line ends. */
  sendmail(raw: string | Buffer, envelope: { from: string; to: string[] }): Promise<void>;
  /** Asks the queue manager to retry deferred mail now (postqueue -f). */
  flush(): Promise<void>;
  /** The queue listing (postqueue -p), for diagnostics. */
  queue(): Promise<string>;
  /** mx: every message stored so far. */
  messages(): MailboxMessage[];
  /** mx: resolves with the first stored message that matches, watching the mail directory. */
  waitForMessage(match: { to?: string; where?: (m: MailboxMessage) => boolean; timeoutMs?: number }): Promise<MailboxMessage>;
  /** Resolves when a log line matches `re`; rejects with the log tail on timeout. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

const live = new Set<string>();
// Last resort when a test process exits without calling stop(): never leave a master running.
process.once('exit', () => {
  for (const configDir of live) {
    try {
      execFileSync(POSTFIX, ['-c', configDir, 'abort'], { stdio: 'ignore', timeout: 5000 });
    } catch {
      // nothing more can be done while exiting
    }
  }
});

// chroot is off everywhere: the queue lives in a temp dir that is not prepared as a chroot jail.
function masterCf(listen: string, role: PostfixRole): string {
  const lines = [
    `${listen} inet n - n - - smtpd`,
    'pickup    unix  n - n 60    1 pickup',
    'cleanup   unix  n - n -     0 cleanup',
    'qmgr      unix  n - n 300   1 qmgr',
    'rewrite   unix  - - n -     - trivial-rewrite',
    'bounce    unix  - - n -     0 bounce',
    'defer     unix  - - n -     0 bounce',
    'trace     unix  - - n -     0 bounce',
    'verify    unix  - - n -     1 verify',
    'flush     unix  n - n 1000? 0 flush',
    'proxymap  unix  - - n -     - proxymap',
    'proxywrite unix - - n -     1 proxymap',
    'smtp      unix  - - n -     - smtp',
    'relay     unix  - - n -     - smtp',
    'showq     unix  n - n -     - showq',
    'error     unix  - - n -     - error',
    'retry     unix  - - n -     - error',
    'discard   unix  - - n -     - discard',
    'anvil     unix  - - n -     1 anvil',
    'scache    unix  - - n -     1 scache',
    'postlog   unix-dgram n - n - 1 postlogd',
  ];
  if (role === 'mx') lines.push('virtual   unix  - n n -     - virtual');
  return lines.join('\n') + '\n';
}

function mainCf(o: Required<Pick<PostfixOptions, 'role' | 'hostname'>> & PostfixOptions, dir: string): Record<string, string> {
  const cf: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: join(dir, 'spool'),
    data_directory: join(dir, 'data'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    myhostname: o.hostname,
    mydomain: o.hostname.replace(/^[^.]+\./, ''),
    // The listener address is in master.cf; inet_interfaces only has to name a local address
    // (Postfix rejects 127.0.0.x aliases it cannot find on an interface).
    inet_interfaces: 'loopback-only',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    // Never deliver to system users, never consult /etc/aliases.
    mydestination: '',
    local_transport: 'error:5.1.1 local delivery is disabled in this test instance',
    alias_maps: '',
    alias_database: '',
    maillog_file: join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    // No reverse DNS for clients (Herald's bench does none either), no biff, no TLS unless asked.
    smtpd_peername_lookup: 'no',
    biff: 'no',
    smtputf8_enable: 'yes',
    // Keep 8-bit bodies as they are: the interop tests compare bytes.
    disable_mime_output_conversion: 'yes',
  };
  if (o.role === 'mx' || o.role === 'client') {
    // Tests: retry deferred mail within a second or two instead of minutes.
    Object.assign(cf, {
      queue_run_delay: '1s',
      minimal_backoff_time: '1s',
      maximal_backoff_time: '2s',
      smtp_connect_timeout: '5s',
      delay_warning_time: '0',
    });
  }
  if (o.role === 'mx') {
    Object.assign(cf, {
      virtual_mailbox_domains: (o.domains ?? []).join(', '),
      virtual_mailbox_base: join(dir, 'mail'),
      virtual_mailbox_maps: `texthash:${join(dir, 'etc', 'mailboxes')}`,
      virtual_uid_maps: `static:${MAILBOX_UID}`,
      virtual_gid_maps: `static:${MAILBOX_GID}`,
      virtual_mailbox_limit: '0',
      message_size_limit: '104857600',
    });
  }
  if (o.role === 'client' || o.role === 'relay') {
    if (!o.relayHost) throw new Error(`role ${o.role} needs relayHost`);
    const [h, p] = o.relayHost.split(':');
    cf.relayhost = `[${h}]:${p}`;
  }
  return { ...cf, ...o.settings };
}

/** Starts a private Postfix instance; see the module comment for the roles. */
export async function startPostfix(opts: PostfixOptions): Promise<PostfixInstance> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const hostname = opts.hostname ?? `${opts.role}.postfix.test`;
  const dir = mkdtempSync(join(tmpdir(), `herald-postfix-${opts.role}-`));
  // virtual(8) writes as nobody under mail/, so the path down to it must be traversable.
  chmodSync(dir, 0o755);
  const configDir = join(dir, 'etc');
  const mailDir = join(dir, 'mail');
  const logFile = join(dir, 'maillog');
  for (const d of ['etc', 'spool', 'data', 'mail']) mkdirSync(join(dir, d));
  chownSync(join(dir, 'data'), Number(execFileSync('id', ['-u', 'postfix']).toString()), 0);
  chownSync(mailDir, MAILBOX_UID, MAILBOX_GID);

  const cf = mainCf({ ...opts, hostname }, dir);
  writeFileSync(join(configDir, 'main.cf'), Object.entries(cf).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  writeFileSync(join(configDir, 'master.cf'), masterCf(`${host}:${port}`, opts.role));
  const mailboxLines = [
    ...(opts.mailboxes ?? []).map((a) => `${a} ${a.split('@')[1]}/${a.split('@')[0]}/`),
    ...(opts.catchAll === false ? [] : (opts.domains ?? []).map((d) => `@${d} ${d}/_catchall/`)),
  ];
  writeFileSync(join(configDir, 'mailboxes'), mailboxLines.join('\n') + '\n');

  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const postfix = async (cmd: string) => {
    try {
      const { stdout, stderr } = await run(POSTFIX, ['-c', configDir, cmd], { timeout: 30_000 });
      return stdout + stderr;
    } catch (e) {
      // postfix(1) reports to syslog/the log file, not stderr, when stderr is not a terminal.
      throw new Error(`postfix -c ${configDir} ${cmd} failed: ${(e as Error).message}\n${log().slice(-3000)}`);
    }
  };

  // `check` creates the queue directories and reports problems; the quick-start marker then
  // makes `start` skip repeating the same (slow) checks.
  await postfix('check');
  writeFileSync(join(dir, 'spool', 'quick-start'), '');
  live.add(configDir);
  let masterPid = 0;
  const stop = async () => {
    if (!live.has(configDir)) return;
    live.delete(configDir);
    const before = masterPid ? processTree(masterPid) : [];
    // `abort` sends master the same SIGTERM as `stop` but skips stop's one-second polling sleeps;
    // waiting for the processes to go is done here instead.
    try {
      await run(POSTFIX, ['-c', configDir, 'abort'], { timeout: 30_000 });
    } catch {
      // not running (or broken): fall through to killing what is left
    }
    const deadline = Date.now() + 5000;
    while (before.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const pid of before.filter(alive)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (!opts.keep && !process.env.HERALD_TEST_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  };

  try {
    await postfix('start');
    masterPid = Number(readFileSync(join(dir, 'spool', 'pid', 'master.pid'), 'utf8').trim());
    await waitForSmtp(host, port, { timeoutMs: 15_000 });
  } catch (e) {
    await stop();
    throw e;
  }

  const messages = (): MailboxMessage[] => {
    const out: MailboxMessage[] = [];
    const walk = (d: string) => {
      for (const ent of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, ent.name);
        if (ent.isDirectory()) walk(p);
        // Only new/ and cur/ hold complete messages; tmp/ is work in progress.
        else if (/\/(new|cur)$/.test(d)) {
          const raw = readFileSync(p);
          const head = raw.subarray(0, 4096).toString('latin1');
          const recipient = /^Delivered-To: (.+)$/im.exec(head)?.[1]?.trim() ?? '';
          out.push({ file: p, recipient, raw });
        }
      }
    };
    walk(mailDir);
    return out;
  };

  const waitForMessage: PostfixInstance['waitForMessage'] = ({ to, where, timeoutMs = 30_000 }) =>
    new Promise((ok, fail) => {
      const matches = (m: MailboxMessage) => (!to || m.recipient.toLowerCase() === to.toLowerCase()) && (!where || where(m));
      const check = () => {
        const hit = messages().find(matches);
        if (hit) finish(null, hit);
      };
      // fs.watch is the trigger; the slow interval only covers events a recursive watch may miss.
      const watcher = watch(mailDir, { recursive: true }, check);
      const safety = setInterval(check, 500);
      const timer = setTimeout(() => finish(new Error(`no message${to ? ` for ${to}` : ''} at ${hostname} within ${timeoutMs} ms\n--- maillog ---\n${log().slice(-3000)}`)), timeoutMs);
      const finish = (err: Error | null, m?: MailboxMessage) => {
        watcher.close();
        clearInterval(safety);
        clearTimeout(timer);
        if (err) fail(err);
        else ok(m!);
      };
      check();
    });

  const waitForLog = (re: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((ok, fail) => {
      const check = () => {
        const line = log().split('\n').find((l) => re.test(l));
        if (line) finish(null, line);
      };
      const watcher = watch(dir, check);
      const safety = setInterval(check, 500);
      const timer = setTimeout(() => finish(new Error(`no log line matching ${re} within ${timeoutMs} ms\n${log().slice(-3000)}`)), timeoutMs);
      const finish = (err: Error | null, line?: string) => {
        watcher.close();
        clearInterval(safety);
        clearTimeout(timer);
        if (err) fail(err);
        else ok(line!);
      };
      check();
    });

  const sendmail: PostfixInstance['sendmail'] = (raw, { from, to }) =>
    new Promise((ok, fail) => {
      // -i: a line with a lone dot is data, not the end; -B 8BITMIME: declare the 8-bit body.
      const child = spawn(SENDMAIL, ['-C', configDir, '-i', '-B', '8BITMIME', '-f', from, '--', ...to], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.on('error', fail);
      child.on('close', (code) => (code === 0 ? ok() : fail(new Error(`sendmail exited ${code}: ${err.trim()}`))));
      child.stdin.end(raw);
    });

  return {
    role: opts.role,
    host,
    port,
    hostname,
    dir,
    configDir,
    logFile,
    mailDir,
    masterPid,
    pids: () => processTree(masterPid),
    log,
    sendmail,
    flush: async () => {
      await run(POSTQUEUE, ['-c', configDir, '-f']);
    },
    queue: async () => (await run(POSTQUEUE, ['-c', configDir, '-p'])).stdout,
    messages,
    waitForMessage,
    waitForLog,
    stop,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
