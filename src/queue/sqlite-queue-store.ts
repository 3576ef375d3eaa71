import { domainOf, firstMessageIdAt, formatReply, normalizeAddress, systemClock, type Clock, type Logger, type MailEvent, type MessageId } from '../core/index.js';
import { migrate, type SqliteDatabase } from '../storage/index.js';
import { HOT_QUERIES, MIGRATIONS, SENDER_DOMAIN_SQL } from './sqlite-schema.js';
import { messageStatus } from './status.js';
import { PENDING_STATES, RECIPIENT_STATES } from './types.js';
import type {
  AttemptRecord,
  AttemptView,
  ClaimRequest,
  LateBounce,
  DeliveryBatch,
  ListRequest,
  MessageDetail,
  MessageMeta,
  MessageSource,
  MessageSummary,
  NewMessage,
  PendingState,
  QueueGauges,
  QueueStore,
  RecipientResult,
  RecipientState,
  RecipientView,
} from './types.js';
import { checkAttempt, checkMessage, compact, idChunks, isDue, senderFilter } from './store-rules.js';

export interface SqliteQueueStoreOptions {
  clock?: Clock;
  /** Where a throwing onCommit listener is reported (the commit itself stands). */
  logger?: Logger;
  /** Group-commit bounds: one transaction holds at most this many writes / body bytes. */
  maxBatchWrites?: number;
  maxBatchBytes?: number;
}

interface MessageRow {
  id: string;
  account_id: string;
  source: MessageSource;
  mail_from: string;
  size: number;
  created_at: number;
  expires_at: number;
  meta: string;
}

interface RecipientRow {
  id: number;
  address: string;
  state: RecipientState;
  attempts: number;
  next_attempt_at: number | null;
  last_reply: string | null;
}

interface AttemptRow {
  recipient_id: number;
  at: number;
  host: string | null;
  state: RecipientResult['state'];
  reply: string;
}

interface EventRow {
  seq: number;
  type: MailEvent['type'];
  message_id: string;
  account_id: string;
  recipient: string | null;
  at: number;
  data: string;
}

/** A write waiting for the next group commit: an enqueue or an attempt record. */
interface PendingWrite {
  bytes: number;
  /** An enqueue: its commit must reach the disk before the caller is answered (the 250). */
  durable: boolean;
  write(now: number): MailEvent[];
  resolve(): void;
  reject(err: unknown): void;
}

const DUE_STATES = "('queued', 'deferred')";
/** The subject index catches up once this many messages were stored, or after the delay. */
const SUBJECT_INDEX_BATCH = 500;
const SUBJECT_INDEX_DELAY_MS = 1000;
const PENDING_SQL = `(${PENDING_STATES.map((s) => `'${s}'`).join(', ')})`;

/**
 * The queue in the embedded SQLite database (better-sqlite3, WAL, synchronous=FULL).
 *
 * better-sqlite3 is synchronous; the async API keeps the shape PostgreSQL needs. enqueue and
 * recordAttempt are group-committed (see `submit`); the rarer writes commit at once. Every write
 * runs in a BEGIN IMMEDIATE transaction so a second process (the CLI) waits on the busy timeout
 * instead of failing on a read-to-write upgrade.
 */
/**
 * The states the list's status filter reads from the partial index recipients_state_message (the
 * queue's own states have the due and lease indexes, and are few: as many as the queue is deep).
 */
const INDEXED_STATES: readonly RecipientState[] = ['delivered', 'bounced', 'expired', 'held'];
const INDEXED_STATES_SQL = `(${INDEXED_STATES.map((s) => `'${s}'`).join(', ')})`;

export class SqliteQueueStore implements QueueStore {
  private readonly db: SqliteDatabase;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly maxBatchWrites: number;
  private readonly maxBatchBytes: number;
  private readonly listeners: ((events: MailEvent[]) => void)[] = [];
  private pending: PendingWrite[] = [];
  private flushScheduled: NodeJS.Immediate | undefined;
  /** Messages stored since the subject index last caught up (an upper bound on its backlog). */
  private unindexed = 0;
  private indexTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Set when a write (not the commit) threw in a chunk written without savepoints. */
  private writeFailed = false;
  private readonly s;
  // Transaction wrappers made once (better-sqlite3 turns a nested call into a savepoint).
  private readonly chunkTx;
  private readonly savepoint;
  // Made once too: building a wrapper per call costs more than the reads of a small get().
  private readonly readTx: <T>(fn: () => T) => T;
  private readonly listStatements = new Map<string, ReturnType<SqliteDatabase['prepare']>>();

