import { createHash, randomBytes } from 'node:crypto';
import { newMessageId, systemClock, type Clock } from '../core/index.js';
import type { SqlDatabase, SqlExecutor } from '../storage/index.js';
import { publicEventId, type PublicEventType } from './public-events.js';

/** The SQLite history: applied as written, never edited. */
export const SQLITE_NOTIFY_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      -- One row per endpoint. The signing secret is kept in the clear because every request is
      -- signed with it (HMAC); the data directory must be protected, as for DKIM keys.
      CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        url TEXT NOT NULL,
        -- JSON array of public event types; NULL means every type.
        event_types TEXT,
        description TEXT,
        secret TEXT NOT NULL,
        -- After a rotation the old secret signs too (a second signature) until this time.
        previous_secret TEXT,
        previous_secret_until INTEGER,
        enabled INTEGER NOT NULL,
        disabled_reason TEXT,
        disabled_at INTEGER,
        -- The last outbox seq handled: delivered, or not for this endpoint.
        cursor INTEGER NOT NULL,
        -- The event being retried (the one after the cursor), its failed attempts, when to try next.
        retry_seq INTEGER,
        retry_attempts INTEGER NOT NULL DEFAULT 0,
        retry_at INTEGER,
        failing_since INTEGER,
        -- Bumped by every change a user makes; the dispatcher writes its progress only if it is
        -- unchanged, so a result from before a change (new URL, re-enabled) never overwrites it.
        version INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints (account_id, id);
      -- Every delivery attempt, kept for a while (pruneAttempts) for "what did my endpoint answer?".
      CREATE TABLE webhook_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        endpoint_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        seq INTEGER,
        attempt INTEGER NOT NULL,
        at INTEGER NOT NULL,
        status INTEGER,
        error TEXT,
        latency_ms INTEGER NOT NULL,
        response TEXT,
        next_retry_at INTEGER
      );
      CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);
      CREATE INDEX webhook_attempts_at ON webhook_attempts (at);
    `,
  },
];

/**
 * The PostgreSQL history: version 1 is the SQLite schema as it stands. Endpoint ids compare
 * byte-wise (COLLATE "C"), as in SQLite, so "newest first" is the same order on both.
 */
export const POSTGRES_NOTIFY_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE webhook_endpoints (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL,
        url TEXT NOT NULL,
        event_types TEXT,
        description TEXT,
        secret TEXT NOT NULL,
        previous_secret TEXT,
        previous_secret_until BIGINT,
        enabled INTEGER NOT NULL,
        disabled_reason TEXT,
        disabled_at BIGINT,
        cursor BIGINT NOT NULL,
        retry_seq BIGINT,
        retry_attempts INTEGER NOT NULL DEFAULT 0,
        retry_at BIGINT,
        failing_since BIGINT,
        version INTEGER NOT NULL DEFAULT 1,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints (account_id, id);
      CREATE TABLE webhook_attempts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        endpoint_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        seq BIGINT,
        attempt INTEGER NOT NULL,
        at BIGINT NOT NULL,
        status INTEGER,
        error TEXT,
        latency_ms INTEGER NOT NULL,
        response TEXT,
        next_retry_at BIGINT
      );
      CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);
      CREATE INDEX webhook_attempts_at ON webhook_attempts (at);
    `,
  },
];

/** How long the old secret still signs after a rotation: time to deploy the new one. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 3600_000;
/** Attempts are kept this long, and at most ATTEMPTS_PER_ENDPOINT per endpoint. */
export const ATTEMPT_RETENTION_MS = 30 * 86_400_000;
export const ATTEMPTS_PER_ENDPOINT = 1000;

export interface WebhookRetry {
  /** The outbox seq of the event being retried. */
  seq: number;
  /** Failed attempts at it so far. */
  attempts: number;
  /** When to try it next. */
  at: Date;
  /** When its first attempt failed. */
  since: Date;
}

