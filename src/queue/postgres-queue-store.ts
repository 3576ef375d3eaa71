import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { domainOf, firstMessageIdAt, formatReply, normalizeAddress, systemClock, type Clock, type Logger, type MailEvent, type MessageId } from '../core/index.js';
import { HOT_QUERIES, MIGRATIONS } from './postgres-schema.js';
import { checkSchemaName, migratePostgres } from '../storage/index.js';
import { messageStatus } from './status.js';
import { PENDING_STATES, RECIPIENT_STATES } from './types.js';
import type {
  AttemptRecord,
  AttemptView,
  ClaimRequest,
  DeliveryBatch,
  LateBounce,
  ListRequest,
  MessageDetail,
  MessageMeta,
  MessageSource,
  MessageSummary,
  NewMessage,
  PendingState,
  QueueGauges,
  QueueStore,
  RecipientState,
  RecipientView,
} from './types.js';
import { checkAttempt, checkMessage, compact, idChunks, isDue, senderFilter } from './store-rules.js';

export interface PostgresQueueStoreOptions {
  /** `postgres://user@host:5432/database` or the pg driver's pool settings (`max`, `ssl`, ...). */
  connection: string | pg.PoolConfig;
  /** The schema holding the queue's tables, created if missing; default `public`. */
  schema?: string;
  clock?: Clock;
  /** Where pool errors and throwing onCommit listeners are reported. */
  logger?: Logger;
  /** Group-commit bounds: one transaction holds at most this many writes / body bytes. */
  maxBatchWrites?: number;
  maxBatchBytes?: number;
  /**
   * LISTEN for other nodes' new work and call onCommit listeners (with no events) when it comes,
   * so a scheduler wakes at once instead of at its next scan — a hint: the scan stays the truth.
   * Costs one more connection; for the nodes that deliver. Default false.
   */
  listen?: boolean;
}

interface MessageRow {
  id: string;
  account_id: string;
  source: MessageSource;
  mail_from: string;
  size: number;
  created_at: Date;
  expires_at: Date;
  meta: MessageMeta;
}

interface EventRow {
  seq: string;
  type: MailEvent['type'];
  message_id: string;
  account_id: string;
  recipient: string | null;
  at: Date;
  data: Record<string, unknown>;
}

/** A write for the group commit: an enqueue or an attempt record, and its body bytes. */
type WriteRequest = { bytes: number } & ({ kind: 'enqueue'; msg: NewMessage } | { kind: 'attempt'; rec: AttemptRecord });
/** A write waiting for the next group commit. */
type PendingWrite = WriteRequest & { resolve(): void; reject(err: unknown): void };

/** A transaction's work: what it changed, and whether that made work due now for other nodes. */
interface TxContext {
  client: pg.PoolClient;
  /** Events to write, in order; they get their seq at commit. */
  events: MailEvent[];
  /** Set when the commit makes work due now: other nodes are told (NOTIFY) and listeners woken. */
  wake: boolean;
}

const DUE_STATES = "('queued', 'deferred')";
const PENDING_SQL = `(${PENDING_STATES.map((s) => `'${s}'`).join(', ')})`;
const MESSAGE_COLUMNS = 'id, account_id, source, mail_from, size, created_at, expires_at, meta';
const EVENT_COLUMNS = 'seq, type, message_id, account_id, recipient, at, data';
const CHANNEL_PREFIX = 'herald_queue:';

/**
 * The queue in PostgreSQL, for several Herald nodes on one database (pg driver, plain
 * parameterised SQL). Same behaviour as SqliteQueueStore; the contract suite holds both to it.
 *
 * - Group commit: enqueues and attempt records wait for the transaction in flight to finish and
 *   then go together in the next one, written with a handful of set-based statements (unnest of
 *   arrays) whatever their number. Every connection runs with synchronous_commit=on, so `enqueue`
 *   resolves only when its commit is flushed.
 * - Events get their seq at commit, under the event_seq row lock (postgres-schema.ts), so seq
 *   order is commit order across nodes.
 * - claimDue locks its rows with FOR UPDATE SKIP LOCKED: claims from many nodes never wait for
 *   each other nor take the same recipient. The lease (owner + expiry) is the token every result
 *   must show; a result from a lease that was reaped matches nothing and is dropped.
 */
export class PostgresQueueStore implements QueueStore {
  /** The driver, loaded by open(): SQLite users of this room never pay for loading it. */
  private readonly driver: typeof pg;
  private readonly pool: pg.Pool;
  private readonly config: pg.PoolConfig;
  private readonly schema: string;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly maxBatchWrites: number;
  private readonly maxBatchBytes: number;
  /** Tells this store's own NOTIFYs from other nodes'. */
  private readonly instance = randomBytes(8).toString('hex');
  private readonly listeners: ((events: MailEvent[]) => void)[] = [];
  private pending: PendingWrite[] = [];
  private flushing: Promise<void> | undefined;
  private flushScheduled: NodeJS.Immediate | undefined;
  private listenClient: pg.Client | undefined;
  private listenRetry: NodeJS.Timeout | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(driver: typeof pg, config: pg.PoolConfig, schema: string, options: PostgresQueueStoreOptions) {
    this.driver = driver;
    this.config = config;
    this.schema = schema;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.maxBatchWrites = options.maxBatchWrites ?? 500;
    // Bodies travel as hex inside one statement: bound the statement, not only the transaction.
    this.maxBatchBytes = options.maxBatchBytes ?? 16 * 1024 * 1024;
    this.pool = new driver.Pool(config);
    // An idle connection that breaks (server restart) must not crash the process: the next
    // query takes a new one.
    this.pool.on('error', (err) => this.report(err, 'idle PostgreSQL connection failed'));
  }

