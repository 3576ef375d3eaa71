import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newMessageId, SmtpRejection, type MailEvent } from '../core/index.js';
import { SqliteQueueStore, type MessageMeta } from '../queue/index.js';
import type { SqlDatabase, SqliteDatabase } from '../storage/index.js';
import { describeEachBackend, type SqlBackend } from '../../test/support/sql-backends.js';
import { tempDatabase } from '../../test/support/sqlite.js';
import { startStatsFeeder, type StatsFeeder } from './feeder.js';
import { parseStatsQuery, statsReport } from './report.js';
import { SqlStatsStore } from './sql-stats-store.js';
import type { StatsLabels, StatsParams, StatsReport } from './index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2030-03-01T10:15:00Z');

/**
 * The real pieces: messages enqueued in the queue store on its own SQLite file (their meta holds
 * tags and stream; enqueue writes the accepted event), other events recorded in its outbox as
 * the rooms that make them do, and the stats store and feeder on the engine under test reading it.
 */
async function world(t: { after(fn: () => void | Promise<void>): void }, backend: SqlBackend, options: { pageSize?: number; statsRetention?: number; retention?: number } = {}) {
  let now = T0;
  const clock = { now: () => new Date(now) };
  const open: { queueDb: SqliteDatabase; queue: SqliteQueueStore; feeder: StatsFeeder }[] = [];
  t.after(async () => {
    for (const o of open) {
      await o.feeder.stop();
      if (o.queueDb.open) await o.queue.close();
    }
  });
  const openQueueDatabase = tempDatabase(t, 'herald-stats-');
  const records = await backend.fresh();
  // Outbox reads left before one fails (as when the queue's store thread dies).
  const faults = { readsLeft: Infinity };
  /** Opens both databases and starts a feeder, which catches up with the outbox, as a Herald process does on start. */
  const start = async () => {
    const db: SqlDatabase = open.length === 0 ? records : await backend.another(records);
    const queueDb = openQueueDatabase();
    const queue = new SqliteQueueStore(queueDb, { clock });
    const store = await SqlStatsStore.open(db, { clock });
    const feeder = startStatsFeeder({
      store,
      readEvents: async (after, limit) => {
        if (faults.readsLeft-- <= 0) throw new Error('the queue store is gone');
        return queue.readEvents(after, limit);
      },
      messageLabels: (ids) => queue.metaOf(ids),
      config: { statsRetention: options.statsRetention ?? 400 * DAY, retention: options.retention ?? 30 * DAY },
      clock,
      intervalMs: 0,
      wakeDelayMs: 0,
      pageSize: options.pageSize ?? 4,
    });
    open.push({ queueDb, queue, feeder });
    await feeder.runOnce();
    return { db, queueDb, queue, store, feeder };
  };
  const first = await start();
  let n = 0;
  const send = async (recipients: string[], meta: MessageMeta = {}, account = 'acme', source: 'api' | 'dsn' = 'api') => {
    const id = newMessageId(now + ++n);
    await first.queue.enqueue({
      id,
      accountId: account,
      source,
      mailFrom: 'shop@sender.test',
      recipients,
      body: Buffer.from('Subject: hi\r\n\r\nhello\r\n'),
      createdAt: new Date(now),
      expiresAt: new Date(now + DAY),
      meta,
    });
    return id;
  };
  const record = (type: MailEvent['type'], messageId: string, recipient: string | undefined, data: Record<string, unknown> = {}, account = 'acme') =>
    first.queue.recordEvent({ type, messageId, accountId: account, recipient, at: new Date(now), data });
  const report = (params: StatsParams = {}, account = 'acme', store = first.store): Promise<StatsReport> =>
    statsReport(store, parseStatsQuery(account, { from: '2030-03-01', to: '2030-03-01', ...params }, clock.now()));
  return { ...first, records, start, send, record, report, faults, advance: (ms: number) => (now += ms), clock };
}

const hard = { reply: { code: 550, enhanced: '5.1.1', text: 'User unknown' }, scope: 'recipient', reason: 'rejected' };
const full = { reply: { code: 552, enhanced: '5.2.2', text: 'Mailbox full' }, scope: 'recipient', reason: 'rejected' };
const row = (r: StatsReport, key: string) => r.rows.find((x) => x.key === key);

