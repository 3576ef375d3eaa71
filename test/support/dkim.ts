/**
 * DKIM test kit: signing keys with their DNS TXT records, the message kinds every DKIM test
 * signs, and three independent verifiers of what Herald signs:
 *
 * - mailauth's `dkimVerify` (in process), with a resolver answering from a records map;
 * - dkimpy (Debian python3-dkim), through its `dkim.verify` API with a `dnsfunc` answering from
 *   the same map — no DNS needed, so no root needed;
 * - any command that looks keys up in real DNS (`opendkim-testmsg`, `dkimverify`), run in a
 *   private mount namespace whose /etc/resolv.conf names the test DNS server. libopendkim and
 *   dnspython read only /etc/resolv.conf, which allows no port, so the server listens on port 53
 *   of a loopback address of its own: this needs root.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dkimVerify } from 'mailauth';
import { composeMessage } from '../../src/accept/compose.js';
import type { SigningIdentity } from '../../src/accept/dkim-sign.js';
import { startDnsServer, type DnsServer } from './dns-server.js';

/** Debian installs python3-dkim for the system interpreter, which need not be the python3 on PATH. */
export const DKIMPY_PYTHON = '/usr/bin/python3';
export const DKIMVERIFY = '/usr/bin/dkimverify';
export const OPENDKIM_TESTMSG = '/usr/sbin/opendkim-testmsg';

/** "selector._domainkey.domain" → TXT record text. */
export type KeyRecords = Record<string, string>;

export interface TestKey {
  identity: SigningIdentity;
  /** Where the public key is published and the TXT record published there. */
  name: string;
  txt: string;
}

const generate = promisify(generateKeyPair);

export async function makeKey(algorithm: SigningIdentity['algorithm'], domain: string, selector: string, rsaBits = 2048): Promise<TestKey> {
  const { privateKey, publicKey } =
    algorithm === 'rsa-sha256' ? await generate('rsa', { modulusLength: rsaBits }) : await generate('ed25519', undefined);
  return {
    identity: { domain, selector, algorithm, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
    name: `${selector}._domainkey.${domain}`,
    txt: dkimTxtRecord(publicKey),
  };
}

/**
 * The DKIM key record (RFC 6376 §3.6.1). RSA: p= is the DER SubjectPublicKeyInfo.
 * Ed25519: p= is the bare 32-byte public key (RFC 8463 §4.2), the tail of its SPKI.
 */
export function dkimTxtRecord(publicKey: KeyObject): string {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  if (publicKey.asymmetricKeyType === 'ed25519') return `v=DKIM1; k=ed25519; p=${spki.subarray(spki.length - 32).toString('base64')}`;
  return `v=DKIM1; k=rsa; p=${spki.toString('base64')}`;
}

export function records(...keys: TestKey[]): KeyRecords {
  return Object.fromEntries(keys.map((k) => [k.name, k.txt]));
}

// ---------------------------------------------------------------------------------------------
// The message kinds

const DATE = 'Tue, 14 May 2024 09:05:00 +0000';

export function plainMessage(): Buffer {
  return Buffer.from(
    [
      'From: Shop <shop@sender.test>',
      'To: Ann <ann@a.test>',
      'Subject: Your order',
      `Date: ${DATE}`,
      'Message-ID: <plain.1@sender.test>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 7bit',
      '',
      'Thanks for your order.',
      '',
      'Order:  77\t(two items)   ',
      '-- ',
      'The shop',
      '',
    ].join('\r\n'),
  );
}

/** Herald's own MIME composer: text, HTML, an inline image and two attachments. */
export async function multipartMessage(): Promise<Buffer> {
  const pixel = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
  const composed = await composeMessage(
    {
      from: 'Shop <shop@sender.test>',
      to: ['Ann <ann@a.test>', 'bob@b.test'],
      cc: ['carl@b.test'],
      replyTo: ['help@sender.test'],
      subject: 'Invoice 77',
      text: 'Your invoice is attached.\n\nThe shop',
      html: '<p>Your invoice is attached.</p><img src="cid:logo@sender.test">',
      headers: { 'List-Unsubscribe': '<https://sender.test/u/77>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      attachments: [
        { filename: 'logo.png', content: pixel.toString('base64'), contentType: 'image/png', contentId: 'logo@sender.test' },
        { filename: 'invoice.txt', content: Buffer.from('Invoice 77\ttotal\t12.00 EUR\n'.repeat(400)).toString('base64'), contentType: 'text/plain' },
        { filename: 'data.bin', content: Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) & 0xff)).toString('base64') },
      ],
    },
    { messageId: 'multi.1@sender.test', date: new Date(Date.parse(DATE)), maxMessageSize: 10 * 1024 * 1024, maxRecipients: 50 },
  );
  return composed.body;
}

/**
 * An SMTPUTF8 message (RFC 6532): raw UTF-8 in addresses, display names and the subject, with
 * folding, tabs and runs of spaces in header values, an 8bit body.
 */
export function utf8Message(): Buffer {
  return Buffer.from(
    [
      'From: "Zoë Ångström" <zoë@exämple.test>',
      'To: 山田太郎 <山田@例え.test>,',
      '\t  Ñandú <ñandú@b.test>',
      'Subject:   Grüße   aus\tKöln —',
      '   noch ein Wort   ',
      `Date: ${DATE}`,
      'Message-ID: <utf8.1@exämple.test>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Grüße, Zoë!  Ça va ?\t✓',
      '日本語のテキスト   ',
      '',
      '',
    ].join('\r\n'),
  );
}

