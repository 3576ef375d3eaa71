import type { Readable } from 'node:stream';
import { formatDuration, invalidContent, isValidEnvelopeAddress, normalizeAddress, systemClock, type Clock } from '../core/index.js';
import { moveFeedCursor, type SqlDatabase, type SqlExecutor } from '../storage/index.js';
import { importSuppressionCsv, type CsvImportOptions, type CsvImportResult } from './csv-import.js';
import {
  isStreamSelector,
  isSuppressionReason,
  isSuppressionStream,
  reasonRank,
  streamsOf,
  type AddResult,
  type FeedAction,
  type FedSuppression,
  type SoftBouncePolicy,
  type StreamSelector,
  type SuppressionCheck,
  type SuppressionEntry,
  type SuppressionHit,
  type SuppressionInput,
  type SuppressionListOptions,
  type SuppressionPage,
  type SuppressionReason,
  type SuppressionStream,
} from './types.js';

/** The SQLite history: applied as written, never edited. */
export const SQLITE_SUPPRESSION_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      -- One row per account, address and stream: an entry for both streams is two rows, so each
      -- stream can be removed or strengthened on its own. The address is stored normalised
      -- (domain lowercased, local part as given), the form the queue stores recipients in.
      -- The key serves check (account, address IN (...), stream) and the address-ordered list.
      CREATE TABLE suppressions (
        account_id  TEXT NOT NULL,
        address     TEXT NOT NULL,
        stream      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        message_id  TEXT,
        detail      TEXT,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER,
        PRIMARY KEY (account_id, address, stream)
      ) WITHOUT ROWID;
      CREATE INDEX suppressions_expiring ON suppressions (expires_at) WHERE expires_at IS NOT NULL;

      -- Soft bounces not yet followed by a delivery, one row per outbox event (its seq), so a
      -- replayed event is never counted twice. Rows older than the window are removed.
      CREATE TABLE suppression_soft_bounces (
        account_id  TEXT NOT NULL,
        address     TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        at          INTEGER NOT NULL,
        PRIMARY KEY (account_id, address, seq)
      ) WITHOUT ROWID;
      CREATE INDEX suppression_soft_bounces_at ON suppression_soft_bounces (at);

      -- How far the feeder has read the outbox; moved in the same transaction as what it added.
      CREATE TABLE suppression_feed (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq    INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
    `,
  },
];

/**
 * The PostgreSQL history: version 1 is the SQLite schema as it stands. Addresses and streams
 * compare byte-wise (COLLATE "C"), as in SQLite, so the list's order and its cursors are the same
 * whatever the server's locale.
 */
export const POSTGRES_SUPPRESSION_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE suppressions (
        account_id  TEXT NOT NULL,
        address     TEXT COLLATE "C" NOT NULL,
        stream      TEXT COLLATE "C" NOT NULL,
        reason      TEXT NOT NULL,
        message_id  TEXT,
        detail      TEXT,
        created_at  BIGINT NOT NULL,
        expires_at  BIGINT,
        PRIMARY KEY (account_id, address, stream)
      );
      CREATE INDEX suppressions_expiring ON suppressions (expires_at) WHERE expires_at IS NOT NULL;

      CREATE TABLE suppression_soft_bounces (
        account_id  TEXT NOT NULL,
        address     TEXT NOT NULL,
        seq         BIGINT NOT NULL,
        at          BIGINT NOT NULL,
        PRIMARY KEY (account_id, address, seq)
      );
      CREATE INDEX suppression_soft_bounces_at ON suppression_soft_bounces (at);

      CREATE TABLE suppression_feed (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq    BIGINT NOT NULL,
        updated_at  BIGINT NOT NULL
      );
    `,
  },
];

/** The most entries one list page returns. */
export const MAX_LIST_LIMIT = 1000;
const MAX_DETAIL_LENGTH = 1000;
const MAX_MESSAGE_ID_LENGTH = 100;
const MAX_SEARCH_LENGTH = 320;

