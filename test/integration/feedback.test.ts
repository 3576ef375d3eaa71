/**
 * Feedback end to end, over real SMTP to Herald's MX listener: mail from a verified domain goes
 * out with per-recipient return paths; later a mailbox provider's feedback loop sends an ARF
 * complaint to fbl@ the bounce domain (→ a `complained` event and a suppression on both streams),
 * and a server sends a free-text bounce to a return path (→ `bounced`, read by the bounce rule
 * table). Each is kept as an inbound record, read back over the API with the
 * Authentication-Results Herald added.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/index.js';
import { startHerald } from '../../src/main.js';
import { call, startApiWorld, type ApiWorld } from '../support/api.js';
import { feedbackReport } from '../support/arf.js';
import { zoneFor } from '../support/domain-zone.js';
import { dataDirEnv } from '../support/engine.js';
import { heraldEnv, tempDir } from '../support/herald.js';
import { runCli } from '../support/processes.js';

describe('feedback: complaints, free-text bounces, inbound records', () => {
  let w: ApiWorld;
  let rulesDir: string;
  let mx: ReturnType<typeof nodemailer.createTransport>;
  const sent: { id: string; returnPath: Record<string, string>; raw: Record<string, Buffer> } = { id: '', returnPath: {}, raw: {} };
  const admin = (method: string, path: string, body?: unknown) => call(w.base, method, `/api/v1${path}`, { key: w.adminKey, body });

  before(async () => {
    // An operator's own rule, tried before the shipped ones.
    rulesDir = tempDir('herald-rules-');
    const rules = join(rulesDir, 'rules.json');
    writeFileSync(rules, JSON.stringify({ rules: [{ name: 'left-company', pattern: 'has left the building', status: '5.1.1', type: 'hard', class: 'mailbox_unknown', description: 'The recipient has left' }] }));
    w = await startApiWorld({ HERALD_BOUNCE_RULES: rules });
    await w.herald.domains.setDevelopmentMode('default', false);

    const added = await admin('POST', '/domains', { name: 'shop.test' });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    // The feedback loop's own domain passes SPF from loopback, where the reports come from.
    w.dns.setZone(zoneFor(added.body.records, {
      'a.test': { MX: [{ preference: 10, exchange: 'mx.a.test' }] },
      'mx.a.test': { A: ['127.0.0.2'] },
      'herald.test': { A: ['127.0.0.1'] },
      'fbl.mail.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    }));
    const verified = await admin('POST', '/domains/shop.test/verify');
    assert.equal(verified.body.status, 'verified', JSON.stringify(verified.body.checks));

    const res = await admin('POST', '/messages', { from: 'Shop <orders@shop.test>', to: ['ann@a.test', 'bob@a.test'], subject: 'Big sale', text: 'Everything must go.', tags: ['big-sale'] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    sent.id = res.body.id;
    await w.events.finished(sent.id, 2);
    for (const m of w.a.messages.filter((m) => m.rcptTo.some((r) => r === 'ann@a.test' || r === 'bob@a.test'))) {
      sent.returnPath[m.rcptTo[0]] = m.mailFrom;
      sent.raw[m.rcptTo[0]] = m.raw;
    }
    assert.deepEqual(Object.keys(sent.returnPath).sort(), ['ann@a.test', 'bob@a.test']);
    mx = nodemailer.createTransport({ host: '127.0.0.1', port: w.herald.port('mx'), secure: false, ignoreTLS: true, name: 'mx.fbl.mail.test' });
  });

  after(async () => {
    mx?.close();
    await w?.close();
    rmSync(rulesDir, { recursive: true, force: true });
  });

  test('an ARF report to fbl@ the bounce domain: complained, suppressed on both streams, kept with its verdicts', async () => {
    // The provider returns the message as its recipient got it: with the Return-Path it was delivered with.
    const returned = `Return-Path: <${sent.returnPath['ann@a.test']}>\r\n${sent.raw['ann@a.test'].toString()}`;
    const header = returned.slice(0, returned.indexOf('\r\n\r\n'));
    const report = feedbackReport({ originalHeader: header, to: 'fbl@bounces.shop.test', returned: 'headers' });
    const complained = w.events.waitFor((e) => e.type === 'complained' && e.messageId === sent.id);
    const info = await mx.sendMail({ envelope: { from: 'feedback@fbl.mail.test', to: ['fbl@bounces.shop.test'] }, raw: report });
    assert.match(info.response, /^250 /);
    const event = await complained;
    assert.equal(event.recipient, 'ann@a.test');
    assert.equal(event.data.feedbackType, 'abuse');
    assert.equal(event.data.userAgent, 'Hotmail FBL');
    assert.deepEqual(event.data.authentication, { spf: 'pass', dkim: 'none', dmarc: 'none', arc: 'none' });

    // The same report again (our 250 got lost, say): accepted, not counted twice.
    await mx.sendMail({ envelope: { from: 'feedback@fbl.mail.test', to: ['fbl@bounces.shop.test'] }, raw: report });
    const timeline = await admin('GET', `/messages/${sent.id}`);
    assert.equal(timeline.status, 200);
    const complaints = (await w.herald.store.eventsOf(sent.id, 100)).filter((e) => e.type === 'complained');
    assert.equal(complaints.length, 1);

    await w.herald.suppressionFeeder.runOnce();
    const suppressed = await admin('GET', '/suppressions/ann@a.test');
    assert.equal(suppressed.status, 200, JSON.stringify(suppressed.body));
    assert.deepEqual(suppressed.body.suppressions.map((s: { stream: string; reason: string }) => `${s.stream} ${s.reason}`).sort(), ['broadcast complaint', 'transactional complaint']);
    assert.equal((await admin('GET', '/suppressions/bob@a.test')).status, 404);

    // The webhook / pull API payload leads to the report.
    const pulled = await admin('GET', '/events?type=message.complained');
    const publicEvent = pulled.body.events.find((e: { data: { message_id: string } }) => e.data.message_id === sent.id);
    assert.equal(publicEvent.data.feedback_type, 'abuse');
    const record = await admin('GET', `/inbound/${publicEvent.data.inbound_id}`);
    assert.equal(record.status, 200);
    assert.equal(record.body.kind, 'arf');
    assert.equal(record.body.message_id, sent.id);
    assert.equal(record.body.recipient, 'ann@a.test');
    assert.equal(record.body.mail_from, 'feedback@fbl.mail.test');
    assert.deepEqual(record.body.recipients, ['fbl@bounces.shop.test']);
    assert.equal(record.body.helo, 'mx.fbl.mail.test');
    assert.deepEqual(record.body.authentication, { spf: 'pass', dkim: 'none', dmarc: 'none', arc: 'none' });

    const raw = await fetch(`${w.base}/api/v1/inbound/${record.body.id}/raw`, { headers: { authorization: `Bearer ${w.adminKey}` } });
    assert.equal(raw.status, 200);
    assert.equal(raw.headers.get('content-type'), 'message/rfc822');
    const text = await raw.text();
    assert.match(text, /^Received-SPF: pass /);
    assert.match(text, /\r\nAuthentication-Results: herald\.test;[^]*\r\n spf=pass [^]*smtp\.mailfrom=feedback@fbl\.mail\.test/);
    assert.ok(text.includes('Content-Type: message/feedback-report'), 'the report follows as received');
  });

  test('a free-text bounce to a return path: bounced, classified by the rule table, the event naming the rule', async () => {
    const bounce = [
      'From: Mail Delivery System <MAILER-DAEMON@mx.a.test>',
      `To: ${sent.returnPath['bob@a.test']}`,
      'Subject: Mail delivery failed: returning message to sender',
      '',
      'This message was created automatically by mail delivery software.',
      '',
      '  bob@a.test',
      '    Mailbox is full: retry timeout exceeded',
      '',
      '------ This is a copy of the message, including all the headers. ------',
      sent.raw['bob@a.test'].toString(),
    ].join('\r\n');
    const bounced = w.events.waitFor((e) => e.type === 'bounced' && e.messageId === sent.id && e.recipient === 'bob@a.test');
    const info = await mx.sendMail({ envelope: { from: '', to: [sent.returnPath['bob@a.test']] }, raw: bounce });
    assert.match(info.response, /^250 /);
    const event = await bounced;
    assert.equal(event.data.late, true);
    assert.equal(event.data.reply, "550 5.2.2 The recipient's mailbox is full");
    assert.deepEqual(event.data.rule, { name: 'mailbox-full', class: 'mailbox_full', matched: 'Mailbox is full: retry timeout exceeded' });

    const pulled = await admin('GET', '/events?type=message.bounced');
    const publicEvent = pulled.body.events.find((e: { data: { recipient: string; message_id: string } }) => e.data.message_id === sent.id && e.data.recipient === 'bob@a.test');
    assert.deepEqual(publicEvent.data.bounce, { type: 'soft', class: 'mailbox_full', diagnostic: "The recipient's mailbox is full", late: true });
    assert.equal(publicEvent.data.rule.name, 'mailbox-full');

    const list = await admin('GET', `/inbound?kind=free_text_bounce&message_id=${sent.id}`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.inbound.map((r: { id: string; recipient: string }) => [r.id, r.recipient]), [[publicEvent.data.inbound_id, 'bob@a.test']]);
    assert.equal(list.body.inbound[0].subject, 'Mail delivery failed: returning message to sender');
    const state = await admin('GET', `/messages/${sent.id}`);
    assert.equal(state.body.recipients.find((r: { address: string }) => r.address === 'bob@a.test').state, 'bounced');

    // Statistics: both delivered, then Ann complained (once, though reported twice) and Bob's mailbox was full.
    await w.herald.statsFeeder.runOnce();
    const stats = await admin('GET', '/stats?group_by=tag&tag=big-sale');
    assert.equal(stats.status, 200, JSON.stringify(stats.body));
    const { sent: sentCount, delivered, complained, bounced_hard, bounced_soft } = stats.body.totals;
    assert.deepEqual({ sent: sentCount, delivered, complained, bounced_hard, bounced_soft }, { sent: 2, delivered: 2, complained: 1, bounced_hard: 0, bounced_soft: 1 });
  });

  test('a report about nothing of ours, and a letter to postmaster@, are accepted and kept; nothing is recorded', async () => {
    const before = (await w.herald.store.readEvents(0, 10_000)).length;
    const stranger = feedbackReport({ originalHeader: 'Return-Path: <bounce@elsewhere.test>\r\nMessage-ID: <x@elsewhere.test>', to: 'abuse@bounces.shop.test' });
    assert.match((await mx.sendMail({ envelope: { from: 'feedback@fbl.mail.test', to: ['abuse@bounces.shop.test'] }, raw: stranger })).response, /^250 /);
    const letter = 'From: ann@a.test\r\nTo: postmaster@bounces.shop.test\r\nSubject: who are you?\r\n\r\nPlease tell me.\r\n';
    assert.match((await mx.sendMail({ envelope: { from: 'ann@a.test', to: ['postmaster@bounces.shop.test'] }, raw: letter })).response, /^250 /);
    assert.equal((await w.herald.store.readEvents(0, 10_000)).length, before);
    const kinds = (await admin('GET', '/inbound?limit=2')).body.inbound.map((r: { kind: string; subject: string }) => `${r.kind}: ${r.subject}`);
    assert.deepEqual(kinds, ['other: who are you?', 'arf: Email abuse report']);
    // Any other name at the bounce domain is still an unknown user.
    await assert.rejects(mx.sendMail({ envelope: { from: 'ann@a.test', to: ['sales@bounces.shop.test'] }, raw: letter }), (err: Error & { response?: string }) => /^550 5\.1\.1 /.test(err.response ?? ''));
  });

  test('herald inbound list and show read the same records from the data directory', async () => {
    const env = dataDirEnv(w.herald.env.HERALD_DATA_DIR);
    const listed = await runCli(['inbound', 'list', '--kind', 'arf', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const records = listed.json().inbound as { id: string; messageId: string | null }[];
    const complaint = records.find((r) => r.messageId === sent.id)!;
    assert.ok(complaint, JSON.stringify(records));
    const table = await runCli(['inbound', 'list'], env);
    assert.match(table.stdout, new RegExp(`^${complaint.id}\\s+arf\\s+`, 'm'));

    const shown = await runCli(['inbound', 'show', complaint.id], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /checks: +spf=pass dkim=none dmarc=none arc=none/);
    assert.match(shown.stdout, new RegExp(`about: +message ${sent.id}, recipient ann@a\\.test`));
    const raw = await runCli(['inbound', 'show', complaint.id, '--raw'], env);
    assert.match(raw.stdout, /^Received-SPF: pass [^]*\r\nAuthentication-Results: herald\.test;/);

    const bad = await runCli(['inbound', 'show', 'nope', '--json'], env);
    assert.equal(bad.code, 2);
    assert.equal(JSON.parse(bad.stdout).error.code, 'invalid_id');
  });

  test('a bad HERALD_BOUNCE_RULES file stops start-up, naming the rule', async () => {
    const file = join(rulesDir, 'bad.json');
    writeFileSync(file, JSON.stringify([{ name: 'oops', pattern: '(unclosed', status: '5.1.1', type: 'hard', class: 'mailbox_unknown', description: 'x' }]));
    const env = await heraldEnv({ HERALD_BOUNCE_RULES: file });
    try {
      await assert.rejects(startHerald(loadConfig({ env }).config, { logger: silentLogger }), /HERALD_BOUNCE_RULES \(.*bad\.json\): rule 1 "oops": "pattern" is not a valid regular expression/);
    } finally {
      rmSync(env.HERALD_DATA_DIR, { recursive: true, force: true });
    }
  });
});