/**
 * UTF-8 header values holding the byte 0xA0: "à" is C3 A0, a no-break space C2 A0. Only SP and
 * HTAB are white space to DKIM (RFC 6376 §2.8), so relaxed canonicalisation keeps these bytes.
 * mailauth 4.13.3 verifies this message as "fail": its relaxed header canonicalisation reads
 * the field as latin1 and collapses /\s+/, and JavaScript's \s matches U+00A0.
 */
export function utf8MessageWithA0(): Buffer {
  return Buffer.from(
    [
      'From: Zoë <zoë@exämple.test>',
      'To: Léa <léa@b.test>',
      'Subject: Voilà\u00a0: votre commande à emporter',
      `Date: ${DATE}`,
      'Message-ID: <utf8.a0@exämple.test>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Voilà\u00a0!',
      '',
    ].join('\r\n'),
  );
}

export async function messageKinds(): Promise<{ kind: string; message: Buffer }[]> {
  return [
    { kind: 'plain text', message: plainMessage() },
    { kind: 'multipart with attachments', message: await multipartMessage() },
    { kind: 'SMTPUTF8 with UTF-8 header fields', message: utf8Message() },
  ];
}

// ---------------------------------------------------------------------------------------------
// Verifiers

export interface Verdict {
  /** 'pass', 'fail', 'neutral', … as the verifier put it. */
  result: string;
  detail: string;
}

/** mailauth's verdict on each DKIM-Signature field, top first. */
export async function verifyWithMailauth(message: Buffer, keys: KeyRecords): Promise<Verdict[]> {
  const res = await dkimVerify(message, {
    resolver: async (name: string, rrtype: string) => {
      const txt = rrtype === 'TXT' ? keys[name.toLowerCase()] : undefined;
      if (txt === undefined) throw Object.assign(new Error(`no ${rrtype} for ${name}`), { code: 'ENOTFOUND' });
      return [[txt]];
    },
  });
  return res.results.map((r) => ({ result: r.status.result, detail: `${r.status.comment ?? ''} ${r.info}`.trim() }));
}

// dnsfunc receives the name as bytes with a trailing dot and returns the TXT record as bytes.
const DKIMPY_SCRIPT = `
import dkim, json, logging, sys
keys = json.loads(sys.argv[1])
message = sys.stdin.buffer.read()
class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []
    def emit(self, record):
        self.lines.append(record.getMessage())
log = logging.getLogger('dkimpy')
log.setLevel(logging.DEBUG)
log.propagate = False
collect = Collect()
log.addHandler(collect)
def dnsfunc(name, timeout=5):
    return keys.get(name.decode('ascii').rstrip('.').lower(), '').encode('ascii')
d = dkim.DKIM(message, logger=log)
count = sum(1 for name, _ in d.headers if name.lower() == b'dkim-signature')
verdicts = []
for i in range(count):
    collect.lines = []
    try:
        ok = bool(d.verify(idx=i, dnsfunc=dnsfunc))
    except Exception as e:
        ok = False
        collect.lines.append(repr(e))
    verdicts.append({'result': 'pass' if ok else 'fail', 'detail': ' | '.join(l for l in collect.lines if not l.startswith('sig:'))})
print(json.dumps(verdicts))
`;

/** dkimpy's verdict on each DKIM-Signature field, top first. */
export async function verifyWithDkimpy(message: Buffer, keys: KeyRecords): Promise<Verdict[]> {
  const run = await runCommand(DKIMPY_PYTHON, ['-c', DKIMPY_SCRIPT, JSON.stringify(keys)], message);
  if (run.code !== 0) throw new Error(`dkimpy exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Verdict[];
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCommand(file: string, args: string[], input: Buffer): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A verifier may exit before reading all of its input; that is its verdict, not our error.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

export interface DnsNamespace {
  dns: DnsServer;
  /** Runs a command whose /etc/resolv.conf names only the test DNS server. */
  run(file: string, args: string[], input: Buffer): Promise<CommandResult>;
  close(): Promise<void>;
}

/** Serves `keys` on port 53 of a loopback address of its own; see the header comment. */
export async function startDnsNamespace(keys: KeyRecords): Promise<DnsNamespace> {
  let dns: DnsServer | undefined;
  for (let attempt = 0; !dns; attempt++) {
    const host = `127.53.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
    try {
      dns = await startDnsServer({ host, port: 53 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw err;
    }
  }
  for (const [name, txt] of Object.entries(keys)) {
    // A TXT character-string holds at most 255 octets (RFC 1035 §3.3.14); DKIM joins them.
    dns.setName(name, { TXT: [txt.match(/.{1,255}/g)!] });
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-dkim-dns-'));
  const resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, `nameserver ${dns.address}\noptions timeout:2 attempts:2\n`);
  const server = dns;
  return {
    dns: server,
    // unshare --mount gives the command a private copy of the mount table: the bind mount
    // over /etc/resolv.conf is seen by it alone and disappears with it.
    run: (file, args, input) =>
      runCommand('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolvConf, file, ...args], input),
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The DKIM-Signature fields in dkimSign's result, each with its CRLF. */
export function splitSignatures(fields: string): string[] {
  return fields.match(/DKIM-Signature:[^]*?\r\n(?![ \t])/g) ?? [];
}

/** The message with only the given DKIM-Signature field (0 = top) on it, for verifiers that give one verdict. */
export function keepOnlySignature(fields: string, index: number, message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(splitSignatures(fields)[index], 'latin1'), message]);
}
