import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSpfRecord, mergeSpf, ourSpfMechanisms, parseSpf } from './spf.js';

const OURS = ['a:herald.example.net'];

test('parsing: mechanisms with qualifiers and arguments, modifiers, and terms receivers cannot read', () => {
  const parsed = parseSpf('v=spf1 -ip4:192.0.2.0/24 a/24 mx:mail.example.com include:_spf.google.com ~all redirect=x.example exp=e.example bogus ip4:');
  assert.deepEqual(
    parsed.terms.map((t) => [t.kind, t.qualifier, t.name, t.arg, t.cidr]),
    [
      ['mechanism', '-', 'ip4', '192.0.2.0/24', ''],
      ['mechanism', '+', 'a', '', '/24'],
      ['mechanism', '+', 'mx', 'mail.example.com', ''],
      ['mechanism', '+', 'include', '_spf.google.com', ''],
      ['mechanism', '~', 'all', '', ''],
      ['modifier', '+', 'redirect', 'x.example', ''],
      ['modifier', '+', 'exp', 'e.example', ''],
    ],
  );
  assert.deepEqual(parsed.errors, ['bogus', 'ip4:']);
  assert.equal(isSpfRecord('v=spf1 -all'), true);
  assert.equal(isSpfRecord('V=SPF1'), true);
  assert.equal(isSpfRecord('v=spf10 -all'), false);
  assert.equal(isSpfRecord('google-site-verification=abc'), false);
});

test("our mechanism: a:<herald host>, or the configured sending addresses as ip4:/ip6:", () => {
  assert.deepEqual(ourSpfMechanisms({ heraldHostname: 'Herald.Example.NET.' }), ['a:herald.example.net']);
  assert.deepEqual(ourSpfMechanisms({ heraldHostname: 'h.example', sendingIps: ['192.0.2.7', '2001:db8::7', '198.51.100.0/28'] }), [
    'ip4:192.0.2.7',
    'ip6:2001:db8::7',
    'ip4:198.51.100.0/28',
  ]);
});

test('merge: no record yet → a new one ending in ~all', () => {
  assert.equal(mergeSpf([], OURS), 'v=spf1 a:herald.example.net ~all');
  assert.equal(mergeSpf([], ['ip4:192.0.2.7', 'ip6:2001:db8::7']), 'v=spf1 ip4:192.0.2.7 ip6:2001:db8::7 ~all');
});

test('merge: Herald goes just before the all term, whatever its qualifier, and everything else stays', () => {
  assert.equal(mergeSpf(['v=spf1 include:_spf.google.com -all'], OURS), 'v=spf1 include:_spf.google.com a:herald.example.net -all');
  assert.equal(mergeSpf(['v=spf1 mx ~all'], OURS), 'v=spf1 mx a:herald.example.net ~all');
  assert.equal(mergeSpf(['v=spf1 ip4:203.0.113.5 ?all exp=explain.example.com'], OURS), 'v=spf1 ip4:203.0.113.5 a:herald.example.net ?all exp=explain.example.com');
  // Terms after `all` are never evaluated, so Herald must come before it even if it is listed after.
  assert.equal(mergeSpf(['v=spf1 -all a:herald.example.net'], OURS), 'v=spf1 a:herald.example.net -all a:herald.example.net');
});

test('merge: a record ending in redirect= gets Herald before the redirect (which then still applies)', () => {
  assert.equal(mergeSpf(['v=spf1 redirect=_spf.example.com'], OURS), 'v=spf1 a:herald.example.net redirect=_spf.example.com');
  assert.equal(mergeSpf(['v=spf1 mx redirect=_spf.example.com'], OURS), 'v=spf1 mx a:herald.example.net redirect=_spf.example.com');
});

test('merge: a record that already allows Herald comes back unchanged', () => {
  assert.equal(mergeSpf(['v=spf1 a:Herald.Example.Net. -all'], OURS), 'v=spf1 a:Herald.Example.Net. -all');
  assert.equal(mergeSpf(['v=spf1  +a:herald.example.net   ~all'], OURS), 'v=spf1 +a:herald.example.net ~all');
  // An address inside a listed network is covered; a wider network we send from is not.
  assert.equal(mergeSpf(['v=spf1 ip4:192.0.2.0/24 -all'], ['ip4:192.0.2.7']), 'v=spf1 ip4:192.0.2.0/24 -all');
  assert.equal(mergeSpf(['v=spf1 ip4:192.0.2.0/28 -all'], ['ip4:192.0.2.0/24']), 'v=spf1 ip4:192.0.2.0/28 ip4:192.0.2.0/24 -all');
  // Only a pass qualifier allows: ~a:host (soft fail) matches first, so it is made a pass where it stands.
  assert.equal(mergeSpf(['v=spf1 mx ~a:herald.example.net -all'], OURS), 'v=spf1 mx a:herald.example.net -all');
});

test('merge: two records become one — mechanisms once each, the first all, extra redirects as includes', () => {
  assert.equal(
    mergeSpf(['v=spf1 include:_spf.google.com ~all', 'v=spf1 include:sendgrid.net mx include:_spf.google.com -all'], OURS),
    'v=spf1 include:_spf.google.com include:sendgrid.net mx a:herald.example.net ~all',
  );
  // With an all term a redirect would never be used, so its domain is included instead.
  assert.equal(mergeSpf(['v=spf1 mx -all', 'v=spf1 redirect=_spf.example.com'], OURS), 'v=spf1 mx include:_spf.example.com a:herald.example.net -all');
  assert.equal(
    mergeSpf(['v=spf1 redirect=a.example', 'v=spf1 ip4:192.0.2.1 redirect=b.example'], OURS),
    'v=spf1 ip4:192.0.2.1 include:b.example a:herald.example.net redirect=a.example',
  );
  // Merging only (no mechanism of ours), as the record plan does with what is published.
  assert.equal(mergeSpf(['v=spf1 mx ~all', 'v=spf1 a ~all'], []), 'v=spf1 mx a ~all');
});

test('merge: terms receivers cannot read are left out of the merged record', () => {
  assert.equal(mergeSpf(['v=spf1 mx includ:x.example ~all'], OURS), 'v=spf1 mx a:herald.example.net ~all');
});
