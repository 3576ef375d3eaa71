import type { MessageId } from '../core/index.js';

/** Which edge a message came through. */
export type ListenerKind = 'submission' | 'submissions' | 'mx';

/** Facts about the SMTP client, for the Received header and the queue listing. */
export interface SmtpClientInfo {
  ip: string;
  /** The EHLO/HELO name the client gave. */
  helo?: string;
  listener: ListenerKind;
  /** TLS protocol and cipher when the session was encrypted. */
  tls?: { protocol: string; cipher: string };
  /** The SMTP credential's username when the client authenticated. */
  authUser?: string;
  /** The credential (by id) that allowed this client to relay: AUTH or a network credential. */
  credentialId?: string;
}

/** One message handed to the accept pipeline by an edge (SMTP `receive/` or HTTP `api/`). */
export interface Submission {
  source: 'smtp' | 'api';
  accountId: string;
  /** Envelope sender, '' for <>. */
  mailFrom: string;
  recipients: string[];
  /** The message as received: for SMTP, the DATA bytes after dot-unstuffing. */
  body: Buffer;
  receivedAt: Date;
  smtp?: SmtpClientInfo;
  /** The SMTP DATA stream already reported a line longer than the limit. */
  lineTooLong?: boolean;
}

export interface Accepted {
  id: MessageId;
  recipients: string[];
}

/** The accept pipeline: resolves once the message is durable, or rejects with an SmtpRejection. */
export interface AcceptPipeline {
  accept(submission: Submission): Promise<Accepted>;
}
