import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Resolver } from '../core/index.js';
import { WebhookSender } from './sender.js';
import { blockedAddressReason, checkWebhookUrl, guardedLookup, parseWebhookUrl, WebhookUrlError } from './ssrf.js';

const strict = { allowPrivate: false };
const open = { allowPrivate: true };

/** A Resolver answering from a table; a name not in it is NXDOMAIN, a function may change its answer per call. */
function fakeResolver(zone: Record<string, { a?: string[]; aaaa?: string[]; fail?: string } | (() => { a?: string[]; aaaa?: string[] })>): Resolver & { calls: number } {
  const nx = (name: string) => Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  const answer = (name: string, key: 'a' | 'aaaa') => {
    resolver.calls++;
    const entry = zone[name];
    if (!entry) return Promise.reject(nx(name));
    const value = typeof entry === 'function' ? entry() : entry;
    if ('fail' in value && value.fail) return Promise.reject(Object.assign(new Error(`query ${value.fail}`), { code: value.fail }));
    const list = value[key];
    return list && list.length ? Promise.resolve(list) : Promise.reject(Object.assign(new Error('no data'), { code: 'ENODATA' }));
  };
  const resolver = {
    calls: 0,
    resolve4: (name: string) => answer(name, 'a'),
    resolve6: (name: string) => answer(name, 'aaaa'),
    resolveMx: () => Promise.reject(new Error('unused')),
    resolveTxt: () => Promise.reject(new Error('unused')),
    resolveCname: () => Promise.reject(new Error('unused')),
  };
  return resolver;
}

test('addresses Herald must not reach are refused, with the reason', () => {
  const blocked: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['0.0.0.0', /unspecified/],
    ['10.1.2.3', /private/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['100.127.255.255', /carrier-grade NAT/],
    ['169.254.169.254', /link-local.*metadata/],
    ['192.0.0.8', /IETF/],
    ['198.18.0.1', /benchmarking/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /reserved/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['fe80::1', /link-local/],
    ['febf:ffff::1', /link-local/],
    ['fc00::1', /unique-local/],
    ['fd12:3456::1', /unique-local/],
    ['ff02::1', /multicast/],
    ['fec0::1', /site-local/],
    ['2001:db8::1', /documentation/],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
    // IPv4 embedded in IPv6, in every spelling.
    ['::ffff:127.0.0.1', /IPv4-mapped form of a loopback/],
    ['::ffff:7f00:1', /IPv4-mapped form of a loopback/],
    ['::FFFF:169.254.169.254', /IPv4-mapped form of a link-local/],
    ['0:0:0:0:0:ffff:10.0.0.1', /IPv4-mapped form of a private/],
    ['::ffff:0:127.0.0.1', /IPv4-translated form of a loopback/],
    ['::127.0.0.1', /IPv4-compatible/],
    ['::7f00:1', /IPv4-compatible/],
    ['::8.8.8.8', /IPv4-compatible/],
    ['64:ff9b::127.0.0.1', /NAT64 form of a loopback/],
    ['64:ff9b::a9fe:a9fe', /NAT64 form of a link-local/],
    ['64:ff9b:1::1', /local-use NAT64/],
    ['2002:7f00:1::1', /6to4 form of a loopback/],
    ['2002:c0a8:0101::', /6to4 form of a private/],
    ['not-an-ip', /not an IP address/],
  ];
  for (const [ip, why] of blocked) assert.match(blockedAddressReason(ip) ?? 'allowed', why, ip);

  for (const ip of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '64:ff9b::808:808', '::ffff:8.8.8.8', '2002:808:808::1']) {
    assert.equal(blockedAddressReason(ip), null, ip);
  }
});

test('URL forms: odd spellings of internal addresses are normalised by URL parsing and refused', () => {
  const refused = [
    'https://127.0.0.1/hook',
    'https://2130706433/', // decimal
    'https://0x7f000001/', // hex
    'https://0x7f.1/', // hex, short form
    'https://0177.0.0.1/', // octal
    'https://00000000177.0.0.1/',
    'https://127.1/', // short form
    'https://%31%32%37.0.0.1/', // percent-encoded
    'https://①②⑦.0.0.1/', // full-width digits (IDNA maps them)
    'https://127.0.0.1./', // trailing dot
    'https://0/',
    'https://0.0.0.0:8443/',
    'https://169.254.169.254/latest/meta-data/',
    'https://[::1]/',
    'https://[::]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:7f00:1]/',
    'https://[::ffff:169.254.169.254]/',
    'https://[64:ff9b::10.0.0.1]/',
    'https://[fe80::1]/',
    'https://[fd00::1]/',
    'https://localhost/',
    'https://LOCALHOST./',
    'https://api.localhost/',
  ];
  for (const url of refused) {
    assert.throws(() => parseWebhookUrl(url, strict), (err: Error) => err instanceof WebhookUrlError && /public addresses/.test(err.message), url);
    assert.doesNotThrow(() => parseWebhookUrl(url, open), `${url} with HERALD_WEBHOOK_ALLOW_PRIVATE`);
  }
  const malformed: [string, RegExp][] = [
    ['', /give the URL/],
    ['example.com/hook', /not a URL/],
    ['ftp://example.com/', /must start with https/],
    ['http://example.com/hook', /must use https.*HERALD_WEBHOOK_ALLOW_PRIVATE/],
    ['https://user:pass@example.com/', /no user name or password/],
    ['https://example.com/#frag', /fragment/],
    ['https://1.2.3.4.5/', /not a URL/],
    [`https://example.com/${'a'.repeat(3000)}`, /longer than/],
  ];
  for (const [url, why] of malformed) assert.throws(() => parseWebhookUrl(url, strict), why, url);
  // http:// is for the operator's own network.
  assert.equal(parseWebhookUrl('http://127.0.0.1:9000/hook', open).href, 'http://127.0.0.1:9000/hook');
  for (const ok of ['https://8.8.8.8/', 'https://[2606:4700:4700::1111]:8443/x?y=1', 'https://hooks.example.com/herald']) {
    assert.doesNotThrow(() => parseWebhookUrl(ok, strict), ok);
  }
});