describeEachBackend('statistics roll-ups', (backend) => {
  // Connections of one thread cannot wait for each other's SQLite transactions (a second process
  // or node would): on SQLite they take turns; on PostgreSQL their transactions truly overlap.
  const together = <T>(...work: (() => Promise<T>)[]): Promise<T[]> =>
    backend.engine === 'postgres' ? Promise.all(work.map((w) => w())) : work.reduce<Promise<T[]>>(async (done, w) => [...(await done), await w()], Promise.resolve([]));

  test('counts per account, hour, domain, tag and stream, with the rates', async (t) => {
    const w = await world(t, backend);
    const welcome = await w.send(['ann@a.test', 'bob@b.test', 'cat@a.test'], { tags: ['welcome', 'onboarding'] });
    const news = await w.send(['dan@a.test'], { tags: ['news'], stream: 'broadcast' });
    await w.send(['eve@a.test'], {}, 'globex');
    w.advance(HOUR);
    await w.record('deferred', welcome, 'cat@a.test', { reply: { code: 451, text: 'Try later' }, scope: 'recipient' });
    await w.record('delivered', welcome, 'ann@a.test');
    await w.record('delivered', welcome, 'cat@a.test');
    await w.record('bounced', welcome, 'bob@b.test', hard);
    await w.record('delivered', news, 'dan@a.test');
    await w.record('complained', news, 'dan@a.test', { feedbackType: 'abuse' });
    await w.record('unsubscribed', news, 'dan@a.test', { method: 'one-click' });
    assert.equal(await w.feeder.runOnce(), 10);

    const byDay = await w.report();
    assert.deepEqual(byDay.rows.map((r) => r.key), ['2030-03-01']);
    const t1 = byDay.totals;
    assert.deepEqual(
      [t1.sent, t1.delivered, t1.deferred, t1.bounced_hard, t1.bounced_soft, t1.bounced, t1.complained, t1.unsubscribed],
      [4, 3, 1, 1, 0, 1, 1, 1],
      'globex sent one too: not counted here',
    );
    assert.deepEqual([t1.delivery_rate, t1.bounce_rate, t1.complaint_rate, t1.open_rate, t1.click_rate], [0.75, 0.25, 0.3333, 0, 0]);
    assert.deepEqual(byDay.rows[0], { key: '2030-03-01', ...t1 });

    const hourly = await w.report({ groupBy: 'hour', from: '2030-03-01T09:30:00Z', to: '2030-03-01T11:30:00Z' });
    assert.deepEqual(hourly.rows.map((r) => [r.key, r.sent, r.delivered]), [
      ['2030-03-01T09:00:00Z', 0, 0],
      ['2030-03-01T10:00:00Z', 4, 0],
      ['2030-03-01T11:00:00Z', 0, 3],
    ]);

    // Whole days are read from day rows, the partial days at either end from hour rows.
    const edges = await w.report({ from: '2030-02-28T12:00Z', to: '2030-03-01T11:00Z' });
    assert.deepEqual(edges.rows.map((r) => [r.key, r.sent, r.delivered]), [['2030-02-28', 0, 0], ['2030-03-01', 4, 0]]);
    const across = await w.report({ from: '2030-02-28T12:00Z', to: '2030-03-02T05:00Z', groupBy: 'domain' });
    assert.deepEqual([across.totals.sent, across.totals.delivered], [4, 3]);
    assert.deepEqual(across.rows.map((r) => [r.key, r.sent, r.delivered]), [['a.test', 3, 3], ['b.test', 1, 0]]);
    const late = await w.report({ from: '2030-03-01T11:00Z', to: '2030-03-03' });
    assert.deepEqual(late.rows.map((r) => [r.key, r.sent, r.delivered]), [['2030-03-01', 0, 3], ['2030-03-02', 0, 0], ['2030-03-03', 0, 0]]);

    const byDomain = await w.report({ groupBy: 'domain' });
    assert.deepEqual(byDomain.rows.map((r) => [r.key, r.sent, r.delivered, r.bounced_hard]), [
      ['a.test', 3, 3, 0],
      ['b.test', 1, 0, 1],
    ]);
    const byTag = await w.report({ groupBy: 'tag' });
    assert.deepEqual(byTag.rows.map((r) => [r.key, r.sent, r.delivered, r.complained]), [
      ['onboarding', 3, 2, 0],
      ['welcome', 3, 2, 0],
      ['news', 1, 1, 1],
    ]);
    assert.equal(byTag.totals.sent, 4, 'totals count a message once, however many tags it has');
    const byStream = await w.report({ groupBy: 'stream' });
    assert.deepEqual(byStream.rows.map((r) => [r.key, r.sent, r.delivered, r.unsubscribed]), [
      ['transactional', 3, 2, 0],
      ['broadcast', 1, 1, 1],
    ]);

    // Filters: a tag, a domain, a stream with either.
    assert.equal((await w.report({ tag: 'news' })).totals.sent, 1);
    assert.deepEqual([(await w.report({ domain: 'B.TEST' })).totals.sent, (await w.report({ domain: 'b.test' })).totals.bounced_hard], [1, 1]);
    assert.equal((await w.report({ domain: 'a.test', stream: 'broadcast' })).totals.sent, 1);
    assert.deepEqual((await w.report({ groupBy: 'domain', stream: 'transactional' })).rows.map((r) => [r.key, r.sent]), [['a.test', 2], ['b.test', 1]]);
    assert.deepEqual((await w.report({ groupBy: 'stream', tag: 'welcome' })).rows.map((r) => [r.key, r.sent]), [['transactional', 3], ['broadcast', 0]]);
    assert.equal((await w.report({}, 'globex')).totals.sent, 1, 'each account sees its own');
  });

  test('opens and clicks: unique once per message and recipient, human and machine apart, totals every time', async (t) => {
    const w = await world(t, backend);
    const one = await w.send(['ann@a.test'], { tags: ['t'] });
    const many = await w.send(['bob@a.test', 'cat@b.test']);
    await w.record('delivered', one, 'ann@a.test');
    await w.record('delivered', many, 'bob@a.test');
    await w.record('delivered', many, 'cat@b.test');
    // Ann's mail app's privacy proxy fetches the pixel, then Ann opens it twice herself.
    await w.record('opened', one, 'ann@a.test', { machine: true, machineReason: 'apple-mpp' });
    await w.record('opened', one, 'ann@a.test', { machine: false });
    await w.record('opened', one, 'ann@a.test', { machine: false });
    // A message with several recipients has one pixel for all: its opens have no recipient.
    await w.record('opened', many, undefined, { machine: false });
    await w.record('opened', many, undefined, { machine: false });
    // A link scanner clicks, then Ann clicks two links.
    await w.record('clicked', one, 'ann@a.test', { url: 'https://shop.test/a', machine: true });
    await w.record('clicked', one, 'ann@a.test', { url: 'https://shop.test/a', machine: false });
    await w.record('clicked', one, 'ann@a.test', { url: 'https://shop.test/b', machine: false });
    await w.feeder.runOnce();

    const { totals } = await w.report();
    assert.deepEqual(
      [totals.opened_unique, totals.opened_unique_human, totals.opened_unique_machine, totals.opened_total],
      [2, 2, 1, 5],
      'Ann once (by a person and by a machine), the shared message once',
    );
    assert.deepEqual([totals.clicked_unique, totals.clicked_total, totals.clicked_machine], [1, 3, 1]);
    assert.deepEqual([totals.open_rate, totals.click_rate], [0.6667, 0.3333]);
    // The open without a recipient has no domain; the tag and the stream still count it.
    assert.deepEqual((await w.report({ groupBy: 'domain' })).rows.map((r) => [r.key, r.opened_unique, r.opened_total]), [['a.test', 1, 3], ['b.test', 0, 0]]);
    assert.deepEqual([(await w.report({ tag: 't' })).totals.opened_unique, (await w.report({ stream: 'transactional' })).totals.opened_unique], [1, 2]);

    // Read again by a second feeder (the cursor was moved back): the first sightings are remembered.
    await w.records.run('UPDATE stats_feed SET last_seq = 0');
    await w.records.run('DELETE FROM stats_rollups');
    const again = await w.start();
    await again.feeder.runOnce();
    const replayed = (await w.report({}, 'acme', again.store)).totals;
    assert.deepEqual([replayed.opened_unique, replayed.opened_total], [0, 5], 'unique only the first time it is seen');
  });

  test('bounces are hard or soft by the rule suppression uses; late bounces as text too', async (t) => {
    const w = await world(t, backend);
    const id = await w.send(['a@a.test', 'b@a.test', 'c@a.test', 'd@a.test', 'e@a.test', 'f@a.test']);
    await w.record('bounced', id, 'a@a.test', hard);
    await w.record('bounced', id, 'b@a.test', full);
    await w.record('bounced', id, 'c@a.test', { reply: { code: 554, enhanced: '5.7.1', text: 'Blocked by policy' }, scope: 'message' });
    await w.record('bounced', id, 'd@a.test', { reply: '550 5.1.1 <d@a.test>: Recipient address rejected: User unknown', late: true });
    await w.record('bounced', id, 'e@a.test', { reply: 'smtp; 552 5.2.2 Over quota', late: true });
    await w.record('expired', id, 'f@a.test', { reply: { code: 451, enhanced: '4.4.1', text: 'Connection timed out' } });
    await w.feeder.runOnce();
    const { totals } = await w.report();
    assert.deepEqual([totals.bounced_hard, totals.bounced_soft, totals.bounced, totals.expired], [2, 3, 5, 1]);
    assert.equal(totals.bounce_rate, 0.8333);
  });

  test('what is not counted, or counted once: delivery reports, non-complaints, repeated reports; suppressed recipients by their stream', async (t) => {
    const w = await world(t, backend);
    const dsn = await w.send(['shop@sender.test'], { dsnFor: '01jz0000000000000000000000' }, 'acme', 'dsn');
    await w.record('delivered', dsn, 'shop@sender.test');
    const id = await w.send(['ann@a.test'], { stream: 'broadcast', tags: ['news'] });
    await w.record('complained', id, 'ann@a.test', { feedbackType: 'not-spam' });
    await w.record('complained', id, 'ann@a.test', { feedbackType: 'abuse' });
    await w.record('complained', id, 'ann@a.test', { feedbackType: 'abuse' });
    await w.record('unsubscribed', id, 'ann@a.test');
    await w.record('unsubscribed', id, 'ann@a.test');
    // Every recipient suppressed: the message was never enqueued, the event carries the stream.
    await w.record('suppressed', newMessageId(T0), 'bob@b.test', { reason: 'hard_bounce', stream: 'broadcast' });
    await w.record('held', id, undefined);
    await w.queue.recordEvent({ type: 'domain.verification_changed', messageId: '', accountId: 'acme', at: w.clock.now(), data: { domain: 'sender.test' } });
    await w.feeder.runOnce();
    const { totals } = await w.report();
    assert.deepEqual([totals.sent, totals.delivered, totals.complained, totals.unsubscribed, totals.suppressed], [1, 0, 1, 1, 1]);
    assert.deepEqual((await w.report({ groupBy: 'stream' })).rows.map((r) => [r.key, r.sent, r.suppressed]), [['transactional', 0, 0], ['broadcast', 1, 1]]);
    assert.deepEqual((await w.report({ groupBy: 'domain' })).rows.map((r) => [r.key, r.sent, r.suppressed]), [['a.test', 1, 0], ['b.test', 0, 1]]);
  });

  test('a crash mid-stream counts nothing twice: each page and its cursor are one transaction', async (t) => {
    const w = await world(t, backend, { pageSize: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await w.send([`r${i}@a.test`], { tags: ['t'] }));
    for (let i = 0; i < 3; i++) await w.record('delivered', ids[i], `r${i}@a.test`);
    await w.record('opened', ids[0], 'r0@a.test', { machine: false });
    const seqs = (await w.queue.readEvents(0, 100)).map((e) => e.seq!);
    // One page is counted, then reading fails and the process dies without stopping its feeder.
    w.faults.readsLeft = 1;
    await assert.rejects(w.feeder.runOnce(), /the queue store is gone/);
    assert.equal(await w.store.feedCursor(), seqs[2], 'the first page (three accepted events) and its cursor');
    assert.equal((await w.report()).totals.sent, 3);
    w.queueDb.close();

    w.faults.readsLeft = Infinity;
    const after = await w.start();
    const report = (params: StatsParams = {}) => w.report(params, 'acme', after.store);
    await after.feeder.runOnce();
    const { totals } = await report();
    assert.deepEqual([totals.sent, totals.delivered, totals.opened_unique, totals.opened_total], [5, 3, 1, 1]);
    assert.equal((await report({ tag: 't' })).totals.sent, 5);
    assert.equal(await after.store.feedCursor(), seqs.at(-1));

    // Two feeders on one database (a restart while the old one still runs): the cursor check
    // lets one count each page; the other reads on from where the first left.
    const other = await w.start();
    for (const id of ids.slice(3)) await after.queue.recordEvent({ type: 'delivered', messageId: id, accountId: 'acme', recipient: 'x@a.test', at: w.clock.now(), data: {} });
    await after.queue.recordEvent({ type: 'opened', messageId: ids[0], accountId: 'acme', recipient: 'r0@a.test', at: w.clock.now(), data: { machine: false } });
    await together(() => after.feeder.runOnce(), () => other.feeder.runOnce());
    const counted = (await report()).totals;
    assert.deepEqual([counted.delivered, counted.opened_unique, counted.opened_total], [5, 1, 2]);
    await after.feeder.stop();
    await other.feeder.stop();
    assert.equal(await after.store.feedCursor(), (await after.queue.readEvents(0, 1000)).at(-1)!.seq);
  });

  test('purge: roll-up hours past HERALD_STATS_RETENTION, first sightings past HERALD_RETENTION', async (t) => {
    const w = await world(t, backend, { statsRetention: 2 * DAY, retention: DAY });
    const id = await w.send(['ann@a.test']);
    await w.record('opened', id, 'ann@a.test', { machine: false });
    await w.feeder.runOnce();
    assert.equal((await w.report()).totals.opened_unique, 1);
    // The feeder purges once an hour, the first time on its first run: do it by hand here.
    w.advance(DAY + HOUR);
    assert.deepEqual(await w.store.purge(new Date(w.clock.now().getTime() - 2 * DAY), new Date(w.clock.now().getTime() - DAY)), { hours: 0, minutes: 0, seen: 2 });
    await w.record('opened', id, 'ann@a.test', { machine: false });
    await w.feeder.runOnce();
    const both = await w.report({ to: '2030-03-02' });
    assert.deepEqual([both.totals.opened_unique, both.totals.opened_total], [2, 2], 'an open after the message is gone counts as unique again');
    w.advance(2 * DAY);
    assert.equal((await w.store.purge(new Date(w.clock.now().getTime() - 2 * DAY), new Date(w.clock.now().getTime() - DAY))).hours, 4, "the first day's rows, by hour and by day: the account's and the domain's");
    const left = await w.report({ to: '2030-03-02' });
    assert.deepEqual([left.totals.sent, left.totals.opened_total], [0, 1]);
  });

  test('the last 60 minutes, exact to the minute across two clock hours; tags, domains and hours round to whole hours', async (t) => {
    const w = await world(t, backend);
    const at = (time: string) => w.advance(Date.parse(time) - w.clock.now().getTime());
    const range = (r: StatsReport) => [r.from.toISOString(), r.to.toISOString()];
    const tags = { tags: ['spring'] };
    await w.send(['a@a.test'], tags); // 10:15
    at('2030-03-01T10:20:30Z');
    await w.send(['b@a.test'], tags);
    at('2030-03-01T10:21:00Z');
    const c = await w.send(['c@a.test'], tags);
    at('2030-03-01T10:59:59Z');
    await w.record('delivered', c, 'c@a.test');
    at('2030-03-01T11:20:10Z');
    await w.send(['d@a.test'], { ...tags, stream: 'broadcast' });
    await w.feeder.runOnce();

    // The last 60 minutes, the current one included, and the 60 before them.
    const last = await w.report({ from: '2030-03-01T10:21Z', to: undefined });
    assert.deepEqual(range(last), ['2030-03-01T10:21:00.000Z', '2030-03-01T11:21:00.000Z']);
    assert.deepEqual([last.totals.sent, last.totals.delivered], [2, 1], 'c and d, not a or b a minute earlier');
    assert.deepEqual(last.rows.map((r) => [r.key, r.sent]), [['2030-03-01', 2]]);
    const before = await w.report({ from: '2030-03-01T09:21Z', to: '2030-03-01T10:21Z' });
    assert.deepEqual([range(before), before.totals.sent], [['2030-03-01T09:21:00.000Z', '2030-03-01T10:21:00.000Z'], 2]);
    assert.deepEqual((await w.report({ from: '2030-03-01T10:21:59Z', to: '2030-03-01T10:59:01Z' })).totals.delivered, 1, 'seconds round out to whole minutes');
    assert.deepEqual((await w.report({ from: '2030-03-01T10:21Z', to: undefined, groupBy: 'stream' })).rows.map((r) => [r.key, r.sent]), [['transactional', 1], ['broadcast', 1]]);

    // Tags and domains are kept by the hour: their questions count whole hours, and say so.
    const tagged = await w.report({ from: '2030-03-01T10:21Z', to: undefined, tag: 'spring' });
    assert.deepEqual([range(tagged), tagged.totals.sent], [['2030-03-01T10:00:00.000Z', '2030-03-01T12:00:00.000Z'], 4]);
    const byDomain = await w.report({ from: '2030-03-01T10:21Z', to: undefined, groupBy: 'domain' });
    assert.deepEqual([range(byDomain), byDomain.rows.map((r) => [r.key, r.sent])], [['2030-03-01T10:00:00.000Z', '2030-03-01T12:00:00.000Z'], [['a.test', 4]]]);
    const byHour = await w.report({ from: '2030-03-01T10:21Z', to: undefined, groupBy: 'hour' });
    assert.deepEqual([range(byHour), byHour.rows.map((r) => [r.key, r.sent])], [['2030-03-01T10:00:00.000Z', '2030-03-01T12:00:00.000Z'], [['2030-03-01T10:00:00Z', 3], ['2030-03-01T11:00:00Z', 1]]]);

    // Minutes, hours and a whole day in one question: from a partial hour two days back to a partial hour today.
    at('2030-03-02T12:00:00Z');
    await w.send(['e@a.test'], tags);
    at('2030-03-03T08:29:59Z');
    await w.send(['f@a.test'], tags);
    at('2030-03-03T08:30:00Z');
    await w.send(['g@a.test'], tags);
    await w.feeder.runOnce();
    const long = { from: '2030-03-01T10:21Z', to: '2030-03-03T08:30Z' };
    const three = await w.report(long);
    assert.deepEqual([range(three), three.totals.sent, three.totals.delivered], [['2030-03-01T10:21:00.000Z', '2030-03-03T08:30:00.000Z'], 4, 1], 'c, d, e and f');
    assert.deepEqual(three.rows.map((r) => [r.key, r.sent]), [['2030-03-01', 2], ['2030-03-02', 1], ['2030-03-03', 1]]);
    assert.deepEqual([range(await w.report({ ...long, tag: 'spring' })), (await w.report({ ...long, tag: 'spring' })).totals.sent], [['2030-03-01T10:00:00.000Z', '2030-03-03T09:00:00.000Z'], 7]);

    // Past 48 hours the minutes are gone: that end of a range rounds out to its hour, the other stays exact.
    at('2030-03-03T12:00:00Z');
    const purged = await w.store.purge(new Date(w.clock.now().getTime() - 400 * DAY), new Date(w.clock.now().getTime() - 30 * DAY));
    assert.deepEqual(purged, { hours: 0, minutes: 5, seen: 0 }, "the minute rows of a, b, c, c's delivery and d");
    const old = await w.report(long);
    assert.deepEqual([range(old), old.totals.sent], [['2030-03-01T10:00:00.000Z', '2030-03-03T08:30:00.000Z'], 6], 'a and b too, from the hour rows');
    assert.equal((await w.report({ from: '2030-03-03T08:29Z', to: '2030-03-03T08:31Z' })).totals.sent, 2, 'recent minutes stay');
    assert.equal((await w.report({ from: '2030-03-01T10:21Z', to: '2030-03-01T11:21Z' })).totals.sent, 4, 'hours 10 and 11, whole');
  });

  test('a database counted before minute rows existed: its minutes count once they are whole, hours before that', async (t) => {
    const w = await world(t, backend);
    await w.send(['a@a.test']); // 10:15, counted without minute rows below
    await w.feeder.runOnce();
    if (backend.engine === 'sqlite') {
      // The stats room as it was before its second migration, which the next start applies.
      for (const sql of ["DELETE FROM stats_rollups WHERE span = 'm'", 'ALTER TABLE stats_feed DROP COLUMN minutes_from', "DELETE FROM schema_migrations WHERE room = 'stats' AND version = 2"]) {
        await w.records.run(sql);
      }
    } else {
      // PostgreSQL's history begins with minute rows: what that migration leaves behind, made by hand.
      await w.records.run("DELETE FROM stats_rollups WHERE span = 'm'");
      await w.records.run('UPDATE stats_feed SET minutes_from = updated_at');
    }
    w.advance(25 * 60_000);
    const upgraded = await w.start();
    await w.send(['b@a.test']); // 10:40
    await upgraded.feeder.runOnce();
    w.advance(10 * 60_000);
    const report = (params: StatsParams) => w.report(params, 'acme', upgraded.store);
    const lastHour = await report({ from: '2030-03-01T09:51Z', to: '2030-03-01T10:51Z' });
    assert.deepEqual([lastHour.from.toISOString(), lastHour.to.toISOString(), lastHour.totals.sent], ['2030-03-01T09:00:00.000Z', '2030-03-01T11:00:00.000Z', 2], 'whole hours: a has no minute row');
    assert.equal((await report({ from: '2030-03-01T10:15Z', to: '2030-03-01T10:51Z' })).from.toISOString(), '2030-03-01T10:00:00.000Z', 'the minute of the last count before the upgrade is not whole');
    const since = await report({ from: '2030-03-01T10:16Z', to: '2030-03-01T10:51Z' });
    assert.deepEqual([since.from.toISOString(), since.to.toISOString(), since.totals.sent], ['2030-03-01T10:16:00.000Z', '2030-03-01T10:51:00.000Z', 1], 'exact from the minute after the last count before the upgrade');
  });

  test('questions: default range, whole days, UTC, and every mistake named', async (t) => {
    const now = new Date('2030-03-07T15:20:30Z');
    const q = parseStatsQuery('acme', {}, now);
    assert.deepEqual([q.from.toISOString(), q.to.toISOString(), q.groupBy], ['2030-03-01T00:00:00.000Z', '2030-03-07T15:21:00.000Z', 'day'], 'to the end of the current minute');
    const days = parseStatsQuery('acme', { from: '2030-03-01', to: '2030-03-03' }, now);
    assert.deepEqual([days.from.toISOString(), days.to.toISOString()], ['2030-03-01T00:00:00.000Z', '2030-03-04T00:00:00.000Z'], 'a day as to includes it');
    const times = parseStatsQuery('acme', { from: '2030-03-01T10:30:40', to: '2030-03-01T12:10:20+01:00', groupBy: 'hour' }, now);
    assert.deepEqual([times.from.toISOString(), times.to.toISOString()], ['2030-03-01T10:30:00.000Z', '2030-03-01T11:11:00.000Z'], 'UTC unless an offset is given; whole minutes');
    // The limits count the hours the range touches.
    assert.equal(parseStatsQuery('acme', { from: '2030-02-01T00:30', to: '2030-03-04T00:00', groupBy: 'hour' }, now).groupBy, 'hour');

    const refused = (params: StatsParams, field: string, text: RegExp) => {
      assert.throws(
        () => parseStatsQuery('acme', params, now),
        (err: unknown) => err instanceof SmtpRejection && err.field === field && text.test(err.reply.text),
        JSON.stringify(params),
      );
    };
    refused({ groupBy: 'week' }, 'group_by', /group_by is one of day, hour, domain, tag, stream, not "week"/);
    refused({ from: 'yesterday' }, 'from', /from must be a date \(2030-03-01\) or an ISO 8601 time/);
    refused({ to: '2030-02-30' }, 'to', /to must be a date/);
    refused({ from: '2030-03-05', to: '2030-03-01' }, 'to', /to must be after from/);
    refused({ from: '2030-01-01', to: '2030-03-01', groupBy: 'hour' }, 'from', /group_by=hour covers at most 31 days/);
    refused({ from: '2030-02-01T00:30', to: '2030-03-04T00:01', groupBy: 'hour' }, 'from', /this range has 745 hours/);
    refused({ from: '2030-03-01T10:30', to: '2030-03-01T10:30:00Z' }, 'to', /to must be after from/);
    refused({ from: '2020-01-01', to: '2030-03-01' }, 'from', /a range covers at most 400 days/);
    refused({ stream: 'bulk' }, 'stream', /stream is "transactional" or "broadcast"/);
    refused({ domain: 'ann@a.test' }, 'domain', /is not a domain name/);
    refused({ tag: 'x'.repeat(129) }, 'tag', /a tag is 1 to 128 characters/);

    const w = await world(t, backend);
    const combined = (params: StatsParams, field: string) =>
      assert.rejects(w.report(params), (err: unknown) => err instanceof SmtpRejection && err.field === field && /not per pair/.test(err.reply.text));
    await combined({ tag: 'a', domain: 'a.test' }, 'tag');
    await combined({ tag: 'a', groupBy: 'domain' }, 'tag');
    await combined({ domain: 'a.test', groupBy: 'tag' }, 'domain');

    // Nothing sent: zeros, and no rate (null) rather than a division by zero.
    const empty = await w.report({ from: '2030-02-27', to: '2030-03-01' });
    assert.deepEqual(empty.rows.map((r) => r.key), ['2030-02-27', '2030-02-28', '2030-03-01']);
    assert.deepEqual([empty.totals.sent, empty.totals.delivery_rate, empty.totals.open_rate], [0, null, null]);
    assert.equal(empty.updatedAt, null, 'nothing counted yet');
  });

  test('two nodes counting the same pages at once: each page is counted by one of them, each first sighting once', async () => {
    const clock = { now: () => new Date(T0) };
    const db = await backend.fresh();
    const nodes = [await SqlStatsStore.open(db, { clock }), await SqlStatsStore.open(await backend.another(db), { clock })];
    const at = new Date(T0);
    const labels = new Map<string, StatsLabels | null>([['m1', { tags: ['spring'] }]]);
    const pages: MailEvent[][] = [
      [
        { seq: 1, type: 'accepted', messageId: 'm1', accountId: 'acme', at, data: { recipients: ['ann@a.test', 'bob@b.test'] } },
        { seq: 2, type: 'delivered', messageId: 'm1', accountId: 'acme', recipient: 'ann@a.test', at, data: {} },
        { seq: 3, type: 'opened', messageId: 'm1', accountId: 'acme', recipient: 'ann@a.test', at, data: { machine: false } },
      ],
      [
        { seq: 4, type: 'opened', messageId: 'm1', accountId: 'acme', recipient: 'ann@a.test', at, data: { machine: false } },
        { seq: 5, type: 'clicked', messageId: 'm1', accountId: 'acme', recipient: 'ann@a.test', at, data: { machine: false } },
      ],
    ];
    let from = 0;
    for (const page of pages) {
      const to = page.at(-1)!.seq!;
      const counted = await together(...nodes.map((node) => () => node.applyPage(from, to, page, labels)));
      assert.deepEqual(counted.sort(), [false, true], `the page up to ${to}`);
      from = to;
    }
    for (const node of nodes) assert.equal(await node.feedCursor(), 5);
    const report = await statsReport(nodes[1], parseStatsQuery('acme', { from: '2030-03-01', to: '2030-03-01' }, clock.now()));
    const t = report.totals;
    assert.deepEqual([t.sent, t.delivered, t.opened_unique, t.opened_total, t.clicked_unique, t.clicked_total], [2, 1, 1, 2, 1, 1]);
    const tagged = await statsReport(nodes[0], parseStatsQuery('acme', { from: '2030-03-01', to: '2030-03-01', tag: 'spring' }, clock.now()));
    assert.deepEqual([tagged.totals.sent, tagged.totals.opened_total], [2, 2]);
  });
});
