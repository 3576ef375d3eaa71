import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newMessageId, returnPathAddress, type Clock, type InboundMessage } from '../core/index.js';
import { openSqlite } from '../storage/index.js';
import { SqliteQueueStore } from '../queue/index.js';
import { feedbackReport } from '../../test/support/arf.js';
import { ArfComplaintMailbox } from './arf-complaints.js';
import { ReturnPathBounces } from './return-path-bounces.js';

const NOW = new Date(Date.UTC(2030, 0, 1));
const clock: Clock = { now: () => NOW };
const secret = Buffer.from('installation secret');
const OWNERS: Record<string, string> = { 'bounces.shop.example': 'shop', 'bounces.other.example': 'other' };

/** A queue with delivered messages (one per call), and the complaints mailbox over it. */
async function world(t: { after(fn: () => unknown): void }) {
  const db = openSqlite(':memory:');
  const store = new SqliteQueueStore(db, { clock });
  t.after(async () => {
    await store.close();
    db.close();
  });
  const send = async (recipients: string[], accountId = 'shop', returnPath = 'bounces.shop.example') => {
    const id = newMessageId(NOW.getTime());
    await store.enqueue({
      id, accountId, source: 'api', mailFrom: 'orders@shop.example', recipients, body: Buffer.from('Subject: x\r\n\r\nx\r\n'),
      createdAt: NOW, expiresAt: new Date(NOW.getTime() + 86400_000), meta: { returnPath, messageIdHeader: `<${id}@herald.shop.example>`, stream: 'broadcast' },
    });
    const [batch] = await store.claimDue({ owner: 'w', now: NOW, limit: 10, leaseMs: 60_000 });
    await store.recordAttempt({ batch, at: NOW, results: batch.recipients.map((r) => ({ recipientId: r.id, state: 'delivered' as const, outcome: { kind: 'delivered' as const, host: 'mx', reply: { code: 250, text: 'ok' } } })) });
    const ids = Object.fromEntries(batch.recipients.map((r) => [r.address, r.id]));
    return { id, verp: (address: string) => returnPathAddress(secret, returnPath, id, ids[address]) };
  };
  const complaints = new ArfComplaintMailbox({ store, secret, clock, bounceDomainOwner: async (d) => (OWNERS[d] ? { accountId: OWNERS[d] } : null) });
  const complaintsOf = async (id: string) => (await store.eventsOf(id, 100)).filter((e) => e.type === 'complained');
  return { store, send, complaints, complaintsOf };
}

const inbound = (body: Buffer, recipients = ['fbl@bounces.shop.example']): InboundMessage => ({
  mailFrom: 'feedback@fbl.mail.example', recipients, body, receivedAt: NOW, clientIp: '192.0.2.50', inboundId: '01jz00000000000000000inb01',
  authentication: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' },
});

test('lookup: fbl@, abuse@ and postmaster@ a bounce domain are ours; other names are left to the other mailboxes', async (t) => {
  const { complaints } = await world(t);
  for (const local of ['fbl', 'abuse', 'postmaster', 'FBL']) assert.equal(await complaints.lookup(`${local}@bounces.shop.example`), 'ours');
  assert.equal(await complaints.lookup('sales@bounces.shop.example'), 'not-ours');
  assert.equal(await complaints.lookup('fbl@shop.example'), 'not-ours');
});

test('a report to fbl@ whose returned message has our return path: a complaint on exactly that recipient', async (t) => {
  const { send, complaints, complaintsOf } = await world(t);
  const m = await send(['ann@mail.example', 'bob@mail.example']);
  const report = feedbackReport({ originalHeader: `Return-Path: <${m.verp('bob@mail.example')}>\r\nTo: ann@mail.example, bob@mail.example\r\nSubject: Sale` });
  const outcome = await complaints.receive(inbound(report));
  assert.deepEqual(outcome, { kind: 'arf', messageId: m.id, accountId: 'shop', recipient: 'bob@mail.example' });
  const [event] = await complaintsOf(m.id);
  assert.equal(event.recipient, 'bob@mail.example');
  assert.equal(event.accountId, 'shop');
  assert.deepEqual(event.data, {
    feedbackType: 'abuse', userAgent: 'Hotmail FBL', reportingMta: 'mx.fbl.mail.example', sourceIp: '192.0.2.10', arrivalDate: 'Tue, 01 Jan 2030 09:00:00 +0000',
    stream: 'broadcast', authentication: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' }, inbound_id: '01jz00000000000000000inb01',
  });
});

