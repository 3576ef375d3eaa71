export type DkimAlgorithm = 'rsa' | 'ed25519';
/** The DKIM-Signature `a=` tag a key signs with. */
export type SigningAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/**
 * A key's life: `pending` (made by a rotation, waiting for its record to be published),
 * `active` (signs), `retiring` (replaced; its record must stay published until `retireAt` so
 * mail signed with it still verifies), `retired` (private key destroyed; kept only so the
 * selector is never reused).
 */
export type DkimKeyState = 'pending' | 'active' | 'retiring' | 'retired';

export interface DkimKeyView {
  selector: string;
  algorithm: DkimAlgorithm;
  state: DkimKeyState;
  /** The record's `p=` value: base64 SPKI (RSA) or the raw 32-byte key in base64 (Ed25519, RFC 8463). */
  publicKey: string;
  /** `<selector>._domainkey.<domain>` */
  recordName: string;
  /** `v=DKIM1; k=…; p=…` */
  recordValue: string;
  createdAt: Date;
  activatedAt: Date | null;
  /** For a retiring key: when it becomes retired. */
  retireAt: Date | null;
}

/**
 * `unverified`: never verified, or failing for longer than the grace period.
 * `verified`: the last conclusive check passed.
 * `failing`: was verified, a later check found a required record missing or wrong; mail is still
 * signed and allowed until `sendingStopsAt`, so a DNS slip does not stop sending at once.
 */
export type DomainStatus = 'unverified' | 'verified' | 'failing';

export interface DomainView {
  id: string;
  accountId: string;
  /** Lowercase A-label form. */
  name: string;
  /** Where bounces come back (the envelope sender's domain): `bounces.<name>` by default. */
  returnPath: string;
  status: DomainStatus;
  /** When the domain became verified (kept while failing; null once unverified). */
  verifiedAt: Date | null;
  /** When a verified domain's checks started failing. */
  failingSince: Date | null;
  /** For a failing domain: when it stops being allowed to send unless fixed. */
  sendingStopsAt: Date | null;
  /** The last check's time and result (null before the first). */
  checkedAt: Date | null;
  verification: VerificationResult | null;
  /** Pending, active and retiring keys (retired ones are left out). */
  dkim: DkimKeyView[];
  createdAt: Date;
}

export interface AddDomainOptions {
  /** Default `bounces.<name>`; must be a subdomain of the domain. */
  returnPath?: string;
  /** Default `['rsa']`; both give two signatures per message. */
  dkim?: DkimAlgorithm[];
}

/** What the DKIM signer needs for one signature. `domain` is the `d=` tag. */
export interface SigningKey {
  domain: string;
  selector: string;
  algorithm: SigningAlgorithm;
  /** PKCS#8 PEM. */
  privateKey: string;
}

export type RecordPurpose = 'dkim' | 'spf' | 'return-path-spf' | 'return-path-mx' | 'dmarc' | 'tracking';
export type RecordType = 'TXT' | 'MX' | 'CNAME';

/** One record to publish, as a DNS panel asks for it. */
export interface DnsRecord {
  /** Fully qualified, without the trailing dot. */
  name: string;
  type: RecordType;
  /** TXT: the text; MX: "<priority> <host>"; CNAME: the target host. */
  value: string;
  purpose: RecordPurpose;
  /** Plain words: what the record is for and how to enter it. */
  why: string;
  /** Needed for the domain to count as verified. */
  required: boolean;
  /** DKIM only: which key the record publishes. */
  selector?: string;
}

/**
 * `error`: the lookup failed for a reason that is usually temporary (SERVFAIL, timeout), so the
 * check tells nothing either way; a domain's status is not changed by it.
 */
export type RecordStatus = 'ok' | 'missing' | 'wrong' | 'error';

export interface RecordCheck {
  purpose: RecordPurpose;
  name: string;
  type: RecordType;
  /** The value Herald wants at `name`. */
  expected: string;
  /** What DNS holds (TXT: each record's strings joined; MX: "<priority> <host>"). */
  found: string[];
  status: RecordStatus;
  required: boolean;
  /** What is wrong, in a full sentence (missing/wrong/error). */
  problem?: string;
  /** What to do, naming the exact record (missing/wrong). */
  fix?: string;
  /** A remark on a record that is ok. */
  note?: string;
  selector?: string;
}

export interface VerificationResult {
  /** Every required record is ok. */
  ok: boolean;
  checkedAt: Date;
  records: RecordCheck[];
}

/** What Herald needs to know about itself to plan and check records. */
export interface DnsContext {
  /** Herald's public host name: its MX listener, and its address for SPF when no IPs are given. */
  heraldHostname: string;
  /** Addresses (or networks) Herald sends from; SPF then lists them as ip4:/ip6: instead of a:host. */
  sendingIps?: string[];
  /** Where `track.<domain>` should point; default `heraldHostname`. */
  trackingHost?: string;
}

/** The record plan's view of what is published now. `undefined`: not known (the lookup failed). */
export interface RecordContext extends DnsContext {
  /** The domain's SPF record (several are merged into one first); null when it has none. */
  existingSpf?: string | null;
  /** A DMARC record already covers the domain (no starter record is proposed). */
  existingDmarc?: boolean;
  /** The return-path domain's SPF record; null when it has none. */
  existingReturnPathSpf?: string | null;
}

/** What `recordVerification` did with a result. */
export interface VerificationOutcome {
  domain: DomainView;
  before: DomainStatus;
  after: DomainStatus;
  /** Records whose status changed since the last conclusive check of each (ok ↔ missing ↔ wrong). */
  changed: RecordCheck[];
  /** Selectors of rotated keys activated because their record is now published. */
  activated: string[];
  /** Selectors retired (private key destroyed) because their grace period ended. */
  retired: string[];
}

/** What the monitor reports when a domain's status or one of its records changes. */
export interface DomainChange {
  accountId: string;
  domain: string;
  before: DomainStatus;
  after: DomainStatus;
  checkedAt: Date;
  /** Every record as just checked. */
  records: RecordCheck[];
  changed: RecordCheck[];
}
