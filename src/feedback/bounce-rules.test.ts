import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/index.js';
import { classifyBounce, parseReply } from '../core/index.js';
import { bounceReasonClass } from '../notify/index.js';
import { loadBounceRules, parseBounceRules } from './bounce-rules.js';

const shipped = loadBounceRules();

function tempFile(t: { after(fn: () => void): void }, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-rules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rules.json');
  writeFileSync(file, content);
  return file;
}

test('the shipped rules read the usual bounce texts', () => {
  const cases: [subject: string, text: string, rule: string][] = [
    ['Undeliverable: Your order', '550 5.1.1 <ann@a.example>: Recipient address rejected: User unknown in virtual mailbox table', 'mailbox-unknown'],
    ['Delivery Status Notification (Failure)', "The email account that you tried to reach does not exist. Please try double-checking the recipient's email address.", 'mailbox-unknown'],
    ['failure notice', 'Sorry, no mailbox here by that name. (#5.1.1)', 'mailbox-unknown'],
    ['Mail delivery failed', '552 1 Requested mail action aborted, mailbox not found', 'mailbox-unknown'],
    ['Undelivered Mail', 'The email account that you tried to reach is over quota.', 'mailbox-full'],
    ['Returned mail', 'Mailbox is full / Blocks limit exceeded / Inode limit exceeded', 'mailbox-full'],
    ['Returned mail', 'This account has been disabled or discontinued', 'mailbox-disabled'],
    ['Undeliverable', 'Host or domain name not found. Name service error for name=a.example type=MX', 'domain-not-found'],
    ['Undeliverable', 'Client host [192.0.2.10] blocked using zen.spamhaus.org', 'blocklisted'],
    ['Undeliverable', 'Our system has detected that this message is likely unsolicited mail.', 'spam-content'],
    ['Undeliverable', 'Unauthenticated email from shop.example is not accepted due to domain\'s DMARC policy', 'authentication-policy'],
    ['Undeliverable', 'Message size exceeds fixed maximum message size', 'message-too-large'],
    ['Undeliverable', 'Rejected for policy reasons', 'policy'],
    ['Automatic reply: Your order', 'I am out until Monday.', 'auto-reply'],
    ['Out of Office', 'Back on the 3rd.', 'auto-reply'],
    ['Warning: message delayed', 'This is a warning message only. YOU DO NOT NEED TO RESEND YOUR MESSAGE.', 'delivery-delayed'],
  ];
  for (const [subject, text, name] of cases) {
    assert.equal(shipped.match(subject, text)?.rule.name, name, `${subject} / ${text}`);
  }
  assert.equal(shipped.match('Hello', 'Thanks for your mail.'), null, 'no rule guesses at ordinary words');
});

test('policy words in the returned original are not the bounce: its text ends where the copy starts', () => {
  const text = [
    'This message was created automatically by mail delivery software.',
    'A message that you sent could not be delivered to one or more of its recipients.',
    '  ann@a.example',
    '    no such user here',
    '',
    '------ This is a copy of the message, including all the headers. ------',
    'X-Spam-Status: No, score=-0.1',
    'DKIM-Signature: v=1; a=rsa-sha256; d=shop.example',
  ].join('\n');
  const match = shipped.match('Mail delivery failed: returning message to sender', text);
  assert.equal(match?.rule.name, 'mailbox-unknown');
  assert.equal(match?.excerpt, 'no such user here');
});

test('every shipped rule agrees with the classification downstream: hard or soft, and the public bounce class', () => {
  for (const rule of shipped.rules) {
    if (rule.type === 'ignore') continue;
    const reply = parseReply(`550 ${rule.status} ${rule.description}`);
    assert.equal(classifyBounce(reply, 'recipient'), rule.type, rule.name);
    assert.equal(bounceReasonClass(reply), rule.class, rule.name);
  }
});

test('an operator’s file comes first, then the shipped rules', (t) => {
  const file = tempFile(
    t,
    JSON.stringify({
      rules: [{ name: 'acme-gone', pattern: 'has left acme', status: '5.1.1', type: 'hard', class: 'mailbox_unknown', description: 'The recipient has left the company' }],
    }),
  );
  const rules = loadBounceRules(file);
  assert.equal(rules.rules[0].name, 'acme-gone');
  assert.equal(rules.rules[0].source, file);
  assert.equal(rules.rules.length, shipped.rules.length + 1);
  assert.equal(rules.match('', 'Ann has left ACME, mailbox is full')?.rule.name, 'acme-gone', 'case-insensitive, and ahead of mailbox-full');
  assert.equal(rules.match('', 'mailbox is full')?.rule.name, 'mailbox-full');
});

test('a bad file is refused with the rule named', (t) => {
  const rule = { name: 'x', pattern: 'gone', status: '5.1.1', type: 'hard', class: 'mailbox_unknown', description: 'Gone' };
  const refused = (rules: unknown, message: RegExp) => assert.throws(() => parseBounceRules(JSON.stringify(rules), '/etc/herald/rules.json'), (err: Error) => err instanceof ConfigError && message.test(err.message));
  refused({ rules: [rule, { ...rule, name: 'broken', pattern: '(unclosed' }] }, /HERALD_BOUNCE_RULES \(\/etc\/herald\/rules\.json\): rule 2 "broken": "pattern" is not a valid regular expression/);
  refused([{ ...rule, pattern: 'a|' }], /rule 1 "x": "pattern" matches empty text/);
  refused([{ ...rule, type: 'permanent' }], /"type" must be one of hard, soft, ignore/);
  refused([{ ...rule, status: '4.2.2' }], /"status" must be a permanent enhanced status code/);
  refused([{ ...rule, status: '5.2.2', description: 'Mailbox full' }], /status 5\.2\.2 with this description is a soft bounce .* but the rule says hard/);
  refused([{ ...rule, type: 'ignore' }], /an "ignore" rule records nothing, so it takes no "status"/);
  refused([rule, { ...rule }], /rule 2 "x": another rule in the file has this name/);
  refused([{ ...rule, colour: 'red' }], /unknown field "colour"/);
  refused({ rule: [] }, /expected \{"rules": \[ … \]\}/);
  assert.throws(() => parseBounceRules('{ nope', 'r.json'), /HERALD_BOUNCE_RULES \(r\.json\): not valid JSON/);
  assert.throws(() => loadBounceRules(join(tmpdir(), 'no-such-herald-rules.json')), /HERALD_BOUNCE_RULES: cannot read .*no-such-herald-rules\.json/);
  const bad = tempFile(t, JSON.stringify([{ ...rule, pattern: '[' }]));
  assert.throws(() => loadBounceRules(bad), /rule 1 "x": "pattern" is not a valid regular expression/);
});
