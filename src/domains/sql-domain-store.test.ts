import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { describeEachBackend } from '../../test/support/sql-backends.js';
import { DomainsError } from './names.js';
import { FAILING_GRACE_MS, SqlDomainStore } from './sql-domain-store.js';
import type { DomainView, RecordCheck, RecordStatus, VerificationResult } from './types.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function manualClock(start = Date.parse('2026-11-03T10:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms), set: (ms: number) => (now = ms) };
}


/**
 * A check of every record of the domain, all ok unless `statuses` says otherwise (keyed by
 * purpose, or by DKIM selector), at the clock's time.
 */
function checked(domain: DomainView, at: Date, statuses: Record<string, RecordStatus> = {}): VerificationResult {
  const check = (purpose: RecordCheck['purpose'], name: string, required: boolean, key = purpose as string, selector?: string, expected = 'x'): RecordCheck => ({
    purpose,
    name,
    type: purpose === 'return-path-mx' ? 'MX' : purpose === 'tracking' ? 'CNAME' : 'TXT',
    expected,
    found: [],
    status: statuses[key] ?? 'ok',
    required,
    ...(selector ? { selector } : {}),
  });
  const records = [
    ...domain.dkim.map((k) => check('dkim', k.recordName, k.state === 'active', k.selector, k.selector, k.recordValue)),
    check('spf', domain.name, false),
    check('return-path-mx', domain.returnPath, true),
    check('return-path-spf', domain.returnPath, true),
    check('dmarc', `_dmarc.${domain.name}`, false),
    check('tracking', `track.${domain.name}`, false),
  ];
  return { ok: records.every((r) => !r.required || r.status === 'ok'), checkedAt: at, records };
}

async function verified(store: SqlDomainStore, clock: { now(): Date }, accountId: string, name: string, options?: Parameters<SqlDomainStore['add']>[2]) {
  const domain = await store.add(accountId, name, options);
  const outcome = (await store.recordVerification(accountId, name, checked(domain, clock.now())))!;
  assert.equal(outcome.after, 'verified');
  return outcome.domain;
}

