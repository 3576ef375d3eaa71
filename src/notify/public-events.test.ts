import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MailEvent } from '../core/index.js';
import { readFeed } from './event-feed.js';
import { bounceReasonClass, EventPresenter, publicTypeOf } from './public-events.js';

const AT = new Date('2030-01-02T03:04:05.000Z');
const ID = '01jd5k7v3q8x2m4n6p9r0s1t2w';

function presenter(labels: Record<string, { tags?: string[]; metadata?: Record<string, string>; stream?: string }> = {}) {
  let lookups = 0;
  const p = new EventPresenter({
    eventTag: 'abcd1234',
    messageLabels: async (ids) => {
      lookups++;
      return new Map(ids.filter((id) => labels[id]).map((id) => [id, labels[id]]));
    },
  });
  return { p, lookups: () => lookups };
}

const event = (over: Partial<MailEvent>): MailEvent => ({ seq: 7, type: 'delivered', messageId: ID, accountId: 'acct', recipient: 'ann@a.example', at: AT, data: {}, ...over });

test('internal names map to public ones; queue operator actions are not published', () => {
  assert.equal(publicTypeOf('delivered'), 'message.delivered');
  assert.equal(publicTypeOf('suppressed'), 'message.suppressed');
  assert.equal(publicTypeOf('domain.verification_changed'), 'domain.verification_changed');
  assert.equal(publicTypeOf('webhook.disabled'), 'webhook.disabled');
  for (const internal of ['held', 'released', 'deleted', 'nonsense']) assert.equal(publicTypeOf(internal), null);
});

test('a delivered event: type, timestamp, stable id, the message labels, the reply', async () => {
  const { p, lookups } = presenter({ [ID]: { tags: ['receipt'], metadata: { order: '1234' }, stream: 'broadcast' } });
  const shown = await p.present(event({ data: { host: 'mx.a.example', reply: { code: 250, enhanced: '2.0.0', text: 'Ok: queued as 42' }, attempt: 1 } }));
  assert.deepEqual(shown, {
    type: 'message.delivered',
    timestamp: '2030-01-02T03:04:05.000Z',
    data: {
      event_id: 'evt_abcd1234_7',
      message_id: ID,
      recipient: 'ann@a.example',
      tags: ['receipt'],
      metadata: { order: '1234' },
      stream: 'broadcast',
      host: 'mx.a.example',
      reply: { code: 250, enhanced: '2.0.0', text: 'Ok: queued as 42' },
      attempt: 1,
    },
  });
  // Labels are looked up once per message.
  await p.present(event({ seq: 8, type: 'opened', data: { userAgent: 'Mail', ip: '192.0.2.1' } }));
  assert.equal(lookups(), 1);
  assert.equal(await p.present(event({ type: 'held' })), null);
});

test('accepted, deferred, expired, feedback and account-level events', async () => {
  const { p } = presenter();
  const accepted = await p.present(event({ type: 'accepted', recipient: undefined, data: { recipients: ['a@x.example', 'b@x.example'], size: 1234, source: 'api', mailFrom: 'shop@s.example' } }));
  assert.deepEqual(accepted!.data, {
    event_id: 'evt_abcd1234_7',
    message_id: ID,
    recipient: null,
    tags: [],
    metadata: {},
    stream: 'transactional',
    from: 'shop@s.example',
    recipients: ['a@x.example', 'b@x.example'],
    size: 1234,
    source: 'api',
  });
  const deferred = await p.present(
    event({ type: 'deferred', data: { host: 'mx.a.example', reply: { code: 451, enhanced: '4.7.1', text: 'Greylisted' }, reason: 'greylisted', scope: 'recipient', attempt: 2, nextAttemptAt: '2030-01-02T03:09:05.000Z' } }),
  );
  assert.deepEqual(
    { reply: deferred!.data.reply, reason: deferred!.data.reason, attempt: deferred!.data.attempt, next: deferred!.data.next_attempt_at },
    { reply: { code: 451, enhanced: '4.7.1', text: 'Greylisted' }, reason: 'greylisted', attempt: 2, next: '2030-01-02T03:09:05.000Z' },
  );
  const expired = await p.present(event({ type: 'expired', data: { reason: 'connect ECONNREFUSED 192.0.2.25:25', scope: 'connection', attempt: 9 } }));
  assert.deepEqual([expired!.type, expired!.data.reason, expired!.data.reply], ['message.expired', 'connect ECONNREFUSED 192.0.2.25:25', null]);
  const clicked = await p.present(event({ type: 'clicked', data: { url: 'https://shop.example/x', userAgent: 'Mozilla' } }));
  assert.deepEqual([clicked!.data.url, clicked!.data.user_agent], ['https://shop.example/x', 'Mozilla']);
  const unsubscribed = await p.present(event({ type: 'unsubscribed', data: { stream: 'broadcast', messageId: 'x', method: 'one-click' } }));
  assert.deepEqual([unsubscribed!.data.message_id, unsubscribed!.data.stream, unsubscribed!.data.method], [ID, 'transactional', 'one-click'], 'details never override the common fields');

  const domain = await p.present(
    event({ type: 'domain.verification_changed', messageId: '', recipient: undefined, data: { domain: 'shop.example', before: 'unverified', after: 'verified', changed: [{ purpose: 'dkim', status: 'ok' }] } }),
  );
  assert.deepEqual(domain!.data, { event_id: 'evt_abcd1234_7', domain: 'shop.example', before: 'unverified', after: 'verified', changed: [{ purpose: 'dkim', status: 'ok' }] });
  const disabled = await p.present(event({ type: 'webhook.disabled', messageId: '', data: { webhookId: 'wh_x', url: 'https://h.example/', reason: 'gone' } }));
  assert.deepEqual(disabled!.data, { event_id: 'evt_abcd1234_7', webhook_id: 'wh_x', url: 'https://h.example/', reason: 'gone' });
});