interface Row {
  address: string;
  stream: SuppressionStream;
  reason: SuppressionReason;
  message_id: string | null;
  detail: string | null;
  created_at: number;
  expires_at: number | null;
}

/** An input after its checks: the streams it covers and its stored values. */
interface Prepared {
  address: string;
  streams: SuppressionStream[];
  reason: SuppressionReason;
  messageId: string | null;
  detail: string | null;
  expiresAt: number | null;
}

/**
 * The address as stored and compared: trimmed, domain normalised; throws invalidContent naming
 * `field` when it is not an address Herald could send to.
 */
export function normalizeSuppressionAddress(address: unknown, field = 'address', prefix = ''): string {
  const text = typeof address === 'string' ? address.trim() : '';
  if (!isValidEnvelopeAddress(text)) {
    throw invalidContent(field, `${prefix}${JSON.stringify(typeof address === 'string' ? address.slice(0, 200) : (address ?? null))} is not an email address`);
  }
  return normalizeAddress(text);
}

function clean(text: string | null | undefined, max: number): string | null {
  if (text === null || text === undefined) return null;
  // Remote replies end up here: one line, bounded, so listings and logs stay readable.
  const one = String(text).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return one === '' ? null : one.length > max ? one.slice(0, max - 1) + '…' : one;
}

function toEntry(row: Row): SuppressionEntry {
  return {
    address: row.address,
    stream: row.stream,
    reason: row.reason,
    messageId: row.message_id,
    detail: row.detail,
    createdAt: new Date(row.created_at),
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
  };
}

function encodeCursor(row: Pick<Row, 'address' | 'stream'>): string {
  return Buffer.from(JSON.stringify([row.address, row.stream])).toString('base64url');
}

function decodeCursor(cursor: string): { address: string; stream: string } {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && isSuppressionStream(value[1])) return { address: value[0], stream: value[1] };
  } catch {
    // fall through: not one of ours
  }
  throw invalidContent('cursor', 'this cursor is not one the suppression list gave out');
}


const LIVE = '(expires_at IS NULL OR expires_at > ?)';
const COLUMNS = 'address, stream, reason, message_id, detail, created_at, expires_at';
const INSERT = 'INSERT INTO suppressions (account_id, address, stream, reason, message_id, detail, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';

/**
 * An account's suppression list in the records database (SQLite or PostgreSQL): addresses Herald
 * will not send to, per stream, with why and since when. Everything is scoped by account.
 */
export class SqlSuppressionStore implements SuppressionCheck {
  /** Matches a list of any length in one statement: the one place the dialects differ. */
  private readonly anyAddress: { sql: string; bind(keys: readonly string[]): unknown };
  /**
   * Locks the row an upsert reads on PostgreSQL, so two nodes writing one address take turns
   * and a weaker reason never overwrites a stronger one written meanwhile. SQLite's write
   * transactions already take turns.
   */
  private readonly forUpdate: string;

  private constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {
    this.anyAddress =
      db.dialect === 'postgres'
        ? { sql: 'address = ANY(?::text[])', bind: (keys) => keys }
        : { sql: 'address IN (SELECT value FROM json_each(?))', bind: (keys) => JSON.stringify(keys) };
    this.forUpdate = db.dialect === 'postgres' ? ' FOR UPDATE' : '';
  }

  /** Brings the room's tables up to date on `db` and opens the store on it. */
  static async open(db: SqlDatabase, options: { clock?: Clock } = {}): Promise<SqlSuppressionStore> {
    await db.migrate('suppression', { sqlite: SQLITE_SUPPRESSION_MIGRATIONS, postgres: POSTGRES_SUPPRESSION_MIGRATIONS });
    return new SqlSuppressionStore(db, options.clock ?? systemClock);
  }

