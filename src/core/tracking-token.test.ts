import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_TRACKED_URL_BYTES,
  newMessageId,
  parseUnsubscribeLocalPart,
  signTrackingToken,
  unsubscribeLocalPart,
  verifyTrackingToken,
  type TrackingTarget,
} from './index.js';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');
const other = Buffer.from('another installation, another key');
const messageId = newMessageId(Date.UTC(2030, 0, 1));

test('a token names its account, message, recipient, kind and link, and reads back exactly', () => {
  const targets: TrackingTarget[] = [
    { kind: 'open', accountId: 'default', messageId, recipient: 'ann@a.example' },
    { kind: 'open', accountId: 'acc_abcdefghijkl', messageId },
    { kind: 'click', accountId: 'default', messageId, recipient: 'zoë@exämple.test', url: 'https://shop.example/orders?id=7&x=ü#top' },
    { kind: 'click', accountId: 'default', messageId, url: 'http://a.example/' },
    { kind: 'unsubscribe', accountId: 'default', messageId, recipient: 'ann@a.example' },
  ];
  for (const target of targets) {
    const token = signTrackingToken(secret, target);
    assert.match(token, /^[A-Za-z0-9_-]+$/, 'URL-safe as it is');
    assert.deepEqual(verifyTrackingToken(secret, token), target);
  }
});

test('tokens stay short: an open token with a recipient is under 100 characters', () => {
  const token = signTrackingToken(secret, { kind: 'open', accountId: 'acc_abcdefghijkl', messageId, recipient: 'someone.long@example.com' });
  assert.ok(token.length < 100, `${token.length} characters`);
});

test('a token signed with another secret names nothing', () => {
  const token = signTrackingToken(other, { kind: 'click', accountId: 'default', messageId, url: 'https://evil.example/' });
  assert.equal(verifyTrackingToken(secret, token), null);
});

test('any changed byte, a cut or an extension makes the token invalid', () => {
  const token = signTrackingToken(secret, { kind: 'click', accountId: 'default', messageId, recipient: 'ann@a.example', url: 'https://shop.example/' });
  const raw = Buffer.from(token, 'base64url');
  for (let i = 0; i < raw.length; i++) {
    const changed = Buffer.from(raw);
    changed[i] ^= 0x01;
    assert.equal(verifyTrackingToken(secret, changed.toString('base64url')), null, `byte ${i} flipped`);
  }
  assert.equal(verifyTrackingToken(secret, token.slice(0, -1)), null);
  assert.equal(verifyTrackingToken(secret, token + 'A'), null);
  assert.equal(verifyTrackingToken(secret, ''), null);
  assert.equal(verifyTrackingToken(secret, 'not a token!'), null);
  assert.equal(verifyTrackingToken(secret, 'A'.repeat(10_000)), null);
});

test('a forged click cannot redirect: swapping the link of a real token breaks it', () => {
  const real = Buffer.from(signTrackingToken(secret, { kind: 'click', accountId: 'default', messageId, url: 'https://shop.example/a' }), 'base64url');
  const forged = Buffer.from(real);
  const at = forged.indexOf('shop.example');
  forged.write('evil.example', at);
  assert.equal(verifyTrackingToken(secret, forged.toString('base64url')), null);
});

test('an open token cannot be reused as another kind: the kind is signed', () => {
  const raw = Buffer.from(signTrackingToken(secret, { kind: 'open', accountId: 'default', messageId }), 'base64url');
  raw[0] = (raw[0] & 0xf8) | 2;
  assert.equal(verifyTrackingToken(secret, raw.toString('base64url')), null);
});

test('links longer than the limit are refused at signing (they stay untracked)', () => {
  const url = `https://shop.example/${'x'.repeat(MAX_TRACKED_URL_BYTES)}`;
  assert.throws(() => signTrackingToken(secret, { kind: 'click', accountId: 'default', messageId, url }));
});

test('the unsubscribe mailto local part is signed, case-insensitive and fits RFC 5321', () => {
  const local = unsubscribeLocalPart(secret, messageId);
  assert.match(local, /^u\+[0-9a-z]{26}\.[0-9a-v]{12}$/);
  assert.ok(local.length <= 64);
  assert.equal(parseUnsubscribeLocalPart(secret, local), messageId);
  assert.equal(parseUnsubscribeLocalPart(secret, local.toUpperCase()), messageId);
  assert.equal(parseUnsubscribeLocalPart(other, local), null);
  assert.equal(parseUnsubscribeLocalPart(secret, `${local.slice(0, -1)}${local.endsWith('0') ? '1' : '0'}`), null);
  assert.equal(parseUnsubscribeLocalPart(secret, `u+${newMessageId()}.${local.slice(-12)}`), null, 'the tag belongs to its message');
});