export interface WebhookEndpoint {
  id: string;
  accountId: string;
  url: string;
  /** The public event types sent; null means all. */
  events: PublicEventType[] | null;
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: Date | null;
  cursor: number;
  retry: WebhookRetry | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** An endpoint with its signing secret: only right after creation or a rotation. */
export interface CreatedWebhook {
  endpoint: WebhookEndpoint;
  secret: string;
}

export interface NewWebhook {
  url: string;
  events: PublicEventType[] | null;
  description: string | null;
  enabled?: boolean;
  /** The outbox seq to start after: the newest event at creation, so history is not sent. */
  cursor: number;
}

export interface WebhookPatch {
  url?: string;
  events?: PublicEventType[] | null;
  description?: string | null;
  enabled?: boolean;
}

export interface NewAttempt {
  endpointId: string;
  eventId: string;
  eventType: string;
  seq: number | null;
  attempt: number;
  at: Date;
  status: number | null;
  error: string | null;
  latencyMs: number;
  response: string | null;
  nextRetryAt: Date | null;
}

export interface WebhookAttempt extends NewAttempt {
  id: number;
}

export interface Progress {
  cursor: number;
  retry: WebhookRetry | null;
}

interface EndpointRow {
  id: string;
  account_id: string;
  url: string;
  event_types: string | null;
  description: string | null;
  enabled: number;
  disabled_reason: string | null;
  disabled_at: number | null;
  cursor: number;
  retry_seq: number | null;
  retry_attempts: number;
  retry_at: number | null;
  failing_since: number | null;
  version: number;
  created_at: number;
  updated_at: number;
}

interface AttemptRow {
  id: number;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  seq: number | null;
  attempt: number;
  at: number;
  status: number | null;
  error: string | null;
  latency_ms: number;
  response: string | null;
  next_retry_at: number | null;
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    accountId: row.account_id,
    url: row.url,
    events: row.event_types === null ? null : (JSON.parse(row.event_types) as PublicEventType[]),
    description: row.description,
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason,
    disabledAt: date(row.disabled_at),
    cursor: row.cursor,
    retry:
      row.retry_seq === null || row.retry_at === null
        ? null
        : { seq: row.retry_seq, attempts: row.retry_attempts, at: new Date(row.retry_at), since: new Date(row.failing_since ?? row.retry_at) },
    version: row.version,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toAttempt(row: AttemptRow): WebhookAttempt {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    seq: row.seq,
    attempt: row.attempt,
    at: new Date(row.at),
    status: row.status,
    error: row.error,
    latencyMs: row.latency_ms,
    response: row.response,
    nextRetryAt: date(row.next_retry_at),
  };
}

/** A Standard Webhooks secret: "whsec_" and the base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function isWebhookId(value: string): boolean {
  return /^wh_[0-9a-hjkmnp-tv-z]{26}$/.test(value);
}

const ENDPOINT_COLUMNS =
  'id, account_id, url, event_types, description, enabled, disabled_reason, disabled_at, cursor, retry_seq, retry_attempts, retry_at, failing_since, version, created_at, updated_at';

/**
 * Webhook endpoints per account, their signing secrets, delivery progress (cursor and retry
 * state, so a restart resumes where it stopped) and the attempts log, in the records database
 * (SQLite or PostgreSQL). Validation of what users send (URL, SSRF, event names) is
 * `createWebhook` / `updateWebhook`'s job; this stores.
 */
export class SqlWebhookStore {
  /** Locks the endpoint a change reads on PostgreSQL, so two nodes' changes apply one after the other (SQLite's write transactions already do). */
  private readonly forUpdate: string;

  private constructor(
    private readonly db: SqlDatabase,
    /** Part of every public event id (see publicEventId): unique to this installation. */
    readonly eventTag: string,
    private readonly clock: Clock,
  ) {
    this.forUpdate = db.dialect === 'postgres' ? ' FOR UPDATE' : '';
  }

  /** Brings the room's tables up to date on `db` and opens the store on it. */
  static async open(db: SqlDatabase, options: { clock?: Clock } = {}): Promise<SqlWebhookStore> {
    await db.migrate('notify', { sqlite: SQLITE_NOTIFY_MIGRATIONS, postgres: POSTGRES_NOTIFY_MIGRATIONS });
    const eventTag = createHash('sha256')
      .update(await db.installationSecret('webhook-events'))
      .digest('hex')
      .slice(0, 8);
    return new SqlWebhookStore(db, eventTag, options.clock ?? systemClock);
  }

  /** The public id of the outbox event with this seq. */
  eventId(seq: number): string {
    return publicEventId(this.eventTag, seq);
  }

