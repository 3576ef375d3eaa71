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

/** A file attached to an API message. `content` is base64; nothing is ever read from a path or URL. */
export interface AttachmentInput {
  filename: string;
  content: string;
  contentType?: string;
  /** Makes the attachment inline, referenced from the HTML as `cid:<contentId>`. */
  contentId?: string;
}

/** Which template an API message is rendered from, and the data to render it with. */
export interface TemplateRef {
  id?: string;
  alias?: string;
  data?: Record<string, unknown>;
}

/**
 * A message described field by field (the HTTP API), composed into MIME by the pipeline.
 * Addresses are `addr@example.com` or `Name <addr@example.com>`.
 */
export interface MessageContent {
  from: string;
  to: string[];
  cc?: string[];
  bcc?: string[];
  replyTo?: string[];
  subject?: string;
  text?: string;
  html?: string;
  /** Extra header fields; names and values are checked, never passed through unchecked. */
  headers?: Record<string, string>;
  attachments?: AttachmentInput[];
  template?: TemplateRef;
}

export type MessageStream = 'transactional' | 'broadcast';

/** One message handed to the accept pipeline by an edge (SMTP `receive/` or HTTP `api/`). */
export interface Submission {
  source: 'smtp' | 'api';
  accountId: string;
  /** Envelope sender, '' for <>. For `content` submissions the pipeline derives it from `from`. */
  mailFrom: string;
  /** Envelope recipients. For `content` submissions the pipeline derives them from to/cc/bcc. */
  recipients: string[];
  /** The message as received: for SMTP, the DATA bytes after dot-unstuffing. Empty for `content`. */
  body: Buffer;
  /** Set instead of `body` when the message is described field by field (the HTTP API). */
  content?: MessageContent;
  tags?: string[];
  metadata?: Record<string, string>;
  stream?: MessageStream;
  /** Scheduled sending: no delivery attempt before this time. */
  sendAt?: Date;
  /** Open and click tracking chosen by the API request; what it leaves out comes from the account. */
  tracking?: { opens?: boolean; links?: 'none' | 'html_only' | 'text_only' | 'html_and_text' };
  receivedAt: Date;
  smtp?: SmtpClientInfo;
  /** The SMTP DATA stream already reported a line longer than the limit. */
  lineTooLong?: boolean;
}

export interface Accepted {
  id: MessageId;
  recipients: string[];
  /** Recipients left out because they are on the account's suppression list for the stream. */
  suppressed: { address: string; reason: string }[];
}

/** The accept pipeline: resolves once the message is durable, or rejects with an SmtpRejection. */
export interface AcceptPipeline {
  accept(submission: Submission): Promise<Accepted>;
}

/** A DKIM key to sign with (the sending domain's active keys). */
export interface SigningIdentity {
  domain: string;
  selector: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  /** PKCS#8 PEM. */
  privateKey: string;
}

/** The sending-domain lookups the pipeline needs (the domains room answers them). */
export interface SenderDomains {
  /** Development mode: the account may send as anything, even without a From (local testing only). */
  developmentMode(accountId: string): Promise<boolean>;
  /** The account may send as this domain (verified, a subdomain of one, or development mode). */
  isSenderAllowed(accountId: string, domain: string): Promise<boolean>;
  /** The keys to sign mail from this domain with; null when the domain is not verified for the account. */
  signingKeysFor(accountId: string, domain: string): Promise<SigningIdentity[] | null>;
  /** The bounce domain for mail from this domain; null when none. */
  returnPathFor(accountId: string, domain: string): Promise<string | null>;
  /** The host for tracking links in mail from this domain (its verified `track.` CNAME); null when none. */
  trackingHostFor(accountId: string, domain: string): Promise<string | null>;
}

/** The account's tracking defaults, for messages that do not choose (the accounts room answers). */
export interface TrackingDefaults {
  trackingFor(accountId: string): Promise<{ opens: boolean; links: boolean }>;
}

/** The account's suppression list, as the pipeline consults it (the suppression room answers). */
export interface SuppressionCheck {
  check(accountId: string, stream: MessageStream, addresses: readonly string[]): Promise<Map<string, { reason: string }>>;
}