  /** Connects, applies the queue's migrations (under an advisory lock) and returns the store. */
  static async open(options: PostgresQueueStoreOptions): Promise<PostgresQueueStore> {
    const schema = options.schema ?? 'public';
    checkSchemaName(schema);
    const base: pg.PoolConfig = typeof options.connection === 'string' ? { connectionString: options.connection } : { ...options.connection };
    // Every connection: our schema first, and commits flushed before they return (the 250 promise),
    // whatever the server's default.
    const config: pg.PoolConfig = {
      application_name: 'herald',
      ...base,
      options: [base.options, `-c search_path=${schema}`, '-c synchronous_commit=on'].filter(Boolean).join(' '),
    };
    const { default: driver } = await import('pg');
    const store = new PostgresQueueStore(driver, config, schema, options);
    try {
      const client = await store.pool.connect();
      try {
        await migratePostgres(client, schema, 'queue', MIGRATIONS);
      } finally {
        client.release();
      }
    } catch (err) {
      await store.pool.end().catch(() => {});
      throw err;
    }
    if (options.listen) await store.startListening();
    return store;
  }

  // ---- group commit ----------------------------------------------------------------------

  enqueue(msg: NewMessage): Promise<void> {
    const invalid = checkMessage(msg);
    if (invalid) return Promise.reject(new Error(`cannot queue message ${msg.id}: ${invalid}`));
    return this.submit({ kind: 'enqueue', msg, bytes: msg.body.length });
  }

  async recordAttempt(rec: AttemptRecord): Promise<void> {
    const bytes = checkAttempt(rec);
    return this.submit({ kind: 'attempt', rec, bytes });
  }

  async postpone(batch: DeliveryBatch, until: Date, now: Date): Promise<number> {
    if (this.closed) throw new Error('the queue store is closed');
    const ids = batch.recipients.map((r) => r.id);
    return this.transaction(async ({ client }) => {
      // Lost in a crash, the lease expires and the work is due again: no need to wait for the flush.
      await client.query('SET LOCAL synchronous_commit = off');
      const { rowCount } = await client.query(HOT_QUERIES.postpone, [until, now, ids, batch.messageId, batch.leaseOwner, batch.leaseExpiresAt]);
      return rowCount ?? 0;
    });
  }

