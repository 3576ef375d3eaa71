import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReply, type FailureScope } from './index.js';
import { classifyBounce } from './bounce-classifier.js';

// Real-world replies (Gmail, Microsoft 365/Outlook, Yahoo, Postfix, Exim, Proofpoint, Mimecast …).
const TABLE: [reply: string, scope: FailureScope, expected: 'hard' | 'soft'][] = [
  ['550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient\'s email address for typos or unnecessary spaces.', 'recipient', 'hard'],
  ['550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table', 'recipient', 'hard'],
  ['550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', 'recipient', 'hard'],
  ['556 5.1.10 Recipient address has null MX', 'site', 'hard'],
  ['550 5.2.1 The email account that you tried to reach is disabled.', 'recipient', 'hard'],
  ['552 5.2.2 The email account that you tried to reach is over quota.', 'recipient', 'soft'],
  ['452 4.2.2 The email account that you tried to reach is over quota.', 'recipient', 'soft'],
  ['550 5.4.1 Recipient address rejected: Access denied. AS(201806281)', 'recipient', 'hard'],
  ['550 5.7.1 Recipient not authorized to receive mail from this sender', 'recipient', 'hard'],
  ['550 5.7.1 [IP] Our system has detected that this message is likely unsolicited mail.', 'message', 'soft'],
  ['554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org', 'recipient', 'soft'],
  ['550 5.7.26 This mail has been blocked because the sender is unauthenticated (DMARC)', 'message', 'soft'],
  ['554 5.7.9 Message not accepted for policy reasons.', 'message', 'soft'],
  ['421 4.7.0 [TSS04] Messages temporarily deferred due to unexpected volume or user complaints', 'site', 'soft'],
  ['451 4.7.1 Greylisting in action, please come back later', 'recipient', 'soft'],
  ['550 Requested action not taken: mailbox unavailable', 'recipient', 'hard'],
  ['550 No such user here', 'recipient', 'hard'],
  ['553 sorry, that domain isn\'t in my list of allowed rcpthosts (#5.7.1)', 'recipient', 'hard'],
  ['552 Message size exceeds fixed maximum message size', 'message', 'soft'],
  ['554 Transaction failed: spam message rejected', 'message', 'soft'],
  ['550 5.0.0 <x@example.com>... User unknown', 'recipient', 'hard'],
  ['550 5.0.0 Mailbox full', 'recipient', 'soft'],
  ['554 5.6.0 Message content rejected', 'message', 'soft'],
  ['550 Mailbox quota exceeded', 'recipient', 'soft'],
  ['550 Message rejected', 'message', 'soft'],
];

test('classification table of real-world replies', () => {
  for (const [raw, scope, expected] of TABLE) {
    assert.equal(classifyBounce(parseReply(raw), scope), expected, raw);
  }
});

test('no reply (a local decision) and 4xx replies are soft', () => {
  assert.equal(classifyBounce(undefined), 'soft');
  assert.equal(classifyBounce(parseReply('450 4.1.1 User unknown (try later)')), 'soft');
});