test('a bounce is explained: hard or soft, its class, the diagnostic, and whether it came late', async () => {
  const { p } = presenter();
  const during = await p.present(
    event({ type: 'bounced', data: { host: 'mx.a.example', reply: { code: 550, enhanced: '5.1.1', text: 'User unknown' }, reason: 'rejected', scope: 'recipient', attempt: 1 } }),
  );
  assert.deepEqual(during!.data.bounce, { type: 'hard', class: 'mailbox_unknown', diagnostic: 'User unknown' });
  assert.deepEqual(during!.data.reply, { code: 550, enhanced: '5.1.1', text: 'User unknown' });
  // Late bounces carry the report's text, not an object.
  const late = await p.present(event({ type: 'bounced', data: { reply: 'smtp; 552 5.2.2 Mailbox full', host: 'mx.b.example', late: true, authentication: { dmarc: 'pass' } } }));
  assert.deepEqual(late!.data.bounce, { type: 'soft', class: 'mailbox_full', diagnostic: 'Mailbox full', late: true });
  assert.deepEqual(late!.data.reply, { code: 552, enhanced: '5.2.2', text: 'Mailbox full' });
  assert.deepEqual(late!.data.authentication, { dmarc: 'pass' });
  const noCode = await p.present(event({ type: 'bounced', data: { reply: 'The user does not exist here', late: true } }));
  assert.deepEqual(noCode!.data.bounce, { type: 'hard', class: 'mailbox_unknown', diagnostic: 'The user does not exist here', late: true });
  // Herald's own: a domain without mail.
  const nullMx = await p.present(
    event({ type: 'bounced', data: { reply: { code: 556, enhanced: '5.1.10', text: 'Domain x.example accepts no mail (null MX, RFC 7505)' }, reason: 'Domain x.example accepts no mail (null MX, RFC 7505)', scope: 'site' } }),
  );
  assert.deepEqual(nullMx!.data.bounce, { type: 'hard', class: 'dns_failure', diagnostic: 'Domain x.example accepts no mail (null MX, RFC 7505)' });
});

test('bounce classes from enhanced codes first, then reply texts', () => {
  const cases: [number, string | undefined, string, string][] = [
    [550, '5.1.1', 'Recipient address rejected', 'mailbox_unknown'],
    [550, '5.1.2', 'Domain does not exist (DNS: NXDOMAIN)', 'dns_failure'],
    [550, '5.4.1', 'Recipient address rejected: Access denied', 'mailbox_unknown'],
    [550, '5.4.4', 'Unable to route', 'dns_failure'],
    [552, '5.2.2', 'Quota exceeded', 'mailbox_full'],
    [552, '5.3.4', 'Message size exceeds fixed limit', 'message_too_large'],
    [550, '5.7.1', 'Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org', 'blocked'],
    [550, '5.7.26', 'Unauthenticated email is not accepted due to DMARC policy', 'policy'],
    [550, '5.7.1', 'Relaying denied', 'policy'],
    [554, '5.0.0', 'Message rejected as spam', 'blocked'],
    [550, undefined, 'No such user here', 'mailbox_unknown'],
    [552, undefined, 'Requested mail action aborted: exceeded storage allocation; mailbox full', 'mailbox_full'],
    [554, undefined, 'Message too large', 'message_too_large'],
    [550, undefined, 'Host or domain name not found', 'dns_failure'],
    [550, undefined, 'Rejected for policy reasons', 'policy'],
    [554, undefined, 'Transaction failed', 'other'],
  ];
  for (const [code, enhanced, text, expected] of cases) assert.equal(bounceReasonClass({ code, enhanced, text }), expected, `${code} ${enhanced ?? ''} ${text}`);
  assert.equal(bounceReasonClass(undefined, 'Could not connect'), 'other');
});

