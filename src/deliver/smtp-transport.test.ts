// Router + SmtpMxTransport against real peers on loopback: a DNS server (dns-packet) that
// NodeDnsResolver queries, and smtp-server sinks on 127.0.0.x sharing one port (the outbound port).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newMessageId, parseReturnPath, type RecipientOutcome } from '../core/index.js';
import type { DeliveryBatch } from '../queue/index.js';
import { startDnsServer, type DnsServer } from '../../test/support/dns-server.js';
import { startSmtpSink, type SmtpSink } from '../../test/support/smtp-sink.js';
import { NodeDnsResolver } from './dns-resolver.js';
import { MxRouter } from './router.js';
import { SmtpMxTransport } from './smtp-transport.js';

let dns: DnsServer;
let primary: SmtpSink; // 127.0.0.2
let secondary: SmtpSink; // 127.0.0.4 (127.0.0.3 has nothing listening: connection refused)
let port: number;

before(async () => {
  dns = await startDnsServer({ host: '127.0.0.1' });
  primary = await startSmtpSink({ host: '127.0.0.2' });
  port = primary.port;
  secondary = await startSmtpSink({ host: '127.0.0.4', port });
  dns.setZone({
    'mx1.test': { A: ['127.0.0.2'] },
    'dead.test': { A: ['127.0.0.3'] },
    'mx2.test': { A: ['127.0.0.4'] },
    'ordered.test': { MX: [{ preference: 20, exchange: 'mx1.test' }, { preference: 10, exchange: 'mx2.test' }] },
    'fallback.test': { MX: [{ preference: 5, exchange: 'dead.test' }, { preference: 10, exchange: 'mx2.test' }, { preference: 20, exchange: 'mx1.test' }] },
    'implicit.test': { A: ['127.0.0.2'] },
    'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] },
    'servfail.test': 'SERVFAIL',
    'rcpt.test': { MX: [{ preference: 10, exchange: 'mx1.test' }] },
  });
});

after(async () => {
  await Promise.all([dns?.close(), primary?.close(), secondary?.close()]);
});

const config = (over: Partial<{ smartHost: URL }> = {}) => ({ hostname: 'herald.test', connectTimeout: 5000, outboundPort: port, smartHost: over.smartHost, destinationConcurrency: 10 });
const resolver = () => new NodeDnsResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
const transport = (over: Partial<{ smartHost: URL }> = {}) => new SmtpMxTransport({ config: config(over), resolver: resolver() });

let rid = 1;
function batch(domain: string, locals: string[], over: Partial<DeliveryBatch> = {}): DeliveryBatch {
  const now = new Date();
  return {
    messageId: newMessageId(),
    accountId: 'acct',
    source: 'smtp',
    domain,
    mailFrom: 'sender@herald.test',
    createdAt: now,
    expiresAt: new Date(now.getTime() + 86_400_000),
    size: 0,
    meta: {},
    recipients: locals.map((l) => ({ id: rid++, address: l.includes('@') ? l : `${l}@${domain}`, attempts: 0 })),
    leaseOwner: 'test',
    leaseExpiresAt: new Date(now.getTime() + 60_000),
    ...over,
  };
}
const body = (subject = 'hello') => Buffer.from(`From: sender@herald.test\r\nTo: someone\r\nSubject: ${subject}\r\n\r\nHi there.\r\n`);
const only = (outcomes: Map<number, RecipientOutcome>) => [...outcomes.values()][0];

test('MX records are tried in preference order', async () => {
  const t = transport();
  try {
    const before4 = secondary.messages.length;
    const result = await t.deliver(batch('ordered.test', ['a']), body('ordered'));
    assert.equal(result.host, 'mx2.test');
    assert.equal(only(result.outcomes).kind, 'delivered');
    assert.equal(secondary.messages.length, before4 + 1);
    assert.match(secondary.messages.at(-1)!.raw.toString(), /Subject: ordered/);
  } finally {
    await t.close();
  }
});

test('falls back to the next MX when the first refuses connections', async () => {
  const t = transport();
  try {
    const result = await t.deliver(batch('fallback.test', ['a']), body('fallback'));
    assert.equal(result.host, 'mx2.test');
    const o = only(result.outcomes);
    assert.equal(o.kind, 'delivered');
    assert.match(secondary.messages.at(-1)!.raw.toString(), /Subject: fallback/);
  } finally {
    await t.close();
  }
});

test('a domain with only an A record is its own implicit MX', async () => {
  const t = transport();
  try {
    const result = await t.deliver(batch('implicit.test', ['x']), body('implicit'));
    assert.equal(result.host, 'implicit.test');
    assert.equal(only(result.outcomes).kind, 'delivered');
    const msg = primary.messages.at(-1)!;
    assert.deepEqual(msg.rcptTo, ['x@implicit.test']);
    assert.equal(msg.ehlo, 'herald.test');
  } finally {
    await t.close();
  }
});

