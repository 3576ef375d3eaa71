import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFeedbackReport } from './arf.js';
import { feedbackReport } from '../../test/support/arf.js';

const ORIGINAL = [
  'Return-Path: <b+01jz00000000000000000000aa.1.abcdefghijkl@bounces.shop.example>',
  'Received: from mail.shop.example (192.0.2.10) by mx.fbl.mail.example',
  'From: Shop <orders@shop.example>',
  'To: "Ann" <ann@mail.example>, bob@mail.example',
  'Subject: Your order',
  'Message-ID: <01jz00000000000000000000aa@herald.shop.example>',
  'X-Spam-Status: No',
].join('\r\n');

test('a Microsoft-style report: the report fields and the whole returned message', async () => {
  const report = await readFeedbackReport(feedbackReport({ originalHeader: ORIGINAL, fields: ['Original-Mail-From: <b+x@bounces.shop.example>', 'Original-Rcpt-To: <ann@mail.example>'] }));
  assert.ok(report);
  assert.equal(report.feedbackType, 'abuse');
  assert.equal(report.userAgent, 'Hotmail FBL');
  assert.equal(report.version, '1');
  assert.equal(report.originalMailFrom, 'b+x@bounces.shop.example');
  assert.deepEqual(report.originalRcptTo, ['ann@mail.example']);
  assert.equal(report.arrivalDate, 'Tue, 01 Jan 2030 09:00:00 +0000');
  assert.equal(report.reportingMta, 'mx.fbl.mail.example');
  assert.equal(report.sourceIp, '192.0.2.10');
  assert.deepEqual(report.reportedDomains, ['shop.example']);
  assert.equal(report.original?.returnPath, 'b+01jz00000000000000000000aa.1.abcdefghijkl@bounces.shop.example');
  assert.equal(report.original?.messageId, '<01jz00000000000000000000aa@herald.shop.example>');
  assert.deepEqual(report.original?.to, ['ann@mail.example', 'bob@mail.example']);
});

test('a Yahoo-style report: only the returned header (text/rfc822-headers), Received-Date, a not-spam type', async () => {
  const message = feedbackReport({ originalHeader: ORIGINAL, returned: 'headers', userAgent: 'Yahoo!-Mail-Feedback/2.0', feedbackType: 'Not-Spam' });
  const report = await readFeedbackReport(Buffer.from(message.toString().replace('Arrival-Date:', 'Received-Date:')));
  assert.ok(report);
  assert.equal(report.feedbackType, 'not-spam', 'lowercased');
  assert.equal(report.userAgent, 'Yahoo!-Mail-Feedback/2.0');
  assert.equal(report.arrivalDate, 'Tue, 01 Jan 2030 09:00:00 +0000');
  assert.equal(report.original?.messageId, '<01jz00000000000000000000aa@herald.shop.example>');
  assert.equal(report.original?.fields.get('subject')?.[0], 'Your order');
});

test('a report without the returned message still gives its fields; redacted recipients are dropped', async () => {
  const message = feedbackReport({ originalHeader: '', fields: ['Original-Rcpt-To: redacted'] }).toString();
  const withoutPart = message.replace(/------=_Part_42\r\nContent-Type: message\/rfc822[\s\S]*?(?=------=_Part_42--)/, '');
  const report = await readFeedbackReport(Buffer.from(withoutPart));
  assert.ok(report);
  assert.equal(report.original, undefined);
  assert.deepEqual(report.originalRcptTo, []);
});

test('anything that is not a feedback report is null: garbage, a plain message, a DSN, a report without a Feedback-Type', async () => {
  assert.equal(await readFeedbackReport(Buffer.from('\u0000\u00ff garbage \r\n\r\n\r\n')), null);
  assert.equal(await readFeedbackReport(Buffer.alloc(0)), null);
  assert.equal(await readFeedbackReport(Buffer.from('From: ann@mail.example\r\nSubject: please stop\r\n\r\nStop mailing me.\r\n')), null);
  const dsn = feedbackReport({ originalHeader: ORIGINAL }).toString().replace('message/feedback-report', 'message/delivery-status');
  assert.equal(await readFeedbackReport(Buffer.from(dsn)), null);
  const typeless = feedbackReport({ originalHeader: ORIGINAL }).toString().replace('Feedback-Type: abuse\r\n', '');
  assert.equal(await readFeedbackReport(Buffer.from(typeless)), null);
});