  constructor(db: SqliteDatabase, options: SqliteQueueStoreOptions = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.maxBatchWrites = options.maxBatchWrites ?? 500;
    this.maxBatchBytes = options.maxBatchBytes ?? 32 * 1024 * 1024;
    migrate(db, 'queue', MIGRATIONS);
    // Statement and savepoint journals in memory rather than in temporary files: a journal
    // written to a file costs system calls for every page it holds, and it never has to
    // survive a crash (the WAL does that).
    db.pragma('temp_store = MEMORY');
    this.s = {
      insertMessage: db.prepare(
        'INSERT INTO messages (id, account_id, source, mail_from, size, created_at, expires_at, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertBody: db.prepare('INSERT INTO bodies (message_id, data) VALUES (?, ?)'),
      insertRecipient: db.prepare(
        "INSERT INTO recipients (message_id, address, domain, state, next_attempt_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?)",
      ),
      insertEvent: db.prepare('INSERT INTO events (type, message_id, account_id, recipient, at, data) VALUES (?, ?, ?, ?, ?, ?)'),
      // Covered by the partial index recipients_due: no table reads while choosing work.
      dueKeys: db.prepare(HOT_QUERIES.dueKeys),
      dueOfKey: db.prepare(
        `SELECT id, address, attempts FROM recipients
         WHERE message_id = ? AND state IN ${DUE_STATES} AND domain = ? AND next_attempt_at <= ? ORDER BY id`,
      ),
      lease: db.prepare("UPDATE recipients SET state = 'delivering', lease_owner = ?, lease_expires_at = ?, updated_at = ? WHERE id = ?"),
      // The lease (owner and expiry) is the token: a worker whose lease was reaped and re-claimed
      // matches nothing, so its late result is dropped.
      finish: db.prepare(
        `UPDATE recipients SET state = @state, attempts = attempts + 1, next_attempt_at = @next, last_reply = @reply,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = @at
         WHERE id = @id AND message_id = @messageId AND state = 'delivering' AND lease_owner = @owner AND lease_expires_at = @leaseExpiresAt
         RETURNING address, attempts`,
      ),
      // A late bounce: any state but a final failure (a held or leased recipient bounced too).
      lateBounce: db.prepare(
        `UPDATE recipients SET state = 'bounced', last_reply = @reply, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = @at
         WHERE id = @id AND message_id = @messageId AND state NOT IN ('bounced', 'expired')
         RETURNING address, (SELECT account_id FROM messages WHERE id = @messageId) AS account_id`,
      ),
      insertAttempt: db.prepare('INSERT INTO attempts (recipient_id, message_id, at, host, state, reply) VALUES (?, ?, ?, ?, ?, ?)'),
      reap: db.prepare(HOT_QUERIES.reap),
      reapAll: db.prepare(HOT_QUERIES.reapAll),
      postpone: db.prepare(HOT_QUERIES.postpone),
      nextDue: db.prepare(HOT_QUERIES.nextDue),
      body: db.prepare('SELECT data FROM bodies WHERE message_id = ?'),
      message: db.prepare('SELECT * FROM messages WHERE id = ?'),
      metaOf: db.prepare('SELECT id, meta FROM messages WHERE id IN (SELECT value FROM json_each(?))'),
      recipientsOf: db.prepare(
        'SELECT id, address, state, attempts, next_attempt_at, last_reply FROM recipients WHERE message_id = ? ORDER BY id',
      ),
      attemptsOf: db.prepare('SELECT recipient_id, at, host, state, reply FROM attempts WHERE message_id = ? ORDER BY id'),
      subjectSeq: db.prepare('SELECT seq FROM message_subjects WHERE message_id = ?'),
      // How far the subject index has got, and the last subject numbered (both primary-key reads).
      subjectIndexProgress: db.prepare(
        'SELECT (SELECT seq FROM message_subjects_indexed) AS done, COALESCE((SELECT MAX(seq) FROM message_subjects), 0) AS last',
      ),
      indexSubjects: db.prepare(
        `INSERT INTO message_subjects_fts (rowid, subject)
         SELECT s.seq, json_extract(m.meta, '$.subject') FROM message_subjects s JOIN messages m ON m.id = s.message_id WHERE s.seq > ? AND s.seq <= ?`,
      ),
      markSubjectsIndexed: db.prepare('UPDATE message_subjects_indexed SET seq = ?'),
      stateSummary: db.prepare(
        `SELECT state, COUNT(*) AS n, MIN(CASE WHEN state IN ${DUE_STATES} THEN next_attempt_at END) AS next
         FROM recipients WHERE message_id = ? GROUP BY state`,
      ),
      retryOne: db.prepare(`UPDATE recipients SET next_attempt_at = ?, updated_at = ? WHERE message_id = ? AND state IN ${DUE_STATES}`),
      retryAll: db.prepare(`UPDATE recipients SET next_attempt_at = ?, updated_at = ? WHERE state IN ${DUE_STATES}`),
      hold: db.prepare(`UPDATE recipients SET state = 'held', updated_at = ? WHERE message_id = ? AND state IN ${DUE_STATES} RETURNING id, address`),
      release: db.prepare(
        `UPDATE recipients SET state = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END, next_attempt_at = ?, updated_at = ?
         WHERE message_id = ? AND state = 'held' RETURNING id, address`,
      ),
      // Explicit deletes rather than ON DELETE CASCADE alone: correct even where foreign_keys is off.
      deleteAttempts: db.prepare('DELETE FROM attempts WHERE message_id = ?'),
      deleteRecipients: db.prepare('DELETE FROM recipients WHERE message_id = ?'),
      deleteBody: db.prepare('DELETE FROM bodies WHERE message_id = ?'),
      deleteMessage: db.prepare('DELETE FROM messages WHERE id = ?'),
      // Ids are time-ordered: the id bound makes this a range scan of the oldest messages; the
      // created_at test is the exact one.
      finishedBefore: db.prepare(
        `SELECT id FROM messages WHERE id < @idBound AND created_at < @before
           AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = messages.id AND r.state IN ${PENDING_SQL})
         ORDER BY id LIMIT @limit`,
      ),
      // Walks events_at (whose entries carry seq) from the oldest: a batch costs its own rows.
      deleteOldEvents: db.prepare('DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < ? ORDER BY at, seq LIMIT ?)'),
      readEvents: db.prepare('SELECT seq, type, message_id, account_id, recipient, at, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      eventsOf: db.prepare('SELECT seq, type, message_id, account_id, recipient, at, data FROM events WHERE message_id = ? ORDER BY seq LIMIT ?'),
      countByState: db.prepare('SELECT state, COUNT(*) AS n FROM recipients GROUP BY state'),
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
    };
    this.chunkTx = db.transaction(this.writeChunk.bind(this));
    this.savepoint = db.transaction((w: PendingWrite, now: number) => w.write(now));
    this.readTx = db.transaction((fn: () => unknown) => fn()) as <T>(fn: () => T) => T;
  }

  // ---- group commit ----------------------------------------------------------------------

  enqueue(msg: NewMessage): Promise<void> {
    const invalid = checkMessage(msg);
    if (invalid) return Promise.reject(new Error(`cannot queue message ${msg.id}: ${invalid}`));
    if (typeof msg.meta.subject === 'string') this.unindexed++;
    return this.submit(msg.body.length, true, (now) => [this.insertMessage(msg, now)]);
  }

  /**
   * Queues a write for the next group commit. Everything submitted in one event-loop turn
   * shares one transaction, so one fsync: SMTP sessions accepting mail and workers recording
   * attempts pay the disk's sync latency once per turn, not once per call.
   */
  private submit(bytes: number, durable: boolean, write: (now: number) => MailEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the queue store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ bytes, durable, write, resolve, reject });
      this.flushScheduled ??= setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.flushScheduled = undefined;
    this.flushChunk();
    // Leave room for I/O between chunks rather than draining a backlog in one go.
    if (this.pending.length) this.flushScheduled = setImmediate(() => this.flush());
  }