  async create(accountId: string, input: NewWebhook): Promise<CreatedWebhook> {
    const now = this.clock.now().getTime();
    const id = `wh_${newMessageId(now)}`;
    const secret = newWebhookSecret();
    const endpoint = await this.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO webhook_endpoints (id, account_id, url, event_types, description, secret, enabled, cursor, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [id, accountId, input.url, input.events === null ? null : JSON.stringify(input.events), input.description, secret, input.enabled === false ? 0 : 1, input.cursor, now, now],
      );
      if (input.enabled === false) return this.change(tx, accountId, id, { enabled: false });
      return this.read(tx, accountId, id);
    });
    return { endpoint: endpoint!, secret };
  }

  async get(accountId: string, id: string): Promise<WebhookEndpoint | null> {
    return this.read(this.db, accountId, id);
  }

  /** Any account's endpoint (the operator's CLI). */
  async find(id: string): Promise<WebhookEndpoint | null> {
    const row = await this.db.get<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?`, [id]);
    return row ? toEndpoint(row) : null;
  }

  /** Newest first; every account's when no account is given (the operator's CLI). */
  async list(accountId?: string): Promise<WebhookEndpoint[]> {
    const rows =
      accountId === undefined
        ? await this.db.all<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id DESC`)
        : await this.db.all<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = ? ORDER BY id DESC`, [accountId]);
    return rows.map(toEndpoint);
  }

  async count(accountId: string): Promise<number> {
    return Number((await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM webhook_endpoints WHERE account_id = ?', [accountId]))?.n ?? 0);
  }

  /** Every enabled endpoint: what the dispatcher serves. */
  async enabledEndpoints(): Promise<WebhookEndpoint[]> {
    return (await this.db.all<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE enabled = 1`)).map(toEndpoint);
  }

  /**
   * Changes what a user may change. A new URL, or enabling again, forgets the retry state so the
   * next attempt is now; enabling keeps the cursor, so the events missed while disabled are sent.
   */
  async update(accountId: string, id: string, patch: WebhookPatch): Promise<WebhookEndpoint | null> {
    return this.db.transaction((tx) => this.change(tx, accountId, id, patch));
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const deleted = (await tx.run('DELETE FROM webhook_endpoints WHERE account_id = ? AND id = ?', [accountId, id])).changes > 0;
      if (deleted) await tx.run('DELETE FROM webhook_attempts WHERE endpoint_id = ?', [id]);
      return deleted;
    });
  }

  /** A new secret; the old one keeps signing (a second signature) for PREVIOUS_SECRET_GRACE_MS. */
  async rotateSecret(accountId: string, id: string): Promise<CreatedWebhook | null> {
    const now = this.clock.now().getTime();
    const secret = newWebhookSecret();
    const changed = await this.db.run(
      `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = ?, secret = ?, updated_at = ?
       WHERE account_id = ? AND id = ?`,
      [now + PREVIOUS_SECRET_GRACE_MS, secret, now, accountId, id],
    );
    if (changed.changes === 0) return null;
    const endpoint = await this.get(accountId, id);
    return endpoint ? { endpoint, secret } : null;
  }

  /** The secrets to sign with now: the current one, and the previous one during its grace period. */
  async signingSecrets(id: string): Promise<string[]> {
    const row = await this.db.get<{ secret: string; previous_secret: string | null; previous_secret_until: number | null }>(
      'SELECT secret, previous_secret, previous_secret_until FROM webhook_endpoints WHERE id = ?',
      [id],
    );
    if (!row) return [];
    const now = this.clock.now().getTime();
    return row.previous_secret && (row.previous_secret_until ?? 0) > now ? [row.secret, row.previous_secret] : [row.secret];
  }

  /** The dispatcher's progress; ignored (false) when a user changed the endpoint since `version`. */
  async saveProgress(id: string, version: number, progress: Progress): Promise<boolean> {
    return this.writeProgress(this.db, id, version, progress);
  }

  /**
   * The dispatcher's progress and the attempts since its last write, in one transaction (one
   * synced commit). The progress is dropped when a user changed the endpoint since `version`.
   */
  async commitProgress(id: string, version: number, progress: Progress, attempts: readonly NewAttempt[]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      for (const a of attempts) await this.insertAttempt(tx, a);
      return this.writeProgress(tx, id, version, progress);
    });
  }

  /**
   * The dispatcher gives up on an endpoint: disabled with the reason; the cursor stays before the
   * event that failed, so enabling it again sends that event and everything after it.
   */
  async disable(id: string, version: number, reason: string, cursor: number): Promise<boolean> {
    const now = this.clock.now().getTime();
    const result = await this.db.run(
      `UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, disabled_at = ?, cursor = ?,
         retry_seq = NULL, retry_attempts = 0, retry_at = NULL, failing_since = NULL, version = version + 1, updated_at = ?
       WHERE id = ? AND version = ? AND enabled = 1`,
      [reason, now, cursor, now, id, version],
    );
    return result.changes > 0;
  }

  async recordAttempt(a: NewAttempt): Promise<void> {
    await this.insertAttempt(this.db, a);
  }

  /** An endpoint's attempts, newest first; `before` (an attempt id) pages back. */
  async attempts(id: string, options: { limit: number; before?: number }): Promise<WebhookAttempt[]> {
    const rows = await this.db.all<AttemptRow>(
      `SELECT id, endpoint_id, event_id, event_type, seq, attempt, at, status, error, latency_ms, response, next_retry_at
       FROM webhook_attempts WHERE endpoint_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
      [id, options.before ?? Number.MAX_SAFE_INTEGER, options.limit],
    );
    return rows.map(toAttempt);
  }

  /** Retention of the attempts log: by age, and at most `perEndpoint` per endpoint. Returns rows removed. */
  async pruneAttempts(options: { maxAgeMs?: number; perEndpoint?: number } = {}): Promise<number> {
    const cutoff = this.clock.now().getTime() - (options.maxAgeMs ?? ATTEMPT_RETENTION_MS);
    const keep = options.perEndpoint ?? ATTEMPTS_PER_ENDPOINT;
    return this.db.transaction(async (tx) => {
      let removed = (await tx.run('DELETE FROM webhook_attempts WHERE at < ?', [cutoff])).changes;
      const crowded = await tx.all<{ endpoint_id: string }>('SELECT endpoint_id FROM webhook_attempts GROUP BY endpoint_id HAVING COUNT(*) > ?', [keep]);
      for (const { endpoint_id } of crowded) {
        removed += (
          await tx.run(
            `DELETE FROM webhook_attempts WHERE endpoint_id = ?
               AND id <= (SELECT id FROM webhook_attempts WHERE endpoint_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
            [endpoint_id, endpoint_id, keep],
          )
        ).changes;
      }
      return removed;
    });
  }

  // ---- internals ----------------------------------------------------------------------------

  private async read(ex: SqlExecutor, accountId: string, id: string, lock = ''): Promise<WebhookEndpoint | null> {
    const row = await ex.get<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = ? AND id = ?${lock}`, [accountId, id]);
    return row ? toEndpoint(row) : null;
  }

  /** `update` inside the caller's transaction. */
  private async change(tx: SqlExecutor, accountId: string, id: string, patch: WebhookPatch): Promise<WebhookEndpoint | null> {
    const current = await this.read(tx, accountId, id, this.forUpdate);
    if (!current) return null;
    const now = this.clock.now().getTime();
    const enabled = patch.enabled ?? current.enabled;
    const restart = (patch.url !== undefined && patch.url !== current.url) || (enabled && !current.enabled);
    const retry = restart || !enabled ? null : current.retry;
    const events = patch.events === undefined ? current.events : patch.events;
    await tx.run(
      `UPDATE webhook_endpoints SET url = ?, event_types = ?, description = ?, enabled = ?,
         disabled_reason = ?, disabled_at = ?,
         retry_seq = ?, retry_attempts = ?, retry_at = ?, failing_since = ?,
         version = version + 1, updated_at = ?
       WHERE account_id = ? AND id = ? AND version = ?`,
      [
        patch.url ?? current.url,
        events === null ? null : JSON.stringify(events),
        patch.description === undefined ? current.description : patch.description,
        enabled ? 1 : 0,
        enabled ? null : current.enabled ? 'disabled by a user' : current.disabledReason,
        enabled ? null : current.enabled ? now : (current.disabledAt?.getTime() ?? now),
        retry?.seq ?? null,
        retry?.attempts ?? 0,
        retry?.at.getTime() ?? null,
        retry?.since.getTime() ?? null,
        now,
        accountId,
        id,
        current.version,
      ],
    );
    return this.read(tx, accountId, id);
  }

  private async writeProgress(ex: SqlExecutor, id: string, version: number, progress: Progress): Promise<boolean> {
    const r = progress.retry;
    const result = await ex.run(
      `UPDATE webhook_endpoints SET cursor = ?, retry_seq = ?, retry_attempts = ?, retry_at = ?, failing_since = ?
       WHERE id = ? AND version = ?`,
      [progress.cursor, r?.seq ?? null, r?.attempts ?? 0, r?.at.getTime() ?? null, r?.since.getTime() ?? null, id, version],
    );
    return result.changes > 0;
  }

  private async insertAttempt(ex: SqlExecutor, a: NewAttempt): Promise<void> {
    await ex.run(
      `INSERT INTO webhook_attempts (endpoint_id, event_id, event_type, seq, attempt, at, status, error, latency_ms, response, next_retry_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [a.endpointId, a.eventId, a.eventType, a.seq, a.attempt, a.at.getTime(), a.status, a.error, Math.round(a.latencyMs), a.response, a.nextRetryAt?.getTime() ?? null],
    );
  }
}
