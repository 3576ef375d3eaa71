import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign, verify } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { NodeDnsResolver } from '../deliver/dns-resolver.js';
import { startDnsServer } from '../../test/support/dns-server.js';
import { txtStrings } from '../../test/support/domain-zone.js';
import { chooseSelector, dkimPublicKey, dkimRecordValue, generateDkimKey, RSA_BITS } from './dkim-keys.js';

const data = Buffer.from('a message worth signing');

/** The p= value of a record, as a verifier reads it. */
function pOf(record: string): string {
  return /(?:^|;)\s*p=([^;]*)/.exec(record)![1].trim();
}

test('RSA: a 2048-bit key; the public key in the record verifies a signature made with the private key', async () => {
  const key = await generateDkimKey('rsa');
  const record = dkimRecordValue('rsa', key.publicKey);
  assert.match(record, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$/);
  assert.match(key.privateKey, /^-----BEGIN PRIVATE KEY-----\n/); // PKCS#8
  const privateKey = createPrivateKey(key.privateKey);
  assert.equal(privateKey.asymmetricKeyDetails?.modulusLength, RSA_BITS);
  const signature = sign('sha256', data, privateKey);
  const published = dkimPublicKey('rsa', pOf(record));
  assert.equal(verify('sha256', data, published, signature), true);
  assert.equal(verify('sha256', Buffer.from('another message'), published, signature), false);
  // Another key's record does not verify it.
  const other = await generateDkimKey('rsa');
  assert.equal(verify('sha256', data, dkimPublicKey('rsa', other.publicKey), signature), false);
});

test('Ed25519: the record carries the raw 32-byte public key (RFC 8463), which verifies the private key’s signature', async () => {
  const key = await generateDkimKey('ed25519');
  const record = dkimRecordValue('ed25519', key.publicKey);
  assert.match(record, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(pOf(record), 'base64').length, 32);
  const signature = sign(null, data, createPrivateKey(key.privateKey));
  assert.equal(verify(null, data, dkimPublicKey('ed25519', pOf(record)), signature), true);
  assert.equal(verify(null, Buffer.from('tampered'), dkimPublicKey('ed25519', pOf(record)), signature), false);
  assert.throws(() => dkimPublicKey('ed25519', pOf(record).slice(0, 20)), /32 bytes/);
});

test('selectors are dated by the month, Ed25519 adds e, and a taken one gets a letter', () => {
  const nov = new Date('2026-11-03T10:00:00Z');
  assert.equal(chooseSelector(nov, 'rsa', new Set()), 'hd202611');
  assert.equal(chooseSelector(nov, 'ed25519', new Set()), 'hd202611e');
  assert.equal(chooseSelector(new Date('2027-01-31T23:59:59Z'), 'rsa', new Set()), 'hd202701');
  assert.equal(chooseSelector(nov, 'rsa', new Set(['hd202611'])), 'hd202611a');
  // RSA skips "e", so its selectors never read as Ed25519's.
  assert.equal(chooseSelector(nov, 'rsa', new Set(['hd202611', 'hd202611a', 'hd202611b', 'hd202611c', 'hd202611d'])), 'hd202611f');
  assert.equal(chooseSelector(nov, 'ed25519', new Set(['hd202611e'])), 'hd202611ea');
  const all = new Set(['hd202611', ...'abcdfghijklmnopqrstuvwxyz'.split('').map((l) => `hd202611${l}`)]);
  assert.equal(chooseSelector(nov, 'rsa', all), 'hd202611aa');
});

test('interoperability: mail signed with the keys verifies in mailauth against the published records', async (t) => {
  const dns = await startDnsServer();
  t.after(() => dns.close());
  const resolver = new NodeDnsResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
  const rsa = await generateDkimKey('rsa');
  const ed = await generateDkimKey('ed25519');
  dns.setZone({
    'hd202611._domainkey.example.test': { TXT: [txtStrings(dkimRecordValue('rsa', rsa.publicKey))] },
    'hd202611e._domainkey.example.test': { TXT: [txtStrings(dkimRecordValue('ed25519', ed.publicKey))] },
  });
  const message = 'From: Shop <shop@example.test>\r\nTo: ann@a.example\r\nSubject: Hello\r\nDate: Tue, 03 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n\r\nHello there.\r\n';
  // mailauth's typings miss `signatureData`, the form that takes one entry per signature.
  const signed = await dkimSign(message, {
    signatureData: [
      { signingDomain: 'example.test', selector: 'hd202611', privateKey: rsa.privateKey, algorithm: 'rsa-sha256' },
      { signingDomain: 'example.test', selector: 'hd202611e', privateKey: ed.privateKey, algorithm: 'ed25519-sha256' },
    ],
    signTime: new Date('2026-11-03T10:00:00Z'),
  } as unknown as Parameters<typeof dkimSign>[1]);
  assert.deepEqual(signed.errors, []);
  const result = await dkimVerify(signed.signatures + message, {
    resolver: async (name: string, type: string) => {
      assert.equal(type, 'TXT');
      return resolver.resolveTxt(name);
    },
    curTime: new Date('2026-11-03T10:01:00Z'),
  });
  assert.deepEqual(
    result.results.map((r) => [r.selector, r.status.result]),
    [
      ['hd202611', 'pass'],
      ['hd202611e', 'pass'],
    ],
  );
});
