import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NodeDnsResolver } from '../deliver/dns-resolver.js';
import { SqliteSqlDatabase } from '../storage/index.js';
import { startDnsServer, type DnsServer, type Zone } from '../../test/support/dns-server.js';
import { zoneFor } from '../../test/support/domain-zone.js';
import { planRecords, recordsFor } from './records.js';
import { showDomain } from './show.js';
import { SqlDomainStore } from './sql-domain-store.js';
import type { DnsContext, DomainView, RecordCheck, VerificationResult } from './types.js';
import { verifyDomain } from './verify.js';

const HOST = 'herald.example.net';
const HERALD_IP = '192.0.2.25';
const context: DnsContext = { heraldHostname: HOST };
const clock = { now: () => new Date('2026-11-03T10:00:00Z') };

let dns: DnsServer;
let resolver: NodeDnsResolver;
let store: SqlDomainStore;
/** example.com with an RSA and an Ed25519 key; shop.example with Ed25519 only. */
let both: DomainView;
let shop: DomainView;

before(async () => {
  dns = await startDnsServer();
  resolver = new NodeDnsResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
  store = await SqlDomainStore.open(SqliteSqlDatabase.open(':memory:'), { clock });
  both = await store.add('acme', 'example.com', { dkim: ['rsa', 'ed25519'] });
  shop = await store.add('acme', 'shop.example', { dkim: ['ed25519'] });
});
after(() => dns.close());

const herald: Zone = { [HOST]: { A: [HERALD_IP] } };

/** Every planned record published correctly (no SPF or DMARC before), then `extra` on top. */
function publishAll(domain: DomainView, extra: Zone = {}, filter?: Parameters<typeof zoneFor>[2]): void {
  const plan = recordsFor(domain, { ...context, existingSpf: null, existingDmarc: false, existingReturnPathSpf: null });
  dns.setZone({ ...zoneFor(plan, herald, filter), ...extra });
}

function record(result: VerificationResult, purpose: RecordCheck['purpose'], selector?: string): RecordCheck {
  const found = result.records.find((r) => r.purpose === purpose && (selector === undefined || r.selector === selector));
  assert.ok(found, `no ${purpose} check`);
  return found;
}

const verify = (domain: DomainView, ctx: DnsContext = context) => verifyDomain(domain, resolver, ctx, clock);

test('every record published as planned: all ok, and the domain becomes verified', async () => {
  publishAll(both);
  const result = await verify(both);
  assert.deepEqual(
    result.records.map((r) => [r.purpose, r.name, r.status, r.required]),
    [
      ['dkim', 'hd202611._domainkey.example.com', 'ok', true],
      ['dkim', 'hd202611e._domainkey.example.com', 'ok', true],
      ['spf', 'example.com', 'ok', false],
      ['return-path-mx', 'bounces.example.com', 'ok', true],
      ['return-path-spf', 'bounces.example.com', 'ok', true],
      ['dmarc', '_dmarc.example.com', 'ok', false],
      ['tracking', 'track.example.com', 'ok', false],
    ],
  );
  assert.equal(result.ok, true);
  assert.deepEqual(result.checkedAt, clock.now());
  for (const r of result.records) assert.equal(r.problem, undefined);
  // The 2048-bit key's record is longer than one TXT string: it was published as several.
  const rsa = record(result, 'dkim', 'hd202611');
  assert.ok(rsa.expected.length > 255);
  assert.deepEqual(rsa.found, [rsa.expected]);
  assert.deepEqual(record(result, 'return-path-mx', undefined).found, [`10 ${HOST}`]);
  assert.deepEqual(record(result, 'return-path-spf').found, [`v=spf1 a:${HOST} ~all`]);
  const outcome = (await store.recordVerification('acme', 'example.com', result))!;
  assert.equal(outcome.after, 'verified');
  assert.equal((await store.signingKeysFor('acme', 'example.com'))?.length, 2);
});