  /**
   * Queues a write for the next group commit. While one transaction is in flight, everything
   * that arrives waits and then shares the next one: the more callers, the more writes per
   * commit and per WAL flush.
   */
  private submit(write: WriteRequest): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the queue store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ ...write, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    // One turn's worth of writes joins the same transaction; one transaction in flight at a time.
    // Once closed, close() itself drains what is left.
    if (this.closed || this.flushing || this.flushScheduled || this.pending.length === 0) return;
    this.flushScheduled = setImmediate(() => {
      this.flushScheduled = undefined;
      this.flushing = this.commitChunk(this.takeChunk()).finally(() => {
        this.flushing = undefined;
        this.scheduleFlush();
      });
    });
  }

  private takeChunk(): PendingWrite[] {
    let bytes = 0;
    let n = 0;
    while (n < this.pending.length && n < this.maxBatchWrites) {
      const size = this.pending[n].bytes;
      if (n > 0 && bytes + size > this.maxBatchBytes) break;
      bytes += size;
      n++;
    }
    return this.pending.splice(0, n);
  }

  /** Commits a chunk of writes; settles every promise in it (never throws). */
  private async commitChunk(chunk: PendingWrite[]): Promise<void> {
    let live = chunk;
    while (live.length > 0) {
      const refused = new Map<PendingWrite, Error>();
      try {
        await this.transaction(async (tx) => {
          refused.clear();
          await this.writeChunk(tx, live, refused);
          // A refused write (a message id already taken) may have left rows of its own in the
          // transaction — an attempt whose DSN clashed — so the chunk is run again without it.
          if (refused.size > 0) throw ROLL_BACK;
        });
      } catch (err) {
        if (err === ROLL_BACK) {
          for (const [w, reason] of refused) w.reject(reason);
          live = live.filter((w) => !refused.has(w));
          continue;
        }
        if (live.length > 1 && isDataError(err)) {
          // Bad data in one write (say, a NUL byte in an address) fails the whole statement:
          // commit each write alone, so only the culprit is refused.
          for (const w of live) await this.commitChunk([w]);
          return;
        }
        // Nothing of the chunk is durable: every caller must answer 451 4.3.0.
        for (const w of live) w.reject(err);
        return;
      }
      for (const w of live) w.resolve();
      return;
    }
  }

  /**
   * One chunk in one transaction, by kind of statement rather than write by write (a few round
   * trips per chunk, not per message). The writes were concurrent, so any order is a valid one;
   * the events are still listed write by write, in arrival order.
   */
  private async writeChunk(tx: TxContext, chunk: PendingWrite[], refused: Map<PendingWrite, Error>): Promise<void> {
    const now = this.clock.now();
    const eventsOf = new Map<PendingWrite, MailEvent[]>();
    const messages: { msg: NewMessage; owner: PendingWrite }[] = [];

    // 1. Attempt results, each guarded by its lease.
    const attempts = chunk.filter((w): w is Extract<PendingWrite, { kind: 'attempt' }> => w.kind === 'attempt');
    if (attempts.length > 0) {
      const applied = await this.applyResults(tx.client, attempts);
      for (const w of attempts) {
        const events = applied.get(w) ?? [];
        eventsOf.set(w, events);
        // DSNs report on this attempt's results; a stale worker whose results were all dropped
        // must not send a second report about what the current lease holder will decide.
        if (events.length > 0) for (const dsn of w.rec.dsns ?? []) messages.push({ msg: dsn, owner: w });
      }
    }

    // 2. New messages: enqueues and the DSNs above.
    for (const w of chunk) if (w.kind === 'enqueue') messages.push({ msg: w.msg, owner: w });
    if (messages.length > 0) {
      const taken = new Set<string>();
      const fresh = messages.filter(({ msg, owner }) => {
        if (taken.has(msg.id) && !refused.has(owner)) refused.set(owner, new Error(`cannot queue message ${msg.id}: its id is already taken`));
        taken.add(msg.id);
        return !refused.has(owner);
      });
      const inserted = await this.insertMessages(tx.client, fresh.map((m) => m.msg), now);
      for (const { msg, owner } of fresh) {
        if (!inserted.has(msg.id)) {
          refused.set(owner, new Error(`cannot queue ${msg.source === 'dsn' ? 'DSN' : 'message'} ${msg.id}: its id is already taken`));
          continue;
        }
        const list = eventsOf.get(owner) ?? [];
        list.push(acceptedEvent(msg));
        eventsOf.set(owner, list);
      }
      if (refused.size > 0) return;
      // New work, due now or later: a sleeping scheduler elsewhere re-reads when it is next due.
      tx.wake = true;
    }
    for (const w of chunk) tx.events.push(...(eventsOf.get(w) ?? []));
  }

  /** Inserts messages, bodies and recipients; returns the ids inserted (a taken id is skipped). */
  private async insertMessages(client: pg.PoolClient, msgs: NewMessage[], now: Date): Promise<Set<string>> {
    if (msgs.length === 0) return new Set();
    const { rows } = await client.query<{ id: string }>({
      name: 'queue-insert-messages',
      text: `INSERT INTO messages (${MESSAGE_COLUMNS})
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::timestamptz[], $8::json[])
        ON CONFLICT (id) DO NOTHING RETURNING id`,
      values: [
        msgs.map((m) => m.id),
        msgs.map((m) => m.accountId),
        msgs.map((m) => m.source),
        msgs.map((m) => m.mailFrom),
        msgs.map((m) => m.body.length),
        msgs.map((m) => m.createdAt),
        msgs.map((m) => m.expiresAt),
        msgs.map((m) => JSON.stringify(m.meta)),
      ],
    });
    const inserted = new Set(rows.map((r) => r.id));
    const kept = msgs.filter((m) => inserted.has(m.id));
    if (kept.length === 0) return inserted;
    await client.query({
      name: 'queue-insert-bodies',
      text: 'INSERT INTO bodies (message_id, data) SELECT * FROM unnest($1::text[], $2::bytea[])',
      values: [kept.map((m) => m.id), kept.map((m) => m.body)],
    });
    const recipients = kept.flatMap((m) => m.recipients.map((address) => ({ id: m.id, address, due: new Date(dueAt(m)) })));
    // ORDER BY ordinality: identities are drawn in that order, so a message's recipients keep the
    // order they were given in (get and batches list them by id).
    await client.query({
      name: 'queue-insert-recipients',
      text: `INSERT INTO recipients (message_id, address, domain, state, next_attempt_at, updated_at)
        SELECT u.message_id, u.address, u.domain, 'queued', u.due, $5
        FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS u(message_id, address, domain, due, i)
        ORDER BY u.i`,
      values: [recipients.map((r) => r.id), recipients.map((r) => r.address), recipients.map((r) => domainOf(r.address)), recipients.map((r) => r.due), now],
    });
    return inserted;
  }

  /** Applies attempt results whose lease still holds; returns each write's events, in order. */
  private async applyResults(client: pg.PoolClient, writes: Extract<PendingWrite, { kind: 'attempt' }>[]): Promise<Map<PendingWrite, MailEvent[]>> {
    interface Row {
      write: Extract<PendingWrite, { kind: 'attempt' }>;
      id: number;
      state: string;
      next: Date | null;
      reply: string;
      host: string | undefined;
      event: Record<string, unknown>;
    }
    const rows: Row[] = [];
    const seen = new Set<number>();
    for (const write of writes) {
      for (const r of write.rec.results) {
        // The same recipient twice in one chunk: the first result takes the lease, as it would
        // one transaction earlier; the second no longer matches it.
        if (seen.has(r.recipientId)) continue;
        seen.add(r.recipientId);
        const o = r.outcome;
        const failure = o.kind === 'delivered' ? undefined : o.failure;
        const host = o.kind === 'delivered' ? o.host : o.failure.host;
        const reply = o.kind === 'delivered' ? o.reply : o.failure.reply;
        const next = r.state === 'deferred' ? r.nextAttemptAt! : null;
        rows.push({
          write,
          id: r.recipientId,
          state: r.state,
          next,
          reply: noNul(reply ? formatReply(reply) : (failure?.reason ?? '')),
          host: host === undefined ? undefined : noNul(host),
          event: compact({
            host,
            reply: reply && compact({ code: reply.code, enhanced: reply.enhanced, text: reply.text }),
            reason: failure?.reason,
            scope: failure?.scope,
            nextAttemptAt: next === null ? undefined : next.toISOString(),
          }),
        });
      }
    }
    const result = new Map<PendingWrite, MailEvent[]>();
    if (rows.length === 0) return result;
    // The lease (owner and expiry) is the token: a worker whose lease was reaped and re-claimed
    // matches nothing, so its late result is dropped.
    const updated = await client.query<{ id: string; address: string; attempts: number }>({
      name: 'queue-finish',
      text: `UPDATE recipients r SET state = u.state, attempts = r.attempts + 1, next_attempt_at = u.next, last_reply = u.reply,
          lease_owner = NULL, lease_expires_at = NULL, updated_at = u.at
        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::timestamptz[], $7::text[], $8::timestamptz[])
          AS u(id, message_id, owner, lease, state, next, reply, at)
        WHERE r.id = u.id AND r.message_id = u.message_id AND r.state = 'delivering' AND r.lease_owner = u.owner AND r.lease_expires_at = u.lease
        RETURNING r.id, r.address, r.attempts`,
      values: [
        rows.map((r) => r.id),
        rows.map((r) => r.write.rec.batch.messageId),
        rows.map((r) => r.write.rec.batch.leaseOwner),
        rows.map((r) => r.write.rec.batch.leaseExpiresAt),
        rows.map((r) => r.state),
        rows.map((r) => r.next),
        rows.map((r) => r.reply),
        rows.map((r) => r.write.rec.at),
      ],
    });
    const done = new Map(updated.rows.map((u) => [Number(u.id), u]));
    const history: Row[] = [];
    for (const row of rows) {
      const u = done.get(row.id);
      if (!u) continue; // the lease is gone: reaped (and perhaps re-claimed) or the message removed
      history.push(row);
      const { batch, at } = row.write.rec;
      const { nextAttemptAt, ...rest } = row.event;
      const list = result.get(row.write) ?? [];
      list.push({
        type: row.state as MailEvent['type'],
        messageId: batch.messageId,
        accountId: batch.accountId,
        recipient: u.address,
        at,
        // The same field order as SqliteQueueStore's events.
        data: compact({ ...rest, attempt: u.attempts, nextAttemptAt }),
      });
      result.set(row.write, list);
    }
    if (history.length > 0) {
      await client.query({
        name: 'queue-insert-attempts',
        text: `INSERT INTO attempts (recipient_id, message_id, at, host, state, reply)
          SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])`,
        values: [
          history.map((r) => r.id),
          history.map((r) => r.write.rec.batch.messageId),
          history.map((r) => r.write.rec.at),
          history.map((r) => r.host ?? null),
          history.map((r) => r.state),
          history.map((r) => r.reply),
        ],
      });
    }
    return result;
  }

  // ---- delivery ---------------------------------------------------------------------------

  async claimDue(req: ClaimRequest): Promise<DeliveryBatch[]> {
    if (req.limit <= 0) return [];
    if (this.closed) throw new Error('the queue store is closed');
    const now = req.now;
    const leaseExpiresAt = new Date(now.getTime() + req.leaseMs);
    const skip = [...(req.skipDomains ?? [])];
    return this.transaction(async ({ client }) => {
      // A lost claim costs a duplicate attempt at worst, never a message: no need to wait for
      // the WAL flush (the next synchronous commit flushes it anyway).
      await client.query('SET LOCAL synchronous_commit = off');
      // First the batch keys (message × domain) in due order: lock due rows, skipping rows
      // other claimers hold, never more rows than keys still wanted — so no row is locked that
      // this claim will not take, and a concurrent claimer finds everything else free.
      const keys = new Map<string, { messageId: string; domain: string }>();
      while (keys.size < req.limit) {
        const need = req.limit - keys.size;
        const { rows } = await client.query<{ message_id: string; domain: string }>({
          name: 'queue-claim-scan',
          text: HOT_QUERIES.claimScan,
          values: [now, skip, [...keys.keys()], need],
        });
        for (const r of rows) {
          const key = `${r.message_id} ${r.domain}`;
          if (!keys.has(key)) keys.set(key, { messageId: r.message_id, domain: r.domain });
        }
        // Fewer rows than asked for: nothing more is due (or free). As many rows as asked but
        // fewer new keys: several rows of one key — look further.
        if (rows.length < need) break;
      }
      if (keys.size === 0) return [];
      // Then every due recipient of those keys, so a message's recipients at one domain travel
      // in one SMTP transaction. Rows this transaction locked above are not skipped.
      const chosen = [...keys.values()];
      const leased = await client.query<{ id: string; message_id: string; domain: string; address: string; attempts: number }>({
        name: 'queue-claim-lease',
        text: `UPDATE recipients SET state = 'delivering', lease_owner = $1, lease_expires_at = $2, updated_at = $3
          WHERE id IN (
            SELECT r.id FROM recipients r JOIN unnest($4::text[], $5::text[]) AS k(message_id, domain)
              ON r.message_id = k.message_id AND r.domain = k.domain
            WHERE r.state IN ${DUE_STATES} AND r.next_attempt_at <= $3
            FOR UPDATE OF r SKIP LOCKED)
          RETURNING id, message_id, domain, address, attempts`,
        values: [req.owner, leaseExpiresAt, now, chosen.map((k) => k.messageId), chosen.map((k) => k.domain)],
      });
      const byKey = new Map<string, { id: number; address: string; attempts: number }[]>();
      for (const r of leased.rows) {
        const key = `${r.message_id} ${r.domain}`;
        const list = byKey.get(key) ?? [];
        list.push({ id: Number(r.id), address: r.address, attempts: r.attempts });
        byKey.set(key, list);
      }
      const messages = await client.query<MessageRow>({
        name: 'queue-claim-messages',
        text: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ANY($1::text[])`,
        values: [[...new Set(chosen.map((k) => k.messageId))]],
      });
      const byId = new Map(messages.rows.map((m) => [m.id, m]));
      const batches: DeliveryBatch[] = [];
      for (const [key, { messageId, domain }] of keys) {
        const m = byId.get(messageId);
        const recipients = byKey.get(key);
        if (!m || !recipients) continue;
        batches.push({
          messageId,
          accountId: m.account_id,
          source: m.source,
          domain,
          mailFrom: m.mail_from,
          createdAt: m.created_at,
          expiresAt: m.expires_at,
          size: m.size,
          meta: m.meta,
          recipients: recipients.sort((a, b) => a.id - b.id),
          leaseOwner: req.owner,
          leaseExpiresAt,
        });
      }
      return batches;
    });
  }

  async reapExpiredLeases(now: Date, options: { all?: boolean } = {}): Promise<number> {
    // `all` is for a process that is the only user of its store; on a shared database it would
    // take live leases from other nodes, so a cluster reaps by expiry alone.
    return this.transaction(async (tx) => {
      const { rowCount } = await tx.client.query(options.all ? HOT_QUERIES.reapAll : HOT_QUERIES.reap, [now]);
      // No event type for it, but work became due: wake schedulers here and on other nodes.
      if (rowCount) tx.wake = true;
      return rowCount ?? 0;
    });
  }

  async nextDueAt(): Promise<Date | null> {
    const { rows } = await this.pool.query<{ t: Date | null }>(HOT_QUERIES.nextDue);
    return rows[0].t;
  }

  // ---- views ------------------------------------------------------------------------------

  async getBody(id: MessageId): Promise<Buffer | null> {
    const { rows } = await this.pool.query<{ data: Buffer }>({ name: 'queue-body', text: 'SELECT data FROM bodies WHERE message_id = $1', values: [id] });
    return rows.length ? rows[0].data : null;
  }

  async get(id: MessageId): Promise<MessageDetail | null> {
    // One snapshot: recipients and their attempts as of the same moment.
    return this.snapshot(async (client) => {
      const m = (await client.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`, [id])).rows[0];
      if (!m) return null;
      const rows = (
        await client.query<{ id: string; address: string; state: RecipientState; attempts: number; next_attempt_at: Date | null; last_reply: string | null }>(
          'SELECT id, address, state, attempts, next_attempt_at, last_reply FROM recipients WHERE message_id = $1 ORDER BY id',
          [id],
        )
      ).rows;
      const history = new Map<number, AttemptView[]>();
      const attempts = await client.query<{ recipient_id: string; at: Date; host: string | null; state: AttemptView['state']; reply: string }>(
        'SELECT recipient_id, at, host, state, reply FROM attempts WHERE message_id = $1 ORDER BY id',
        [id],
      );
      for (const a of attempts.rows) {
        const rid = Number(a.recipient_id);
        const list = history.get(rid) ?? [];
        list.push(compact({ at: a.at, host: a.host ?? undefined, state: a.state, reply: a.reply }) as AttemptView);
        history.set(rid, list);
      }
      const recipients: RecipientView[] = rows.map((r) => ({
        id: Number(r.id),
        address: r.address,
        state: r.state,
        attempts: r.attempts,
        nextAttemptAt: isDue(r.state) ? r.next_attempt_at : null,
        lastReply: r.last_reply,
        history: history.get(Number(r.id)) ?? [],
      }));
      const due = rows.filter((r) => isDue(r.state) && r.next_attempt_at !== null).map((r) => r.next_attempt_at!.getTime());
      return {
        ...toSummary(m, rows.map((r) => r.state), rows.length, due.length ? new Date(Math.min(...due)) : null),
        recipients,
      };
    });
  }

  async metaOf(ids: readonly MessageId[]): Promise<Map<MessageId, MessageMeta>> {
    const found = new Map<MessageId, MessageMeta>();
    for (const chunk of idChunks(ids)) {
      const { rows } = await this.pool.query<{ id: string; meta: MessageMeta }>({
        name: 'queue-meta-of',
        text: 'SELECT id, meta FROM messages WHERE id = ANY($1::text[])',
        values: [chunk],
      });
      for (const row of rows) found.set(row.id, row.meta);
    }
    return found;
  }

  async list(req: ListRequest): Promise<MessageSummary[]> {
    const values: unknown[] = [];
    const param = (v: unknown) => {
      values.push(v);
      return `$${values.length}`;
    };
    const where: string[] = [];
    // Ids are time-ordered, so the time bounds become id bounds: a range of the primary key.
    const upper = [req.before, req.until && firstMessageIdAt(req.until.getTime())].filter((b): b is string => !!b).sort()[0];
    if (upper) where.push(`m.id < ${param(upper)}`);
    if (req.since) where.push(`m.id >= ${param(firstMessageIdAt(req.since.getTime()))}`);
    if (req.accountId !== undefined) where.push(`m.account_id = ${param(req.accountId)}`);
    if (req.states?.length) where.push(`EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state = ANY(${param(req.states)}::text[]))`);
    if (req.recipient !== undefined) where.push(`m.id IN (SELECT message_id FROM recipients WHERE address = ${param(normalizeAddress(req.recipient))})`);
    if (req.tag !== undefined) {
      where.push(
        `EXISTS (SELECT 1 FROM json_array_elements_text(CASE WHEN json_typeof(m.meta->'tags') = 'array' THEN m.meta->'tags' END) AS t(tag) WHERE t.tag = ${param(req.tag)})`,
      );
    }
    if (req.sender !== undefined) {
      const sender = senderFilter(req.sender);
      if ('domain' in sender) where.push(`substring(m.mail_from from '@([^@]*)$') = ${param(sender.domain)}`);
      else where.push(`m.mail_from = ${param(sender.address)}`);
    }
    if (req.subject !== undefined) {
      // ILIKE reads every message's subject: no index serves it here yet (a pg_trgm GIN index
      // would); fine while PostgreSQL stores hold fewer messages than the SQLite bench's million.
      const pattern = `%${req.subject.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(`m.meta->>'subject' ILIKE ${param(pattern)}`);
    }
    const limit = param(Math.max(0, req.limit));
    // One statement, so one snapshot for the messages and their recipients' states.
    const { rows } = await this.pool.query<MessageRow & { states: RecipientState[] | null; n: string; next: Date | null }>(
      `SELECT m.*, s.states, s.n, s.next
       FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY m.id DESC LIMIT ${limit}) m
       CROSS JOIN LATERAL (
         SELECT array_agg(DISTINCT r.state) AS states, count(*) AS n, min(r.next_attempt_at) FILTER (WHERE r.state IN ${DUE_STATES}) AS next
         FROM recipients r WHERE r.message_id = m.id) s
       ORDER BY m.id DESC`,
      values,
    );
    return rows.map((m) => toSummary(m, m.states ?? [], Number(m.n), m.next));
  }

  async readEvents(afterSeq: number, limit: number): Promise<MailEvent[]> {
    const { rows } = await this.pool.query<EventRow>({
      name: 'queue-read-events',
      text: `SELECT ${EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`,
      values: [afterSeq, Math.max(0, limit)],
    });
    return rows.map(toEvent);
  }

  async eventsOf(id: MessageId, limit: number): Promise<MailEvent[]> {
    const { rows } = await this.pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE message_id = $1 ORDER BY seq LIMIT $2`, [id, Math.max(0, limit)]);
    return rows.map(toEvent);
  }

  async countByState(): Promise<Record<RecipientState, number>> {
    const counts = Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<RecipientState, number>;
    const { rows } = await this.pool.query<{ state: RecipientState; n: string }>('SELECT state, count(*) AS n FROM recipients GROUP BY state');
    for (const row of rows) counts[row.state] = Number(row.n);
    return counts;
  }

  // ---- operator actions and reports --------------------------------------------------------

  async retryNow(id: MessageId | 'all', now: Date): Promise<number> {
    return this.transaction(async (tx) => {
      const { rowCount } =
        id === 'all'
          ? await tx.client.query(`UPDATE recipients SET next_attempt_at = $1, updated_at = $1 WHERE state IN ${DUE_STATES}`, [now])
          : await tx.client.query(`UPDATE recipients SET next_attempt_at = $1, updated_at = $1 WHERE message_id = $2 AND state IN ${DUE_STATES}`, [now, id]);
      if (rowCount) tx.wake = true;
      return rowCount ?? 0;
    });
  }

  async hold(id: MessageId, now: Date): Promise<number> {
    return this.changeHeld(id, now, 'held');
  }

  async release(id: MessageId, now: Date): Promise<number> {
    return this.changeHeld(id, now, 'released');
  }

  private changeHeld(id: MessageId, now: Date, type: 'held' | 'released'): Promise<number> {
    return this.transaction(async (tx) => {
      const m = (await tx.client.query<{ account_id: string }>('SELECT account_id FROM messages WHERE id = $1', [id])).rows[0];
      if (!m) return 0;
      const { rows } =
        type === 'held'
          ? await tx.client.query<{ id: string; address: string }>(
              `UPDATE recipients SET state = 'held', updated_at = $1 WHERE message_id = $2 AND state IN ${DUE_STATES} RETURNING id, address`,
              [now, id],
            )
          : await tx.client.query<{ id: string; address: string }>(
              `UPDATE recipients SET state = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END, next_attempt_at = $1, updated_at = $1
               WHERE message_id = $2 AND state = 'held' RETURNING id, address`,
              [now, id],
            );
      if (rows.length === 0) return 0;
      // RETURNING has no defined order; events should read the same every time.
      const recipients = rows.sort((a, b) => Number(a.id) - Number(b.id)).map((r) => r.address);
      tx.events.push({ type, messageId: id, accountId: m.account_id, at: now, data: { recipients } });
      if (type === 'released') tx.wake = true;
      return recipients.length;
    });
  }

  async remove(id: MessageId, now: Date): Promise<boolean> {
    return this.transaction(async (tx) => {
      const m = (await tx.client.query<{ account_id: string }>('SELECT account_id FROM messages WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!m) return false;
      const { rows } = await tx.client.query<{ address: string; state: RecipientState }>('SELECT address, state FROM recipients WHERE message_id = $1 ORDER BY id', [id]);
      // Body, recipients and attempts go with it (ON DELETE CASCADE); its events stay.
      await tx.client.query('DELETE FROM messages WHERE id = $1', [id]);
      tx.events.push({ type: 'deleted', messageId: id, accountId: m.account_id, at: now, data: { recipients: rows.map((r) => ({ address: r.address, state: r.state })) } });
      return true;
    });
  }

  async purgeFinished(olderThan: Date, limit: number): Promise<number> {
    return this.transaction(async ({ client }) => {
      // Ids are time-ordered: the id bound makes this a range scan of the oldest messages; the
      // created_at test is the exact one. SKIP LOCKED: a message some transaction is working on
      // is not finished business; the next purge takes it. = ANY (ARRAY(…)) as in purgeEvents:
      // deleted by primary key, never a join against the whole table.
      const { rowCount } = await client.query(
        `DELETE FROM messages WHERE id = ANY (ARRAY(
           SELECT id FROM messages WHERE id < $1 AND created_at < $2
             AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = messages.id AND r.state IN ${PENDING_SQL})
           ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED))`,
        [firstMessageIdAt(olderThan.getTime() + 1), olderThan, Math.max(0, limit)],
      );
      return rowCount ?? 0;
    });
  }

  async purgeEvents(olderThan: Date, limit: number): Promise<number> {
    // One statement, so one short transaction: the oldest first along events_at, and no lock on
    // event_seq, so commits that write events go on meanwhile. = ANY (ARRAY(…)) rather than IN:
    // the planner then deletes by primary key instead of hash-joining against the whole table.
    // SKIP LOCKED: two purges at once share the rows rather than deadlock over them. No commit
    // listener hears of it: it makes no work due.
    const { rowCount } = await this.pool.query(
      'DELETE FROM events WHERE seq = ANY (ARRAY(SELECT seq FROM events WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED))',
      [olderThan, Math.max(0, limit)],
    );
    return rowCount ?? 0;
  }

  async recordLateBounce(report: LateBounce): Promise<{ accountId: string; address: string } | null> {
    const reply = noNul(report.reply);
    // Durable like an enqueue: the MX listener answers 250 to the report only after this commit.
    return this.transaction(async (tx) => {
      // Any state but a final failure: a held or leased recipient is bounced too.
      const row = (
        await tx.client.query<{ address: string; account_id: string }>(
          `UPDATE recipients r SET state = 'bounced', last_reply = $1, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
           FROM messages m WHERE m.id = r.message_id AND r.id = $3 AND r.message_id = $4 AND r.state NOT IN ('bounced', 'expired')
           RETURNING r.address, m.account_id`,
          [reply, report.at, report.recipientId, report.messageId],
        )
      ).rows[0];
      if (!row) return null;
      await tx.client.query('INSERT INTO attempts (recipient_id, message_id, at, host, state, reply) VALUES ($1, $2, $3, $4, $5, $6)', [
        report.recipientId,
        report.messageId,
        report.at,
        report.host === undefined ? null : noNul(report.host),
        'bounced',
        reply,
      ]);
      tx.events.push({
        type: 'bounced',
        messageId: report.messageId,
        accountId: row.account_id,
        recipient: row.address,
        at: report.at,
        data: compact({ ...report.details, reply: report.reply, host: report.host, late: true }),
      });
      return { accountId: row.account_id, address: row.address };
    });
  }

  async recordEvent(event: MailEvent): Promise<void> {
    await this.transaction(async (tx) => {
      tx.events.push({ ...event });
    });
  }

  // ---- plumbing ---------------------------------------------------------------------------

  onCommit(listener: (events: MailEvent[]) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    if (this.listenRetry) clearTimeout(this.listenRetry);
    // Callers still waiting for their 250 get it (or their 451) before the pool closes.
    while (this.flushing || this.pending.length > 0) {
      if (this.flushing) await this.flushing;
      else await this.commitChunk(this.takeChunk());
    }
    const listen = this.listenClient;
    this.listenClient = undefined;
    await Promise.all([this.pool.end(), listen?.end().catch(() => {})]);
  }

  /**
   * Runs `work` in one transaction and commits it with its events: they get their seq last,
   * just before COMMIT, under the event_seq row lock (see postgres-schema.ts), so a seq becomes
   * visible only after every smaller one. Listeners hear the events after the commit, before
   * this resolves. A deadlock or serialization failure (two transactions locking the same rows
   * in different orders) is retried.
   */
  private async transaction<T>(work: (tx: TxContext) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      const tx: TxContext = { client, events: [], wake: false };
      let broken: Error | undefined;
      let result!: T;
      try {
        await client.query('BEGIN');
        result = await work(tx);
        if (tx.events.length > 0) await this.insertEvents(client, tx.events);
        // Delivered to listening nodes at commit, and only if it commits.
        if (tx.wake) await client.query('SELECT pg_notify($1, $2)', [CHANNEL_PREFIX + this.schema, this.instance]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackFailed: Error) => {
          broken = rollbackFailed;
        });
        for (const e of tx.events) delete e.seq;
        client.release(broken);
        if (attempt < 3 && isRetryable(err)) continue;
        throw err;
      }
      client.release();
      if (tx.events.length > 0 || tx.wake) this.notify(tx.events);
      return result;
    }
  }

  private async insertEvents(client: pg.PoolClient, events: MailEvent[]): Promise<void> {
    // The row lock taken here is held until COMMIT: the last thing before it, so held briefly.
    const { rows } = await client.query<{ first: string }>({
      name: 'queue-insert-events',
      text: `WITH s AS (UPDATE event_seq SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq - $1 AS base),
        ins AS (
          INSERT INTO events (${EVENT_COLUMNS})
          SELECT s.base + u.i, u.type, u.message_id, u.account_id, u.recipient, u.at, u.data
          FROM s, unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::json[]) WITH ORDINALITY AS u(type, message_id, account_id, recipient, at, data, i))
        SELECT base + 1 AS first FROM s`,
      values: [
        events.length,
        events.map((e) => e.type),
        events.map((e) => e.messageId),
        events.map((e) => e.accountId),
        events.map((e) => e.recipient ?? null),
        events.map((e) => e.at),
        events.map((e) => JSON.stringify(e.data)),
      ],
    });
    const first = Number(rows[0].first);
    events.forEach((e, i) => (e.seq = first + i));
  }

  /** A read-only transaction at REPEATABLE READ: several statements, one snapshot. */
  private async snapshot<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      let broken: Error | undefined;
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      client.release(broken);
      throw err;
    }
  }

  private async startListening(): Promise<void> {
    const client = new this.driver.Client(this.config);
    this.listenClient = client;
    const retry = (err: unknown) => {
      if (this.listenClient !== client) return;
      this.listenClient = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      this.report(err, 'PostgreSQL LISTEN connection lost; the periodic scan carries on, retrying in 5 s');
      this.listenRetry = setTimeout(() => {
        this.listenRetry = undefined;
        if (!this.closed) void this.startListening();
      }, 5000);
      this.listenRetry.unref();
    };
    client.on('error', retry);
    client.on('end', () => retry(new Error('the connection ended')));
    client.on('notification', (n) => {
      // Another node made work due; our own commits already told our listeners.
      if (n.payload !== this.instance && !this.closed) this.notify([]);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${CHANNEL_PREFIX}${this.schema}"`);
      if (this.closed) await client.end();
    } catch (err) {
      retry(err);
    }
  }

  private notify(events: MailEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        // The commit stands; a listener's bug must not turn it into a failure for the caller.
        this.report(err, 'queue onCommit listener failed');
      }
    }
  }

  private report(err: unknown, msg: string): void {
    if (this.logger) this.logger.error({ err }, msg);
    else process.emitWarning(`${msg}: ${String(err)}`);
  }

  // ---- graceful stop and metrics ----------------------------------------------------------

  async releaseLeases(owner: string, now: Date): Promise<number> {
    return this.transaction(async (tx) => {
      const { rowCount } = await tx.client.query(HOT_QUERIES.releaseOwn, [now, owner]);
      // Work became due: wake schedulers here and on other nodes.
      if (rowCount) tx.wake = true;
      return rowCount ?? 0;
    });
  }

  async gauges(): Promise<QueueGauges> {
    const pending: QueueGauges['pending'] = {
      queued: { count: 0, oldestCreatedAt: null },
      deferred: { count: 0, oldestCreatedAt: null },
      delivering: { count: 0, oldestCreatedAt: null },
      held: { count: 0, oldestCreatedAt: null },
    };
    const { rows } = await this.pool.query<{ state: PendingState; n: string; oldest: Date | null }>(HOT_QUERIES.pendingGauges);
    for (const row of rows) pending[row.state] = { count: Number(row.n), oldestCreatedAt: row.oldest };
    // The last seq handed out (see event_seq), even when retention removed that event.
    const head = await this.pool.query<{ last_seq: string }>('SELECT last_seq FROM event_seq WHERE id = 1');
    return { pending, lastEventSeq: Number(head.rows[0]?.last_seq ?? 0) };
  }
}