test('a page of events costs one label lookup for the messages not known yet; a failed lookup is asked again', async () => {
  const calls: string[][] = [];
  let failing = false;
  const p = new EventPresenter({
    eventTag: 't',
    messageLabels: async (ids) => {
      calls.push([...ids]);
      if (failing) throw new Error('the queue store is busy');
      return new Map(ids.filter((id) => !id.startsWith('gone')).map((id) => [id, { tags: [id] }]));
    },
  });
  const ids = Array.from({ length: 30 }, (_, i) => `m${i}`);
  const page = [
    ...ids.map((id, i) => event({ seq: i + 1, type: 'accepted', messageId: id })),
    event({ seq: 31, type: 'domain.verification_changed', messageId: '', data: { domain: 'a.example' } }),
    event({ seq: 32, type: 'held', messageId: 'held-only' }),
    event({ seq: 33, messageId: 'gone' }),
    ...ids.map((id, i) => event({ seq: 40 + i, messageId: id })),
  ];
  p.prefetch(page);
  const shown = await Promise.all(page.map((e) => p.present(e)));
  assert.deepEqual(calls, [[...ids, 'gone']], 'one call; each message once; none for account-level or unpublished events');
  assert.deepEqual(shown[0]!.data.tags, ['m0']);
  assert.deepEqual(shown.at(-1)!.data.tags, ['m29']);
  assert.deepEqual(shown[32]!.data.tags, [], 'a message not found has no labels');

  // Known messages (the one not found too) cost nothing; a single event asks about its message alone.
  p.prefetch(page);
  await p.present(event({ seq: 99, messageId: 'm3' }));
  await p.present(event({ seq: 100, messageId: 'single' }));
  assert.deepEqual(calls.slice(1), [['single']]);

  failing = true;
  const late = [event({ seq: 101, messageId: 'late1' }), event({ seq: 102, messageId: 'late2' }), event({ seq: 103, messageId: 'm5' })];
  p.prefetch(late);
  const failed = await Promise.allSettled(late.map((e) => p.present(e)));
  assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected', 'fulfilled']);
  failing = false;
  p.prefetch(late);
  assert.deepEqual((await Promise.all(late.map((e) => p.present(e)))).map((s) => s!.data.tags), [['late1'], ['late2'], ['m5']]);
  assert.deepEqual(calls.slice(2), [['late1', 'late2'], ['late1', 'late2']]);
});

test('the pull feed looks up each page\'s labels in one call, only for the events it can show', async () => {
  const calls: string[][] = [];
  const p = new EventPresenter({
    eventTag: 't',
    messageLabels: async (ids) => {
      calls.push([...ids]);
      return new Map(ids.map((id) => [id, { tags: [id] }]));
    },
  });
  const outbox = Array.from({ length: 40 }, (_, i) => event({ seq: i + 1, messageId: `m${i + 1}`, accountId: i % 2 ? 'other' : 'acct' }));
  const read = async (after: number, limit: number) => outbox.filter((e) => e.seq! > after).slice(0, limit);
  const first = await readFeed(read, p, { accountId: 'acct', after: 0, limit: 5 });
  assert.deepEqual(first.events.map((e) => e.data.tags), [['m1'], ['m3'], ['m5'], ['m7'], ['m9']]);
  assert.deepEqual(calls, [['m1', 'm3', 'm5', 'm7', 'm9']]);
  const rest = await readFeed(read, p, { accountId: 'acct', after: first.nextCursor, limit: 100 });
  assert.equal(rest.events.length, 15);
  assert.deepEqual(calls.slice(1), [Array.from({ length: 15 }, (_, i) => `m${11 + 2 * i}`)]);
});