  /** Commits the next chunk of pending writes; settles their promises after the commit. */
  private flushChunk(): void {
    let bytes = 0;
    let n = 0;
    while (n < this.pending.length && n < this.maxBatchWrites) {
      const size = this.pending[n].bytes;
      if (n > 0 && bytes + size > this.maxBatchBytes) break;
      bytes += size;
      n++;
    }
    const chunk = this.pending.splice(0, n);
    if (chunk.length === 0) return;
    let events: MailEvent[] = [];
    const refused = new Map<PendingWrite, unknown>();
    const commit = (isolate: boolean) => {
      if (chunk.some((p) => p.durable)) this.chunkTx.immediate(chunk, events, refused, isolate);
      else this.withoutSync(() => this.chunkTx.immediate(chunk, events, refused, isolate));
    };
    try {
      // First without a savepoint per write: savepoints journal every page a write touches, which
      // cost more than the writes themselves. Nearly every chunk commits this way.
      this.writeFailed = false;
      try {
        commit(false);
      } catch (err) {
        if (!this.writeFailed) throw err;
        // A write failed and took the chunk with it (rolled back, nothing committed): again with
        // a savepoint per write, so that only the bad write is refused.
        events = [];
        commit(true);
      }
    } catch (err) {
      // Nothing of the chunk is durable: every caller must answer 451 4.3.0.
      for (const p of chunk) p.reject(err);
      return;
    }
    // A chunk of claims alone made nothing due and nothing happened: telling the listeners would
    // wake the delivery scheduler to claim again, whose claim would wake it again, for ever.
    if (events.length > 0) this.notify(events);
    for (const p of chunk) {
      if (refused.has(p)) p.reject(refused.get(p));
      else p.resolve();
    }
    if (this.unindexed >= SUBJECT_INDEX_BATCH) this.catchUpSubjects();
    else if (this.unindexed > 0) this.indexTimer ??= setTimeout(() => this.catchUpSubjects(), SUBJECT_INDEX_DELAY_MS).unref();
  }

