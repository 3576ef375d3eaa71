// The signing step's setup and check: sending domains verified against a DNS server on loopback,
// so that Herald DKIM-signs mail from them, and proof that what Herald relays is signed as
// configured before any of it is timed.
import type { DnsRecord } from '../src/domains/index.js';
import { verifyWithMailauth, type KeyRecords } from '../test/support/dkim.js';
import type { DnsServer } from '../test/support/dns-server.js';
import { zoneFor } from '../test/support/domain-zone.js';
import { startSmtpSink } from '../test/support/smtp-sink.js';
import { smtpSource, type Target, type TimedRun } from './peers.js';
import type { SignMeasure, SignVariant } from './report.js';

/** Herald's HERALD_HOSTNAME in this step: the domains' records point at it. */
export const SIGN_HOSTNAME = 'herald.bench.test';

/**
 * One sender per variant. smtp-source writes its -f address into the From header, which is what
 * Herald signs for; client.example is no domain of Herald's, so development mode sends it unsigned.
 */
export const SIGN_VARIANTS: readonly { variant: SignVariant; from: string; domain?: string; dkim?: string }[] = [
  { variant: 'unsigned', from: 'bench@client.example' },
  { variant: 'rsa', from: 'bench@signed.bench.test', domain: 'signed.bench.test', dkim: 'rsa' },
  { variant: 'rsaEd25519', from: 'bench@dual.bench.test', domain: 'dual.bench.test', dkim: 'rsa,ed25519' },
];

const ALGORITHMS: Record<string, string> = { rsa: 'rsa-sha256', ed25519: 'ed25519-sha256' };

/**
 * Adds the variants' domains to Herald's default account, publishes their records on `dns` and
 * verifies them; resolves with the DKIM key records, for checking signatures.
 */
export async function addSigningDomains(t: Target, dns: DnsServer): Promise<KeyRecords> {
  const records: DnsRecord[] = [];
  for (const { domain, dkim } of SIGN_VARIANTS) {
    if (!domain) continue;
    const added = JSON.parse(await t.cli!(['domains', 'add', domain, '--dkim', dkim!, '--json'])) as { records: DnsRecord[] };
    records.push(...added.records);
    dns.setZone(zoneFor(records, { [SIGN_HOSTNAME]: { A: ['127.0.0.1'] } }));
    const verified = JSON.parse(await t.cli!(['domains', 'verify', domain, '--json'])) as { status: string; records: unknown };
    if (verified.status !== 'verified') throw new Error(`${domain} is ${verified.status} after publishing its records: ${JSON.stringify(verified.records)}`);
  }
  return Object.fromEntries(records.filter((r) => r.purpose === 'dkim').map((r) => [r.name, r.value]));
}

/**
 * Sends one message of each variant and size through Herald to a sink on its next hop (a port
 * where nothing listens otherwise) and checks the DKIM-Signature fields each arrives with: none
 * unsigned, one per configured algorithm signed, every one passing mailauth. Throws on the first
 * difference; resolves with what each variant carried.
 */
export async function checkSigning(t: Target, nextHop: { host: string; port: number }, sizes: readonly number[], keys: KeyRecords): Promise<Record<SignVariant, string>> {
  const sink = await startSmtpSink({ ...nextHop, tls: false });
  try {
    for (const { from } of SIGN_VARIANTS) {
      for (const size of sizes) {
        const r = await smtpSource({ host: t.host, port: t.port, sessions: 1, count: 1, size, reuse: true, from });
        if (!r.ok) throw new Error(`smtp-source failed: ${r.output.slice(-300)}`);
      }
    }
    const expected = SIGN_VARIANTS.length * sizes.length;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`the sink received ${sink.messages.length} of ${expected} messages in 60 s`)), 60_000)));
    const received = await Promise.race([sink.waitFor(expected), late]).finally(() => clearTimeout(timer));

    const found = {} as Record<SignVariant, string>;
    for (const { variant, from, dkim } of SIGN_VARIANTS) {
      const messages = received.filter((m) => headerFields(m.raw, 'from').some((f) => f.includes(from)));
      if (messages.length !== sizes.length) throw new Error(`${variant}: ${messages.length} messages from ${from} arrived, not ${sizes.length}`);
      const want = (dkim ?? '').split(',').filter(Boolean).map((a) => ALGORITHMS[a]!).sort();
      for (const m of messages) {
        const algorithms = headerFields(m.raw, 'dkim-signature').map((f) => /(?:^|;)\s*a=([\w-]+)/.exec(f.slice(f.indexOf(':') + 1))?.[1] ?? '?');
        const verdicts = algorithms.length ? await verifyWithMailauth(m.raw, keys) : [];
        const got = `${m.raw.length} bytes: ${algorithms.length ? algorithms.map((a, i) => `${a} ${verdicts[i]?.result}`).join(', ') : 'no DKIM-Signature'}`;
        if (algorithms.slice().sort().join() !== want.join() || verdicts.length !== algorithms.length || verdicts.some((v) => v.result !== 'pass')) {
          throw new Error(`${variant}: expected ${want.join(' and ') || 'no signature'}, got ${got} (${verdicts.map((v) => v.detail).join('; ')})`);
        }
        found[variant] = algorithms.length ? `${algorithms.join(' + ')}, mailauth: pass` : 'no DKIM-Signature';
      }
    }
    return found;
  } finally {
    await sink.close();
  }
}

/** The unfolded header fields named `name` (lower case), whole ("Name: value"). */
function headerFields(raw: Buffer, name: string): string[] {
  const end = raw.indexOf('\r\n\r\n');
  const header = raw.toString('latin1', 0, end < 0 ? raw.length : end);
  return header
    .replace(/\r\n[ \t]/g, ' ')
    .split('\r\n')
    .filter((f) => f.slice(0, f.indexOf(':')).trim().toLowerCase() === name);
}

/** Sums one variant's timed runs at one size: rate and CPU over all of them, RSS peaks averaged. */
export function summarise(runs: readonly TimedRun[], messagesPerRun: number): SignMeasure {
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const cpu = runs.reduce((s, r) => s + r.cpuSeconds, 0);
  const messages = runs.length * messagesPerRun;
  return {
    messages,
    seconds,
    messagesPerSecond: messages / seconds,
    cpuMsPerMessage: (cpu * 1000) / messages,
    peakRss: runs.reduce((s, r) => s + r.peakRss, 0) / runs.length,
    runs: runs.map((r) => ({ seconds: r.seconds, cpuSeconds: r.cpuSeconds, rssBefore: r.rssBefore, peakRss: r.peakRss })),
  };
}
