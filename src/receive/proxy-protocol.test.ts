import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { loadConfig, type ConfigKey } from '../config/index.js';
import { openSqlite, SqliteSqlDatabase } from '../storage/index.js';
import { SqliteQueueStore } from '../queue/index.js';
import { SqlCredentialStore } from '../accounts/index.js';
import { createAcceptPipeline } from '../accept/index.js';
import { createSmtpListeners } from './index.js';
import { parseProxyHeader } from './proxy-protocol.js';
import { rawSmtp } from '../../test/support/raw-smtp.js';

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** A v2 PROXY header for a TCP connection from `source`:`port` (IPv4 or IPv6). */
function v2Header(source: string, port: number, command: 'PROXY' | 'LOCAL' = 'PROXY'): Buffer {
  const v6 = net.isIPv6(source);
  const addresses = v6 ? Buffer.alloc(36) : Buffer.alloc(12);
  if (v6) {
    const full = expandIpv6(source);
    full.forEach((group, i) => addresses.writeUInt16BE(group, i * 2));
    addresses.writeUInt16BE(port, 32);
    addresses.writeUInt16BE(25, 34);
  } else {
    source.split('.').forEach((octet, i) => (addresses[i] = Number(octet)));
    addresses.set([192, 0, 2, 1], 4);
    addresses.writeUInt16BE(port, 8);
    addresses.writeUInt16BE(25, 10);
  }
  const head = Buffer.from([command === 'PROXY' ? 0x21 : 0x20, v6 ? 0x21 : 0x11, 0, addresses.length]);
  return Buffer.concat([V2_SIGNATURE, head, addresses]);
}

function expandIpv6(address: string): number[] {
  const [left, right = ''] = address.split('::');
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  return groups.map((g) => parseInt(g, 16));
}

test('PROXY v1 lines: TCP4, TCP6 and UNKNOWN are read; what follows is left for SMTP', () => {
  const data = Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 51234 25\r\nEHLO client\r\n');
  const header = parseProxyHeader(data);
  assert.deepEqual(header, { status: 'done', length: 43, source: { address: '203.0.113.7', port: 51234 } });
  assert.equal(data.subarray(43).toString(), 'EHLO client\r\n');
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 4000 25\r\n')), {
    status: 'done',
    length: 44,
    source: { address: '2001:db8::7', port: 4000 },
  });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { status: 'done', length: 15, source: null });
});

test('PROXY v1: a partial line waits for more; a bad one is refused with a reason', () => {
  assert.deepEqual(parseProxyHeader(Buffer.from('PROX')), { status: 'incomplete' });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 ')), { status: 'incomplete' });
  assert.equal(parseProxyHeader(Buffer.from('EHLO client\r\n')).status, 'invalid');
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 example.com 192.0.2.1 1 25\r\n')).status, 'invalid');
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 2001:db8::7 192.0.2.1 1 25\r\n')).status, 'invalid');
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 99999 25\r\n')).status, 'invalid');
  assert.equal(parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)).status, 'invalid');
});

test('PROXY v2 blocks: IPv4, IPv6, IPv4-mapped, LOCAL, and incomplete input', () => {
  const v4 = v2Header('198.51.100.9', 40000);
  assert.deepEqual(parseProxyHeader(Buffer.concat([v4, Buffer.from('EHLO x\r\n')])), { status: 'done', length: 28, source: { address: '198.51.100.9', port: 40000 } });
  // RFC 5952: of two equally long runs of zeros, the first is shortened.
  assert.deepEqual(parseProxyHeader(v2Header('2001:db8:0:0:1::7', 5)), { status: 'done', length: 52, source: { address: '2001:db8::1:0:0:7', port: 5 } });
  assert.deepEqual(parseProxyHeader(v2Header('::ffff:c633:6409', 5)), {
    status: 'done',
    length: 52,
    source: { address: '198.51.100.9', port: 5 },
  });
  assert.deepEqual(parseProxyHeader(v2Header('198.51.100.9', 1, 'LOCAL')), { status: 'done', length: 28, source: null });
  for (let cut = 1; cut < v4.length; cut++) assert.deepEqual(parseProxyHeader(v4.subarray(0, cut)), { status: 'incomplete' }, `cut at ${cut}`);
  const badVersion = Buffer.from(v4);
  badVersion[12] = 0x11;
  assert.equal(parseProxyHeader(badVersion).status, 'invalid');
});