  /** indexSubjects in the background: a failure waits for the next turn (a search catches up itself). */
  private catchUpSubjects(): void {
    try {
      this.indexSubjects();
    } catch (err) {
      if (this.logger) this.logger.warn({ err }, 'the subject search index could not catch up; it tries again with the next messages');
      else process.emitWarning(`the subject search index could not catch up: ${String(err)}`);
    }
  }

  /**
   * Adds the subjects stored since the last call to the search index, in one transaction that
   * need not reach the disk: the mark moves in the same transaction, so a crash that loses it
   * only means the same subjects are indexed again. Runs once SUBJECT_INDEX_BATCH messages were
   * stored, or SUBJECT_INDEX_DELAY_MS after the first of fewer, and before every search by
   * subject, so a search always sees every message, another process's (the CLI's) included.
   */
  private indexSubjects(): void {
    if (this.indexTimer) clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    this.unindexed = 0;
    const behind = () => {
      const { done, last } = this.s.subjectIndexProgress.get() as { done: number; last: number };
      return last > done ? { done, last } : null;
    };
    // Asked first outside a transaction, so that a search with nothing to index takes no write lock.
    if (!this.db.open || !behind()) return;
    this.withoutSync(() =>
      this.writeTx(() => {
        const range = behind();
        if (!range) return;
        this.s.indexSubjects.run(range.done, range.last);
        this.s.markSubjectsIndexed.run(range.last);
      }),
    );
  }

  private writeChunk(chunk: PendingWrite[], events: MailEvent[], refused: Map<PendingWrite, unknown>, isolate: boolean): void {
    const now = this.clock.now().getTime();
    if (!isolate) {
      for (const p of chunk) {
        try {
          events.push(...p.write(now));
        } catch (err) {
          this.writeFailed = true;
          throw err;
        }
      }
      return;
    }
    for (const p of chunk) {
      try {
        // A savepoint per write: one bad write (say, a duplicate message id) is refused alone.
        events.push(...this.savepoint(p, now));
      } catch (err) {
        // RAISE(ROLLBACK), a full disk and the like end the whole transaction: fail the chunk.
        if (!this.db.inTransaction) throw err;
        refused.set(p, err);
      }
    }
  }

  /** Inserts message, body, recipients and the 'accepted' event (enqueue and DSNs share this). */
  private insertMessage(msg: NewMessage, now: number): MailEvent {
    const createdAt = msg.createdAt.getTime();
    this.s.insertMessage.run(
      msg.id,
      msg.accountId,
      msg.source,
      msg.mailFrom,
      msg.body.length,
      createdAt,
      msg.expiresAt.getTime(),
      JSON.stringify(msg.meta),
    );
    this.s.insertBody.run(msg.id, msg.body);
    const due = Math.max(createdAt, msg.notBefore?.getTime() ?? createdAt);
    for (const address of msg.recipients) this.s.insertRecipient.run(msg.id, address, domainOf(address), due, now);
    return this.insertEvent({
      type: 'accepted',
      messageId: msg.id,
      accountId: msg.accountId,
      at: msg.createdAt,
      data: { recipients: [...msg.recipients], size: msg.body.length, source: msg.source, mailFrom: msg.mailFrom },
    });
  }

  private insertEvent(event: MailEvent): MailEvent {
    const info = this.s.insertEvent.run(
      event.type,
      event.messageId,
      event.accountId,
      event.recipient ?? null,
      event.at.getTime(),
      JSON.stringify(event.data),
    );
    return { ...event, seq: Number(info.lastInsertRowid) };
  }

  // ---- delivery ---------------------------------------------------------------------------

  async claimDue(req: ClaimRequest): Promise<DeliveryBatch[]> {
    if (req.limit <= 0) return [];
    // Claims join the group commit: one transaction with the enqueues and attempt records of
    // the same turn rather than a commit of their own.
    let batches: DeliveryBatch[] = [];
    await this.submit(0, false, () => {
      batches = this.claim(req);
      return [];
    });
    return batches;
  }

