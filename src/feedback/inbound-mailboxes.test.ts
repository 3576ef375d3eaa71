import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InboundMailbox, InboundMessage, InboundOutcome } from '../core/index.js';
import { NodeDnsResolver } from '../deliver/index.js';
import { SqliteSqlDatabase } from '../storage/index.js';
import { startDnsServer } from '../../test/support/dns-server.js';
import { InboundMailboxes } from './inbound-mailboxes.js';
import { SqlInboundStore } from './sql-inbound-store.js';

const NOW = new Date(Date.UTC(2030, 0, 1));

/** A mailbox that answers from a table and remembers what it was given. */
function mailbox(answers: Record<string, 'ours' | 'unknown-user'>, outcome?: InboundOutcome | Error) {
  const received: InboundMessage[] = [];
  const box: InboundMailbox & { received: InboundMessage[] } = {
    received,
    async lookup(address) {
      return answers[address.toLowerCase()] ?? 'not-ours';
    },
    async receive(message) {
      received.push(message);
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
  return box;
}

const message = (recipients: string[], body = 'From: MAILER-DAEMON@a.example\r\nSubject: Undelivered\r\n\r\nGone.\r\n'): InboundMessage => ({
  mailFrom: '',
  recipients,
  body: Buffer.from(body),
  receivedAt: NOW,
  clientIp: '192.0.2.9',
  helo: 'mx.a.example',
});

async function records(t: { after(fn: () => Promise<void>): void }) {
  const db = SqliteSqlDatabase.open(':memory:');
  t.after(() => db.close());
  return SqlInboundStore.open(db);
}

test('lookup: the first mailbox that says ours wins; unknown-user when one knows the domain; else not ours', async (t) => {
  const bounces = mailbox({ 'b+x@bounces.s.example': 'ours', 'fbl@bounces.s.example': 'unknown-user', 'nobody@bounces.s.example': 'unknown-user' });
  const complaints = mailbox({ 'fbl@bounces.s.example': 'ours' });
  const router = new InboundMailboxes([bounces, complaints], { records: await records(t) });
  assert.equal(await router.lookup('b+x@bounces.s.example'), 'ours');
  assert.equal(await router.lookup('fbl@bounces.s.example'), 'ours', 'a later mailbox’s ours beats an earlier unknown-user');
  assert.equal(await router.lookup('nobody@bounces.s.example'), 'unknown-user');
  assert.equal(await router.lookup('ann@elsewhere.example'), 'not-ours');
});

test('receive: each mailbox gets the recipients it claimed, the record id and the verdicts; the record says what it was', async (t) => {
  const dns = await startDnsServer();
  t.after(() => dns.close());
  dns.setZone({ 'a.example': { TXT: ['v=spf1 ip4:192.0.2.9 -all'] } });
  const resolver = new NodeDnsResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
  const bounces = mailbox({ 'b+x@bounces.s.example': 'ours' }, { kind: 'dsn', messageId: '01jz0000000000000000000000', accountId: 'acct', recipient: 'ann@a.example' });
  const complaints = mailbox({ 'fbl@bounces.s.example': 'ours' });
  const store = await records(t);
  const router = new InboundMailboxes([bounces, complaints], { records: store, authentication: { resolver, hostname: 'herald.test' } });
  const sent = { ...message(['fbl@bounces.s.example', 'b+x@bounces.s.example']), mailFrom: 'bounce@a.example' };
  await router.receive(sent);

  assert.deepEqual(bounces.received.map((m) => m.recipients), [['b+x@bounces.s.example']]);
  assert.deepEqual(complaints.received.map((m) => m.recipients), [['fbl@bounces.s.example']]);
  const id = bounces.received[0].inboundId!;
  assert.equal(complaints.received[0].inboundId, id, 'one message, one record');
  assert.deepEqual(bounces.received[0].authentication, { spf: 'pass', dkim: 'none', dmarc: 'none', arc: 'none' });

  const record = (await store.get(id))!;
  assert.equal(record.kind, 'dsn', 'the outcome that names a message describes the record');
  assert.equal(record.messageId, '01jz0000000000000000000000');
  assert.equal(record.recipient, 'ann@a.example');
  assert.equal(record.subject, 'Undelivered');
  assert.deepEqual(record.recipients, sent.recipients);
  assert.equal(record.helo, 'mx.a.example');
  const raw = (await store.getRaw(id))!.toString();
  assert.match(raw, /^Received-SPF: pass/);
  assert.match(raw, /\r\nAuthentication-Results: herald\.test;[^]*\r\n spf=pass /);
  assert.ok(raw.endsWith(sent.body.toString()), 'the message follows, byte for byte');
});

test('without a check the message is kept as received, kind other; a DNS failure is a temperror, not a refusal', async (t) => {
  const store = await records(t);
  const box = mailbox({ 'postmaster@bounces.s.example': 'ours' });
  const sent = { ...message(['postmaster@bounces.s.example']), mailFrom: 'ann@a.example' };
  await new InboundMailboxes([box], { records: store }).receive(sent);
  const id = box.received[0].inboundId!;
  assert.equal((await store.get(id))!.kind, 'other');
  assert.equal((await store.get(id))!.authentication, null);
  assert.deepEqual(await store.getRaw(id), sent.body);

  const failing = { resolveTxt: async () => Promise.reject(Object.assign(new Error('DNS down'), { code: 'ESERVFAIL' })) } as never;
  await new InboundMailboxes([box], { records: store, authentication: { resolver: failing, hostname: 'herald.test' } }).receive(sent);
  const checked = (await store.get(box.received[1].inboundId!))!;
  assert.equal(checked.authentication?.spf, 'temperror');
});

test('a mailbox that fails fails the message (the client retries) and nothing is kept', async (t) => {
  const store = await records(t);
  const router = new InboundMailboxes([mailbox({ 'b+x@bounces.s.example': 'ours' }, new Error('disk full'))], { records: store });
  await assert.rejects(router.receive(message(['b+x@bounces.s.example'])), /disk full/);
  assert.deepEqual(await store.list({ limit: 10 }), []);
});
