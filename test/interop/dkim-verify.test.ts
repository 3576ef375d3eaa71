/**
 * Herald's DKIM signatures checked by verifiers that share no code with it (or with mailauth,
 * which the unit tests use): dkimpy (Debian python3-dkim) and libopendkim (`opendkim-testmsg`,
 * Debian opendkim-tools), for RSA-SHA256 and Ed25519-SHA256 (RFC 8463).
 *
 * dkimpy is given the key records through its `dnsfunc` hook. libopendkim has no such hook and
 * `opendkim-testmsg` no option for a key file when verifying: it asks the resolver named in
 * /etc/resolv.conf, on port 53. So it runs in a private mount namespace whose resolv.conf names
 * the test DNS server, which listens on port 53 of a loopback address of its own; that takes
 * root. dkimpy's own `dkimverify` command runs there too, to check the records as published.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dkimSign, type SigningIdentity } from '../../src/accept/dkim-sign.js';
import {
  DKIMVERIFY,
  keepOnlySignature,
  makeKey,
  messageKinds,
  OPENDKIM_TESTMSG,
  records,
  splitSignatures,
  startDnsNamespace,
  utf8MessageWithA0,
  verifyWithDkimpy,
  type DnsNamespace,
  type KeyRecords,
  type TestKey,
} from '../support/dkim.js';
import { missingPeers } from '../support/peers.js';

const NOW = new Date('2024-05-14T09:05:00Z');

let rsa: TestKey;
let ed: TestKey;
let keys: KeyRecords;

before(async () => {
  [rsa, ed] = await Promise.all([makeKey('rsa-sha256', 'sender.test', 'herald-rsa'), makeKey('ed25519-sha256', 'sender.test', 'herald-ed')]);
  keys = records(rsa, ed);
});

async function sign(message: Buffer, identities: SigningIdentity[]): Promise<{ fields: string; signed: Buffer }> {
  const fields = await dkimSign(message, identities, { now: NOW });
  return { fields, signed: Buffer.concat([Buffer.from(fields, 'latin1'), message]) };
}

/** Every message kind, plus UTF-8 header values holding the byte 0xA0. */
async function allMessages(): Promise<{ kind: string; message: Buffer }[]> {
  return [...(await messageKinds()), { kind: 'SMTPUTF8 with 0xA0 bytes in header values', message: utf8MessageWithA0() }];
}

/** Changes the last ASCII letter or digit of the message, which is in its body. */
function tamperBody(signed: Buffer): Buffer {
  const copy = Buffer.from(signed);
  let at = copy.length - 1;
  while (!/[A-Za-z0-9]/.test(String.fromCharCode(copy[at]))) at--;
  copy[at] = copy[at] === 0x41 ? 0x42 : 0x41;
  return copy;
}

/** Adds a header field right below the DKIM-Signature fields, above the signed ones. */
function addOnTop(fields: string, signed: Buffer, line: string): Buffer {
  const at = Buffer.byteLength(fields, 'latin1');
  return Buffer.concat([signed.subarray(0, at), Buffer.from(`${line}\r\n`), signed.subarray(at)]);
}

const SECOND_FROM = 'From: Mallory <m@evil.test>';
const SECOND_SUBJECT = 'Subject: Urgent: confirm your password';
const NEW_REPLY_TO = 'Reply-To: Mallory <m@evil.test>';

describe('dkimpy (python3-dkim) verifies what Herald signs', { skip: missingPeers('python3-dkim') }, () => {
  for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
    test(`${algorithm}: every message kind passes`, async () => {
      const key = algorithm === 'rsa-sha256' ? rsa : ed;
      for (const { kind, message } of await allMessages()) {
        const { signed } = await sign(message, [key.identity]);
        const verdicts = await verifyWithDkimpy(signed, keys);
        assert.deepEqual(verdicts.map((v) => v.result), ['pass'], `${kind}: ${verdicts.map((v) => v.detail).join('; ')}`);
      }
    });
  }

  test('both identities at once: each signature passes', async () => {
    for (const { kind, message } of await allMessages()) {
      const { signed } = await sign(message, [rsa.identity, ed.identity]);
      const verdicts = await verifyWithDkimpy(signed, keys);
      assert.deepEqual(verdicts.map((v) => v.result), ['pass', 'pass'], `${kind}: ${verdicts.map((v) => v.detail).join('; ')}`);
    }
  });

  test('a From or Subject added on top, or one changed body byte, fails both signatures', async () => {
    for (const { kind, message } of await allMessages()) {
      const { fields, signed } = await sign(message, [rsa.identity, ed.identity]);
      for (const line of [SECOND_FROM, SECOND_SUBJECT]) {
        const verdicts = await verifyWithDkimpy(addOnTop(fields, signed, line), keys);
        assert.deepEqual(verdicts.map((v) => v.result), ['fail', 'fail'], `${kind}: ${line}`);
      }
      const body = await verifyWithDkimpy(tamperBody(signed), keys);
      assert.deepEqual(body.map((v) => v.result), ['fail', 'fail'], `${kind}: changed body`);
      assert.ok(body.every((v) => /body hash mismatch/.test(v.detail)), body.map((v) => v.detail).join('; '));
    }
  });
});

