/**
 * Sending domains end to end: a domain added over the API, its records published in a real DNS
 * server on loopback, verified; mail from it DKIM-signed (checked at the receiving end by an
 * independent verifier, dkimpy) with a per-recipient return path on its bounce domain; a bounce
 * sent later to that return path lands on the right message and recipient.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { parseReturnPath } from '../../src/core/index.js';
import { call, startApiWorld, type ApiWorld } from '../support/api.js';
import { zoneFor } from '../support/domain-zone.js';
import { verifyWithDkimpy, type KeyRecords } from '../support/dkim.js';
import { missingPeers } from '../support/peers.js';

describe('sending domains', () => {
  let w: ApiWorld;
  let sendKey: string;
  const admin = (method: string, path: string, body?: unknown) => call(w.base, method, `/api/v1${path}`, { key: w.adminKey, body });
  const baseZone = () => ({
    'a.test': { MX: [{ preference: 10, exchange: 'mx.a.test' }] },
    'mx.a.test': { A: ['127.0.0.2'] },
    'herald.test': { A: ['127.0.0.1'] },
  });

  before(async () => {
    w = await startApiWorld();
    await w.herald.domains.setDevelopmentMode('default', false);
    sendKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'app', scope: 'send' })).key;
  });
  after(() => w.close());

  test('an unverified sender is refused: 422 naming "from" over the API, 550 5.7.1 over SMTP', async () => {
    const res = await call(w.base, 'POST', '/api/v1/messages', { key: sendKey, body: { from: 'app@unverified.test', to: 'ann@a.test', text: 'x' } });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.field, 'from');
    assert.equal(res.body.error.message, 'Sender address rejected: domain not verified for this account');

    const cred = await w.herald.credentials.create({ name: 'domains-smtp' });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: w.herald.port('submission'), requireTLS: true, auth: { user: cred.username!, pass: cred.password! }, tls: { rejectUnauthorized: false },
    });
    await assert.rejects(
      transport.sendMail({ from: 'app@unverified.test', to: 'ann@a.test', subject: 'x', text: 'x' }),
      (err: Error & { response?: string }) => err.response === '550 5.7.1 Sender address rejected: domain not verified for this account',
    );
    transport.close();
  });

  test('add → publish → verify; signed mail with a per-recipient return path; a later bounce finds its recipient', async () => {
    const added = await admin('POST', '/domains', { name: 'Shop.Test', dkim: ['rsa', 'ed25519'] });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.body.name, 'shop.test');
    assert.equal(added.body.status, 'unverified');
    const purposes = added.body.records.map((r: { purpose: string }) => r.purpose);
    for (const p of ['dkim', 'spf', 'return-path-mx', 'return-path-spf', 'dmarc']) assert.ok(purposes.includes(p), `a ${p} record is proposed`);

    // Nothing published yet: verify says what is missing, and how to fix it.
    const early = await admin('POST', '/domains/shop.test/verify');
    assert.equal(early.status, 200);
    assert.equal(early.body.status, 'unverified');
    const dkimCheck = early.body.checks.find((c: { purpose: string }) => c.purpose === 'dkim');
    assert.equal(dkimCheck.status, 'missing');
    assert.match(dkimCheck.fix, /_domainkey\.shop\.test/);

    w.dns.setZone(zoneFor(added.body.records, baseZone()));
    const changed = w.events.waitFor((e) => e.type === 'domain.verification_changed' && e.data.domain === 'shop.test' && e.data.after === 'verified');
    const verified = await admin('POST', '/domains/shop.test/verify');
    assert.equal(verified.body.status, 'verified', JSON.stringify(verified.body.checks.filter((c: { status: string }) => c.status !== 'ok')));
    await changed;

    const sent = await call(w.base, 'POST', '/api/v1/messages', {
      key: sendKey,
      body: { from: 'Shop <orders@shop.test>', to: ['ann@a.test', 'bob@a.test'], subject: 'Your order', text: 'Thanks!' },
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    await w.events.finished(sent.body.id, 2);
    const atSink = w.a.messages.filter((m) => m.rcptTo.includes('ann@a.test') || m.rcptTo.includes('bob@a.test')).slice(-2);
    assert.equal(atSink.length, 2, 'one transaction per recipient');

    const keys: KeyRecords = {};
    for (const r of added.body.records.filter((x: { purpose: string }) => x.purpose === 'dkim')) keys[r.name] = r.value;
    const detail = await call(w.base, 'GET', `/api/v1/messages/${sent.body.id}`, { key: w.adminKey });
    const annRow = detail.body.recipients.find((r: { address: string }) => r.address === 'ann@a.test');
    assert.ok(annRow);
    for (const m of atSink) {
      const [local, domain] = m.mailFrom.split('@');
      assert.equal(domain, 'bounces.shop.test');
      assert.equal(parseReturnPath(Buffer.alloc(0), local), null, 'the return path is signed with the installation secret');
      assert.match(m.raw.toString(), /^DKIM-Signature: v=1; a=rsa-sha256;[^]*d=shop\.test/m);
      assert.match(m.raw.toString(), /a=ed25519-sha256/);
      if (!missingPeers('python3-dkim')) {
        const verdicts = await verifyWithDkimpy(m.raw, keys);
        assert.deepEqual(verdicts.map((v) => v.result), ['pass', 'pass'], JSON.stringify(verdicts));
      }
    }

    // A bounce arrives later at ann's return path, over the MX listener, from a stranger.
    const annMessage = atSink.find((m) => m.rcptTo.includes('ann@a.test'))!;
    const mx = nodemailer.createTransport({ host: '127.0.0.1', port: w.herald.port('mx'), secure: false, ignoreTLS: true });
    const dsn = [
      'From: MAILER-DAEMON@mx.a.test',
      `To: ${annMessage.mailFrom}`,
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
      '',
      '--r',
      'Content-Type: text/plain',
      '',
      'The mailbox is gone.',
      '--r',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.a.test',
      '',
      'Final-Recipient: rfc822; ann@a.test',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 <ann@a.test>: mailbox gone',
      '--r--',
      '',
    ].join('\r\n');
    const bounced = w.events.waitFor((e) => e.type === 'bounced' && e.messageId === sent.body.id && e.recipient === 'ann@a.test');
    const info = await mx.sendMail({ envelope: { from: '', to: [annMessage.mailFrom] }, raw: dsn });
    assert.match(info.response, /^250 /);
    const event = await bounced;
    assert.equal(event.data.late, true);
    assert.equal(event.data.reply, '550 5.1.1 <ann@a.test>: mailbox gone');
    const after = await call(w.base, 'GET', `/api/v1/messages/${sent.body.id}`, { key: w.adminKey });
    const states = Object.fromEntries(after.body.recipients.map((r: { address: string; state: string }) => [r.address, r.state]));
    assert.deepEqual(states, { 'ann@a.test': 'bounced', 'bob@a.test': 'delivered' });

    const forged = annMessage.mailFrom.replace(/\.[0-9a-v]{12}@/, '.000000000000@');
    await assert.rejects(mx.sendMail({ envelope: { from: '', to: [forged] }, raw: dsn }), (err: Error & { response?: string }) => err.response === '550 5.1.1 Recipient address rejected: User unknown');
    mx.close();
  });

  test('multipart mail with attachments (API) and SMTPUTF8 mail (SMTP) arrive with signatures dkimpy accepts', { skip: missingPeers('python3-dkim') || false }, async () => {
    const shown = await admin('GET', '/domains/shop.test');
    assert.equal(shown.body.status, 'verified', 'the previous test verified shop.test');
    const keys: KeyRecords = {};
    for (const r of shown.body.records.filter((x: { purpose: string }) => x.purpose === 'dkim')) keys[r.name] = r.value;

    const multipart = await call(w.base, 'POST', '/api/v1/messages', {
      key: sendKey,
      body: {
        from: 'Shop <orders@shop.test>',
        to: 'multi@a.test',
        subject: 'Invoice attached',
        text: 'See the attachment.',
        html: '<p>See the <b>attachment</b>.</p>',
        attachments: [{ filename: 'invoice.pdf', content: Buffer.from('%PDF-1.4 not really').toString('base64'), content_type: 'application/pdf' }],
      },
    });
    assert.equal(multipart.status, 202, JSON.stringify(multipart.body));
    await w.events.finished(multipart.body.id, 1);

    const cred = await w.herald.credentials.create({ name: 'utf8-sender' });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: w.herald.port('submission'), requireTLS: true, auth: { user: cred.username!, pass: cred.password! }, tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({ from: 'Zoë Ångström <zoë@shop.test>', to: 'jörg@a.test', subject: 'Grüße aus Köln', text: 'Schöne Grüße!' });
    transport.close();
    const utf8Id = /queued as ([0-9a-z]{26})/.exec(info.response)![1];
    await w.events.finished(utf8Id, 1);

    for (const rcpt of ['multi@a.test', 'jörg@a.test']) {
      const m = w.a.messages.find((x) => x.rcptTo.includes(rcpt));
      assert.ok(m, `${rcpt} got the message`);
      const verdicts = await verifyWithDkimpy(m.raw, keys);
      assert.deepEqual(verdicts.map((v) => v.result), ['pass', 'pass'], `${rcpt}: ${JSON.stringify(verdicts)}`);
    }
    assert.match(w.a.messages.find((x) => x.rcptTo.includes('multi@a.test'))!.raw.toString(), /multipart\/mixed/);
  });

  test('the domain API is scoped to the account and checks its input', async () => {
    const other = await w.herald.accounts.create({ name: 'other-domains' });
    const otherAdmin = (await w.herald.accounts.createApiKey({ accountId: other.id, name: 'admin', scope: 'admin' })).key;
    const res = await call(w.base, 'GET', '/api/v1/domains/shop.test', { key: otherAdmin });
    assert.equal(res.status, 404);
    const taken = await call(w.base, 'POST', '/api/v1/domains', { key: otherAdmin, body: { name: 'shop.test' } });
    assert.equal(taken.status, 409);
    const bad = await admin('POST', '/domains', { name: 'not a domain' });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.field, 'name');
    const list = await admin('GET', '/domains');
    assert.ok(list.body.domains.some((d: { name: string }) => d.name === 'shop.test'));
  });
});
