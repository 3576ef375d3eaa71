import { INBOUND_KINDS, silentLogger, systemClock, type Clock, type InboundAuthentication, type InboundKind, type Logger } from '../core/index.js';
import { startSweeper, type Migration, type SqlDatabase, type Sweeper } from '../storage/index.js';

/**
 * The inbound records' table. Its own migration ledger ('feedback-inbound'), so other stores in
 * the feedback room keep theirs apart; each dialect has its own history. Add new versions, never
 * edit an applied one. Times are integer milliseconds since the epoch.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- One row per message the MX listener accepted for Herald's own addresses. Ids are
      -- time-ordered (like message ids), so the primary key is also the listing order and the
      -- paging cursor. raw is the message as received with the Authentication-Results (and
      -- Received-SPF) fields prepended.
      CREATE TABLE inbound_messages (
        id           TEXT PRIMARY KEY,
        received_at  INTEGER NOT NULL,
        client_ip    TEXT NOT NULL,
        helo         TEXT,
        mail_from    TEXT NOT NULL,
        recipients   TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('dsn', 'free_text_bounce', 'arf', 'unsubscribe', 'other')),
        message_id   TEXT,
        account_id   TEXT,
        recipient    TEXT,
        subject      TEXT,
        from_header  TEXT,
        spf          TEXT,
        dkim         TEXT,
        dmarc        TEXT,
        arc          TEXT,
        size         INTEGER NOT NULL,
        raw          BLOB NOT NULL
      );
      CREATE INDEX inbound_messages_received ON inbound_messages (received_at);
      CREATE INDEX inbound_messages_message ON inbound_messages (message_id) WHERE message_id IS NOT NULL;
    `,
  },
];

/** The same table on PostgreSQL: version 1 is the SQLite history's final schema. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- Ids are time-ordered base32 text; COLLATE "C" makes them sort byte by byte, as in
      -- SQLite, so the primary key stays the listing order and the paging cursor.
      CREATE TABLE inbound_messages (
        id           TEXT COLLATE "C" PRIMARY KEY,
        received_at  BIGINT NOT NULL,
        client_ip    TEXT NOT NULL,
        helo         TEXT,
        mail_from    TEXT NOT NULL,
        recipients   TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('dsn', 'free_text_bounce', 'arf', 'unsubscribe', 'other')),
        message_id   TEXT,
        account_id   TEXT,
        recipient    TEXT,
        subject      TEXT,
        from_header  TEXT,
        spf          TEXT,
        dkim         TEXT,
        dmarc        TEXT,
        arc          TEXT,
        size         INTEGER NOT NULL,
        raw          BYTEA NOT NULL
      );
      CREATE INDEX inbound_messages_received ON inbound_messages (received_at);
      CREATE INDEX inbound_messages_message ON inbound_messages (message_id) WHERE message_id IS NOT NULL;
    `,
  },
];

/** What the inbound router keeps of one message. */
export interface NewInboundRecord {
  id: string;
  receivedAt: Date;
  clientIp: string;
  helo?: string;
  mailFrom: string;
  recipients: string[];
  kind: InboundKind;
  messageId?: string;
  accountId?: string;
  recipient?: string;
  subject?: string;
  from?: string;
  /** Absent when the check could not run (e.g. DNS failed). */
  authentication?: InboundAuthentication;
  /** The message with the Authentication-Results fields prepended. */
  raw: Buffer;
}

/** One inbound record without its raw bytes (those come from `getRaw`). */
export interface InboundRecord {
  id: string;
  receivedAt: Date;
  clientIp: string;
  helo: string | null;
  mailFrom: string;
  recipients: string[];
  kind: InboundKind;
  messageId: string | null;
  accountId: string | null;
  recipient: string | null;
  subject: string | null;
  from: string | null;
  authentication: InboundAuthentication | null;
  size: number;
}

export interface InboundListRequest {
  limit: number;
  /** Records with ids strictly before this one (listing is newest first). */
  before?: string;
  kind?: InboundKind;
  /** Only records linked to this message. */
  messageId?: string;
  /** Only records of this account (and, with `includeUnlinked`, those of no account). */
  accountId?: string;
  includeUnlinked?: boolean;
}

interface Row {
  id: string;
  received_at: number;
  client_ip: string;
  helo: string | null;
  mail_from: string;
  recipients: string;
  kind: InboundKind;
  message_id: string | null;
  account_id: string | null;
  recipient: string | null;
  subject: string | null;
  from_header: string | null;
  spf: string | null;
  dkim: string | null;
  dmarc: string | null;
  arc: string | null;
  size: number;
}

/** The most records one list page returns. */
export const MAX_INBOUND_LIST_LIMIT = 500;
const COLUMNS = 'id, received_at, client_ip, helo, mail_from, recipients, kind, message_id, account_id, recipient, subject, from_header, spf, dkim, dmarc, arc, size';
// Header values an inbound sender controls are cut to this length in the listing columns.
const MAX_TEXT = 998;

export function isInboundKind(value: unknown): value is InboundKind {
  return typeof value === 'string' && (INBOUND_KINDS as readonly string[]).includes(value);
}

/**
 * The messages the MX listener accepted for Herald's own addresses (bounces, complaints,
 * unsubscribe mail, mail to postmaster@), kept for HERALD_RETENTION so a user can read the
 * report behind an event, in the records database (SQLite or PostgreSQL).
 */
