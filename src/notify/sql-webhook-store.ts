import { createHash, randomBytes } from 'node:crypto';
import { newMessageId, systemClock, type Clock } from '../core/index.js';
import { installationSecret, migrate, type SqliteDatabase } from '../storage/index.js';
import { publicEventId, type PublicEventType } from './public-events.js';

const MIGRATIONS = [
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
 * state, so a restart resumes where it stopped) and the attempts log. Validation of what users
 * send (URL, SSRF, event names) is `createWebhook` / `updateWebhook`'s job; this stores.
 */
export class SqliteWebhookStore {
  /** Part of every public event id (see publicEventId): unique to this installation. */
  readonly eventTag: string;
  private readonly clock: Clock;
  private readonly s;

  constructor(
    private readonly db: SqliteDatabase,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    migrate(db, 'notify', MIGRATIONS);
    this.eventTag = createHash('sha256').update(installationSecret(db, 'webhook-events')).digest('hex').slice(0, 8);
    this.s = {
      insert: db.prepare(
        `INSERT INTO webhook_endpoints (id, account_id, url, event_types, description, secret, enabled, cursor, created_at, updated_at)
         VALUES (@id, @accountId, @url, @events, @description, @secret, @enabled, @cursor, @now, @now)`,
      ),
      get: db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = ? AND id = ?`),
      find: db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?`),
      list: db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = ? ORDER BY id DESC`),
      listAll: db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id DESC`),
      enabled: db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE enabled = 1`),
      count: db.prepare('SELECT count(*) AS n FROM webhook_endpoints WHERE account_id = ?'),
      update: db.prepare(
        `UPDATE webhook_endpoints SET url = @url, event_types = @events, description = @description, enabled = @enabled,
           disabled_reason = @disabledReason, disabled_at = @disabledAt,
           retry_seq = @retrySeq, retry_attempts = @retryAttempts, retry_at = @retryAt, failing_since = @failingSince,
           version = version + 1, updated_at = @now
         WHERE account_id = @accountId AND id = @id AND version = @version`,
      ),
      delete: db.prepare('DELETE FROM webhook_endpoints WHERE account_id = ? AND id = ?'),
      deleteAttempts: db.prepare('DELETE FROM webhook_attempts WHERE endpoint_id = ?'),
      rotate: db.prepare(
        `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = @until, secret = @secret, updated_at = @now
         WHERE account_id = @accountId AND id = @id`,
      ),
      secrets: db.prepare('SELECT secret, previous_secret, previous_secret_until FROM webhook_endpoints WHERE id = ?'),
      progress: db.prepare(
        `UPDATE webhook_endpoints SET cursor = @cursor, retry_seq = @retrySeq, retry_attempts = @retryAttempts, retry_at = @retryAt, failing_since = @failingSince
         WHERE id = @id AND version = @version`,
      ),
      disable: db.prepare(
        `UPDATE webhook_endpoints SET enabled = 0, disabled_reason = @reason, disabled_at = @now, cursor = @cursor,
           retry_seq = NULL, retry_attempts = 0, retry_at = NULL, failing_since = NULL, version = version + 1, updated_at = @now
         WHERE id = @id AND version = @version AND enabled = 1`,
      ),
      insertAttempt: db.prepare(
        `INSERT INTO webhook_attempts (endpoint_id, event_id, event_type, seq, attempt, at, status, error, latency_ms, response, next_retry_at)
         VALUES (@endpointId, @eventId, @eventType, @seq, @attempt, @at, @status, @error, @latencyMs, @response, @nextRetryAt)`,
      ),
      attempts: db.prepare('SELECT * FROM webhook_attempts WHERE endpoint_id = ? AND id < ? ORDER BY id DESC LIMIT ?'),
      pruneOld: db.prepare('DELETE FROM webhook_attempts WHERE at < ?'),
      crowded: db.prepare('SELECT endpoint_id FROM webhook_attempts GROUP BY endpoint_id HAVING count(*) > ?'),
      pruneEndpoint: db.prepare(
        `DELETE FROM webhook_attempts WHERE endpoint_id = @id
           AND id <= (SELECT id FROM webhook_attempts WHERE endpoint_id = @id ORDER BY id DESC LIMIT 1 OFFSET @keep)`,
      ),
    };
  }

  /** The public id of the outbox event with this seq. */
  eventId(seq: number): string {
    return publicEventId(this.eventTag, seq);
  }

  create(accountId: string, input: NewWebhook): CreatedWebhook {
    const now = this.clock.now().getTime();
    const id = `wh_${newMessageId(now)}`;
    const secret = newWebhookSecret();
    this.s.insert.run({
      id,
      accountId,
      url: input.url,
      events: input.events === null ? null : JSON.stringify(input.events),
      description: input.description,
      secret,
      enabled: input.enabled === false ? 0 : 1,
      cursor: input.cursor,
      now,
    });
    if (input.enabled === false) this.update(accountId, id, { enabled: false });
    return { endpoint: this.get(accountId, id)!, secret };
  }

  get(accountId: string, id: string): WebhookEndpoint | null {
    const row = this.s.get.get(accountId, id) as EndpointRow | undefined;
    return row ? toEndpoint(row) : null;
  }

  /** Any account's endpoint (the operator's CLI). */
  find(id: string): WebhookEndpoint | null {
    const row = this.s.find.get(id) as EndpointRow | undefined;
    return row ? toEndpoint(row) : null;
  }

  /** Newest first; every account's when no account is given (the operator's CLI). */
  list(accountId?: string): WebhookEndpoint[] {
    const rows = (accountId === undefined ? this.s.listAll.all() : this.s.list.all(accountId)) as EndpointRow[];
    return rows.map(toEndpoint);
  }

  count(accountId: string): number {
    return (this.s.count.get(accountId) as { n: number }).n;
  }

  /** Every enabled endpoint: what the dispatcher serves. */
  enabledEndpoints(): WebhookEndpoint[] {
    return (this.s.enabled.all() as EndpointRow[]).map(toEndpoint);
  }

  /**
   * Changes what a user may change. A new URL, or enabling again, forgets the retry state so the
   * next attempt is now; enabling keeps the cursor, so the events missed while disabled are sent.
   */
  update(accountId: string, id: string, patch: WebhookPatch): WebhookEndpoint | null {
    return this.db.transaction(() => {
      const current = this.get(accountId, id);
      if (!current) return null;
      const now = this.clock.now().getTime();
      const enabled = patch.enabled ?? current.enabled;
      const restart = (patch.url !== undefined && patch.url !== current.url) || (enabled && !current.enabled);
      const retry = restart || !enabled ? null : current.retry;
      this.s.update.run({
        accountId,
        id,
        version: current.version,
        url: patch.url ?? current.url,
        events: (() => {
          const events = patch.events === undefined ? current.events : patch.events;
          return events === null ? null : JSON.stringify(events);
        })(),
        description: patch.description === undefined ? current.description : patch.description,
        enabled: enabled ? 1 : 0,
        disabledReason: enabled ? null : current.enabled ? 'disabled by a user' : current.disabledReason,
        disabledAt: enabled ? null : current.enabled ? now : (current.disabledAt?.getTime() ?? now),
        retrySeq: retry?.seq ?? null,
        retryAttempts: retry?.attempts ?? 0,
        retryAt: retry?.at.getTime() ?? null,
        failingSince: retry?.since.getTime() ?? null,
        now,
      });
      return this.get(accountId, id);
    }).immediate();
  }

  delete(accountId: string, id: string): boolean {
    return this.db.transaction(() => {
      const deleted = this.s.delete.run(accountId, id).changes > 0;
      if (deleted) this.s.deleteAttempts.run(id);
      return deleted;
    }).immediate();
  }

  /** A new secret; the old one keeps signing (a second signature) for PREVIOUS_SECRET_GRACE_MS. */
  rotateSecret(accountId: string, id: string): CreatedWebhook | null {
    const now = this.clock.now().getTime();
    const secret = newWebhookSecret();
    const changed = this.s.rotate.run({ accountId, id, secret, until: now + PREVIOUS_SECRET_GRACE_MS, now }).changes;
    if (changed === 0) return null;
    return { endpoint: this.get(accountId, id)!, secret };
  }

  /** The secrets to sign with now: the current one, and the previous one during its grace period. */
  signingSecrets(id: string): string[] {
    const row = this.s.secrets.get(id) as { secret: string; previous_secret: string | null; previous_secret_until: number | null } | undefined;
    if (!row) return [];
    const now = this.clock.now().getTime();
    return row.previous_secret && (row.previous_secret_until ?? 0) > now ? [row.secret, row.previous_secret] : [row.secret];
  }

  /** The dispatcher's progress; ignored (false) when a user changed the endpoint since `version`. */
  saveProgress(id: string, version: number, progress: Progress): boolean {
    const r = progress.retry;
    return (
      this.s.progress.run({
        id,
        version,
        cursor: progress.cursor,
        retrySeq: r?.seq ?? null,
        retryAttempts: r?.attempts ?? 0,
        retryAt: r?.at.getTime() ?? null,
        failingSince: r?.since.getTime() ?? null,
      }).changes > 0
    );
  }

  /**
   * The dispatcher's progress and the attempts since its last write, in one transaction (one
   * synced commit). The progress is dropped when a user changed the endpoint since `version`.
   */
  commitProgress(id: string, version: number, progress: Progress, attempts: readonly NewAttempt[]): boolean {
    return this.db.transaction(() => {
      for (const a of attempts) this.recordAttempt(a);
      return this.saveProgress(id, version, progress);
    }).immediate();
  }

  /**
   * The dispatcher gives up on an endpoint: disabled with the reason; the cursor stays before the
   * event that failed, so enabling it again sends that event and everything after it.
   */
  disable(id: string, version: number, reason: string, cursor: number): boolean {
    return this.s.disable.run({ id, version, reason, cursor, now: this.clock.now().getTime() }).changes > 0;
  }

  recordAttempt(a: NewAttempt): void {
    this.s.insertAttempt.run({
      ...a,
      at: a.at.getTime(),
      nextRetryAt: a.nextRetryAt?.getTime() ?? null,
      latencyMs: Math.round(a.latencyMs),
    });
  }

  /** An endpoint's attempts, newest first; `before` (an attempt id) pages back. */
  attempts(id: string, options: { limit: number; before?: number }): WebhookAttempt[] {
    return (this.s.attempts.all(id, options.before ?? Number.MAX_SAFE_INTEGER, options.limit) as AttemptRow[]).map(toAttempt);
  }

  /** Retention of the attempts log: by age, and at most `perEndpoint` per endpoint. Returns rows removed. */
  pruneAttempts(options: { maxAgeMs?: number; perEndpoint?: number } = {}): number {
    const cutoff = this.clock.now().getTime() - (options.maxAgeMs ?? ATTEMPT_RETENTION_MS);
    const keep = options.perEndpoint ?? ATTEMPTS_PER_ENDPOINT;
    return this.db.transaction(() => {
      let removed = this.s.pruneOld.run(cutoff).changes;
      for (const { endpoint_id } of this.s.crowded.all(keep) as { endpoint_id: string }[]) {
        removed += this.s.pruneEndpoint.run({ id: endpoint_id, keep }).changes;
      }
      return removed;
    }).immediate();
  }
}