  /**
   * Which of the addresses are suppressed on the stream now: one indexed query however many
   * there are. Keys are the addresses as given; the domain is compared case-insensitively, the
   * local part exactly (RFC 5321 §2.4), as the queue compares recipients.
   */
  async check(accountId: string, stream: SuppressionStream, addresses: readonly string[]): Promise<Map<string, SuppressionHit>> {
    const hits = new Map<string, SuppressionHit>();
    if (addresses.length === 0) return hits;
    const given = new Map<string, string[]>();
    for (const address of addresses) {
      const key = normalizeAddress(address.trim());
      const list = given.get(key);
      if (list) list.push(address);
      else given.set(key, [address]);
    }
    const keys = [...given.keys()];
    const select = `SELECT address, reason, created_at FROM suppressions WHERE account_id = ? AND stream = ? AND ${LIVE} AND `;
    const params = [accountId, stream, this.now()];
    // Most messages have one or two recipients: a primary-key read each. More go as one list.
    const rows =
      keys.length === 1
        ? await this.db.all<Pick<Row, 'address' | 'reason' | 'created_at'>>(select + 'address = ?', [...params, keys[0]])
        : keys.length === 2
          ? await this.db.all<Pick<Row, 'address' | 'reason' | 'created_at'>>(select + 'address IN (?, ?)', [...params, keys[0], keys[1]])
          : await this.db.all<Pick<Row, 'address' | 'reason' | 'created_at'>>(select + this.anyAddress.sql, [...params, this.anyAddress.bind(keys)]);
    for (const row of rows) {
      for (const address of given.get(row.address) ?? []) hits.set(address, { reason: row.reason, createdAt: new Date(row.created_at) });
    }
    return hits;
  }

  /**
   * Adds entries, all or none (one transaction). Idempotent: an address already suppressed on a
   * stream keeps its entry — its first reason and time — unless the new reason ranks higher
   * (manual < soft_bounces < unsubscribe < hard_bounce < complaint), which replaces it and
   * makes it permanent; re-adding a manual entry only ever lengthens its expiry.
   */
  async add(accountId: string, entries: readonly SuppressionInput[]): Promise<AddResult> {
    checkAccountId(accountId);
    const prepared = entries.map((entry, i) => this.prepare(entry, entries.length > 1 ? `entry ${i + 1}: ` : ''));
    const result: AddResult = { added: 0, updated: 0, unchanged: 0 };
    if (prepared.length === 0) return result;
    // In address order (an address's own entries keep theirs): two imports that overlap lock
    // their rows in the same order on PostgreSQL, so neither waits on the other in a circle.
    prepared.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    const now = this.now();
    await this.db.transaction(async (tx) => {
      for (const p of prepared) for (const stream of p.streams) result[await this.upsert(tx, accountId, p, stream, now)]++;
    });
    return result;
  }

  /** The address's live entries (one per suppressed stream), or [] when it may be sent to. */
  async get(accountId: string, address: string, stream?: SuppressionStream): Promise<SuppressionEntry[]> {
    const rows = await this.db.all<Row>(`SELECT ${COLUMNS} FROM suppressions WHERE account_id = ? AND address = ? AND ${LIVE} ORDER BY stream`, [
      accountId,
      normalizeAddress(address.trim()),
      this.now(),
    ]);
    const entries = rows.map(toEntry);
    return stream === undefined ? entries : entries.filter((e) => e.stream === stream);
  }

