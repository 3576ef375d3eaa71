/**
 * Statistics end to end: mail sent over the HTTP API, delivered to (or refused by) SMTP sinks
 * found through a real DNS server, its events counted into the roll-ups by the running Herald's
 * feeder, and `GET /api/v1/stats` answering by day, domain, tag and stream over real HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startApiWorld, type ApiWorld } from '../support/api.js';
import { dataDirEnv } from '../support/engine.js';
import { tempDir } from '../support/herald.js';
import { runCli } from '../support/processes.js';

describe('statistics', () => {
  let w: ApiWorld;
  let sendKey: string;
  let readKey: string;
  const today = new Date().toISOString().slice(0, 10);
  const stats = (query: string, key = readKey) => call(w.base, 'GET', `/api/v1/stats${query}`, { key });

  before(async () => {
    w = await startApiWorld();
    sendKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'app', scope: 'send' })).key;
    readKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'reader', scope: 'read' })).key;
    w.a.setRecipientReply('nobody@a.test', { code: 550, text: '5.1.1 User unknown' });
    w.b.setRecipientReply('full@b.test', { code: 552, text: '5.2.2 Mailbox full' });

    const send = async (body: Record<string, unknown>, recipients: number) => {
      const res = await call(w.base, 'POST', '/api/v1/messages', { key: sendKey, body: { from: 'shop@sender.test', subject: 'Hi', text: 'Hello', ...body } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      await w.events.finished(res.body.id, recipients);
      return res.body.id as string;
    };
    const welcome = await send({ to: ['ann@a.test', 'nobody@a.test'], tags: ['welcome'] }, 2);
    await send({ to: ['bob@b.test', 'full@b.test'], tags: ['welcome', 'spring'] }, 2);
    await send({ to: ['cat@a.test'], tags: ['news'], stream: 'broadcast' }, 1);
    // What the tracking endpoints record when Ann's privacy proxy and then Ann open the mail.
    for (const machine of [true, false, false]) {
      await w.herald.store.recordEvent({ type: 'opened', messageId: welcome, accountId: 'default', recipient: 'ann@a.test', at: new Date(), data: { machine } });
    }
    await w.herald.statsFeeder.runOnce();
  });
  after(() => w.close());

  test('by day (the default): the last 7 days, today with every counter and the rates', async () => {
    const res = await stats('');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.group_by, 'day');
    assert.equal(res.body.rows.length, 7);
    assert.equal(res.body.rows.at(-1).key, today);
    const t = res.body.totals;
    assert.deepEqual(
      [t.sent, t.delivered, t.bounced_hard, t.bounced_soft, t.bounced, t.opened_unique, t.opened_unique_human, t.opened_unique_machine, t.opened_total],
      [5, 3, 1, 1, 2, 1, 1, 1, 3],
    );
    assert.deepEqual([t.delivery_rate, t.bounce_rate, t.complaint_rate, t.open_rate, t.click_rate], [0.6, 0.4, 0, 0.3333, 0]);
    assert.deepEqual(res.body.rows.at(-1), { key: today, ...t });
    assert.ok(res.body.rows.slice(0, 6).every((r: { sent: number; delivery_rate: number | null }) => r.sent === 0 && r.delivery_rate === null), 'earlier days: zeros, no rates');
    assert.ok(Date.parse(res.body.updated_at) <= Date.now());
    assert.equal(res.body.truncated, false);
  });

  test('by domain, tag and stream, and filtered', async () => {
    const byDomain = await stats(`?group_by=domain&from=${today}&to=${today}`);
    assert.equal(byDomain.status, 200, JSON.stringify(byDomain.body));
    assert.deepEqual(
      byDomain.body.rows.map((r: Record<string, unknown>) => [r.key, r.sent, r.delivered, r.bounced_hard, r.bounced_soft]),
      [['a.test', 3, 2, 1, 0], ['b.test', 2, 1, 0, 1]],
    );
    const byTag = await stats('?group_by=tag');
    assert.deepEqual(byTag.body.rows.map((r: Record<string, unknown>) => [r.key, r.sent, r.delivered, r.opened_unique]), [['welcome', 4, 2, 1], ['spring', 2, 1, 0], ['news', 1, 1, 0]]);
    const byStream = await stats('?group_by=stream');
    assert.deepEqual(byStream.body.rows.map((r: Record<string, unknown>) => [r.key, r.sent, r.delivered]), [['transactional', 4, 2], ['broadcast', 1, 1]]);

    const spring = await stats('?tag=spring&group_by=stream');
    assert.deepEqual([spring.body.filters, spring.body.totals.sent, spring.body.totals.bounced_soft], [{ stream: null, tag: 'spring', domain: null }, 2, 1]);
    const aBroadcast = await stats('?domain=A.test&stream=broadcast');
    assert.deepEqual([aBroadcast.body.filters.domain, aBroadcast.body.totals.sent], ['a.test', 1]);
    const hourly = await stats(`?group_by=hour&from=${today}&to=${today}`);
    assert.equal(hourly.body.rows.length, 24);
    assert.equal(hourly.body.rows.reduce((n: number, r: { sent: number }) => n + r.sent, 0), 5);
  });

  test('recent ranges are counted to the minute, tags, domains, hours and older ends to the hour; from and to say which', async () => {
    const MINUTE = 60_000;
    const HOUR = 60 * MINUTE;
    const iso = (t: number) => new Date(t).toISOString();
    const hourDown = (t: number) => Math.floor(t / HOUR) * HOUR;
    const hourUp = (t: number) => Math.ceil(t / HOUR) * HOUR;
    // The last 60 minutes, the current one included: what the dashboard asks.
    const end = (Math.floor(Date.now() / MINUTE) + 1) * MINUTE;
    const range = `from=${iso(end - HOUR)}&to=${iso(end)}`;
    const last = await stats(`?${range}`);
    assert.equal(last.status, 200, JSON.stringify(last.body));
    assert.deepEqual([last.body.from, last.body.to, last.body.totals.sent], [iso(end - HOUR), iso(end), 5]);
    const byStream = await stats(`?${range}&group_by=stream`);
    assert.deepEqual([byStream.body.from, byStream.body.to], [iso(end - HOUR), iso(end)]);

    for (const rounded of [`${range}&tag=welcome`, `${range}&domain=a.test`, `${range}&group_by=domain`, `${range}&group_by=hour`]) {
      const res = await stats(`?${rounded}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual([res.body.from, res.body.to], [iso(hourDown(end - HOUR)), iso(hourUp(end))], rounded);
    }
    const older = await stats(`?from=${iso(end - 72 * HOUR - 30 * MINUTE)}&to=${iso(end)}`);
    assert.deepEqual([older.body.from, older.body.to, older.body.totals.sent], [iso(hourDown(end - 72 * HOUR - 30 * MINUTE)), iso(end), 5], 'an end past 48 hours rounds to its hour, the other stays');
  });

  test('herald stats reads the same roll-ups from the data directory, as a table or --json', async () => {
    const env = dataDirEnv(w.herald.env.HERALD_DATA_DIR);
    const json = await runCli(['stats', '--group-by', 'domain', '--from', today, '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    const body = json.json();
    assert.equal(body.account, 'default');
    assert.deepEqual(body.rows.map((r: Record<string, unknown>) => [r.key, r.sent]), [['a.test', 3], ['b.test', 2]]);
    assert.deepEqual(body.totals, (await stats(`?group_by=domain&from=${today}`)).body.totals, 'the numbers the API gives');

    const table = await runCli(['stats', '--tag', 'welcome'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^Statistics of account default, .* UTC to .* UTC, by day, tag "welcome"\./);
    assert.match(table.stdout, /\ntotal +4 +2 +0 +1 +1 +0 +0 +1 +0 +0 +0 +50\.0% +50\.0% +0\.0% +50\.0% +0\.0%\n/);
    assert.match(table.stdout, /Opens: 1 recipients \(1 by people, 1 by machines\), 3 opens in all\./);

    const help = await runCli(['stats', '--help'], env);
    assert.match(help.stdout, /Usage: herald stats \[options\]/);
    assert.match(help.stdout, /--group-by <what> +one row per \(choices: "day", "hour", "domain", "tag",\s+"stream", default: "day"\)/);
    const fresh = await runCli(['stats'], dataDirEnv(tempDir('herald-stats-cli-')));
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, /Nothing counted yet: the running server fills these numbers from its events\./);

    const bad = await runCli(['stats', '--from', 'monday'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--from: from must be a date \(2030-03-01\)/);
    assert.equal((await runCli(['stats', '--account', 'nobody'], env)).code, 1);
  });

  test('the answer carries the queue now: recipients waiting per state and the oldest one’s acceptance time', async () => {
    const empty = await stats('');
    assert.deepEqual(empty.body.queue, { queued: 0, deferred: 0, delivering: 0, held: 0, oldest_created_at: null });
    const later = await call(w.base, 'POST', '/api/v1/messages', {
      key: sendKey,
      body: { from: 'shop@sender.test', to: ['dan@a.test', 'eve@a.test'], subject: 'Later', text: 'x', send_at: new Date(Date.now() + 3_600_000).toISOString() },
    });
    assert.equal(later.status, 202, JSON.stringify(later.body));
    const accepted = (await call(w.base, 'GET', `/api/v1/messages/${later.body.id}`, { key: readKey })).body.created_at;
    const res = await stats('?group_by=tag');
    assert.deepEqual(res.body.queue, { queued: 2, deferred: 0, delivering: 0, held: 0, oldest_created_at: accepted }, 'whatever the grouping');
    assert.equal((await call(w.base, 'POST', `/api/v1/messages/${later.body.id}/cancel`, { key: w.adminKey })).status, 200);
    assert.equal((await stats('')).body.queue.oldest_created_at, null);
  });

  test('bad questions are 400s naming the parameter; the read scope is needed; the schema is in /openapi.json', async () => {
    const cases: [string, string, RegExp][] = [
      ['?group_by=week', 'group_by', /group_by is one of day, hour, domain, tag, stream/],
      ['?from=last-monday', 'from', /from must be a date/],
      ['?from=2030-03-05&to=2030-03-01', 'to', /to must be after from/],
      ['?group_by=hour&from=2030-01-01&to=2030-03-01', 'from', /group_by=hour covers at most 31 days/],
      ['?stream=bulk', 'stream', /stream is "transactional" or "broadcast"/],
      ['?tag=news&domain=a.test', 'tag', /not per pair/],
      ['?group_by=domain&tag=news', 'tag', /not per pair/],
      ['?grouping=day', 'grouping', /unknown field "grouping"/],
    ];
    for (const [query, field, message] of cases) {
      const res = await stats(query);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error.field, field, query);
      assert.match(res.body.error.message, message, query);
    }
    assert.equal((await stats('', sendKey)).status, 403);
    assert.equal((await call(w.base, 'GET', '/api/v1/stats')).status, 401);
    const openapi = await call(w.base, 'GET', '/openapi.json');
    const op = openapi.body.paths['/api/v1/stats'].get;
    assert.ok(op.responses['200'].content['application/json'].schema.properties.totals.properties.delivery_rate);
    assert.deepEqual(op.parameters.map((p: { name: string }) => p.name).sort(), ['domain', 'from', 'group_by', 'stream', 'tag', 'to']);
  });
});