test('null MX bounces at once, NXDOMAIN bounces, SERVFAIL defers', async () => {
  const t = transport();
  try {
    const nullMx = only((await t.deliver(batch('nullmx.test', ['a']), body())).outcomes);
    assert.equal(nullMx.kind, 'bounced');
    assert.equal(nullMx.kind === 'bounced' && nullMx.failure.reply?.enhanced, '5.1.10');

    const nx = only((await t.deliver(batch('missing.test', ['a']), body())).outcomes);
    assert.equal(nx.kind, 'bounced');
    assert.ok(nx.kind === 'bounced' && /does not exist/.test(nx.failure.reason));
    assert.equal(nx.kind === 'bounced' && nx.failure.reply?.enhanced, '5.1.2');

    const sf = only((await t.deliver(batch('servfail.test', ['a', 'b']), body())).outcomes);
    assert.equal(sf.kind, 'deferred');
    assert.equal(sf.kind === 'deferred' && sf.failure.scope, 'site');
  } finally {
    await t.close();
  }
});

test('STARTTLS is used when offered, plaintext when not', async () => {
  const plain = await startSmtpSink({ host: '127.0.0.5', port, tls: false });
  dns.setName('plain.test', { A: ['127.0.0.5'] });
  const t = transport();
  try {
    const result = await t.deliver(batch('rcpt.test', ['tls']), body('tls'));
    assert.equal(result.tls, true);
    assert.equal(primary.messages.at(-1)!.tls, true);

    const r2 = await t.deliver(batch('plain.test', ['p']), body('plain'));
    assert.equal(only(r2.outcomes).kind, 'delivered');
    assert.equal(r2.tls, false);
    assert.equal(plain.messages[0].tls, false);
  } finally {
    await t.close();
    await plain.close();
  }
});

test('smart host with AUTH receives every domain', async () => {
  const relay = await startSmtpSink({ host: '127.0.0.6', port, auth: { user: 'relay-user', pass: 's3cret' } });
  const t = transport({ smartHost: new URL(`smtp://relay-user:s3cret@127.0.0.6:${port}`) });
  try {
    const result = await t.deliver(batch('anywhere.example', ['z']), body('smart'));
    assert.equal(only(result.outcomes).kind, 'delivered');
    assert.equal(result.host, '127.0.0.6');
    const msg = relay.messages[0];
    assert.equal(msg.user, 'relay-user');
    assert.deepEqual(msg.rcptTo, ['z@anywhere.example']);

    const wrong = transport({ smartHost: new URL(`smtp://relay-user:wrong@127.0.0.6:${port}`) });
    const denied = only((await wrong.deliver(batch('anywhere.example', ['z']), body())).outcomes);
    await wrong.close();
    assert.equal(denied.kind, 'deferred', 'bad relay credentials are our configuration problem: defer');
  } finally {
    await t.close();
    await relay.close();
  }
});

test('mixed RCPT replies: each recipient gets its own outcome', async () => {
  primary.setRecipientReply('later@rcpt.test', { code: 451, text: '4.7.1 Greylisted, try again' });
  primary.setRecipientReply('gone@rcpt.test', { code: 550, text: '5.1.1 User unknown' });
  const t = transport();
  try {
    const b = batch('rcpt.test', ['ok', 'later', 'gone']);
    const result = await t.deliver(b, body('mixed'));
    const [ok, later, gone] = b.recipients.map((r) => result.outcomes.get(r.id)!);
    assert.equal(ok.kind, 'delivered');
    assert.equal(later.kind, 'deferred');
    assert.equal(later.kind === 'deferred' && later.failure.scope, 'recipient');
    assert.equal(later.kind === 'deferred' && later.failure.reply?.code, 451);
    assert.equal(gone.kind, 'bounced');
    assert.equal(gone.kind === 'bounced' && gone.failure.scope, 'recipient');
    assert.equal(gone.kind === 'bounced' && gone.failure.reply?.enhanced, '5.1.1');
    assert.deepEqual(primary.messages.at(-1)!.rcptTo, ['ok@rcpt.test']);
  } finally {
    primary.setRecipientReply('later@rcpt.test', null);
    primary.setRecipientReply('gone@rcpt.test', null);
    await t.close();
  }
});