  private claim(req: ClaimRequest): DeliveryBatch[] {
    const now = req.now.getTime();
    const leaseExpiresAt = now + req.leaseMs;
    // First pick the batch keys (message × domain) in due order, then take all of each key's
    // due recipients, so a message's recipients at one domain travel in one SMTP transaction.
    const keys: { messageId: string; domain: string }[] = [];
    const seen = new Set<string>();
    for (const row of this.s.dueKeys.iterate(now, JSON.stringify(req.skipDomains ?? [])) as Iterable<{ message_id: string; domain: string }>) {
      const key = `${row.message_id} ${row.domain}`;
      if (seen.has(key)) continue;
      seen.add(key);
      keys.push({ messageId: row.message_id, domain: row.domain });
      if (keys.length >= req.limit) break;
    }
    const batches: DeliveryBatch[] = [];
    for (const key of keys) {
      const m = this.s.message.get(key.messageId) as MessageRow | undefined;
      if (!m) continue;
      const rows = this.s.dueOfKey.all(key.messageId, key.domain, now) as { id: number; address: string; attempts: number }[];
      for (const r of rows) this.s.lease.run(req.owner, leaseExpiresAt, now, r.id);
      batches.push({
        messageId: m.id,
        accountId: m.account_id,
        source: m.source,
        domain: key.domain,
        mailFrom: m.mail_from,
        createdAt: new Date(m.created_at),
        expiresAt: new Date(m.expires_at),
        size: m.size,
        meta: JSON.parse(m.meta) as MessageMeta,
        recipients: rows.map((r) => ({ id: r.id, address: r.address, attempts: r.attempts })),
        leaseOwner: req.owner,
        leaseExpiresAt: new Date(leaseExpiresAt),
      });
    }
    return batches;
  }

  async recordAttempt(rec: AttemptRecord): Promise<void> {
    const bytes = checkAttempt(rec);
    return this.submit(bytes, false, () => this.applyAttempt(rec));
  }

  private applyAttempt(rec: AttemptRecord): MailEvent[] {
    const { batch } = rec;
    const at = rec.at.getTime();
    const events: MailEvent[] = [];
    for (const r of rec.results) {
      const o = r.outcome;
      const failure = o.kind === 'delivered' ? undefined : o.failure;
      const host = o.kind === 'delivered' ? o.host : o.failure.host;
      const reply = o.kind === 'delivered' ? o.reply : o.failure.reply;
      const replyText = reply ? formatReply(reply) : (failure?.reason ?? '');
      const next = r.state === 'deferred' ? r.nextAttemptAt!.getTime() : null;
      const row = this.s.finish.get({
        state: r.state,
        next,
        reply: replyText,
        at,
        id: r.recipientId,
        messageId: batch.messageId,
        owner: batch.leaseOwner,
        leaseExpiresAt: batch.leaseExpiresAt.getTime(),
      }) as { address: string; attempts: number } | undefined;
      if (!row) continue; // the lease is gone: reaped (and perhaps re-claimed) or the message removed
      this.s.insertAttempt.run(r.recipientId, batch.messageId, at, host ?? null, r.state, replyText);
      events.push(
        this.insertEvent({
          type: r.state,
          messageId: batch.messageId,
          accountId: batch.accountId,
          recipient: row.address,
          at: rec.at,
          data: compact({
            host,
            reply: reply && compact({ code: reply.code, enhanced: reply.enhanced, text: reply.text }),
            reason: failure?.reason,
            scope: failure?.scope,
            attempt: row.attempts,
            nextAttemptAt: next === null ? undefined : new Date(next).toISOString(),
          }),
        }),
      );
    }
    // DSNs report on this attempt's results; a stale worker whose results were all dropped must
    // not send a second report about what the current lease holder will decide.
    if (events.length > 0) {
      for (const dsn of rec.dsns ?? []) events.push(this.insertMessage(dsn, at));
    }
    return events;
  }

  async postpone(batch: DeliveryBatch, until: Date, now: Date): Promise<number> {
    let changes = 0;
    // Joins the group commit like a claim: a destination at its rate gives back a whole claim's
    // worth of batches at once.
    await this.submit(0, false, () => {
      for (const r of batch.recipients) {
        changes += this.s.postpone.run({
          id: r.id,
          messageId: batch.messageId,
          owner: batch.leaseOwner,
          leaseExpiresAt: batch.leaseExpiresAt.getTime(),
          until: until.getTime(),
          now: now.getTime(),
        }).changes;
      }
      return [];
    });
    return changes;
  }

  async reapExpiredLeases(now: Date, options: { all?: boolean } = {}): Promise<number> {
    const statement = options.all ? this.s.reapAll : this.s.reap;
    const changes = this.writeTx(() => statement.run({ now: now.getTime() }).changes);
    if (changes > 0) this.notify([]); // no event type for it, but work became due: wake schedulers
    return changes;
  }

  async nextDueAt(): Promise<Date | null> {
    const row = this.s.nextDue.get() as { t: number | null };
    return row.t === null ? null : new Date(row.t);
  }

  // ---- views ------------------------------------------------------------------------------

  async getBody(id: MessageId): Promise<Buffer | null> {
    const row = this.s.body.get(id) as { data: Buffer } | undefined;
    return row ? row.data : null;
  }

