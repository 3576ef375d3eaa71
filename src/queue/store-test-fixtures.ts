import { newMessageId } from '../core/index.js';
import type { NewMessage } from './types.js';

/** What the SQLite and PostgreSQL stores' own tests (beyond the shared contract) start from. */
export const T0 = Date.UTC(2030, 0, 1);
let n = 0;

/** A message to two recipients on two domains, with a time-ordered id. */
export function twoRecipientMessage(over: Partial<NewMessage> = {}): NewMessage {
  return {
    id: newMessageId(T0 + ++n),
    accountId: 'acct-1',
    source: 'smtp',
    mailFrom: 'sender@s.example',
    recipients: ['rcpt@a.example', 'other@b.example'],
    body: Buffer.from('Subject: hi\r\n\r\nhello\r\n'),
    createdAt: new Date(T0),
    expiresAt: new Date(T0 + 86_400_000),
    meta: {},
    ...over,
  };
}
