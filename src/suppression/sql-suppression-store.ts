import type { Readable } from 'node:stream';
import { formatDuration, invalidContent, isValidEnvelopeAddress, normalizeAddress, systemClock, type Clock } from '../core/index.js';
import { migrate, type Migration, type SqliteDatabase } from '../storage/index.js';
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

const MIGRATIONS: readonly Migration[] = [
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

/**
 * An account's suppression list in the embedded SQLite database: addresses Herald will not send
 * to, per stream, with why and since when. Everything is scoped by account.
 */
export class SqliteSuppressionStore implements SuppressionCheck {
  private readonly clock: Clock;
  private readonly s;
  private readonly listStatements = new Map<string, ReturnType<SqliteDatabase['prepare']>>();

  constructor(
    private readonly db: SqliteDatabase,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    migrate(db, 'suppression', MIGRATIONS);
    const live = '(expires_at IS NULL OR expires_at > @now)';
    this.s = {
      // Most messages have one or two recipients: a primary-key read each, without building and
      // expanding a JSON array (which cost twice as much). More use one statement for any number:
      // the JSON array is expanded by json_each and each element is a primary-key lookup.
      checkOne: db.prepare(`SELECT address, reason, created_at FROM suppressions WHERE account_id = @accountId AND address = @a AND stream = @stream AND ${live}`),
      checkTwo: db.prepare(`SELECT address, reason, created_at FROM suppressions WHERE account_id = @accountId AND address IN (@a, @b) AND stream = @stream AND ${live}`),
      check: db.prepare(
        `SELECT address, reason, created_at FROM suppressions
         WHERE account_id = @accountId AND address IN (SELECT value FROM json_each(@addresses)) AND stream = @stream AND ${live}`,
      ),
      one: db.prepare('SELECT * FROM suppressions WHERE account_id = ? AND address = ? AND stream = ?'),
      insertNew: db.prepare(
        `INSERT INTO suppressions (account_id, address, stream, reason, message_id, detail, created_at, expires_at)
         VALUES (@accountId, @address, @stream, @reason, @messageId, @detail, @now, @expiresAt) ON CONFLICT DO NOTHING`,
      ),
      ofAddress: db.prepare(`SELECT * FROM suppressions WHERE account_id = @accountId AND address = @address AND ${live} ORDER BY stream`),
      put: db.prepare(
        `INSERT OR REPLACE INTO suppressions (account_id, address, stream, reason, message_id, detail, created_at, expires_at)
         VALUES (@accountId, @address, @stream, @reason, @messageId, @detail, @now, @expiresAt)`,
      ),
      extend: db.prepare('UPDATE suppressions SET expires_at = @expiresAt WHERE account_id = @accountId AND address = @address AND stream = @stream'),
      countLive: db.prepare(`SELECT COUNT(*) AS n FROM suppressions WHERE account_id = @accountId AND address = @address AND stream IN (SELECT value FROM json_each(@streams)) AND ${live}`),
      remove: db.prepare('DELETE FROM suppressions WHERE account_id = @accountId AND address = @address AND stream IN (SELECT value FROM json_each(@streams))'),
      countStream: db.prepare(`SELECT COUNT(*) AS n FROM suppressions WHERE account_id = @accountId AND stream = @stream AND ${live}`),
      countAddresses: db.prepare(`SELECT COUNT(DISTINCT address) AS n FROM suppressions WHERE account_id = @accountId AND ${live}`),
      purgeExpired: db.prepare('DELETE FROM suppressions WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      feedCursor: db.prepare('SELECT last_seq FROM suppression_feed WHERE id = 1'),
      setFeedCursor: db.prepare('INSERT INTO suppression_feed (id, last_seq, updated_at) VALUES (1, @seq, @now) ON CONFLICT (id) DO UPDATE SET last_seq = @seq, updated_at = @now'),
      insertSoft: db.prepare('INSERT OR IGNORE INTO suppression_soft_bounces (account_id, address, seq, at) VALUES (?, ?, ?, ?)'),
      forgetOldSoft: db.prepare('DELETE FROM suppression_soft_bounces WHERE account_id = ? AND address = ? AND at <= ?'),
      countSoft: db.prepare('SELECT COUNT(*) AS n FROM suppression_soft_bounces WHERE account_id = ? AND address = ?'),
      anySoft: db.prepare('SELECT 1 FROM suppression_soft_bounces WHERE account_id = ? AND address = ? LIMIT 1'),
      clearSoft: db.prepare('DELETE FROM suppression_soft_bounces WHERE account_id = ? AND address = ?'),
      purgeSoft: db.prepare('DELETE FROM suppression_soft_bounces WHERE at <= ?'),
    };
  }

  /**
   * Which of the addresses are suppressed on the stream now: one indexed query however many
   * there are. Keys are the addresses as given; the domain is compared case-insensitively, the
   * local part exactly (RFC 5321 §2.4), as the queue compares recipients.
   */
  check(accountId: string, stream: SuppressionStream, addresses: readonly string[]): Map<string, SuppressionHit> {
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
    const now = this.now();
    let rows: Pick<Row, 'address' | 'reason' | 'created_at'>[];
    if (keys.length === 1) rows = this.s.checkOne.all({ accountId, stream, a: keys[0], now }) as typeof rows;
    else if (keys.length === 2) rows = this.s.checkTwo.all({ accountId, stream, a: keys[0], b: keys[1], now }) as typeof rows;
    else rows = this.s.check.all({ accountId, stream, addresses: JSON.stringify(keys), now }) as typeof rows;
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
  add(accountId: string, entries: readonly SuppressionInput[]): AddResult {
    checkAccountId(accountId);
    const prepared = entries.map((entry, i) => this.prepare(entry, entries.length > 1 ? `entry ${i + 1}: ` : ''));
    const result: AddResult = { added: 0, updated: 0, unchanged: 0 };
    if (prepared.length === 0) return result;
    const now = this.now();
    this.db
      .transaction(() => {
        for (const p of prepared) for (const stream of p.streams) result[this.upsert(accountId, p, stream, now)]++;
      })
      .immediate();
    return result;
  }

  /** The address's live entries (one per suppressed stream), or [] when it may be sent to. */
  get(accountId: string, address: string, stream?: SuppressionStream): SuppressionEntry[] {
    const rows = (this.s.ofAddress.all({ accountId, address: normalizeAddress(address.trim()), now: this.now() }) as Row[]).map(toEntry);
    return stream === undefined ? rows : rows.filter((e) => e.stream === stream);
  }

  /**
   * Removes the address from the stream (both when omitted) and forgets its soft bounces, so it
   * starts afresh. Returns how many live entries went: 0 when it was not suppressed there.
   */
  remove(accountId: string, address: string, stream?: StreamSelector): number {
    if (stream !== undefined && !isStreamSelector(stream)) throw invalidContent('stream', `stream is "transactional", "broadcast" or "all", not "${String(stream)}"`);
    const params = { accountId, address: normalizeAddress(address.trim()), streams: JSON.stringify(streamsOf(stream)), now: this.now() };
    return this.db
      .transaction(() => {
        const { n } = this.s.countLive.get(params) as { n: number };
        this.s.remove.run(params);
        this.s.clearSoft.run(accountId, params.address);
        return n;
      })
      .immediate();
  }

  /** The account's live entries, ordered by address then stream, a page at a time. */
  list(accountId: string, options: SuppressionListOptions): SuppressionPage {
    const { limit, cursor, stream, reason, search } = options;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw invalidContent('limit', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
    if (stream !== undefined && !isSuppressionStream(stream)) throw invalidContent('stream', `stream is "transactional" or "broadcast", not "${String(stream)}"`);
    if (reason !== undefined && !isSuppressionReason(reason)) throw invalidContent('reason', `"${String(reason)}" is not a suppression reason`);
    if (search !== undefined && (typeof search !== 'string' || search.length > MAX_SEARCH_LENGTH)) throw invalidContent('search', `search is at most ${MAX_SEARCH_LENGTH} characters`);
    const params: Record<string, unknown> = { accountId, now: this.now(), limit: limit + 1 };
    const where = ['account_id = @accountId', '(expires_at IS NULL OR expires_at > @now)'];
    if (stream !== undefined) {
      where.push('stream = @stream');
      params.stream = stream;
    }
    if (reason !== undefined) {
      where.push('reason = @reason');
      params.reason = reason;
    }
    if (search) {
      // LIKE is case-insensitive for ASCII; the user's % and _ are matched literally.
      where.push("address LIKE @pattern ESCAPE '\\'");
      params.pattern = `%${search.trim().replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    }
    if (cursor !== undefined && cursor !== null) {
      if (typeof cursor !== 'string') throw invalidContent('cursor', 'this cursor is not one the suppression list gave out');
      const after = decodeCursor(cursor);
      where.push('(address, stream) > (@afterAddress, @afterStream)');
      params.afterAddress = after.address;
      params.afterStream = after.stream;
    }
    const sql = `SELECT * FROM suppressions WHERE ${where.join(' AND ')} ORDER BY address, stream LIMIT @limit`;
    let statement = this.listStatements.get(sql);
    if (!statement) this.listStatements.set(sql, (statement = this.db.prepare(sql)));
    // One row more than asked tells whether there is a next page.
    const rows = statement.all(params) as Row[];
    const page = rows.slice(0, limit);
    return { entries: page.map(toEntry), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null };
  }

  /** Live entries on the stream; without one, the number of distinct suppressed addresses. */
  count(accountId: string, stream?: SuppressionStream): number {
    const now = this.now();
    const row = (stream === undefined ? this.s.countAddresses.get({ accountId, now }) : this.s.countStream.get({ accountId, stream, now })) as { n: number };
    return row.n;
  }

  /**
   * Adds the addresses of a CSV file (a path) or stream, read a line at a time and committed in
   * batches; invalid lines are reported by number and skipped. See `importSuppressionCsv`.
   */
  importCsv(accountId: string, source: Readable | string, options: CsvImportOptions = {}): Promise<CsvImportResult> {
    return importSuppressionCsv(this, accountId, source, options);
  }

  /** Deletes manual entries whose expiry has passed (they stopped applying then already). */
  purgeExpired(now: Date = this.clock.now()): number {
    return this.s.purgeExpired.run(now.getTime()).changes;
  }

  // ---- the feed: what the outbox's events add (see feeder.ts) -------------------------------

  /** The seq of the last outbox event the feeder has taken into account (0: none yet). */
  feedCursor(): number {
    return (this.s.feedCursor.get() as { last_seq: number } | undefined)?.last_seq ?? 0;
  }

  /** True when the address has soft bounces being counted: only then does a delivery need a write. */
  hasSoftBounces(accountId: string, address: string): boolean {
    return this.s.anySoft.get(accountId, address) !== undefined;
  }

  /**
   * Applies the actions of the events after `expectedSeq` up to `lastSeq` and moves the cursor
   * to `lastSeq`, in one transaction: a crash either keeps all of it or none, so nothing is
   * counted twice. When the cursor is no longer at `expectedSeq` (another feeder moved it),
   * nothing is applied and `applied` is false.
   */
  applyFeed(expectedSeq: number, lastSeq: number, actions: readonly FeedAction[], policy: SoftBouncePolicy): { applied: boolean; suppressed: FedSuppression[] } {
    const counting = policy.limit > 0 && policy.windowMs > 0;
    return this.db
      .transaction(() => {
        if (this.feedCursor() !== expectedSeq) return { applied: false, suppressed: [] };
        const now = this.now();
        const suppressed: FedSuppression[] = [];
        const suppress = (a: { accountId: string; address: string; messageId: string | null }, streams: SuppressionStream[], reason: SuppressionReason, detail: string | null) => {
          const p: Prepared = { address: a.address, streams, reason, messageId: clean(a.messageId, MAX_MESSAGE_ID_LENGTH), detail: clean(detail, MAX_DETAIL_LENGTH), expiresAt: null };
          const outcomes = streams.map((stream) => this.upsert(a.accountId, p, stream, now));
          if (outcomes.some((o) => o !== 'unchanged')) suppressed.push({ accountId: a.accountId, address: a.address, streams, reason, messageId: p.messageId });
        };
        for (const action of actions) {
          if (action.kind === 'suppress') {
            suppress(action, action.streams, action.reason, action.detail);
          } else if (action.kind === 'soft_bounce') {
            if (!counting) continue;
            const at = action.at.getTime();
            this.s.insertSoft.run(action.accountId, action.address, action.seq, at);
            this.s.forgetOldSoft.run(action.accountId, action.address, at - policy.windowMs);
            const { n } = this.s.countSoft.get(action.accountId, action.address) as { n: number };
            if (n >= policy.limit) {
              const why = `${n} soft bounces within ${formatDuration(policy.windowMs)}${action.detail ? `; the last: ${action.detail}` : ''}`;
              suppress(action, ['transactional', 'broadcast'], 'soft_bounces', why);
              this.s.clearSoft.run(action.accountId, action.address);
            }
          } else {
            this.s.clearSoft.run(action.accountId, action.address);
          }
        }
        this.s.setFeedCursor.run({ seq: lastSeq, now });
        return { applied: true, suppressed };
      })
      .immediate();
  }

  /** Forgets soft bounces at or before `before` (older than the window: they no longer count). */
  purgeSoftBounces(before: Date): number {
    return this.s.purgeSoft.run(before.getTime()).changes;
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
  private upsert(accountId: string, p: Prepared, stream: SuppressionStream, now: number): keyof AddResult {
    const values = { accountId, address: p.address, stream, reason: p.reason, messageId: p.messageId, detail: p.detail, now, expiresAt: p.expiresAt };
    // Most adds (an import, a first bounce) are new addresses: one statement, no read first.
    if (this.s.insertNew.run(values).changes > 0) return 'added';
    const row = this.s.one.get(accountId, p.address, stream) as Row | undefined;
    // An expired manual entry no longer applies: a new one takes its place as if it were gone.
    if (!row || (row.expires_at !== null && row.expires_at <= now)) {
      this.s.put.run(values);
      return 'added';
    }
    const rank = reasonRank(p.reason);
    const current = reasonRank(row.reason);
    if (rank > current) {
      this.s.put.run(values);
      return 'updated';
    }
    if (rank === current && row.expires_at !== null && (p.expiresAt === null || p.expiresAt > row.expires_at)) {
      this.s.extend.run(values);
      return 'updated';
    }
    return 'unchanged';
  }
}

function checkAccountId(accountId: string): void {
  if (typeof accountId !== 'string' || accountId === '') throw new Error('a suppression belongs to an account: accountId is missing');
}
