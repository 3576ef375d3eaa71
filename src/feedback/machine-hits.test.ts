import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeHit, SOON_AFTER_DELIVERY_MS, type TrackingHitFacts } from './machine-hits.js';

const at = new Date(Date.UTC(2030, 0, 1, 12));
const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';
const gmail = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';

function hit(extra: Partial<TrackingHitFacts> = {}): TrackingHitFacts {
  return { kind: 'open', method: 'GET', ip: '198.51.100.7', userAgent: iphone, at, deliveredAt: new Date(at.getTime() - 3_600_000), ...extra };
}

test('a person: a browser or mail client, by GET, a while after delivery', () => {
  assert.deepEqual(judgeHit(hit()), { machine: false });
  assert.deepEqual(judgeHit(hit({ kind: 'click' })), { machine: false });
  assert.deepEqual(judgeHit(hit({ userAgent: gmail })), { machine: false }, 'Gmail’s image proxy fetches when a person opens');
  assert.deepEqual(judgeHit(hit({ deliveredAt: undefined })), { machine: false }, 'an unknown delivery time proves nothing');
});

test('Apple Mail Privacy Protection: the bare Mozilla/5.0 or Apple’s 17.0.0.0/8, for opens', () => {
  assert.deepEqual(judgeHit(hit({ userAgent: 'Mozilla/5.0' })), { machine: true, machineReason: 'apple-privacy-proxy' });
  assert.deepEqual(judgeHit(hit({ ip: '17.58.101.4' })), { machine: true, machineReason: 'apple-privacy-proxy' });
  assert.deepEqual(judgeHit(hit({ ip: '::ffff:17.1.2.3' })), { machine: true, machineReason: 'apple-privacy-proxy' });
  assert.deepEqual(judgeHit(hit({ ip: '18.0.0.1' })), { machine: false });
  assert.deepEqual(judgeHit(hit({ kind: 'click', ip: '17.58.101.4' })), { machine: false }, 'the proxy loads images, it does not click');
});

test('scanners: HEAD requests, no user agent, gateways and HTTP libraries by name', () => {
  assert.equal(judgeHit(hit({ method: 'HEAD' })).machineReason, 'head-request');
  assert.equal(judgeHit(hit({ kind: 'click', userAgent: '' })).machineReason, 'no-user-agent');
  for (const agent of ['Mozilla/5.0 (compatible; Barracuda Sentinel)', 'python-requests/2.31.0', 'curl/8.5.0', 'Go-http-client/1.1', 'Mozilla/5.0 (compatible; bingbot/2.0)', 'Slackbot-LinkExpanding 1.0', 'Mimecast URL Protect']) {
    assert.equal(judgeHit(hit({ kind: 'click', userAgent: agent })).machineReason, 'scanner-user-agent', agent);
  }
});

test('a hit within seconds of the delivery is a gateway scanning the message as it arrives', () => {
  const delivered = new Date(at.getTime() - 2000);
  assert.deepEqual(judgeHit(hit({ kind: 'click', deliveredAt: delivered })), { machine: true, machineReason: 'soon-after-delivery' });
  assert.equal(judgeHit(hit({ deliveredAt: new Date(at.getTime() - SOON_AFTER_DELIVERY_MS) })).machine, false);
  assert.equal(judgeHit(hit({ deliveredAt: new Date(at.getTime() + 60_000) })).machine, false, 'a delivery time after the hit is another recipient’s, not a reason');
});
