import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ConfigKey } from '../config/index.js';
import { SmtpRejection, type Clock } from '../core/index.js';
import { openSqlite } from '../storage/index.js';
import { SqliteQueueStore } from '../queue/index.js';
import { createAcceptPipeline } from './pipeline.js';
import type { Submission } from './types.js';

const NOW = new Date(Date.UTC(2024, 4, 7, 9, 5, 3));
const clock: Clock = { now: () => NOW };

async function setup(t: { after(fn: () => Promise<void> | void): void }, overrides: Partial<Record<ConfigKey, string>> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-accept-'));
  const db = openSqlite(join(dir, 'herald.db'));
  const store = new SqliteQueueStore(db, { clock });
  const { config } = loadConfig({ env: {}, overrides: { hostname: 'mx.herald.test', ...overrides } });
  t.after(async () => {
    await store.close().catch(() => {});
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, config, pipeline: createAcceptPipeline({ store, config, clock }) };
}

function submission(body: string | Buffer, extra: Partial<Submission> = {}): Submission {
  return {
    source: 'smtp',
    accountId: 'default',
    mailFrom: 'sender@example.com',
    recipients: ['rcpt@example.net'],
    body: typeof body === 'string' ? Buffer.from(body) : body,
    receivedAt: NOW,
    smtp: { ip: '192.0.2.7', helo: 'client.example', listener: 'submission', tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, authUser: 'herald-abc', credentialId: 'c1' },
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SmtpRejection, `expected an SmtpRejection, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected a rejection');
}

test('a message is queued with Received, Message-ID and Date added and its envelope cleaned', async (t) => {
  const { store, pipeline, config } = await setup(t);
  const original = 'Subject: Hello there\r\nFrom: a@example.com\r\n\r\nBody line\r\n';
  const accepted = await pipeline.accept(submission(original, { recipients: ['A@Example.NET', 'a@example.net', 'b@example.net'] }));
  assert.deepEqual(accepted.recipients, ['A@example.net', 'a@example.net', 'b@example.net']);

  const body = (await store.getBody(accepted.id))!.toString();
  assert.equal(
    body,
    'Received: from client.example ([192.0.2.7])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n' +
      `\tby mx.herald.test (Herald) with ESMTPSA id ${accepted.id};\r\n\tTue, 7 May 2024 09:05:03 +0000\r\n` +
      `Message-ID: <${accepted.id}@mx.herald.test>\r\nDate: Tue, 7 May 2024 09:05:03 +0000\r\n` +
      original,
  );
  const detail = (await store.get(accepted.id))!;
  assert.equal(detail.expiresAt.getTime(), NOW.getTime() + config.maxQueueAge);
  assert.equal(detail.meta.subject, 'Hello there');
  assert.equal(detail.meta.messageIdHeader, `<${accepted.id}@mx.herald.test>`);
  assert.equal(detail.meta.clientIp, '192.0.2.7');
  assert.equal(detail.meta.helo, 'client.example');
  assert.equal(detail.meta.credential, 'c1');
  assert.equal(detail.recipients.length, 3);
});

test('existing Message-ID and Date are kept; a headerless message gets a blank line', async (t) => {
  const { store, pipeline } = await setup(t);
  const withIds = 'message-id: <given@x>\r\nDATE: Mon, 6 May 2024 00:00:00 +0000\r\n\r\nhi\r\n';
  const a = await pipeline.accept(submission(withIds, { smtp: undefined, source: 'api' }));
  const body = (await store.getBody(a.id))!.toString();
  assert.match(body, /^Received: by mx\.herald\.test \(Herald\) with HTTP id \w+;\r\n\t.+\r\nmessage-id: <given@x>\r\n/);
  assert.ok(!/^Message-ID: </m.test(body));
  assert.equal((await store.get(a.id))!.meta.messageIdHeader, '<given@x>');

  const b = await pipeline.accept(submission('no header here\r\n'));
  assert.match((await store.getBody(b.id))!.toString(), /Date: [^\r]+\r\n\r\nno header here\r\n$/);
});

test('bare line endings are rejected, or normalised when configured', async (t) => {
  const rejecting = await setup(t);
  assert.equal(await rejection(rejecting.pipeline.accept(submission('Subject: x\r\n\r\nbare\nlf\r\n'))), '550 5.6.0 Message contains a bare CR or LF; send lines ending in CRLF');
  assert.equal((await rejecting.store.list({ limit: 10 })).length, 0);

  const normalizing = await setup(t, { bareLineEndings: 'normalize' });
  const a = await normalizing.pipeline.accept(submission('Subject: x\n\nbare\rcr\nlf'));
  assert.match((await normalizing.store.getBody(a.id))!.toString(), /\r\nSubject: x\r\n\r\nbare\r\ncr\r\nlf\r\n$/);
});

test('long lines, oversize messages and bad envelopes get their documented replies', async (t) => {
  const { pipeline, store } = await setup(t, { maxMessageSize: '2KB' });
  assert.equal(await rejection(pipeline.accept(submission(`Subject: x\r\n\r\n${'a'.repeat(999)}\r\n`))), '500 5.5.2 Line too long');
  assert.equal(await rejection(pipeline.accept(submission('Subject: x\r\n\r\nshort\r\n', { lineTooLong: true }))), '500 5.5.2 Line too long');
  assert.ok(await pipeline.accept(submission(`Subject: x\r\n\r\n${'a'.repeat(998)}\r\n`)));
  assert.equal(await rejection(pipeline.accept(submission(Buffer.alloc(2049, 0x61)))), '552 5.3.4 Message size exceeds fixed limit of 2048 bytes');
  assert.equal(await rejection(pipeline.accept(submission('x\r\n', { mailFrom: 'not an address' }))), '553 5.1.7 Sender address rejected: invalid address');
  assert.equal(await rejection(pipeline.accept(submission('x\r\n', { recipients: ['nobody'] }))), '553 5.1.3 Recipient address rejected: invalid address');
  assert.equal(await rejection(pipeline.accept(submission('x\r\n', { recipients: [] }))), '554 5.5.1 No valid recipients');
  assert.ok(await pipeline.accept(submission('x\r\n', { mailFrom: '' })), 'the null sender is accepted');
  assert.equal((await store.list({ limit: 10 })).length, 2);
});

test('a store failure is 451 4.3.0', async (t) => {
  const { pipeline, store } = await setup(t);
  await store.close();
  assert.equal(await rejection(pipeline.accept(submission('Subject: x\r\n\r\nhi\r\n'))), '451 4.3.0 Local error in processing; try again later');
});
