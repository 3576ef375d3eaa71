import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordsFor } from './records.js';
import type { DkimKeyView, DomainView } from './types.js';

function key(selector: string, algorithm: DkimKeyView['algorithm'], state: DkimKeyView['state'], retireAt: Date | null = null): DkimKeyView {
  const p = algorithm === 'rsa' ? 'MIIBIjANBgkq' + 'A'.repeat(380) : 'B'.repeat(43) + '=';
  return {
    selector,
    algorithm,
    state,
    publicKey: p,
    recordName: `${selector}._domainkey.example.com`,
    recordValue: `v=DKIM1; k=${algorithm}; p=${p}`,
    createdAt: new Date(0),
    activatedAt: null,
    retireAt,
  };
}

const domain: DomainView = {
  id: 'dom_x',
  accountId: 'acme',
  name: 'example.com',
  returnPath: 'bounces.example.com',
  status: 'unverified',
  verifiedAt: null,
  failingSince: null,
  sendingStopsAt: null,
  checkedAt: null,
  verification: null,
  dkim: [key('hd202611', 'rsa', 'active'), key('hd202611e', 'ed25519', 'active')],
  createdAt: new Date(0),
};

test('the plan: DKIM per key, SPF, the return path MX and SPF, a starter DMARC and the tracking CNAME', () => {
  const plan = recordsFor(domain, { heraldHostname: 'Herald.Example.NET.', existingSpf: null, existingDmarc: false, existingReturnPathSpf: null });
  assert.deepEqual(
    plan.map((r) => [r.purpose, r.type, r.name, r.value, r.required]),
    [
      ['dkim', 'TXT', 'hd202611._domainkey.example.com', domain.dkim[0].recordValue, true],
      ['dkim', 'TXT', 'hd202611e._domainkey.example.com', domain.dkim[1].recordValue, true],
      ['spf', 'TXT', 'example.com', 'v=spf1 a:herald.example.net ~all', false],
      ['return-path-mx', 'MX', 'bounces.example.com', '10 herald.example.net', true],
      ['return-path-spf', 'TXT', 'bounces.example.com', 'v=spf1 a:herald.example.net ~all', true],
      ['dmarc', 'TXT', '_dmarc.example.com', 'v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com', false],
      ['tracking', 'CNAME', 'track.example.com', 'herald.example.net', false],
    ],
  );
  assert.deepEqual(plan.filter((r) => r.purpose === 'dkim').map((r) => r.selector), ['hd202611', 'hd202611e']);
  // Plain words: long values as one record, and the name a panel that appends the domain wants.
  assert.match(plan[0].why, /Enter the value as one record\. Some DNS panels split long values into several quoted strings of at most 255 characters; that is fine/);
  assert.match(plan[0].why, /enter the name as "hd202611\._domainkey"/);
  assert.match(plan[3].why, /enter the name as "bounces"/);
  assert.match(plan[2].why, /enter the name as "@"/);
  assert.match(plan[3].why, /Bounces that arrive later/);
  assert.match(plan[5].why, /p=none only asks receivers to report/);
  for (const r of plan) assert.match(r.why, /\.$/);
});

test('the plan with sending IPs, existing SPF records, an existing DMARC record and a tracking host', () => {
  const plan = recordsFor(domain, {
    heraldHostname: 'herald.example.net',
    sendingIps: ['192.0.2.7', '2001:db8::7'],
    existingSpf: 'v=spf1 include:_spf.google.com -all',
    existingReturnPathSpf: 'v=spf1 redirect=_spf.example.com',
    existingDmarc: true,
    trackingHost: 'click.herald.example.net',
  });
  const by = (purpose: string) => plan.find((r) => r.purpose === purpose);
  assert.equal(by('spf')?.value, 'v=spf1 include:_spf.google.com ip4:192.0.2.7 ip6:2001:db8::7 -all');
  assert.equal(by('return-path-spf')?.value, 'v=spf1 ip4:192.0.2.7 ip6:2001:db8::7 redirect=_spf.example.com');
  assert.equal(by('dmarc'), undefined);
  assert.equal(by('tracking')?.value, 'click.herald.example.net');
  assert.equal(by('return-path-mx')?.value, '10 herald.example.net');
  // Already there: unchanged.
  const again = recordsFor(domain, { heraldHostname: 'herald.example.net', existingSpf: 'v=spf1 a:herald.example.net -all' });
  assert.equal(again.find((r) => r.purpose === 'spf')?.value, 'v=spf1 a:herald.example.net -all');
});

test('the plan during a rotation: the pending key to publish, the retiring key to keep until its date', () => {
  const retireAt = new Date('2026-11-10T10:00:00Z');
  const rotating = { ...domain, dkim: [key('hd202611', 'rsa', 'retiring', retireAt), key('hd202611a', 'rsa', 'active'), key('hd202611b', 'rsa', 'pending')] };
  const dkim = recordsFor(rotating, { heraldHostname: 'h.example' }).filter((r) => r.purpose === 'dkim');
  assert.deepEqual(dkim.map((r) => [r.selector, r.required]), [
    ['hd202611', false],
    ['hd202611a', true],
    ['hd202611b', false],
  ]);
  assert.match(dkim[0].why, /until 2026-11-10T10:00:00\.000Z, so mail already signed with it still verifies/);
  assert.match(dkim[2].why, /Herald keeps signing with the current key until it sees this record/);
});