  async get(id: MessageId): Promise<MessageDetail | null> {
    // One read transaction: recipients and their attempts from the same snapshot.
    return this.readTx(() => {
      const m = this.s.message.get(id) as MessageRow | undefined;
      if (!m) return null;
      const rows = this.s.recipientsOf.all(id) as RecipientRow[];
      const history = new Map<number, AttemptView[]>();
      for (const a of this.s.attemptsOf.all(id) as AttemptRow[]) {
        const list = history.get(a.recipient_id) ?? [];
        list.push(compact({ at: new Date(a.at), host: a.host ?? undefined, state: a.state, reply: a.reply }) as AttemptView);
        history.set(a.recipient_id, list);
      }
      const recipients: RecipientView[] = rows.map((r) => ({
        id: r.id,
        address: r.address,
        state: r.state,
        attempts: r.attempts,
        nextAttemptAt: isDue(r.state) && r.next_attempt_at !== null ? new Date(r.next_attempt_at) : null,
        lastReply: r.last_reply,
        history: history.get(r.id) ?? [],
      }));
      const due = rows.filter((r) => isDue(r.state) && r.next_attempt_at !== null).map((r) => r.next_attempt_at!);
      return {
        ...toSummary(m, rows.map((r) => r.state), rows.length, due.length ? Math.min(...due) : null),
        recipients,
      };
    });
  }

  async metaOf(ids: readonly MessageId[]): Promise<Map<MessageId, MessageMeta>> {
    const found = new Map<MessageId, MessageMeta>();
    for (const chunk of idChunks(ids)) {
      for (const row of this.s.metaOf.all(JSON.stringify(chunk)) as { id: string; meta: string }[]) found.set(row.id, JSON.parse(row.meta) as MessageMeta);
    }
    return found;
  }

  async list(req: ListRequest): Promise<MessageSummary[]> {
    const params: Record<string, unknown> = { limit: Math.max(0, req.limit) };
    // One state (what the API asks) is an equality, so the index gives the rows in id order unsorted.
    if (req.states?.length === 1 && INDEXED_STATES.includes(req.states[0])) params.state = req.states[0];
    else if (req.states?.length) params.states = JSON.stringify(req.states);
    // Ids are time-ordered, so the time bounds become id bounds: a range of the primary key.
    const upper = [req.before, req.until && firstMessageIdAt(req.until.getTime())].filter((b): b is string => !!b).sort()[0];
    if (upper) params.before = upper;
    if (req.since) params.after = firstMessageIdAt(req.since.getTime());
    if (req.accountId !== undefined) params.account = req.accountId;
    if (req.recipient !== undefined) params.recipient = normalizeAddress(req.recipient);
    if (req.tag !== undefined) params.tag = req.tag;
    if (req.sender !== undefined) {
      const sender = senderFilter(req.sender);
      if ('domain' in sender) params.senderDomain = sender.domain;
      else params.sender = sender.address;
    }
    if (req.subject !== undefined) {
      this.indexSubjects();
      // One phrase: the trigram index matches it as a substring, case-insensitively.
      params.subject = `"${req.subject.replaceAll('"', '""')}"`;
      // The subject index is in stored order: the page before a message is the part of the index
      // before its entry (ids are the same order but for messages stored in the same instant).
      if (params.before !== undefined && req.before !== undefined && params.before === req.before) {
        const seq = this.s.subjectSeq.get(req.before) as { seq: number } | undefined;
        if (seq) {
          params.beforeSeq = seq.seq;
          delete params.before;
        }
      }
    }
    const key = Object.keys(params).sort().join(',');
    let stmt = this.listStatements.get(key);
    if (!stmt) {
      // A subject, tag or status drives the query from its index (message_subjects_fts,
      // message_tags, recipients_state_message) newest first, so a rare one reads only its own
      // matches and a common one stops at the page's end; CROSS JOIN keeps that order.
      const driver = 'subject' in params ? 'subject' : 'tag' in params ? 'tag' : 'state' in params ? 'state' : null;
      const stateTest = 'state' in params ? '= @state' : 'IN (SELECT value FROM json_each(@states))';
      const id = driver === 'subject' ? 'm.id' : driver ? 'd.message_id' : 'm.id';
      const where = [
        driver === 'subject' ? 'message_subjects_fts MATCH @subject' : '',
        'beforeSeq' in params ? 'f.rowid < @beforeSeq' : '',
        driver === 'tag' ? 'd.tag = @tag' : '',
        driver !== 'tag' && 'tag' in params ? 'EXISTS (SELECT 1 FROM message_tags t WHERE t.tag = @tag AND t.message_id = m.id)' : '',
        // The partial index's own condition, literally, so that SQLite may use it.
        driver === 'state' ? `d.state = @state AND d.state IN ${INDEXED_STATES_SQL}` : '',
        'before' in params ? `${id} < @before` : '',
        'after' in params ? `${id} >= @after` : '',
        'account' in params ? 'm.account_id = @account' : '',
        driver !== 'state' && ('state' in params || 'states' in params) ? `EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state ${stateTest})` : '',
        'recipient' in params ? 'm.id IN (SELECT message_id FROM recipients WHERE address = @recipient)' : '',
        'sender' in params ? 'm.mail_from = @sender' : '',
        'senderDomain' in params ? `${SENDER_DOMAIN_SQL} = @senderDomain AND instr(m.mail_from, '@') > 0` : '',
      ].filter(Boolean);
      const from =
        driver === 'subject'
          ? 'message_subjects_fts f CROSS JOIN message_subjects s ON s.seq = f.rowid CROSS JOIN messages m ON m.id = s.message_id'
          : driver === 'tag'
            ? 'message_tags d CROSS JOIN messages m ON m.id = d.message_id'
            : driver === 'state'
              ? 'recipients d CROSS JOIN messages m ON m.id = d.message_id'
              : 'messages m';
      // A message with several recipients in the state appears once.
      const group = driver === 'state' ? 'GROUP BY d.message_id' : '';
      const order = driver === 'subject' ? 'f.rowid' : id;
      stmt = this.db.prepare(`SELECT m.* FROM ${from} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ${group} ORDER BY ${order} DESC LIMIT @limit`);
      this.listStatements.set(key, stmt);
    }
    return this.readTx(() =>
      (stmt.all(params) as MessageRow[]).map((m) => {
        const groups = this.s.stateSummary.all(m.id) as { state: RecipientState; n: number; next: number | null }[];
        const nexts = groups.map((g) => g.next).filter((t): t is number => t !== null);
        return toSummary(
          m,
          groups.map((g) => g.state),
          groups.reduce((sum, g) => sum + g.n, 0),
          nexts.length ? Math.min(...nexts) : null,
        );
      }),
    );
  }