export class SqlInboundStore {
  private constructor(private readonly db: SqlDatabase) {}

  static async open(db: SqlDatabase): Promise<SqlInboundStore> {
    await db.migrate('feedback-inbound', { sqlite: MIGRATIONS, postgres: POSTGRES_MIGRATIONS });
    return new SqlInboundStore(db);
  }

  /** Keeps one record; durable when it resolves (both engines commit to disk before answering). */
  async add(record: NewInboundRecord): Promise<void> {
    const auth = record.authentication;
    await this.db.run(`INSERT INTO inbound_messages (${COLUMNS}, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      record.id,
      record.receivedAt.getTime(),
      record.clientIp,
      record.helo === undefined ? null : noNul(record.helo),
      noNul(record.mailFrom),
      JSON.stringify(record.recipients),
      record.kind,
      record.messageId ?? null,
      record.accountId ?? null,
      record.recipient ?? null,
      clip(record.subject),
      clip(record.from),
      auth?.spf ?? null,
      auth?.dkim ?? null,
      auth?.dmarc ?? null,
      auth?.arc ?? null,
      record.raw.length,
      record.raw,
    ]);
  }

  async get(id: string): Promise<InboundRecord | null> {
    const row = await this.db.get<Row>(`SELECT ${COLUMNS} FROM inbound_messages WHERE id = ?`, [id]);
    return row ? toRecord(row) : null;
  }

  /** The message as received, with its Authentication-Results fields prepended. */
  async getRaw(id: string): Promise<Buffer | null> {
    const row = await this.db.get<{ raw: Buffer }>('SELECT raw FROM inbound_messages WHERE id = ?', [id]);
    return row ? row.raw : null;
  }

  /** Newest first; page on with `before` = the last id of a page. */
  async list(request: InboundListRequest): Promise<InboundRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (request.before !== undefined) {
      where.push('id < ?');
      params.push(request.before);
    }
    if (request.kind !== undefined) {
      where.push('kind = ?');
      params.push(request.kind);
    }
    if (request.messageId !== undefined) {
      where.push('message_id = ?');
      params.push(request.messageId);
    }
    if (request.accountId !== undefined) {
      where.push(request.includeUnlinked ? '(account_id = ? OR account_id IS NULL)' : 'account_id = ?');
      params.push(request.accountId);
    }
    const limit = Math.max(1, Math.min(MAX_INBOUND_LIST_LIMIT, Math.floor(request.limit)));
    const sql = `SELECT ${COLUMNS} FROM inbound_messages ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (await this.db.all<Row>(sql, [...params, limit])).map(toRecord);
  }

  /** Removes records received before `olderThan`, at most `limit`; returns how many went. */
  async purgeOlderThan(olderThan: Date, limit = 1000): Promise<number> {
    const removed = await this.db.run(
      'DELETE FROM inbound_messages WHERE id IN (SELECT id FROM inbound_messages WHERE received_at < ? ORDER BY received_at LIMIT ?)',
      [olderThan.getTime(), limit],
    );
    return removed.changes;
  }
}

// PostgreSQL's TEXT cannot hold NUL, and an inbound sender controls the envelope and header
// values: a NUL becomes U+FFFD on both engines, so such a message is kept rather than retried forever.
function noNul(value: string): string {
  return value.replace(/\0/g, '\uFFFD');
}

function clip(value: string | undefined): string | null {
  if (value === undefined) return null;
  const text = noNul(value).replace(/\s+/g, ' ').trim();
  return text === '' ? null : text.slice(0, MAX_TEXT);
}

function toRecord(row: Row): InboundRecord {
  return {
    id: row.id,
    receivedAt: new Date(row.received_at),
    clientIp: row.client_ip,
    helo: row.helo,
    mailFrom: row.mail_from,
    recipients: JSON.parse(row.recipients) as string[],
    kind: row.kind,
    messageId: row.message_id,
    accountId: row.account_id,
    recipient: row.recipient,
    subject: row.subject,
    from: row.from_header,
    authentication: row.spf === null ? null : { spf: row.spf, dkim: row.dkim ?? 'none', dmarc: row.dmarc ?? 'none', arc: row.arc ?? 'none' },
    size: row.size,
  };
}

/** Removes records past retention (`sweep()` now); returns how many went. */
export type InboundJanitor = Sweeper;

/**
 * Removes inbound records older than HERALD_RETENTION — the same time message bodies are kept —
 * once at start and then every interval (default an hour), a thousand rows per transaction so
 * the SMTP and HTTP edges sharing this thread are never held for long.
 */
export function startInboundJanitor(
  store: Pick<SqlInboundStore, 'purgeOlderThan'>,
  options: { retentionMs: number; clock?: Clock; logger?: Logger; intervalMs?: number },
): InboundJanitor {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  return startSweeper({
    intervalMs: options.intervalMs,
    onError: (err) => log.error({ err }, 'removing old inbound records failed; trying again at the next sweep'),
    sweep: async (stopped) => {
      let total = 0;
      const before = new Date(clock.now().getTime() - options.retentionMs);
      for (let removed = -1; removed !== 0 && !stopped(); ) {
        removed = await store.purgeOlderThan(before, 1000);
        total += removed;
      }
      if (total > 0) log.info({ records: total }, 'removed inbound records past retention');
      return total;
    },
  });
}