describeEachBackend('SqlDomainStore', ({ fresh, another }) => {
  async function setup(options: { failingGraceMs?: number } = {}) {
    const db = await fresh();
    const clock = manualClock();
    return { db, clock, store: await SqlDomainStore.open(db, { clock, ...options }) };
  }

  test('add: the name is normalised, the return path defaults to bounces.<name>, an RSA key is made with a dated selector', async () => {
    const { store, clock } = await setup();
    const d = await store.add('acme', ' Bücher.Example. ');
    assert.equal(d.name, 'xn--bcher-kva.example');
    assert.equal(d.returnPath, 'bounces.xn--bcher-kva.example');
    assert.equal(d.accountId, 'acme');
    assert.match(d.id, /^dom_[a-z2-9]{12}$/);
    assert.equal(d.status, 'unverified');
    assert.equal(d.verifiedAt, null);
    assert.equal(d.checkedAt, null);
    assert.equal(d.verification, null);
    assert.deepEqual(d.createdAt, clock.now());
    assert.equal(d.dkim.length, 1);
    const [key] = d.dkim;
    assert.deepEqual(
      { selector: key.selector, algorithm: key.algorithm, state: key.state, recordName: key.recordName },
      { selector: 'hd202611', algorithm: 'rsa', state: 'active', recordName: 'hd202611._domainkey.xn--bcher-kva.example' },
    );
    assert.equal(key.recordValue, `v=DKIM1; k=rsa; p=${key.publicKey}`);
    assert.deepEqual(await store.get('acme', 'BÜCHER.example'), d);
    assert.deepEqual(await store.list('acme'), [d]);
    assert.deepEqual(await store.list('other'), []);
    // Views never carry private keys.
    assert.doesNotMatch(JSON.stringify(d), /PRIVATE KEY/);
  });

  test('add: both algorithms, a custom return path, and refusals with a code and plain words', async () => {
    const { store } = await setup();
    const d = await store.add('acme', 'example.com', { returnPath: 'Mail-Back.example.com', dkim: ['ed25519', 'rsa', 'ed25519'] });
    assert.equal(d.returnPath, 'mail-back.example.com');
    assert.deepEqual(
      d.dkim.map((k) => [k.selector, k.algorithm, k.state]),
      [
        ['hd202611', 'rsa', 'active'],
        ['hd202611e', 'ed25519', 'active'],
      ],
    );
    const refused = async (p: Promise<unknown>, code: string, message: RegExp) => {
      await assert.rejects(p, (err: unknown) => err instanceof DomainsError && err.code === code && message.test(err.message));
    };
    await refused(store.add('acme', 'localhost'), 'invalid_domain', /"localhost" is not a domain name Herald can send from/);
    await refused(store.add('acme', 'exa mple.com'), 'invalid_domain', /not a domain name/);
    await refused(store.add('acme', '-bad.example.com'), 'invalid_domain', /not a domain name/);
    await refused(store.add('acme', '192.0.2.1'), 'invalid_domain', /is an IP address/);
    await refused(store.add('acme', `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.com`), 'invalid_domain', /too long/);
    await refused(store.add('acme', 'shop.example', { returnPath: 'bounces.other.example' }), 'invalid_return_path', /must be a subdomain of shop\.example/);
    await refused(store.add('acme', 'shop.example', { returnPath: 'shop.example' }), 'invalid_return_path', /subdomain/);
    await refused(store.add('acme', 'shop.example', { dkim: [] }), 'invalid_algorithm', /"rsa", "ed25519" or both/);
    await refused(store.add('acme', 'shop.example', { dkim: ['dsa' as 'rsa'] }), 'invalid_algorithm', /"rsa", "ed25519"/);
    await refused(store.add('', 'shop.example'), 'invalid_account', /account id is missing/);
    assert.deepEqual((await store.list('acme')).map((x) => x.name), ['example.com']);
  });

  test('a domain belongs to one account: a duplicate is refused in the same or another account; other accounts do not see it', async () => {
    const { store } = await setup();
    await store.add('acme', 'example.com', { dkim: ['ed25519'] });
    await assert.rejects(store.add('acme', 'EXAMPLE.com'), { code: 'domain_taken', message: "example.com is already one of this account's domains" });
    await assert.rejects(store.add('globex', 'example.com'), { code: 'domain_taken', message: /already in use by another account/ });
    // Return paths do not collide with domains, or with each other.
    await assert.rejects(store.add('globex', 'bounces.example.com'), { code: 'domain_taken', message: /return-path \(bounce\) domain of another domain/ });
    await store.add('globex', 'b.example.org', { dkim: ['ed25519'], returnPath: 'a.b.example.org' });
    await assert.rejects(store.add('acme', 'example.org', { returnPath: 'a.b.example.org' }), { code: 'invalid_return_path', message: /a\.b\.example\.org is already used on this Herald/ });
    await assert.rejects(store.add('acme', 'example.org', { returnPath: 'b.example.org' }), { code: 'invalid_return_path' });

    assert.equal(await store.get('globex', 'example.com'), null);
    assert.equal(await store.delete('globex', 'example.com'), false);
    assert.equal(await store.rotateDkim('globex', 'example.com'), null);
    assert.equal(await store.cancelRotation('globex', 'example.com'), null);
    assert.equal(await store.recordVerification('globex', 'example.com', { ok: true, checkedAt: new Date(), records: [] }), null);
    assert.notEqual(await store.get('acme', 'example.com'), null);
    assert.deepEqual(await store.returnPathOwner('Bounces.Example.com'), { accountId: 'acme', domain: 'example.com', returnPath: 'bounces.example.com' });
    assert.equal(await store.returnPathOwner('example.com'), null);

    assert.equal(await store.delete('acme', 'example.com'), true);
    assert.equal(await store.get('acme', 'example.com'), null);
    assert.equal(await store.delete('acme', 'example.com'), false);
    assert.equal(await store.returnPathOwner('bounces.example.com'), null);
    // Once deleted, the name is free again, for any account.
    assert.equal((await store.add('globex', 'example.com', { dkim: ['ed25519'] })).accountId, 'globex');
  });

  test('signing keys: only a verified domain of this account, for the domain itself and its subdomains, with d= the verified domain', async () => {
    const { store, clock } = await setup();
    const added = await store.add('acme', 'example.com', { dkim: ['rsa', 'ed25519'] });
    assert.equal(await store.signingKeysFor('acme', 'example.com'), null);
    assert.equal(await store.isSenderAllowed('acme', 'example.com'), false);
    assert.equal(await store.returnPathFor('acme', 'example.com'), null);

    // Required records broken: not verified.
    const failed = (await store.recordVerification('acme', 'example.com', checked(added, clock.now(), { 'return-path-spf': 'missing' })))!;
    assert.deepEqual([failed.before, failed.after], ['unverified', 'unverified']);
    assert.equal(await store.signingKeysFor('acme', 'example.com'), null);

    clock.advance(60_000);
    const passed = (await store.recordVerification('acme', 'example.com', checked(added, clock.now(), { dmarc: 'missing', tracking: 'missing', spf: 'wrong' })))!;
    assert.deepEqual([passed.before, passed.after], ['unverified', 'verified']);
    assert.deepEqual(passed.domain.verifiedAt, clock.now());
    assert.equal(passed.domain.verification?.ok, true);
    assert.deepEqual(passed.domain.verification?.checkedAt, clock.now());

    const keys = (await store.signingKeysFor('acme', 'EXAMPLE.COM'))!;
    assert.deepEqual(
      keys.map((k) => [k.domain, k.selector, k.algorithm]),
      [
        ['example.com', 'hd202611', 'rsa-sha256'],
        ['example.com', 'hd202611e', 'ed25519-sha256'],
      ],
    );
    assert.equal(createPrivateKey(keys[0].privateKey).asymmetricKeyType, 'rsa');
    assert.equal(createPrivateKey(keys[1].privateKey).asymmetricKeyType, 'ed25519');
    // A subdomain signs as the verified domain (DMARC relaxed alignment) and uses its return path.
    assert.deepEqual((await store.signingKeysFor('acme', 'news.mail.example.com'))?.map((k) => k.domain), ['example.com', 'example.com']);
    assert.equal(await store.isSenderAllowed('acme', 'mail.example.com'), true);
    assert.equal(await store.returnPathFor('acme', 'mail.example.com'), 'bounces.example.com');
    // Not a parent, not a look-alike, not another account.
    assert.equal(await store.signingKeysFor('acme', 'com'), null);
    assert.equal(await store.signingKeysFor('acme', 'notexample.com'), null);
    assert.equal(await store.signingKeysFor('acme', 'example.com.evil.test'), null);
    assert.equal(await store.signingKeysFor('globex', 'example.com'), null);
    assert.equal(await store.isSenderAllowed('globex', 'example.com'), false);
    assert.equal(await store.isSenderAllowed('acme', 'not a domain'), false);

    // A verified subdomain of its own is more specific than its parent.
    await verified(store, clock, 'acme', 'mail.example.com', { dkim: ['ed25519'] });
    assert.deepEqual((await store.signingKeysFor('acme', 'mail.example.com'))?.map((k) => k.domain), ['mail.example.com']);
    assert.equal(await store.returnPathFor('acme', 'x.mail.example.com'), 'bounces.mail.example.com');
    // An unverified exact match falls back to a verified parent.
    await store.add('acme', 'shop.example.com', { dkim: ['ed25519'] });
    assert.deepEqual((await store.signingKeysFor('acme', 'shop.example.com'))?.map((k) => k.domain), ['example.com', 'example.com']);
  });

  test('a verified domain whose records break is failing and still sends for the grace period, then stops; a fix restores it', async () => {
    const { store, clock } = await setup();
    const domain = await verified(store, clock, 'acme', 'example.com', { dkim: ['ed25519'] });
    const verifiedAt = domain.verifiedAt;

    clock.advance(HOUR);
    const broke = (await store.recordVerification('acme', 'example.com', checked(domain, clock.now(), { hd202611e: 'missing' })))!;
    assert.deepEqual([broke.before, broke.after], ['verified', 'failing']);
    assert.deepEqual(broke.changed.map((r) => [r.purpose, r.status]), [['dkim', 'missing']]);
    assert.deepEqual(broke.domain.failingSince, clock.now());
    assert.deepEqual(broke.domain.sendingStopsAt, new Date(clock.now().getTime() + 72 * HOUR));
    assert.deepEqual(broke.domain.verifiedAt, verifiedAt);
    assert.equal(await store.isSenderAllowed('acme', 'example.com'), true);
    assert.notEqual(await store.signingKeysFor('acme', 'example.com'), null);

    // Fixed within the grace period: verified again, verified since the first time.
    clock.advance(10 * HOUR);
    const fixed = (await store.recordVerification('acme', 'example.com', checked(domain, clock.now())))!;
    assert.deepEqual([fixed.before, fixed.after], ['failing', 'verified']);
    assert.deepEqual(fixed.changed.map((r) => [r.purpose, r.status]), [['dkim', 'ok']]);
    assert.deepEqual(fixed.domain.verifiedAt, verifiedAt);
    assert.equal(fixed.domain.failingSince, null);

    // Broken again and left broken: after 72 hours the domain is unverified, even with no new check.
    clock.advance(HOUR);
    const failingSince = clock.now().getTime();
    await store.recordVerification('acme', 'example.com', checked(domain, clock.now(), { 'return-path-mx': 'wrong' }));
    clock.set(failingSince + 72 * HOUR - 1);
    assert.equal((await store.get('acme', 'example.com'))?.status, 'failing');
    clock.set(failingSince + 72 * HOUR);
    const lapsed = (await store.get('acme', 'example.com'))!;
    assert.deepEqual([lapsed.status, lapsed.verifiedAt, lapsed.failingSince, lapsed.sendingStopsAt], ['unverified', null, null, null]);
    assert.equal(await store.signingKeysFor('acme', 'example.com'), null);
    assert.equal(await store.isSenderAllowed('acme', 'example.com'), false);

    // Fixed after that: verified anew.
    clock.advance(HOUR);
    const again = (await store.recordVerification('acme', 'example.com', checked(domain, clock.now())))!;
    assert.deepEqual([again.before, again.after], ['unverified', 'verified']);
    assert.deepEqual(again.domain.verifiedAt, clock.now());
  });

  test('with no grace period a broken domain stops at once', async () => {
    const { store, clock } = await setup({ failingGraceMs: 0 });
    const domain = await verified(store, clock, 'acme', 'example.com', { dkim: ['ed25519'] });
    clock.advance(HOUR);
    const broke = (await store.recordVerification('acme', 'example.com', checked(domain, clock.now(), { 'return-path-spf': 'wrong' })))!;
    assert.deepEqual([broke.before, broke.after], ['verified', 'unverified']);
    assert.equal(await store.signingKeysFor('acme', 'example.com'), null);
  });

  test('temporary lookup errors change nothing; an older result arriving late is ignored', async () => {
    const { store, clock } = await setup();
    const domain = await verified(store, clock, 'acme', 'example.com', { dkim: ['ed25519'] });
    const early = clock.now();
    clock.advance(HOUR);
    const unsure = (await store.recordVerification('acme', 'example.com', checked(domain, clock.now(), { hd202611e: 'error', 'return-path-mx': 'error' })))!;
    assert.deepEqual([unsure.before, unsure.after, unsure.changed], ['verified', 'verified', []]);
    assert.equal(unsure.domain.verification?.ok, false);
    // The next conclusive check compares with the last conclusive status: still ok, no change.
    clock.advance(HOUR);
    assert.deepEqual((await store.recordVerification('acme', 'example.com', checked(domain, clock.now())))!.changed, []);

    // A never-verified domain with errors stays unverified.
    const other = await store.add('acme', 'example.org', { dkim: ['ed25519'] });
    assert.equal((await store.recordVerification('acme', 'example.org', checked(other, clock.now(), { 'return-path-spf': 'error' })))!.after, 'unverified');

    const stale = (await store.recordVerification('acme', 'example.com', checked(domain, early, { 'return-path-spf': 'missing' })))!;
    assert.deepEqual([stale.before, stale.after, stale.changed], ['verified', 'verified', []]);
    assert.deepEqual((await store.get('acme', 'example.com'))?.checkedAt, clock.now());
  });

  test('key rotation: pending until its record is seen, then active; the old key retires after 7 days and its selector is never reused', async () => {
    const { store, clock } = await setup();
    const domain = await verified(store, clock, 'acme', 'example.com', { dkim: ['rsa', 'ed25519'] });
    const [oldRsa, oldEd] = (await store.signingKeysFor('acme', 'example.com'))!;

    clock.advance(DAY);
    const rotating = (await store.rotateDkim('acme', 'example.com'))!;
    assert.deepEqual(
      rotating.dkim.map((k) => [k.selector, k.algorithm, k.state]),
      [
        ['hd202611', 'rsa', 'active'],
        ['hd202611e', 'ed25519', 'active'],
        ['hd202611a', 'rsa', 'pending'],
        ['hd202611ea', 'ed25519', 'pending'],
      ],
    );
    // Until the new records are seen, the current keys sign.
    assert.deepEqual((await store.signingKeysFor('acme', 'example.com'))!.map((k) => k.selector), ['hd202611', 'hd202611e']);
    await assert.rejects(store.rotateDkim('acme', 'example.com'), { code: 'rotation_in_progress', message: /publish the TXT record hd202611a\._domainkey\.example\.com and hd202611ea\._domainkey\.example\.com/ });

    // The new records are not there yet: nothing moves, and the domain stays verified.
    clock.advance(HOUR);
    const waiting = (await store.recordVerification('acme', 'example.com', checked(rotating, clock.now(), { hd202611a: 'missing', hd202611ea: 'missing' })))!;
    assert.deepEqual([waiting.after, waiting.activated], ['verified', []]);

    // Only the RSA one is published: it alone switches.
    clock.advance(HOUR);
    const half = (await store.recordVerification('acme', 'example.com', checked(rotating, clock.now(), { hd202611ea: 'missing' })))!;
    assert.deepEqual(half.activated, ['hd202611a']);
    assert.deepEqual(
      half.domain.dkim.map((k) => [k.selector, k.state, k.retireAt?.getTime() ?? null]),
      [
        ['hd202611', 'retiring', clock.now().getTime() + 7 * DAY],
        ['hd202611e', 'active', null],
        ['hd202611a', 'active', null],
        ['hd202611ea', 'pending', null],
      ],
    );
    assert.deepEqual((await store.signingKeysFor('acme', 'example.com'))!.map((k) => k.selector), ['hd202611e', 'hd202611a']);
    // The stored result reads as things stand now: the new key is required, the replaced one not.
    assert.deepEqual(half.domain.verification!.records.filter((r) => r.purpose === 'dkim').map((r) => [r.selector, r.required]), [
      ['hd202611', false],
      ['hd202611e', true],
      ['hd202611a', true],
      ['hd202611ea', false],
    ]);
    const rsaSwitchedAt = clock.now().getTime();

    clock.advance(HOUR);
    const whole = (await store.recordVerification('acme', 'example.com', checked(half.domain, clock.now())))!;
    assert.deepEqual(whole.activated, ['hd202611ea']);
    const keys = (await store.signingKeysFor('acme', 'example.com'))!;
    assert.deepEqual(keys.map((k) => [k.selector, k.algorithm]), [
      ['hd202611a', 'rsa-sha256'],
      ['hd202611ea', 'ed25519-sha256'],
    ]);
    assert.notEqual(keys[0].privateKey, oldRsa.privateKey);
    assert.notEqual(keys[1].privateKey, oldEd.privateKey);
    assert.equal(whole.after, 'verified');

    // The retiring records are still checked but no longer required: their loss does not fail the domain.
    const view = whole.domain;
    clock.set(rsaSwitchedAt + 7 * DAY - 1);
    const early = (await store.recordVerification('acme', 'example.com', checked(view, clock.now(), { hd202611: 'missing' })))!;
    assert.deepEqual([early.after, early.retired], ['verified', []]);
    clock.set(rsaSwitchedAt + 7 * DAY);
    const retired = (await store.recordVerification('acme', 'example.com', checked(view, clock.now())))!;
    assert.deepEqual(retired.retired, ['hd202611']);
    assert.deepEqual(retired.domain.dkim.map((k) => [k.selector, k.state]), [
      ['hd202611e', 'retiring'],
      ['hd202611a', 'active'],
      ['hd202611ea', 'active'],
    ]);

    // A retired selector is not handed out again, even though its key is gone.
    const next = (await store.rotateDkim('acme', 'example.com'))!;
    assert.deepEqual(next.dkim.filter((k) => k.state === 'pending').map((k) => k.selector), ['hd202611b', 'hd202611eb']);
    const cancelled = (await store.cancelRotation('acme', 'example.com'))!;
    assert.deepEqual(cancelled.dkim.filter((k) => k.state === 'pending'), []);
    assert.equal(domain.name, 'example.com');
    // Next month's rotation gets next month's selector.
    clock.set(Date.parse('2026-12-01T00:00:00Z'));
    const december = (await store.rotateDkim('acme', 'example.com'))!;
    assert.deepEqual(december.dkim.filter((k) => k.state === 'pending').map((k) => k.selector), ['hd202612', 'hd202612e']);
  });

  test('changed records: reported between conclusive statuses, not on the first check', async () => {
    const { store, clock } = await setup();
    const domain = await store.add('acme', 'example.com', { dkim: ['ed25519'] });
    const first = (await store.recordVerification('acme', 'example.com', checked(domain, clock.now(), { dmarc: 'missing', tracking: 'missing' })))!;
    assert.deepEqual(first.changed, []);
    assert.deepEqual([first.before, first.after], ['unverified', 'verified']);
    clock.advance(HOUR);
    const dmarc = (await store.recordVerification('acme', 'example.com', checked(domain, clock.now(), { tracking: 'missing' })))!;
    assert.deepEqual(dmarc.changed.map((r) => [r.purpose, r.status]), [['dmarc', 'ok']]);
    assert.deepEqual([dmarc.before, dmarc.after], ['verified', 'verified']);
    clock.advance(HOUR);
    const spf = (await store.recordVerification('acme', 'example.com', checked(domain, clock.now(), { tracking: 'missing', spf: 'wrong' })))!;
    assert.deepEqual(spf.changed.map((r) => [r.purpose, r.status]), [['spf', 'wrong']]);
  });

  test('tracking host: track.<domain> once its CNAME checks out, for the domain and its subdomains; a lookup error keeps it', async () => {
    const { store, clock } = await setup();
    const domain = await store.add('acme', 'shop.example');
    await store.recordVerification('acme', 'shop.example', checked(domain, clock.now(), { tracking: 'missing' }));
    assert.equal(await store.trackingHostFor('acme', 'shop.example'), null, 'verified, but no CNAME yet');
    clock.advance(HOUR);
    await store.recordVerification('acme', 'shop.example', checked(domain, clock.now()));
    assert.equal(await store.trackingHostFor('acme', 'shop.example'), 'track.shop.example');
    assert.equal(await store.trackingHostFor('acme', 'News.Shop.Example'), 'track.shop.example');
    assert.equal(await store.trackingHostFor('other', 'shop.example'), null, 'another account');
    assert.equal(await store.trackingHostFor('acme', 'elsewhere.example'), null);
    clock.advance(HOUR);
    await store.recordVerification('acme', 'shop.example', checked(domain, clock.now(), { tracking: 'error' }));
    assert.equal(await store.trackingHostFor('acme', 'shop.example'), 'track.shop.example');
    clock.advance(HOUR);
    await store.recordVerification('acme', 'shop.example', checked(domain, clock.now(), { tracking: 'wrong' }));
    assert.equal(await store.trackingHostFor('acme', 'shop.example'), null);
  });

  test('development mode: per account, lets any sender through, signs nothing that is not verified', async () => {
    const { store } = await setup();
    assert.equal(await store.developmentMode('acme'), false);
    await store.setDevelopmentMode('acme', true);
    assert.equal(await store.developmentMode('acme'), true);
    assert.equal(await store.developmentMode('globex'), false);
    assert.equal(await store.isSenderAllowed('acme', 'anything.example'), true);
    assert.equal(await store.isSenderAllowed('globex', 'anything.example'), false);
    assert.equal(await store.signingKeysFor('acme', 'anything.example'), null);
    assert.equal(await store.returnPathFor('acme', 'anything.example'), null);
    await store.setDevelopmentMode('acme', false);
    assert.equal(await store.isSenderAllowed('acme', 'anything.example'), false);
  });

  test('the state survives reopening the database', async () => {
    const { db, store, clock } = await setup();
    await verified(store, clock, 'acme', 'example.com', { dkim: ['ed25519'] });
    await store.setDevelopmentMode('globex', true);
    const again = await SqlDomainStore.open(db, { clock });
    assert.equal((await again.get('acme', 'example.com'))?.status, 'verified');
    assert.equal((await again.signingKeysFor('acme', 'example.com'))?.length, 1);
    assert.equal(await again.developmentMode('globex'), true);
  });

  test('a result that checked another key, or predates the domain, counts for nothing', async () => {
    const { store, clock } = await setup();
    const first = await store.add('acme', 'example.com', { dkim: ['ed25519'] });
    const old = checked(first, clock.now());
    await store.delete('acme', 'example.com');
    clock.advance(1000);
    // Added again (by another account) while a check of the old one was running: same selector, new key.
    const again = await store.add('globex', 'example.com', { dkim: ['ed25519'] });
    assert.equal(again.dkim[0].selector, first.dkim[0].selector);
    assert.equal((await store.recordVerification('globex', 'example.com', { ...old, checkedAt: clock.now() }))!.after, 'unverified');
    assert.equal((await store.recordVerification('globex', 'example.com', old))!.after, 'unverified');
    assert.equal((await store.recordVerification('globex', 'example.com', checked(again, clock.now())))!.after, 'verified');
  });

  test('the lookups the pipeline makes per message see changes made through another connection (the CLI) at once', async () => {
    const db = await fresh();
    const clock = manualClock();
    const server = await SqlDomainStore.open(db, { clock });
    const cli = await SqlDomainStore.open(await another(db), { clock });

    // Each answer below is looked up (and kept) by the server before the CLI changes it.
    assert.equal(await server.developmentMode('acme'), false);
    assert.equal(await server.isSenderAllowed('acme', 'anything.example'), false);
    await cli.setDevelopmentMode('acme', true);
    assert.equal(await server.developmentMode('acme'), true);
    assert.equal(await server.isSenderAllowed('acme', 'anything.example'), true);
    await cli.setDevelopmentMode('acme', false);
    assert.equal(await server.isSenderAllowed('acme', 'anything.example'), false);

    assert.equal(await server.signingKeysFor('acme', 'example.com'), null);
    assert.equal(await server.returnPathFor('acme', 'mail.example.com'), null);
    const domain = await verified(cli, clock, 'acme', 'example.com', { dkim: ['ed25519'] });
    const [first] = domain.dkim;
    assert.deepEqual((await server.signingKeysFor('acme', 'example.com'))?.map((k) => k.selector), [first.selector]);
    assert.equal(await server.returnPathFor('acme', 'mail.example.com'), 'bounces.example.com');
    assert.equal(await server.trackingHostFor('acme', 'example.com'), 'track.example.com');

    // A rotation switches keys once its record is seen; the server signs with the new key next.
    clock.advance(40 * DAY);
    const rotating = (await cli.rotateDkim('acme', 'example.com'))!;
    assert.deepEqual((await server.signingKeysFor('acme', 'example.com'))?.map((k) => k.selector), [first.selector], 'pending keys do not sign');
    await cli.recordVerification('acme', 'example.com', checked(rotating, clock.now()));
    const next = (await server.signingKeysFor('acme', 'example.com'))?.map((k) => k.selector);
    assert.equal(next?.length, 1);
    assert.notEqual(next![0], first.selector);

    // Broken records: still sending during the grace period (judged at the lookup's time), then not.
    const now = (await cli.get('acme', 'example.com'))!;
    clock.advance(HOUR);
    await cli.recordVerification('acme', 'example.com', checked(now, clock.now(), { 'return-path-mx': 'missing', tracking: 'missing' }));
    assert.ok(await server.signingKeysFor('acme', 'example.com'));
    assert.equal(await server.trackingHostFor('acme', 'example.com'), null);
    clock.advance(FAILING_GRACE_MS);
    assert.equal(await server.signingKeysFor('acme', 'example.com'), null);

    // Removed by the CLI: gone for the server's next message.
    clock.advance(-FAILING_GRACE_MS);
    assert.ok(await server.signingKeysFor('acme', 'example.com'));
    assert.equal(await cli.delete('acme', 'example.com'), true);
    assert.equal(await server.signingKeysFor('acme', 'example.com'), null);
    assert.equal(await server.returnPathFor('acme', 'example.com'), null);
  });

  test('two nodes adding names that collide at the same time: one add wins, the other is refused in plain words', async () => {
    const db = await fresh();
    const one = await SqlDomainStore.open(db);
    const two = await SqlDomainStore.open(await another(db));
    // No unique index covers a return path against another domain's: the adds must take turns.
    const results = await Promise.allSettled([
      one.add('acme', 'example.org', { dkim: ['ed25519'], returnPath: 'a.b.example.org' }),
      two.add('globex', 'b.example.org', { dkim: ['ed25519'], returnPath: 'a.b.example.org' }),
      one.add('acme', 'shop.example', { dkim: ['ed25519'] }),
      two.add('globex', 'Shop.Example', { dkim: ['ed25519'] }),
    ]);
    for (const pair of [results.slice(0, 2), results.slice(2)]) {
      assert.equal(pair.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(pair));
      const refused = pair.find((r) => r.status === 'rejected')!.reason;
      assert.ok(refused instanceof DomainsError, String(refused));
      assert.match(refused.code, /^(domain_taken|invalid_return_path)$/);
    }
    assert.equal((await one.listAll()).length, 2);
    assert.equal((await two.returnPathOwner('a.b.example.org'))?.returnPath, 'a.b.example.org');
  });
});
