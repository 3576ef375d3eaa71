import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeDnsResolver } from '../deliver/dns-resolver.js';
import { silentLogger } from '../core/index.js';
import { SqliteSqlDatabase } from '../storage/index.js';
import { startDnsServer, type Zone } from '../../test/support/dns-server.js';
import { zoneFor } from '../../test/support/domain-zone.js';
import { startDomainMonitor } from './monitor.js';
import { recordsFor } from './records.js';
import { SqlDomainStore } from './sql-domain-store.js';
import type { DnsContext, DomainChange, DomainView } from './types.js';

const HOST = 'herald.example.net';
const context: DnsContext = { heraldHostname: HOST };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

test('the monitor reports a record removed and put back, checks verified domains every interval and failing ones sooner', async (t) => {
  const dns = await startDnsServer();
  const db = SqliteSqlDatabase.open(':memory:');
  let now = Date.parse('2026-11-03T10:00:00Z');
  const clock = { now: () => new Date(now) };
  const store = await SqlDomainStore.open(db, { clock });
  const changes: DomainChange[] = [];
  const monitor = startDomainMonitor(store, {
    resolver: new NodeDnsResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }),
    clock,
    context,
    onChange: (change) => changes.push(change),
  });
  t.after(async () => {
    await monitor.stop();
    await dns.close();
    await db.close();
  });

  const domain = await store.add('acme', 'example.com', { dkim: ['ed25519'] });
  const publish = (d: DomainView, leaveOut: (name: string, purpose: string) => boolean = () => false, extra: Zone = {}) => {
    const plan = recordsFor(d, { ...context, existingSpf: null, existingDmarc: false, existingReturnPathSpf: null });
    dns.setZone({ ...zoneFor(plan, { [HOST]: { A: ['192.0.2.25'] } }, (r) => !leaveOut(r.name, r.purpose)), ...extra });
  };
  publish(domain);

  // A new domain is due at once; its first passing check is a change (unverified → verified).
  assert.equal(await monitor.checkDue(), 1);
  assert.deepEqual(changes.map((c) => [c.accountId, c.domain, c.before, c.after, c.changed.length]), [['acme', 'example.com', 'unverified', 'verified', 0]]);
  assert.equal(changes[0].records.length, 6);
  assert.deepEqual(changes[0].checkedAt, new Date(now));
  assert.equal(await monitor.checkDue(), 0);

  // The return path's SPF record is removed; nothing is checked before the interval.
  publish(domain, (name, purpose) => purpose === 'return-path-spf');
  now += 6 * HOUR - 1;
  assert.equal(await monitor.checkDue(), 0);
  now += 1;
  assert.equal(await monitor.checkDue(), 1);
  assert.equal(changes.length, 2);
  const broke = changes[1];
  assert.deepEqual([broke.before, broke.after], ['verified', 'failing']);
  assert.deepEqual(broke.changed.map((r) => [r.purpose, r.name, r.status]), [['return-path-spf', 'bounces.example.com', 'missing']]);
  assert.match(broke.changed[0].fix!, /^Publish a TXT record named bounces\.example\.com with this value: v=spf1 a:herald\.example\.net ~all$/);
  assert.equal((await store.get('acme', 'example.com'))?.status, 'failing');

  // A failing domain is looked at again after 15 minutes, not 6 hours. Put back, it is fixed.
  publish(domain);
  now += 15 * MINUTE - 1;
  assert.equal(await monitor.checkDue(), 0);
  now += 1;
  assert.equal(await monitor.checkDue(), 1);
  assert.deepEqual(changes.slice(2).map((c) => [c.before, c.after, c.changed.map((r) => `${r.purpose} ${r.status}`)]), [['failing', 'verified', ['return-path-spf ok']]]);

  // Checked now (the "verify" button): an optional record going away is reported, the status stays.
  publish(domain, (name, purpose) => purpose === 'dmarc');
  now += MINUTE;
  const outcome = await monitor.check('acme', 'EXAMPLE.com');
  assert.equal(outcome?.after, 'verified');
  assert.deepEqual(changes.slice(3).map((c) => [c.before, c.after, c.changed.map((r) => `${r.purpose} ${r.status}`)]), [['verified', 'verified', ['dmarc missing']]]);
  // Nothing changed: nothing reported.
  now += MINUTE;
  await monitor.check('acme', 'example.com');
  assert.equal(changes.length, 4);
  assert.equal(await monitor.check('globex', 'example.com'), null);
});

test('the monitor activates a rotated key once its record is published, and reports the DKIM change', async (t) => {
  const dns = await startDnsServer();
  const db = SqliteSqlDatabase.open(':memory:');
  let now = Date.parse('2026-11-03T10:00:00Z');
  const clock = { now: () => new Date(now) };
  const store = await SqlDomainStore.open(db, { clock });
  const changes: DomainChange[] = [];
  const monitor = startDomainMonitor(store, { resolver: new NodeDnsResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }), clock, context, onChange: (c) => changes.push(c) });
  t.after(async () => {
    await monitor.stop();
    await dns.close();
    await db.close();
  });
  const publish = (d: DomainView) => dns.setZone(zoneFor(recordsFor(d, { ...context, existingSpf: null, existingDmarc: false, existingReturnPathSpf: null }), { [HOST]: { A: ['192.0.2.25'] } }));

  publish(await store.add('acme', 'example.com', { dkim: ['ed25519'] }));
  await monitor.check('acme', 'example.com');
  now += HOUR;
  const rotating = (await store.rotateDkim('acme', 'example.com'))!;
  // The rotation's record is not published yet: reported missing, nothing activated.
  const waiting = await monitor.check('acme', 'example.com');
  assert.deepEqual(waiting?.activated, []);
  publish(rotating);
  now += HOUR;
  const switched = (await monitor.check('acme', 'example.com'))!;
  assert.deepEqual(switched.activated, ['hd202611ea']);
  assert.deepEqual((await store.signingKeysFor('acme', 'example.com'))?.map((k) => k.selector), ['hd202611ea']);
  assert.deepEqual(changes.at(-1)?.changed.map((r) => `${r.purpose} ${r.selector} ${r.status}`), ['dkim hd202611ea ok']);
  assert.equal(switched.after, 'verified');
});

test('a tick that cannot read the schedule is logged and the next tick runs; stop still ends cleanly', { timeout: 30_000 }, async (t) => {
  const db = SqliteSqlDatabase.open(':memory:');
  const store = await SqlDomainStore.open(db);
  const logged: string[] = [];
  let secondFailure: () => void;
  const failedTwice = new Promise<void>((resolve) => (secondFailure = resolve));
  const logger = {
    ...silentLogger,
    error(obj: object | string, msg?: string) {
      logged.push(msg ?? String(obj));
      if (logged.length === 2) secondFailure();
    },
  };
  // The table is gone, as when the database is dropped under a running node.
  await db.run('DROP TABLE domains');
  const monitor = startDomainMonitor(store, { resolver: new NodeDnsResolver({ servers: ['127.0.0.1:9'], timeoutMs: 100, tries: 1 }), context, logger, tickMs: 1 });
  t.after(() => db.close());
  // Two failures logged means the first tick's rejection was caught and the timer scheduled again.
  // (The monitor's timer does not keep the process alive; this one does, until then.)
  const alive = setInterval(() => {}, 60_000);
  await failedTwice.finally(() => clearInterval(alive));
  await monitor.stop();
  assert.match(logged[0], /could not read which domains are due/);
  await assert.rejects(monitor.checkDue(), /no such table: domains/);
});