  async readEvents(afterSeq: number, limit: number): Promise<MailEvent[]> {
    return (this.s.readEvents.all(afterSeq, limit) as EventRow[]).map(toEvent);
  }

  async eventsOf(id: MessageId, limit: number): Promise<MailEvent[]> {
    return (this.s.eventsOf.all(id, limit) as EventRow[]).map(toEvent);
  }

  async countByState(): Promise<Record<RecipientState, number>> {
    const counts = Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<RecipientState, number>;
    for (const row of this.s.countByState.all() as { state: RecipientState; n: number }[]) counts[row.state] = row.n;
    return counts;
  }

  // ---- operator actions -------------------------------------------------------------------

  async retryNow(id: MessageId | 'all', now: Date): Promise<number> {
    const t = now.getTime();
    const changes = this.writeTx(() => (id === 'all' ? this.s.retryAll.run(t, t) : this.s.retryOne.run(t, t, id)).changes);
    if (changes > 0) this.notify([]);
    return changes;
  }

  async recordLateBounce(report: LateBounce): Promise<{ accountId: string; address: string } | null> {
    let result: { accountId: string; address: string } | null = null;
    // Durable like an enqueue: the MX listener answers 250 to the report only after this commit.
    await this.submit(0, true, () => {
      const row = this.s.lateBounce.get({ at: report.at.getTime(), reply: report.reply, id: report.recipientId, messageId: report.messageId }) as
        | { address: string; account_id: string }
        | undefined;
      if (!row) return [];
      this.s.insertAttempt.run(report.recipientId, report.messageId, report.at.getTime(), report.host ?? null, 'bounced', report.reply);
      result = { accountId: row.account_id, address: row.address };
      return [
        this.insertEvent({
          type: 'bounced',
          messageId: report.messageId,
          accountId: row.account_id,
          recipient: row.address,
          at: report.at,
          data: compact({ ...report.details, reply: report.reply, host: report.host, late: true }),
        }),
      ];
    });
    return result;
  }

  recordEvent(event: MailEvent): Promise<void> {
    return this.submit(0, true, () => [this.insertEvent(event)]);
  }

  async hold(id: MessageId, now: Date): Promise<number> {
    return this.changeHeld(id, now, 'held');
  }

  async release(id: MessageId, now: Date): Promise<number> {
    return this.changeHeld(id, now, 'released');
  }

  private changeHeld(id: MessageId, now: Date, type: 'held' | 'released'): number {
    const t = now.getTime();
    const events = this.writeTx(() => {
      const m = this.s.message.get(id) as MessageRow | undefined;
      if (!m) return [];
      const rows = (type === 'held' ? this.s.hold.all(t, id) : this.s.release.all(t, t, id)) as { id: number; address: string }[];
      if (rows.length === 0) return [];
      // RETURNING has no defined order; events should read the same every time.
      const recipients = rows.sort((a, b) => a.id - b.id).map((r) => r.address);
      return [this.insertEvent({ type, messageId: id, accountId: m.account_id, at: now, data: { recipients } })];
    });
    this.notify(events);
    return events.length ? (events[0].data.recipients as string[]).length : 0;
  }