test('the DATA reply applies to every accepted recipient: 4xx defers, 5xx bounces', async () => {
  const t = transport();
  try {
    primary.setDataReply({ code: 452, text: '4.3.1 Insufficient system storage' }, { times: 1 });
    const b1 = batch('rcpt.test', ['d1', 'd2']);
    const r1 = await t.deliver(b1, body('data4'));
    for (const r of b1.recipients) {
      const o = r1.outcomes.get(r.id)!;
      assert.equal(o.kind, 'deferred');
      assert.equal(o.kind === 'deferred' && o.failure.scope, 'message');
    }
    primary.setDataReply({ code: 554, text: '5.7.1 Message rejected as spam' }, { times: 1 });
    const b2 = batch('rcpt.test', ['d3']);
    const r2 = await t.deliver(b2, body('data5'));
    const o = only(r2.outcomes);
    assert.equal(o.kind, 'bounced');
    assert.equal(o.kind === 'bounced' && o.failure.scope, 'message');
    // The session survives a refused message and delivers the next one.
    const r3 = await t.deliver(batch('rcpt.test', ['d4']), body('after'));
    assert.equal(only(r3.outcomes).kind, 'delivered');
  } finally {
    primary.setDataReply(null);
    await t.close();
  }
});

test('a 421 during RCPT defers every recipient without a final answer, scope site', async () => {
  primary.setRecipientReply('first@rcpt.test', { code: 550, text: '5.1.1 No such user' });
  primary.setRecipientReply('second@rcpt.test', { code: 421, text: '4.7.0 Too many errors, closing' });
  const t = transport();
  try {
    const b = batch('rcpt.test', ['first', 'second']);
    const result = await t.deliver(b, body('421'));
    const [first, second] = b.recipients.map((r) => result.outcomes.get(r.id)!);
    assert.equal(first.kind, 'bounced', 'a final answer stays final');
    assert.equal(second.kind, 'deferred');
    assert.equal(second.kind === 'deferred' && second.failure.scope, 'site');
  } finally {
    primary.setRecipientReply('first@rcpt.test', null);
    primary.setRecipientReply('second@rcpt.test', null);
    await t.close();
  }
});

test('two batches to one host share one TCP connection', async () => {
  const reuse = await startSmtpSink({ host: '127.0.0.7', port });
  dns.setName('reuse.test', { A: ['127.0.0.7'] });
  const t = transport();
  try {
    const r1 = await t.deliver(batch('reuse.test', ['one']), body('first'));
    const r2 = await t.deliver(batch('reuse.test', ['two']), body('second'));
    assert.equal(only(r1.outcomes).kind, 'delivered');
    assert.equal(only(r2.outcomes).kind, 'delivered');
    assert.equal(reuse.connections, 1);
    assert.equal(reuse.messages[0].connection, reuse.messages[1].connection);
  } finally {
    await t.close();
    await reuse.close();
  }
});

test('more recipients than one transaction takes go out in several, over one connection', async () => {
  const wide = await startSmtpSink({ host: '127.0.0.12', port });
  dns.setName('wide.test', { A: ['127.0.0.12'] });
  // 250 recipients, 100 per transaction (RFC 5321 §4.5.3.1.8); one of them refused.
  wide.setRecipientReply('r7@wide.test', { code: 550, text: '5.1.1 User unknown' });
  const t = transport();
  try {
    const locals = Array.from({ length: 250 }, (_, i) => `r${i}`);
    const result = await t.deliver(batch('wide.test', locals), body('wide'));
    const kinds = [...result.outcomes.values()].map((o) => o.kind);
    assert.equal(kinds.filter((k) => k === 'delivered').length, 249);
    assert.equal(kinds.filter((k) => k === 'bounced').length, 1);
    assert.deepEqual(wide.messages.map((m) => m.rcptTo.length), [99, 100, 50]);
    assert.equal(wide.connections, 1);
  } finally {
    await t.close();
    await wide.close();
  }
});

test('an 8-bit SMTPUTF8 message arrives byte for byte', async () => {
  const t = transport();
  try {
    const raw = Buffer.from(
      'From: Jörg <jörg@herald.test>\r\nTo: Zoë <zoë@rcpt.test>\r\nSubject: Grüße aus Köln ✉\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
        'Ünïcödé bödy — 日本語\r\n.leading dot\r\n..two dots\r\n\r\nlast line\r\n',
      'utf8',
    );
    const b = batch('rcpt.test', ['zoë@rcpt.test'], { mailFrom: 'jörg@herald.test' });
    const result = await t.deliver(b, raw);
    assert.equal(only(result.outcomes).kind, 'delivered');
    const msg = primary.messages.at(-1)!;
    assert.ok(msg.raw.equals(raw), 'identical bytes');
    assert.equal(msg.mailFrom, 'jörg@herald.test');
    assert.deepEqual(msg.rcptTo, ['zoë@rcpt.test']);
    assert.equal(msg.mailParams.SMTPUTF8, true);
    assert.equal(msg.mailParams.BODY, '8BITMIME');
  } finally {
    await t.close();
  }
});