const certificate = selfsigned.generate([{ name: 'commonName', value: 'mx.herald.test' }], { keySize: 2048 });
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

async function boot(t: TestContext, overrides: Partial<Record<ConfigKey, string>>) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-proxy-'));
  const db = openSqlite(join(dir, 'herald.db'));
  const credentialsDb = SqliteSqlDatabase.open(join(dir, 'herald.db'));
  const store = new SqliteQueueStore(db);
  const credentials = await SqlCredentialStore.open(credentialsDb);
  const { config } = loadConfig({ env: {}, overrides: { hostname: 'mx.herald.test', smtpBind: '127.0.0.1', ...overrides } });
  const pems = await certificate;
  const accept = createAcceptPipeline({ store, config });
  const listeners = createSmtpListeners({ config, accept, credentials, tls: { key: pems.private, cert: pems.cert }, logger: silent });
  const bound = await listeners.start({ ephemeral: true });
  t.after(async () => {
    await listeners.stop();
    await store.close();
    db.close();
    await credentialsDb.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, credentials, port: bound.find((b) => b.kind === 'mx')!.port };
}

async function relayThrough(port: number, header: Buffer | string) {
  const session = await rawSmtp(port, header);
  assert.match((await session.reply()) ?? '', /^220 /);
  assert.match((await session.send('EHLO client.example')) ?? '', /^250 /);
  assert.match((await session.send('MAIL FROM:<app@s.example>')) ?? '', /^250 /);
  const rcpt = await session.send('RCPT TO:<someone@elsewhere.example>');
  return { session, rcpt: rcpt ?? '' };
}

test('behind a trusted balancer, the address in the PROXY header (v1 or v2) is the client: relay permission, Received header', async (t) => {
  const { store, credentials, port } = await boot(t, { smtpProxyProtocol: 'on', proxyTrusted: '127.0.0.0/8' });
  // Only the real client's address may relay; the balancer's (127.0.0.1) may not.
  await credentials.create({ name: 'app', networks: ['203.0.113.7/32', '2001:db8::7/128'] });

  for (const header of ['PROXY TCP4 203.0.113.7 127.0.0.1 51234 25\r\n', v2Header('2001:db8::7', 4000)]) {
    const { session, rcpt } = await relayThrough(port, header);
    assert.match(rcpt, /^250 /);
    assert.match((await session.send('DATA')) ?? '', /^354 /);
    const queued = (await session.send('Subject: hi\r\n\r\nHello\r\n.')) ?? '';
    assert.match(queued, /^250 2\.0\.0 Ok: queued as /);
    session.end();
    const id = queued.split(' ').pop()!;
    const body = (await store.getBody(id))!.toString();
    const expected = typeof header === 'string' ? '203.0.113.7' : '2001:db8::7';
    assert.match(body, new RegExp(`^Received: from client\\.example \\(\\[(IPv6:)?${expected.replace(/\./g, '\\.')}\\]\\)`, 'm'));
  }

  // A header naming another client: relaying denied, as for that client connecting directly.
  const { session, rcpt } = await relayThrough(port, 'PROXY TCP4 198.51.100.1 127.0.0.1 51234 25\r\n');
  assert.equal(rcpt, '550 5.7.1 Relaying denied');
  session.end();
});

test('a trusted balancer that sends no valid header is cut off; an untrusted peer cannot claim an address', async (t) => {
  const trusted = await boot(t, { smtpProxyProtocol: 'on', proxyTrusted: '127.0.0.0/8' });
  const garbage = await rawSmtp(trusted.port, 'EHLO client.example\r\n');
  assert.equal(await garbage.reply(), null, 'closed without a session');

  const untrusted = await boot(t, { smtpProxyProtocol: 'on', proxyTrusted: '192.0.2.0/24' });
  await untrusted.credentials.create({ name: 'app', networks: ['203.0.113.7/32'] });
  // From an untrusted peer the header is just a bad command, and the session is its own.
  const session = await rawSmtp(untrusted.port, '');
  assert.match((await session.reply()) ?? '', /^220 /);
  assert.match((await session.send('PROXY TCP4 203.0.113.7 127.0.0.1 51234 25')) ?? '', /^5\d\d /);
  assert.match((await session.send('EHLO client.example')) ?? '', /^250 /);
  assert.match((await session.send('MAIL FROM:<app@s.example>')) ?? '', /^250 /);
  assert.equal(await session.send('RCPT TO:<someone@elsewhere.example>'), '550 5.7.1 Relaying denied');
  session.end();
});