describe('libopendkim (opendkim-testmsg) verifies what Herald signs, keys from DNS', { skip: missingPeers('opendkim-testmsg', 'root') }, () => {
  let ns: DnsNamespace;
  before(async () => {
    ns = await startDnsNamespace(keys);
  });
  after(() => ns?.close());

  // opendkim-testmsg reports one verdict for the whole message (the first good signature
  // wins), so each signature is checked on a copy of the message that carries only it.
  const opendkim = (message: Buffer) => ns.run(OPENDKIM_TESTMSG, [], message);

  test('rsa-sha256 and ed25519-sha256, every message kind: exit 0, no complaint', async () => {
    for (const { kind, message } of await allMessages()) {
      const { fields } = await sign(message, [rsa.identity, ed.identity]);
      for (const index of [0, 1]) {
        const run = await opendkim(keepOnlySignature(fields, index, message));
        assert.equal(run.code, 0, `${kind}, signature ${index}: exit ${run.code} ${run.stderr}`);
        assert.equal(run.stderr, '');
      }
    }
    // Both keys were fetched from the DNS server, so libopendkim really checked both.
    assert.ok(ns.dns.queries.includes(`${rsa.name} TXT`) && ns.dns.queries.includes(`${ed.name} TXT`), ns.dns.queries.join(', '));
  });

  test('a Reply-To added where none was, or one changed body byte: "Bad signature"; a second From or Subject: refused', async () => {
    for (const { kind, message } of await allMessages()) {
      const { fields } = await sign(message, [rsa.identity, ed.identity]);
      const hadReplyTo = /^Reply-To:/im.test(message.toString('latin1', 0, message.indexOf('\r\n\r\n')));
      for (const [index, only] of splitSignatures(fields).entries()) {
        const one = keepOnlySignature(fields, index, message);
        for (const [what, tampered, complaint] of [
          // Over-signing: where the message had no Reply-To, h= names it once all the same.
          // (Where it had one, the added one is a second: refused, as below.)
          ['added Reply-To', addOnTop(only, one, NEW_REPLY_TO), hadReplyTo ? /Syntax error/ : /Bad signature/],
          ['changed body', tamperBody(one), /Bad signature/],
          // libopendkim refuses a message with a second From or Subject before it looks at any
          // signature (RFC 5322 §3.6 allows one of each).
          ['added From', addOnTop(only, one, SECOND_FROM), /dkim_chunk\(\): Syntax error/],
          ['added Subject', addOnTop(only, one, SECOND_SUBJECT), /dkim_chunk\(\): Syntax error/],
        ] as const) {
          const run = await opendkim(tampered);
          assert.notEqual(run.code, 0, `${kind}, signature ${index}, ${what}`);
          assert.match(run.stderr, complaint, `${kind}, signature ${index}, ${what}`);
        }
      }
    }
  });

  test('dkimverify (dkimpy) finds the published records in DNS and passes each signature', { skip: missingPeers('python3-dkim') }, async () => {
    for (const { kind, message } of await allMessages()) {
      const { signed } = await sign(message, [rsa.identity, ed.identity]);
      for (const index of [0, 1]) {
        const run = await ns.run(DKIMVERIFY, ['--index', String(index)], signed);
        assert.equal(run.stdout.trim(), 'signature ok', `${kind}, signature ${index}: ${run.stdout} ${run.stderr}`);
        assert.equal(run.code, 0);
      }
    }
  });
});