test('UTF-8 headers with ASCII addresses still announce SMTPUTF8 (RFC 6531 §3.4)', async () => {
  const t = transport();
  try {
    const raw = Buffer.from('From: a@herald.test\r\nSubject: Café\r\n\r\nbody\r\n', 'utf8');
    const result = await t.deliver(batch('rcpt.test', ['ascii']), raw);
    assert.equal(only(result.outcomes).kind, 'delivered');
    assert.equal(primary.messages.at(-1)!.mailParams.SMTPUTF8, true);
  } finally {
    await t.close();
  }
});

test('a message that needs SMTPUTF8 bounces at a server without it', async () => {
  const old = await startSmtpSink({ host: '127.0.0.8', port, hide: ['SMTPUTF8'] });
  dns.setName('old.test', { A: ['127.0.0.8'] });
  const t = transport();
  try {
    const o = only((await t.deliver(batch('old.test', ['zoë@old.test']), body('utf8'))).outcomes);
    assert.equal(o.kind, 'bounced');
    assert.match(o.kind === 'bounced' ? o.failure.reason : '', /SMTPUTF8/);
    assert.equal(old.messages.length, 0);
  } finally {
    await t.close();
    await old.close();
  }
});

test('the null sender is sent as MAIL FROM:<>', async () => {
  const t = transport();
  try {
    const result = await t.deliver(batch('rcpt.test', ['bounce-target'], { mailFrom: '' }), body('null sender'));
    assert.equal(only(result.outcomes).kind, 'delivered');
    assert.equal(primary.messages.at(-1)!.mailFrom, '');
  } finally {
    await t.close();
  }
});

test('router: lower preference first, equal preferences in random order', async () => {
  dns.setName('shuffle.test', {
    MX: [
      { preference: 10, exchange: 'b.shuffle.test' },
      { preference: 10, exchange: 'a.shuffle.test' },
      { preference: 5, exchange: 'z.shuffle.test' },
    ],
  });
  for (const n of ['a', 'b', 'z']) dns.setName(`${n}.shuffle.test`, { A: ['127.0.0.9'], AAAA: ['::1'] });
  const seen = new Set<string>();
  for (const r of [0.1, 0.9]) {
    let n = 0;
    const router = new MxRouter({ resolver: resolver(), outboundPort: 25, random: () => (n++ % 2 === 0 ? r : 1 - r) });
    const route = await router.route('shuffle.test');
    assert.equal(route.kind, 'hosts');
    if (route.kind !== 'hosts') return;
    // Each MX contributes its IPv4 then its IPv6 address.
    assert.deepEqual(route.hosts.slice(0, 2).map((h) => `${h.name} ${h.address}`), ['z.shuffle.test 127.0.0.9', 'z.shuffle.test ::1']);
    seen.add([...new Set(route.hosts.slice(2).map((h) => h.name))].join(','));
  }
  assert.deepEqual([...seen].sort(), ['a.shuffle.test,b.shuffle.test', 'b.shuffle.test,a.shuffle.test']);
});

test('a message with a bounce domain goes out once per recipient, each with its own signed return path', async () => {
  const secret = Buffer.from('installation secret');
  const t = new SmtpMxTransport({ config: config(), resolver: resolver(), returnPathSecret: secret });
  try {
    const before = primary.messages.length;
    const b = batch('rcpt.test', ['one', 'two'], { meta: { returnPath: 'bounces.sender.test' } });
    const result = await t.deliver(b, body('verp'));
    assert.deepEqual([...result.outcomes.values()].map((o) => o.kind), ['delivered', 'delivered']);
    const sent = primary.messages.slice(before);
    assert.equal(sent.length, 2, 'one transaction per recipient');
    for (const [i, r] of b.recipients.entries()) {
      assert.deepEqual(sent[i].rcptTo, [r.address]);
      const [local, domain] = sent[i].mailFrom.split('@');
      assert.equal(domain, 'bounces.sender.test');
      assert.deepEqual(parseReturnPath(secret, local), { messageId: b.messageId, recipientId: r.id });
    }
    assert.equal(sent[0].connection, sent[1].connection, 'both over one connection');

    const plain = await t.deliver(batch('rcpt.test', ['three', 'four']), body('plain'));
    assert.equal(plain.outcomes.size, 2);
    const last = primary.messages.at(-1)!;
    assert.equal(last.mailFrom, 'sender@herald.test', 'without a bounce domain the sender is unchanged');
    assert.equal(last.rcptTo.length, 2);
  } finally {
    await t.close();
  }
});