  /**
   * Removes the address from the stream (both when omitted) and forgets its soft bounces, so it
   * starts afresh. Returns how many live entries went: 0 when it was not suppressed there.
   */
  async remove(accountId: string, address: string, stream?: StreamSelector): Promise<number> {
    if (stream !== undefined && !isStreamSelector(stream)) throw invalidContent('stream', `stream is "transactional", "broadcast" or "all", not "${String(stream)}"`);
    const key = normalizeAddress(address.trim());
    const streams = streamsOf(stream);
    const now = this.now();
    return this.db.transaction(async (tx) => {
      const gone = await tx.all<{ expires_at: number | null }>(
        `DELETE FROM suppressions WHERE account_id = ? AND address = ? AND stream IN (${streams.map(() => '?').join(', ')}) RETURNING expires_at`,
        [accountId, key, ...streams],
      );
      await tx.run('DELETE FROM suppression_soft_bounces WHERE account_id = ? AND address = ?', [accountId, key]);
      // An expired entry had stopped applying: removing it removes no suppression.
      return gone.filter((r) => r.expires_at === null || r.expires_at > now).length;
    });
  }

  /** The account's live entries, ordered by address then stream, a page at a time. */
  async list(accountId: string, options: SuppressionListOptions): Promise<SuppressionPage> {
    const { limit, cursor, stream, reason, search } = options;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw invalidContent('limit', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
    if (stream !== undefined && !isSuppressionStream(stream)) throw invalidContent('stream', `stream is "transactional" or "broadcast", not "${String(stream)}"`);
    if (reason !== undefined && !isSuppressionReason(reason)) throw invalidContent('reason', `"${String(reason)}" is not a suppression reason`);
    if (search !== undefined && (typeof search !== 'string' || search.length > MAX_SEARCH_LENGTH)) throw invalidContent('search', `search is at most ${MAX_SEARCH_LENGTH} characters`);
    const where = ['account_id = ?', LIVE];
    const params: unknown[] = [accountId, this.now()];
    if (stream !== undefined) {
      where.push('stream = ?');
      params.push(stream);
    }
    if (reason !== undefined) {
      where.push('reason = ?');
      params.push(reason);
    }
    if (search) {
      // Case-insensitive for ASCII letters on both engines: SQLite's lower() and PostgreSQL's
      // under the column's "C" collation fold only those, so the pattern is folded alike here
      // (PostgreSQL's LIKE itself is case-sensitive). The user's % and _ are matched literally.
      where.push("lower(address) LIKE ? ESCAPE '\\'");
      params.push(`%${search.trim().replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/[\\%_]/g, (c) => '\\' + c)}%`);
    }
    if (cursor !== undefined && cursor !== null) {
      if (typeof cursor !== 'string') throw invalidContent('cursor', 'this cursor is not one the suppression list gave out');
      const after = decodeCursor(cursor);
      where.push('(address, stream) > (?, ?)');
      params.push(after.address, after.stream);
    }
    // One row more than asked tells whether there is a next page.
    params.push(limit + 1);
    const rows = await this.db.all<Row>(`SELECT ${COLUMNS} FROM suppressions WHERE ${where.join(' AND ')} ORDER BY address, stream LIMIT ?`, params);
    const page = rows.slice(0, limit);
    return { entries: page.map(toEntry), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null };
  }

  /** Live entries on the stream; without one, the number of distinct suppressed addresses. */
  async count(accountId: string, stream?: SuppressionStream): Promise<number> {
    const now = this.now();
    const row =
      stream === undefined
        ? await this.db.get<{ n: number }>(`SELECT COUNT(DISTINCT address) AS n FROM suppressions WHERE account_id = ? AND ${LIVE}`, [accountId, now])
        : await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM suppressions WHERE account_id = ? AND stream = ? AND ${LIVE}`, [accountId, stream, now]);
    return Number(row?.n ?? 0);
  }

  /**
   * Adds the addresses of a CSV file (a path) or stream, read a line at a time and committed in
   * batches; invalid lines are reported by number and skipped. See `importSuppressionCsv`.
   */
  importCsv(accountId: string, source: Readable | string, options: CsvImportOptions = {}): Promise<CsvImportResult> {
    return importSuppressionCsv(this, accountId, source, options);
  }

  /** Deletes manual entries whose expiry has passed (they stopped applying then already). */
  async purgeExpired(now: Date = this.clock.now()): Promise<number> {
    return (await this.db.run('DELETE FROM suppressions WHERE expires_at IS NOT NULL AND expires_at <= ?', [now.getTime()])).changes;
  }

  // ---- the feed: what the outbox's events add (see feeder.ts) -------------------------------

  /** The seq of the last outbox event the feeder has taken into account (0: none yet). */
  async feedCursor(): Promise<number> {
    return (await this.db.get<{ last_seq: number }>('SELECT last_seq FROM suppression_feed WHERE id = 1'))?.last_seq ?? 0;
  }

  /** True when the address has soft bounces being counted: only then does a delivery need a write. */
  async hasSoftBounces(accountId: string, address: string): Promise<boolean> {
    return (await this.db.get('SELECT 1 AS found FROM suppression_soft_bounces WHERE account_id = ? AND address = ? LIMIT 1', [accountId, address])) !== undefined;
  }

  /**
   * Applies the actions of the events after `expectedSeq` up to `lastSeq` and moves the cursor
   * to `lastSeq`, in one transaction: a crash either keeps all of it or none, so nothing is
   * counted twice. When the cursor is no longer at `expectedSeq` (another feeder moved it),
   * nothing is applied and `applied` is false.
   */
  async applyFeed(
    expectedSeq: number,
    lastSeq: number,
    actions: readonly FeedAction[],
    policy: SoftBouncePolicy,
  ): Promise<{ applied: boolean; suppressed: FedSuppression[] }> {
    const counting = policy.limit > 0 && policy.windowMs > 0;
    const now = this.now();
    return this.db.transaction(async (tx) => {
      // The cursor moves first, and only from where this feeder saw it (see moveFeedCursor).
      if (!(await moveFeedCursor(tx, 'suppression_feed', expectedSeq, lastSeq, now))) return { applied: false, suppressed: [] };
      const suppressed: FedSuppression[] = [];
      const suppress = async (a: { accountId: string; address: string; messageId: string | null }, streams: SuppressionStream[], reason: SuppressionReason, detail: string | null) => {
        const p: Prepared = { address: a.address, streams, reason, messageId: clean(a.messageId, MAX_MESSAGE_ID_LENGTH), detail: clean(detail, MAX_DETAIL_LENGTH), expiresAt: null };
        let changed = false;
        for (const stream of streams) if ((await this.upsert(tx, a.accountId, p, stream, now)) !== 'unchanged') changed = true;
        if (changed) suppressed.push({ accountId: a.accountId, address: a.address, streams, reason, messageId: p.messageId });
      };
      const clearSoft = (accountId: string, address: string) => tx.run('DELETE FROM suppression_soft_bounces WHERE account_id = ? AND address = ?', [accountId, address]);
      for (const action of actions) {
        if (action.kind === 'suppress') {
          await suppress(action, action.streams, action.reason, action.detail);
        } else if (action.kind === 'soft_bounce') {
          if (!counting) continue;
          const at = action.at.getTime();
          await tx.run('INSERT INTO suppression_soft_bounces (account_id, address, seq, at) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, address, seq) DO NOTHING', [
            action.accountId,
            action.address,
            action.seq,
            at,
          ]);
          await tx.run('DELETE FROM suppression_soft_bounces WHERE account_id = ? AND address = ? AND at <= ?', [action.accountId, action.address, at - policy.windowMs]);
          const n = Number((await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM suppression_soft_bounces WHERE account_id = ? AND address = ?', [action.accountId, action.address]))?.n ?? 0);
          if (n >= policy.limit) {
            const why = `${n} soft bounces within ${formatDuration(policy.windowMs)}${action.detail ? `; the last: ${action.detail}` : ''}`;
            await suppress(action, ['transactional', 'broadcast'], 'soft_bounces', why);
            await clearSoft(action.accountId, action.address);
          }
        } else {
          await clearSoft(action.accountId, action.address);
        }
      }
      return { applied: true, suppressed };
    });
  }

  /** Forgets soft bounces at or before `before` (older than the window: they no longer count). */
  async purgeSoftBounces(before: Date): Promise<number> {
    return (await this.db.run('DELETE FROM suppression_soft_bounces WHERE at <= ?', [before.getTime()])).changes;
  }

  // ---- internals ----------------------------------------------------------------------------

  private now(): number {
    return this.clock.now().getTime();
  }

  private prepare(entry: SuppressionInput, where: string): Prepared {
    if (entry === null || typeof entry !== 'object') throw invalidContent('address', `${where}a suppression is an object with an address`);
    const address = normalizeSuppressionAddress(entry.address, 'address', where);
    if (entry.stream !== undefined && !isStreamSelector(entry.stream)) {
      throw invalidContent('stream', `${where}stream is "transactional", "broadcast" or "all", not "${String(entry.stream)}"`);
    }
    if (!isSuppressionReason(entry.reason)) throw invalidContent('reason', `${where}"${String(entry.reason)}" is not a suppression reason`);
    let expiresAt: number | null = null;
    if (entry.expiresAt !== undefined && entry.expiresAt !== null) {
      if (!(entry.expiresAt instanceof Date) || Number.isNaN(entry.expiresAt.getTime())) throw invalidContent('expires_at', `${where}expires_at is not a time`);
      if (entry.reason !== 'manual') throw invalidContent('expires_at', `${where}only manual entries expire; a ${entry.reason} entry is permanent until removed`);
      expiresAt = entry.expiresAt.getTime();
      if (expiresAt <= this.now()) throw invalidContent('expires_at', `${where}expires_at is in the past`);
    }
    return {
      address,
      streams: streamsOf(entry.stream),
      reason: entry.reason,
      messageId: clean(entry.messageId, MAX_MESSAGE_ID_LENGTH),
      detail: clean(entry.detail, MAX_DETAIL_LENGTH),
      expiresAt,
    };
  }

  /** Writes one stream's row for a checked input; runs inside the caller's transaction. */
  private async upsert(tx: SqlExecutor, accountId: string, p: Prepared, stream: SuppressionStream, now: number): Promise<keyof AddResult> {
    const values = [accountId, p.address, stream, p.reason, p.messageId, p.detail, now, p.expiresAt];
    // Most adds (an import, a first bounce) are new addresses: one statement, no read first.
    if ((await tx.run(`${INSERT} ON CONFLICT (account_id, address, stream) DO NOTHING`, values)).changes > 0) return 'added';
    const row = await tx.get<Pick<Row, 'reason' | 'expires_at'>>(`SELECT reason, expires_at FROM suppressions WHERE account_id = ? AND address = ? AND stream = ?${this.forUpdate}`, [
      accountId,
      p.address,
      stream,
    ]);
    const put = () =>
      tx.run(
        `${INSERT} ON CONFLICT (account_id, address, stream) DO UPDATE SET reason = excluded.reason, message_id = excluded.message_id,
           detail = excluded.detail, created_at = excluded.created_at, expires_at = excluded.expires_at`,
        values,
      );
    // An expired manual entry no longer applies: a new one takes its place as if it were gone.
    if (!row || (row.expires_at !== null && row.expires_at <= now)) {
      await put();
      return 'added';
    }
    const rank = reasonRank(p.reason);
    const current = reasonRank(row.reason);
    if (rank > current) {
      await put();
      return 'updated';
    }
    if (rank === current && row.expires_at !== null && (p.expiresAt === null || p.expiresAt > row.expires_at)) {
      await tx.run('UPDATE suppressions SET expires_at = ? WHERE account_id = ? AND address = ? AND stream = ?', [p.expiresAt, accountId, p.address, stream]);
      return 'updated';
    }
    return 'unchanged';
  }
}

function checkAccountId(accountId: string): void {
  if (typeof accountId !== 'string' || accountId === '') throw new Error('a suppression belongs to an account: accountId is missing');
}