/** Thrown inside a chunk's transaction to roll it back after refusing some of its writes. */
const ROLL_BACK = Symbol('roll back the chunk');

/** A SQLSTATE of one write's data (class 22, data exception; 23, integrity): refuse it alone. */
function isDataError(err: unknown): boolean {
  const code = sqlState(err);
  return code.startsWith('22') || code.startsWith('23');
}

/** Serialization failure or deadlock: the transaction did nothing and can simply run again. */
function isRetryable(err: unknown): boolean {
  const code = sqlState(err);
  return code === '40001' || code === '40P01';
}

function sqlState(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : '';
}


function dueAt(msg: NewMessage): number {
  const createdAt = msg.createdAt.getTime();
  return Math.max(createdAt, msg.notBefore?.getTime() ?? createdAt);
}

function acceptedEvent(msg: NewMessage): MailEvent {
  return {
    type: 'accepted',
    messageId: msg.id,
    accountId: msg.accountId,
    at: msg.createdAt,
    data: { recipients: [...msg.recipients], size: msg.body.length, source: msg.source, mailFrom: msg.mailFrom },
  };
}

function toSummary(m: MessageRow, states: RecipientState[], recipientCount: number, next: Date | null): MessageSummary {
  return {
    id: m.id,
    accountId: m.account_id,
    source: m.source,
    mailFrom: m.mail_from,
    createdAt: m.created_at,
    expiresAt: m.expires_at,
    size: m.size,
    meta: m.meta,
    status: messageStatus(states),
    recipientCount,
    nextAttemptAt: next,
  };
}


function toEvent(e: EventRow): MailEvent {
  const event: MailEvent = {
    seq: Number(e.seq),
    type: e.type,
    messageId: e.message_id,
    accountId: e.account_id,
    at: e.at,
    data: e.data,
  };
  if (e.recipient !== null) event.recipient = e.recipient;
  return event;
}

/**
 * PostgreSQL text cannot hold a NUL byte. Remote replies are not ours to trust: a NUL in one
 * must not make every attempt on that recipient fail to record, so it is replaced (U+FFFD).
 */
function noNul(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