test('by Message-ID: Original-Rcpt-To names the recipient; a redacted one is found when the message had one recipient', async (t) => {
  const { send, complaints, complaintsOf } = await world(t);
  const two = await send(['ann@mail.example', 'bob@mail.example']);
  await complaints.receive(inbound(feedbackReport({ originalHeader: `Message-ID: <${two.id}@herald.shop.example>`, returned: 'headers', fields: ['Original-Rcpt-To: <Ann@MAIL.example>'] })));
  assert.deepEqual((await complaintsOf(two.id)).map((e) => e.recipient), ['ann@mail.example']);

  const one = await send(['carol@mail.example']);
  await complaints.receive(inbound(feedbackReport({ originalHeader: `Message-ID: <${one.id}@herald.shop.example>\r\nTo: <redacted>`, fields: ['Original-Rcpt-To: redacted@mail.example'] })));
  assert.deepEqual((await complaintsOf(one.id)).map((e) => e.recipient), ['carol@mail.example']);

  // Two recipients and none named: nothing can be said about either.
  const outcome = await complaints.receive(inbound(feedbackReport({ originalHeader: `Message-ID: <${two.id}@herald.shop.example>`, feedbackType: 'fraud' })));
  assert.deepEqual(outcome, { kind: 'arf', messageId: two.id, accountId: 'shop' });
  assert.equal((await complaintsOf(two.id)).length, 1);
});

test('a Message-ID is believed only at the owning account’s own feedback address', async (t) => {
  const { send, complaints, complaintsOf } = await world(t);
  const theirs = await send(['dan@mail.example'], 'other', 'bounces.other.example');
  const outcome = await complaints.receive(inbound(feedbackReport({ originalHeader: `Message-ID: <${theirs.id}@herald.shop.example>` })));
  assert.deepEqual(outcome, { kind: 'arf', accountId: 'shop' });
  assert.equal((await complaintsOf(theirs.id)).length, 0);
});

test('the same report again — or two copies at once — records one complaint; another feedback type is recorded too', async (t) => {
  const { send, complaints, complaintsOf } = await world(t);
  const m = await send(['ann@mail.example']);
  const report = feedbackReport({ originalHeader: `Return-Path: <${m.verp('ann@mail.example')}>` });
  await Promise.all([complaints.receive(inbound(report)), complaints.receive(inbound(report))]);
  await complaints.receive(inbound(report));
  assert.equal((await complaintsOf(m.id)).length, 1);
  await complaints.receive(inbound(feedbackReport({ originalHeader: `Return-Path: <${m.verp('ann@mail.example')}>`, feedbackType: 'not-spam' })));
  assert.deepEqual((await complaintsOf(m.id)).map((e) => e.data.feedbackType), ['abuse', 'not-spam']);
});

test('a report about nothing of ours, and mail that is no report, are accepted and record nothing', async (t) => {
  const { complaints, store } = await world(t);
  const unknown = await complaints.receive(inbound(feedbackReport({ originalHeader: 'Message-ID: <someone-else@elsewhere.example>\r\nReturn-Path: <bounce@elsewhere.example>' })));
  assert.deepEqual(unknown, { kind: 'arf', accountId: 'shop' });
  const gone = await complaints.receive(inbound(feedbackReport({ originalHeader: `Message-ID: <${newMessageId(NOW.getTime())}@herald.shop.example>` })));
  assert.deepEqual(gone, { kind: 'arf', accountId: 'shop' });
  const letter = await complaints.receive(inbound(Buffer.from('From: ann@mail.example\r\nSubject: stop\r\n\r\nPlease stop.\r\n'), ['postmaster@bounces.shop.example']));
  assert.deepEqual(letter, { kind: 'other', accountId: 'shop' });
  assert.deepEqual(await store.readEvents(0, 100).then((events) => events.filter((e) => e.type === 'complained')), []);
});

test('a report sent to a return path is a complaint, not a bounce', async (t) => {
  const { store, send, complaints, complaintsOf } = await world(t);
  const m = await send(['ann@mail.example']);
  const bounces = new ReturnPathBounces({ store, secret, clock, isBounceDomain: async (d) => d in OWNERS, complaints });
  const verp = m.verp('ann@mail.example');
  const outcome = await bounces.receive(inbound(feedbackReport({ originalHeader: 'Subject: Sale', to: verp }), [verp]));
  assert.deepEqual(outcome, { kind: 'arf', messageId: m.id, accountId: 'shop', recipient: 'ann@mail.example' });
  assert.equal((await complaintsOf(m.id)).length, 1);
  assert.equal((await store.get(m.id))!.recipients[0].state, 'delivered');
});