test('a name is resolved when the URL is saved: every address must be public', async () => {
  const resolver = fakeResolver({
    'public.example': { a: ['93.184.216.34'], aaaa: ['2606:2800:220:1::1'] },
    'internal.example': { a: ['10.0.0.5'] },
    'mixed.example': { a: ['93.184.216.34', '192.168.0.10'] },
    'v6meta.example': { aaaa: ['::ffff:169.254.169.254'] },
    'flaky.example': { fail: 'ESERVFAIL' },
  });
  assert.equal((await checkWebhookUrl('https://public.example/hook', resolver, strict)).host, 'public.example');
  await assert.rejects(checkWebhookUrl('https://internal.example/hook', resolver, strict), /internal\.example resolves to 10\.0\.0\.5, a private address/);
  await assert.rejects(checkWebhookUrl('https://mixed.example/', resolver, strict), /resolves to 192\.168\.0\.10/);
  await assert.rejects(checkWebhookUrl('https://v6meta.example/', resolver, strict), /IPv4-mapped form of a link-local/);
  await assert.rejects(checkWebhookUrl('https://typo.example/', resolver, strict), /typo\.example has no address in DNS/);
  // A temporary DNS failure is not the URL's fault: it is checked again at every connection.
  assert.ok(await checkWebhookUrl('https://flaky.example/', resolver, strict));
  assert.ok(await checkWebhookUrl('https://internal.example/', resolver, open), 'allowed with HERALD_WEBHOOK_ALLOW_PRIVATE');
});

function lookupOnce(lookup: ReturnType<typeof guardedLookup>, host: string, options: { all?: boolean; family?: number }) {
  return new Promise<{ err: (Error & { code?: string }) | null; address: unknown; family?: number }>((resolve) =>
    lookup(host, options as never, (err, address, family) => resolve({ err, address, family })),
  );
}

test('the connect-time lookup answers through the Resolver and refuses internal addresses', async () => {
  const resolver = fakeResolver({ 'public.example': { a: ['93.184.216.34'], aaaa: ['2606:2800:220:1::1'] }, 'internal.example': { a: ['127.0.0.1'] } });
  const lookup = guardedLookup(resolver, strict);
  const all = await lookupOnce(lookup, 'public.example', { all: true });
  assert.equal(all.err, null);
  assert.deepEqual(all.address, [
    { address: '93.184.216.34', family: 4 },
    { address: '2606:2800:220:1::1', family: 6 },
  ]);
  const one = await lookupOnce(lookup, 'public.example', { family: 6 });
  assert.deepEqual([one.address, one.family], ['2606:2800:220:1::1', 6]);
  const refused = await lookupOnce(lookup, 'internal.example', { all: true });
  assert.equal(refused.err?.code, 'ERR_WEBHOOK_TARGET');
  assert.match(refused.err!.message, /127\.0\.0\.1, a loopback address/);
  const missing = await lookupOnce(lookup, 'nothing.example', {});
  assert.equal(missing.err?.code, 'ENOTFOUND');
});

test('DNS rebinding: a name that turns internal after the check is refused at connect time, nothing is sent', async (t) => {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;

  // Public when the URL is saved, loopback from then on.
  let answers = 0;
  const resolver = fakeResolver({ 'rebind.example': () => (answers++ < 2 ? { a: ['93.184.216.34'] } : { a: ['127.0.0.1'] }) });
  const url = `https://rebind.example:${port}/hook`;
  await checkWebhookUrl(url, resolver, strict);

  const sender = new WebhookSender({ resolver, policy: strict, timeoutMs: 2000 });
  t.after(() => sender.close());
  const result = await sender.send({ url, eventId: 'evt_x_1', timestamp: new Date(), body: '{}', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] });
  assert.equal(result.ok, false);
  assert.equal(result.status, null);
  assert.match(result.error!, /rebind\.example resolves to 127\.0\.0\.1, a loopback address/);
  assert.equal(connections, 0);

  // The same through plain http.request with the guard as its lookup.
  const err = await new Promise<Error & { code?: string }>((resolve) => {
    const req = http.request({ host: 'rebind.example', port, lookup: guardedLookup(resolver, strict) });
    req.on('error', resolve);
    req.end();
  });
  assert.equal(err.code, 'ERR_WEBHOOK_TARGET');
  assert.equal(connections, 0);
});

test('the sender refuses literal internal addresses itself (node:net does not call lookup for them)', async (t) => {
  const sender = new WebhookSender({ resolver: fakeResolver({}), policy: strict });
  t.after(() => sender.close());
  for (const url of ['https://127.0.0.1:1/', 'https://[::ffff:a9fe:a9fe]/', 'http://8.8.8.8/']) {
    const result = await sender.send({ url, eventId: 'evt_x_1', timestamp: new Date(), body: '{}', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] });
    assert.equal(result.ok, false, url);
    assert.match(result.error!, /public addresses|must use https/, url);
  }
});
