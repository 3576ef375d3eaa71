/**
 * Feedback reports (ARF, RFC 5965) shaped like the ones mailbox providers send: Microsoft's
 * JMRP ("Hotmail FBL", the recipient redacted, the whole message returned), Yahoo's (the
 * returned message's header only, as text/rfc822-headers), and the RFC's own example.
 */

export interface ReportOptions {
  /** The returned original's header fields, CRLF-joined (Return-Path, Message-ID, To, …). */
  originalHeader: string;
  feedbackType?: string;
  to?: string;
  /** 'message' returns the whole message (message/rfc822); 'headers' only its header (text/rfc822-headers). */
  returned?: 'message' | 'headers';
  userAgent?: string;
  /** Extra feedback-report fields (Original-Rcpt-To, Source-IP, …). */
  fields?: string[];
  messageId?: string;
}

export function feedbackReport(options: ReportOptions): Buffer {
  const returned = options.returned ?? 'message';
  const lines = [
    'From: "Mail Feedback" <feedback@fbl.mail.example>',
    `To: ${options.to ?? 'fbl@bounces.shop.example'}`,
    'Subject: Email abuse report',
    `Message-ID: ${options.messageId ?? '<report-1@fbl.mail.example>'}`,
    'Date: Tue, 01 Jan 2030 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report;',
    '\tboundary="----=_Part_42"',
    '',
    'This is a multi-part message in MIME format.',
    '',
    '------=_Part_42',
    'Content-Type: text/plain; charset="us-ascii"',
    'Content-Transfer-Encoding: 7bit',
    '',
    'This is an email abuse report for an email message received from IP 192.0.2.10 on Tue, 01 Jan 2030 09:00:00 +0000.',
    'For more information about this format please see http://www.mipassoc.org/arf/.',
    '',
    '------=_Part_42',
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${options.feedbackType ?? 'abuse'}`,
    `User-Agent: ${options.userAgent ?? 'Hotmail FBL'}`,
    'Version: 1',
    'Arrival-Date: Tue, 01 Jan 2030 09:00:00 +0000',
    'Reporting-MTA: dns; mx.fbl.mail.example',
    'Source-IP: 192.0.2.10',
    'Reported-Domain: shop.example',
    ...(options.fields ?? []),
    '',
    '------=_Part_42',
    returned === 'message' ? 'Content-Type: message/rfc822' : 'Content-Type: text/rfc822-headers',
    'Content-Disposition: inline',
    '',
    options.originalHeader,
    ...(returned === 'message' ? ['', 'Hello, your order has shipped.'] : []),
    '',
    '------=_Part_42--',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}