test('nothing published: every record missing, each with a problem and a fix naming the exact record', async () => {
  dns.setZone({ ...herald });
  const result = await verify(shop);
  assert.equal(result.ok, false);
  assert.deepEqual(result.records.map((r) => r.status), ['missing', 'missing', 'missing', 'missing', 'missing', 'missing']);
  const dkim = record(result, 'dkim');
  assert.match(dkim.problem!, /^There is no DKIM record at hd202611e\._domainkey\.shop\.example, so receivers cannot check/);
  assert.ok(dkim.fix!.startsWith(`Publish one TXT record named hd202611e._domainkey.shop.example with this value: ${shop.dkim[0].recordValue}`));
  assert.equal(record(result, 'return-path-mx').fix, `Publish an MX record named bounces.shop.example with priority 10 and mail server ${HOST}.`);
  assert.equal(record(result, 'return-path-spf').fix, `Publish a TXT record named bounces.shop.example with this value: v=spf1 a:${HOST} ~all`);
  assert.match(record(result, 'return-path-spf').problem!, /There is no SPF record at bounces\.shop\.example\. Herald's mail uses bounces\.shop\.example as its envelope sender/);
  assert.equal(record(result, 'dmarc').fix, 'Publish a TXT record named _dmarc.shop.example with this value: v=DMARC1; p=none; rua=mailto:dmarc-reports@shop.example');
  assert.equal(record(result, 'tracking').fix, `Publish a CNAME record named track.shop.example pointing to ${HOST}.`);
  for (const r of result.records) assert.match(r.problem!, /\.$/);
});

test('optional records missing do not stop verification', async () => {
  publishAll(shop, {}, (r) => r.required);
  const result = await verify(shop);
  assert.equal(result.ok, true);
  assert.deepEqual(
    result.records.filter((r) => r.status !== 'ok').map((r) => r.purpose),
    ['spf', 'dmarc', 'tracking'],
  );
});

test('two SPF records: wrong, and the fix is the one record combining them', async () => {
  publishAll(shop, {
    'shop.example': { TXT: ['v=spf1 include:_spf.google.com ~all', 'google-site-verification=abc', 'v=spf1 mx -all'] },
    '_spf.google.com': { TXT: ['v=spf1 ip4:203.0.113.0/24 ~all'] },
  });
  const spf = record(await verify(shop), 'spf');
  assert.equal(spf.status, 'wrong');
  assert.deepEqual(spf.found, ['v=spf1 include:_spf.google.com ~all', 'v=spf1 mx -all']);
  assert.match(spf.problem!, /^shop\.example has 2 SPF records; receivers treat more than one as a permanent error/);
  assert.equal(spf.expected, `v=spf1 include:_spf.google.com mx a:${HOST} ~all`);
  assert.equal(spf.fix, `Delete these 2 records and publish a single TXT record named shop.example that combines them: v=spf1 include:_spf.google.com mx a:${HOST} ~all`);
});

test('SPF needing more than 10 lookups through nested includes: wrong, with what each include costs', async () => {
  const zone: Zone = {
    'bounces.shop.example': { MX: [{ preference: 10, exchange: HOST }], TXT: [`v=spf1 a:${HOST} include:esp1.test include:esp2.test ~all`] },
    // esp1: 1 + 2 nested = 3 (+1 for the include itself); esp2: 6 a-mechanisms (+1).
    'esp1.test': { TXT: ['v=spf1 include:esp1-inner.test include:esp1-other.test -all'] },
    'esp1-inner.test': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
    'esp1-other.test': { TXT: ['v=spf1 mx -all'] },
    'esp2.test': { TXT: ['v=spf1 a:a1.test a:a2.test a:a3.test a:a4.test a:a5.test a:a6.test -all'] },
  };
  publishAll(shop, zone, (r) => r.name !== 'bounces.shop.example');
  const spf = record(await verify(shop), 'return-path-spf');
  assert.equal(spf.status, 'wrong');
  assert.match(spf.problem!, /^Checking the SPF record at bounces\.shop\.example takes 12 DNS lookups once its includes are followed; receivers stop at 10/);
  assert.match(spf.fix!, /Lookups per term: a:herald\.example\.net 1, include:esp1\.test 4, include:esp2\.test 7\.$/);

  // Ten exactly is fine.
  dns.setName('esp2.test', { TXT: ['v=spf1 a:a1.test a:a2.test a:a3.test a:a4.test -all'] });
  assert.equal(record(await verify(shop), 'return-path-spf').status, 'ok');
  // An include loop never ends: permerror.
  dns.setName('esp2.test', { TXT: ['v=spf1 include:bounces.shop.example -all'] });
  assert.equal(record(await verify(shop), 'return-path-spf').status, 'wrong');
});

test('SPF that allows Herald in other ways: an include that lists it, its address, mx pointing at it', async () => {
  const rp = (txt: string, extra: Zone = {}) =>
    publishAll(shop, { 'bounces.shop.example': { MX: [{ preference: 10, exchange: HOST }], TXT: [txt] }, ...extra }, (r) => r.name !== 'bounces.shop.example');
  rp('v=spf1 include:_spf.esp.test -all', { '_spf.esp.test': { TXT: [`v=spf1 ip4:192.0.2.0/24 -all`] } });
  assert.equal(record(await verify(shop), 'return-path-spf').status, 'ok');
  rp(`v=spf1 ip4:${HERALD_IP} -all`);
  assert.equal(record(await verify(shop), 'return-path-spf').status, 'ok');
  rp('v=spf1 mx -all');
  assert.equal(record(await verify(shop), 'return-path-spf').status, 'ok');
  rp('v=spf1 a:relay.test -all', { 'relay.test': { A: [HERALD_IP] } });
  assert.equal(record(await verify(shop), 'return-path-spf').status, 'ok');
  rp('v=spf1 redirect=_spf.esp.test', { '_spf.esp.test': { TXT: [`v=spf1 a:${HOST} -all`] } });
  assert.equal(record(await verify(shop), 'return-path-spf').status, 'ok');

  // Herald's own address failed first, or not listed at all: wrong, and the fix adds Herald.
  rp(`v=spf1 -ip4:${HERALD_IP} a:${HOST} -all`);
  assert.equal(record(await verify(shop), 'return-path-spf').status, 'wrong');
  rp('v=spf1 include:_spf.esp.test -all', { '_spf.esp.test': { TXT: ['v=spf1 ip4:203.0.113.0/24 -all'] } });
  const spf = record(await verify(shop), 'return-path-spf');
  assert.equal(spf.status, 'wrong');
  assert.equal(spf.problem, `The SPF record at bounces.shop.example does not allow Herald (${HOST}, ${HERALD_IP}) to send, so receivers do not see SPF pass for Herald's mail.`);
  assert.match(spf.fix!, new RegExp(`adds Herald before its "all" term: v=spf1 include:_spf\\.esp\\.test a:${HOST.replace(/\./g, '\\.')} -all$`));
  // An include of a name without SPF is a permanent error.
  rp(`v=spf1 a:${HOST} include:nothing.test -all`, { 'nothing.test': { TXT: ['hello'] } });
  const broken = record(await verify(shop), 'return-path-spf');
  assert.equal(broken.status, 'wrong');
  assert.match(broken.problem!, /include:nothing\.test \(in the SPF record of bounces\.shop\.example\) names a domain that has no SPF record/);
  // With configured sending IPs, those are what must pass.
  rp('v=spf1 ip4:198.51.100.7 -all');
  assert.equal(record(await verify(shop, { heraldHostname: HOST, sendingIps: ['198.51.100.7'] }), 'return-path-spf').status, 'ok');
  assert.equal(record(await verify(shop, { heraldHostname: HOST, sendingIps: ['198.51.100.7', '2001:db8::7'] }), 'return-path-spf').status, 'wrong');
});

test('DKIM published wrongly: quoted twice, cut off, another key, at a doubled name, two of them', async () => {
  const [key] = shop.dkim;
  const name = key.recordName;
  const dkim = async (zone: Zone) => {
    publishAll(shop, zone, (r) => r.purpose !== 'dkim');
    return record(await verify(shop), 'dkim');
  };

  // Pasted with its quotes into a panel that quotes again.
  const quoted = await dkim({ [name]: { TXT: [`"${key.recordValue}"`] } });
  assert.equal(quoted.status, 'wrong');
  assert.match(quoted.problem!, /has quotation marks inside its value/);
  assert.equal(quoted.fix, `Replace the record's value with this text, without any quotation marks: ${key.recordValue}`);
  // Split by hand into quoted strings typed into a single-string field.
  const split = await dkim({ [name]: { TXT: [`"v=DKIM1; k=ed25519; " "p=${key.publicKey}"`] } });
  assert.equal(split.status, 'wrong');
  assert.match(split.problem!, /quotation marks/);

  // Several strings of one record are joined: fine.
  assert.equal((await dkim({ [name]: { TXT: [['v=DKIM1; k=ed25519; ', `p=${key.publicKey.slice(0, 20)}`, key.publicKey.slice(20)]] } })).status, 'ok');
  // Whitespace inside p= is ignored (RFC 6376 §3.6.1).
  assert.equal((await dkim({ [name]: { TXT: [`v=DKIM1; k=ed25519; p=${key.publicKey.slice(0, 10)} ${key.publicKey.slice(10)}`] } })).status, 'ok');

  const cut = await dkim({ [name]: { TXT: [`v=DKIM1; k=ed25519; p=${key.publicKey.slice(0, 30)}`] } });
  assert.equal(cut.status, 'wrong');
  assert.equal(cut.problem, `The key in the DKIM record at ${name} is cut off: it has 30 of its 44 characters. DNS panels that take at most 255 characters per value do this.`);

  const other = await dkim({ [name]: { TXT: ['v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='] } });
  assert.equal(other.status, 'wrong');
  assert.match(other.problem!, /holds a different key from the one Herald signs with/);
  assert.equal((await dkim({ [name]: { TXT: [`v=DKIM1; k=rsa; p=${key.publicKey}`] } })).problem, `The DKIM record at ${name} says k=rsa, but Herald's key for selector hd202611e is Ed25519 (k=ed25519).`);
  assert.match((await dkim({ [name]: { TXT: ['v=DKIM1; k=ed25519; p='] } })).problem!, /empty key \(p=\), which tells receivers the key was revoked/);

  const doubled = await dkim({ [`${name}.shop.example`]: { TXT: [key.recordValue] } });
  assert.equal(doubled.status, 'wrong');
  assert.equal(doubled.problem, `The DKIM record was published as ${name}.shop.example instead of ${name}: the DNS panel added shop.example to a name that already ended with it, so receivers do not find the key.`);
  assert.match(doubled.fix!, /enter only "hd202611e\._domainkey" as the name/);

  const two = await dkim({ [name]: { TXT: [key.recordValue, 'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='] } });
  assert.equal(two.status, 'wrong');
  assert.match(two.problem!, /There are 2 DKIM records at/);
});

test('DMARC: on the wrong name is wrong with the fix; a parent domain’s record covers a subdomain', async () => {
  const dmarc = async (domain: DomainView, zone: Zone) => {
    publishAll(domain, zone, (r) => r.purpose !== 'dmarc');
    return record(await verify(domain), 'dmarc');
  };
  const policy = 'v=DMARC1; p=quarantine; rua=mailto:d@shop.example';
  for (const wrongName of ['shop.example', 'dmarc.shop.example', '_dmarc.shop.example.shop.example']) {
    const zone: Zone = wrongName === 'shop.example' ? {} : { [wrongName]: { TXT: [policy] } };
    if (wrongName === 'shop.example') {
      publishAll(shop, {}, (r) => r.purpose !== 'dmarc');
      dns.setName('shop.example', { TXT: [`v=spf1 a:${HOST} ~all`, policy] });
    } else {
      publishAll(shop, zone, (r) => r.purpose !== 'dmarc');
    }
    const result = await verify(shop);
    const check = record(result, 'dmarc');
    assert.equal(check.status, 'wrong', wrongName);
    assert.equal(check.problem, `The DMARC record was published at ${wrongName} instead of _dmarc.shop.example; receivers look for it only at _dmarc.shop.example, so it has no effect.`);
    assert.equal(check.fix, `Publish the same value as a TXT record named _dmarc.shop.example (in a DNS panel that adds your domain by itself, the name is "_dmarc"), then delete the one at ${wrongName}: ${policy}`);
    // Optional: the domain is still verified.
    assert.equal(result.ok, true);
  }
  const two = await dmarc(shop, { '_dmarc.shop.example': { TXT: ['v=DMARC1; p=none', 'v=DMARC1; p=reject'] } });
  assert.equal(two.status, 'wrong');

  const mail = await store.add('acme', 'mail.example.com', { dkim: ['ed25519'] });
  const covered = await dmarc(mail, { '_dmarc.example.com': { TXT: ['v=DMARC1; p=reject'] } });
  assert.equal(covered.status, 'ok');
  assert.deepEqual(covered.found, ['v=DMARC1; p=reject']);
  assert.equal(covered.note, 'There is no record at _dmarc.mail.example.com, but the DMARC record at _dmarc.example.com covers mail.example.com too.');
});

test('return path MX: elsewhere, or behind another MX, is wrong', async () => {
  const mx = async (records: { preference: number; exchange: string }[]) => {
    publishAll(shop, {}, (r) => r.purpose !== 'return-path-mx');
    dns.setName('bounces.shop.example', { MX: records, TXT: [`v=spf1 a:${HOST} ~all`] });
    return record(await verify(shop), 'return-path-mx');
  };
  const elsewhere = await mx([{ preference: 10, exchange: 'mx.other.test' }]);
  assert.equal(elsewhere.status, 'wrong');
  assert.equal(elsewhere.problem, `The MX records of bounces.shop.example point to mx.other.test, not to Herald (${HOST}), so bounces never reach Herald.`);
  assert.equal((await mx([{ preference: 5, exchange: 'mx.other.test' }, { preference: 10, exchange: HOST }])).status, 'wrong');
  assert.equal((await mx([{ preference: 0, exchange: '.' }])).status, 'wrong');
  assert.equal((await mx([{ preference: 10, exchange: 'HERALD.example.net' }, { preference: 20, exchange: 'backup.test' }])).status, 'ok');
});

test('a DNS failure is an error, not a missing record, and leaves a verified domain verified', async () => {
  publishAll(shop);
  assert.equal((await store.recordVerification('acme', 'shop.example', await verify(shop)))!.after, 'verified');
  dns.setName('bounces.shop.example', 'SERVFAIL');
  const result = await verify(shop);
  const failed = result.records.filter((r) => r.status === 'error');
  assert.deepEqual(failed.map((r) => r.purpose), ['return-path-mx', 'return-path-spf']);
  assert.match(failed[0].problem!, /^Herald could not look up the MX records of bounces\.shop\.example: the DNS server answered with a failure \(SERVFAIL\)\./);
  assert.equal(result.ok, false);
  const later = { ...result, checkedAt: new Date(result.checkedAt.getTime() + 1) };
  const outcome = (await store.recordVerification('acme', 'shop.example', later))!;
  assert.deepEqual([outcome.before, outcome.after, outcome.changed], ['verified', 'verified', []]);
});

test('the record plan looks at what is published: SPF merged into the existing record, no DMARC starter when one exists', async () => {
  dns.setZone({
    ...herald,
    'shop.example': { TXT: ['v=spf1 include:_spf.google.com -all'] },
    '_dmarc.shop.example': { TXT: ['v=DMARC1; p=reject'] },
  });
  const plan = await planRecords(shop, resolver, context);
  assert.deepEqual(
    plan.map((r) => [r.purpose, r.type, r.name, r.value]),
    [
      ['dkim', 'TXT', 'hd202611e._domainkey.shop.example', shop.dkim[0].recordValue],
      ['spf', 'TXT', 'shop.example', `v=spf1 include:_spf.google.com a:${HOST} -all`],
      ['return-path-mx', 'MX', 'bounces.shop.example', `10 ${HOST}`],
      ['return-path-spf', 'TXT', 'bounces.shop.example', `v=spf1 a:${HOST} ~all`],
      ['tracking', 'CNAME', 'track.shop.example', HOST],
    ],
  );
  assert.match(plan[1].why, /already has, with Herald added before its "all" term/);
  // Two published SPF records: the plan offers the one record that replaces both.
  dns.setName('shop.example', { TXT: ['v=spf1 mx ~all', 'v=spf1 ip4:192.0.2.0/24 ~all'] });
  const shown = (await showDomain(store, 'acme', 'shop.example', { resolver, context }))!;
  assert.equal(shown.domain.name, 'shop.example');
  assert.equal(shown.records.find((r) => r.purpose === 'spf')?.value, `v=spf1 mx ip4:192.0.2.0/24 a:${HOST} ~all`);
  assert.equal(await showDomain(store, 'globex', 'shop.example', { resolver, context }), null);
  // The lookup failed: the plan says so instead of guessing.
  dns.setName('shop.example', 'SERVFAIL');
  const unsure = await planRecords(shop, resolver, context);
  assert.match(unsure.find((r) => r.purpose === 'spf')!.why, /could not read the SPF record shop\.example has now; if it has one, add a:herald\.example\.net to it/);
});