  async purgeFinished(olderThan: Date, limit: number): Promise<number> {
    const before = olderThan.getTime();
    return this.writeTx(() => {
      const ids = this.s.finishedBefore.all({ idBound: firstMessageIdAt(before + 1), before, limit }) as { id: string }[];
      for (const { id } of ids) this.deleteMessageRows(id);
      return ids.length;
    });
  }

  async purgeEvents(olderThan: Date, limit: number): Promise<number> {
    // No commit listener hears of it: removing history makes no work due and is no event.
    return this.writeTx(() => this.s.deleteOldEvents.run(olderThan.getTime(), Math.max(0, limit)).changes);
  }

  /** Everything stored for one message (its events stay: they outlive it). */
  private deleteMessageRows(id: MessageId): void {
    this.s.deleteAttempts.run(id);
    this.s.deleteRecipients.run(id);
    this.s.deleteBody.run(id);
    this.s.deleteMessage.run(id);
  }

  async remove(id: MessageId, now: Date): Promise<boolean> {
    const events = this.writeTx(() => {
      const m = this.s.message.get(id) as MessageRow | undefined;
      if (!m) return null;
      const recipients = (this.s.recipientsOf.all(id) as RecipientRow[]).map((r) => ({ address: r.address, state: r.state }));
      this.deleteMessageRows(id);
      return [this.insertEvent({ type: 'deleted', messageId: id, accountId: m.account_id, at: now, data: { recipients } })];
    });
    if (!events) return false;
    this.notify(events);
    return true;
  }

  // ---- plumbing ---------------------------------------------------------------------------

  onCommit(listener: (events: MailEvent[]) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    // Callers still waiting for their 250 get it (or their 451) before the file closes.
    while (this.pending.length) this.flushChunk();
    // Leaves the index complete for the next process (a failure leaves the rest to that one).
    this.catchUpSubjects();
    this.db.close();
  }

  /**
   * Runs a commit without waiting for the disk (WAL with synchronous=NORMAL). Only for state that
   * a crash may safely forget: leases, attempt results and operator steering. Losing such a
   * commit to a power failure (a process crash loses nothing: the OS still has the pages) means
   * an extra attempt — a possible duplicate, never a loss — and the next durable commit's fsync
   * of the append-only WAL makes every earlier frame durable too.
   */
  private withoutSync<T>(fn: () => T): T {
    this.s.syncNormal.run();
    try {
      return fn();
    } finally {
      this.s.syncFull.run();
    }
  }

  private writeTx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private notify(events: MailEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        // The commit stands; a listener's bug must not turn it into a failure for the caller.
        if (this.logger) this.logger.error({ err }, 'queue onCommit listener failed');
        else process.emitWarning(`queue onCommit listener failed: ${String(err)}`);
      }
    }
  }

  // ---- graceful stop and metrics ----------------------------------------------------------

  async releaseLeases(owner: string, now: Date): Promise<number> {
    const changes = this.writeTx(() => this.db.prepare(HOT_QUERIES.releaseOwn).run({ owner, now: now.getTime() }).changes);
    if (changes > 0) this.notify([]); // work became due: wake schedulers
    return changes;
  }

  async gauges(): Promise<QueueGauges> {
    const pending = emptyGauges();
    for (const row of this.db.prepare(HOT_QUERIES.pendingGauges).all() as { state: PendingState; n: number; oldest: number | null }[]) {
      pending[row.state] = { count: row.n, oldestCreatedAt: row.oldest === null ? null : new Date(row.oldest) };
    }
    // AUTOINCREMENT's own counter: the last seq handed out, even when retention removed it.
    const head = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as { seq: number } | undefined;
    return { pending, lastEventSeq: head?.seq ?? 0 };
  }
}

function emptyGauges(): QueueGauges['pending'] {
  return { queued: { count: 0, oldestCreatedAt: null }, deferred: { count: 0, oldestCreatedAt: null }, delivering: { count: 0, oldestCreatedAt: null }, held: { count: 0, oldestCreatedAt: null } };
}


function toSummary(m: MessageRow, states: RecipientState[], recipientCount: number, next: number | null): MessageSummary {
  return {
    id: m.id,
    accountId: m.account_id,
    source: m.source,
    mailFrom: m.mail_from,
    createdAt: new Date(m.created_at),
    expiresAt: new Date(m.expires_at),
    size: m.size,
    meta: JSON.parse(m.meta) as MessageMeta,
    status: messageStatus(states),
    recipientCount,
    nextAttemptAt: next === null ? null : new Date(next),
  };
}


function toEvent(e: EventRow): MailEvent {
  const event: MailEvent = {
    seq: e.seq,
    type: e.type,
    messageId: e.message_id,
    accountId: e.account_id,
    at: new Date(e.at),
    data: JSON.parse(e.data) as Record<string, unknown>,
  };
  if (e.recipient !== null) event.recipient = e.recipient;
  return event;
}

