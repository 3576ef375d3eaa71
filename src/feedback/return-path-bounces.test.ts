import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newMessageId, returnPathAddress, type Clock, type InboundOutcome } from '../core/index.js';
import { openSqlite } from '../storage/index.js';
import { SqliteQueueStore } from '../queue/index.js';
import { ReturnPathBounces } from './return-path-bounces.js';
import { checkAuthentication } from './authentication.js';
import { InboundMailboxes } from './inbound-mailboxes.js';
import { loadBounceRules } from './bounce-rules.js';
import type { NewInboundRecord } from './sql-inbound-store.js';
import { NodeDnsResolver } from '../deliver/index.js';
import { startDnsServer } from '../../test/support/dns-server.js';

const NOW = new Date(Date.UTC(2030, 0, 1));
const clock: Clock = { now: () => NOW };
const secret = Buffer.from('installation secret');

function dsn(recipient: string, action: string, status: string, diagnostic: string): Buffer {
  return Buffer.from(
    [
      'From: MAILER-DAEMON@mx.a.example',
      `To: ${recipient}`,
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--b1',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.a.example',
      '',
      'Final-Recipient: rfc822; ann@a.example',
      `Action: ${action}`,
      `Status: ${status}`,
      `Diagnostic-Code: smtp; ${diagnostic}`,
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

async function delivered(t: { after(fn: () => unknown): void }) {
  const db = openSqlite(':memory:');
  const store = new SqliteQueueStore(db, { clock });
  t.after(async () => {
    await store.close();
    db.close();
  });
  const id = newMessageId(NOW.getTime());
  await store.enqueue({
    id, accountId: 'acct', source: 'api', mailFrom: 'shop@s.example', recipients: ['ann@a.example', 'bob@a.example'],
    body: Buffer.from('Subject: x\r\n\r\nx\r\n'), createdAt: NOW, expiresAt: new Date(NOW.getTime() + 86400_000), meta: { returnPath: 'bounces.s.example' },
  });
  const [batch] = await store.claimDue({ owner: 'w', now: NOW, limit: 10, leaseMs: 60_000 });
  const ok = { code: 250, text: 'ok' };
  await store.recordAttempt({ batch, at: NOW, results: batch.recipients.map((r) => ({ recipientId: r.id, state: 'delivered' as const, outcome: { kind: 'delivered' as const, host: 'mx.a.example', reply: ok } })) });
  const ann = batch.recipients.find((r) => r.address === 'ann@a.example')!;
  const bounces = new ReturnPathBounces({ store, secret, clock, isBounceDomain: async (d) => d === 'bounces.s.example' });
  return { store, id, ann, bounces, annPath: returnPathAddress(secret, 'bounces.s.example', id, ann.id) };
}

test('a DSN to a recipient’s return path bounces exactly that recipient', async (t) => {
  const { store, id, bounces, annPath } = await delivered(t);
  assert.equal(await bounces.lookup(annPath), 'ours');
  await bounces.receive({ mailFrom: '', recipients: [annPath], body: dsn(annPath, 'failed', '5.1.1', '550 5.1.1 <ann@a.example>: User unknown'), receivedAt: NOW, clientIp: '192.0.2.9' });
  const m = (await store.get(id))!;
  const byAddress = Object.fromEntries(m.recipients.map((r) => [r.address, r]));
  assert.equal(byAddress['ann@a.example'].state, 'bounced');
  assert.equal(byAddress['ann@a.example'].lastReply, '550 5.1.1 <ann@a.example>: User unknown');
  assert.equal(byAddress['ann@a.example'].history.at(-1)?.host, 'mx.a.example');
  assert.equal(byAddress['bob@a.example'].state, 'delivered');
});

test('a "delayed" report changes nothing; a free-text bounce still bounces', async (t) => {
  const { store, id, bounces, annPath } = await delivered(t);
  await bounces.receive({ mailFrom: '', recipients: [annPath], body: dsn(annPath, 'delayed', '4.4.1', '451 4.4.1 try later'), receivedAt: NOW, clientIp: '192.0.2.9' });
  assert.equal((await store.get(id))!.recipients.find((r) => r.address === 'ann@a.example')!.state, 'delivered');
  await bounces.receive({ mailFrom: '', recipients: [annPath], body: Buffer.from('Subject: failure\r\n\r\nThe mailbox is gone.\r\n'), receivedAt: NOW, clientIp: '192.0.2.9' });
  const ann = (await store.get(id))!.recipients.find((r) => r.address === 'ann@a.example')!;
  assert.equal(ann.state, 'bounced');
  assert.match(ann.lastReply ?? '', /without a delivery status report/);
});

test('lookup: a forged or altered return path is an unknown user; other domains are not ours', async (t) => {
  const { bounces, annPath } = await delivered(t);
  const [local, domain] = annPath.split('@');
  assert.equal(await bounces.lookup(`${local.slice(0, -1)}x@${domain}`), 'unknown-user');
  assert.equal(await bounces.lookup(`postmaster@${domain}`), 'unknown-user');
  assert.equal(await bounces.lookup(`${local}@elsewhere.example`), 'not-ours');
  assert.equal(await bounces.lookup(`${local}@BOUNCES.S.EXAMPLE`), 'ours');
});

test('reports are checked for SPF, DKIM and DMARC through Herald’s resolver; the verdicts go into the event and the record', async (t) => {
  const dns = await startDnsServer();
  t.after(() => dns.close());
  dns.setZone({
    'a.example': { TXT: ['v=spf1 ip4:192.0.2.9 -all'] },
    '_dmarc.a.example': { TXT: ['v=DMARC1; p=reject'] },
  });
  const resolver = new NodeDnsResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
  const message = Buffer.concat([Buffer.from('From: MAILER-DAEMON@a.example\r\n'), dsn('x', 'failed', '5.1.1', '550 5.1.1 unknown').subarray('From: MAILER-DAEMON@mx.a.example\r\n'.length)]);
  const good = await checkAuthentication(message, { ip: '192.0.2.9', helo: 'mx.a.example', mailFrom: 'bounce@a.example', hostname: 'herald.test', resolver });
  assert.deepEqual([good.spf, good.dkim, good.dmarc], ['pass', 'none', 'pass']);
  assert.match(good.header, /^Authentication-Results: herald\.test;/m);
  const forged = await checkAuthentication(message, { ip: '198.51.100.7', helo: 'evil.example', mailFrom: 'bounce@a.example', hostname: 'herald.test', resolver });
  assert.deepEqual([forged.spf, forged.dmarc], ['fail', 'fail']);

  // The inbound router checks once and hands the verdicts and its record's id to the mailbox.
  const { store, id, bounces, annPath } = await delivered(t);
  const kept: NewInboundRecord[] = [];
  const inbound = new InboundMailboxes([bounces], { records: { add: async (r) => void kept.push(r) }, authentication: { resolver, hostname: 'herald.test' }, clock });
  await inbound.receive({ mailFrom: 'bounce@a.example', recipients: [annPath], body: message, receivedAt: NOW, clientIp: '192.0.2.9', helo: 'mx.a.example' });
  const [event] = (await store.eventsOf(id, 10)).filter((e) => e.type === 'bounced');
  assert.deepEqual(event.data.authentication, { spf: 'pass', dkim: 'none', dmarc: 'pass', arc: 'none' });
  assert.equal(event.data.inbound_id, kept[0].id);
  assert.equal(kept[0].kind, 'dsn');
  assert.match(kept[0].raw.toString(), /^Received-SPF: pass[\s\S]*Authentication-Results: herald\.test;[\s\S]*\r\nFrom: MAILER-DAEMON@a\.example\r\n/);
});

test('a free-text bounce is read with the rule table: the rule’s status becomes the reply and the event names it', async (t) => {
  const { store, id, annPath } = await delivered(t);
  const bounces = new ReturnPathBounces({ store, secret, clock, isBounceDomain: async (d) => d === 'bounces.s.example', rules: loadBounceRules() });
  const freeText = (subject: string, text: string) =>
    Buffer.from(`From: postmaster@a.example\r\nSubject: ${subject}\r\n\r\n${text}\r\n\r\n------ This is a copy of the message, including all the headers. ------\r\nX-Spam-Status: No\r\nSubject: x\r\n`);
  const outOfOffice = await bounces.receive({ mailFrom: '', recipients: [annPath], body: freeText('Automatic reply: your order', 'I am away until Monday.'), receivedAt: NOW, clientIp: '192.0.2.9', inboundId: 'in1' });
  assert.equal((outOfOffice as InboundOutcome).kind, 'other');
  assert.equal((await store.get(id))!.recipients.find((r) => r.address === 'ann@a.example')!.state, 'delivered', 'an auto-reply is no bounce');

  const outcome = await bounces.receive({ mailFrom: '', recipients: [annPath], body: freeText('Mail delivery failed', 'ann@a.example: mailbox is full, try again later'), receivedAt: NOW, clientIp: '192.0.2.9', inboundId: 'in2' });
  assert.deepEqual(outcome, { kind: 'free_text_bounce', messageId: id, accountId: 'acct', recipient: 'ann@a.example' });
  const ann = (await store.get(id))!.recipients.find((r) => r.address === 'ann@a.example')!;
  assert.equal(ann.state, 'bounced');
  assert.equal(ann.lastReply, "550 5.2.2 The recipient's mailbox is full");
  const [event] = (await store.eventsOf(id, 10)).filter((e) => e.type === 'bounced');
  assert.deepEqual(event.data.rule, { name: 'mailbox-full', class: 'mailbox_full', matched: 'ann@a.example: mailbox is full, try again later' });
  assert.equal(event.data.inbound_id, 'in2');
});
