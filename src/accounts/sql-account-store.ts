import { timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../core/index.js';
import { migrate, SqliteChangeCounter, type SqliteDatabase } from '../storage/index.js';
import { API_KEY_PATTERN, apiKeyPrefix, generateApiKey, hashApiKey, isApiKeyScope, type ApiKeyScope } from './api-keys.js';
import { AccountsError, ID_ALPHABET, NAME, NAME_RULE, randomString } from './names.js';
import { MIGRATIONS } from './sqlite-schema.js';

/** Messages per minute and per day; null means no limit. */
export interface AccountLimits {
  ratePerMinute: number | null;
  ratePerDay: number | null;
}

export interface Account extends AccountLimits, AccountTracking {
  id: string;
  name: string;
  createdAt: Date;
}

/** The account's tracking defaults, for messages that do not choose themselves (both off at first). */
export interface AccountTracking {
  /** Open tracking: a pixel in HTML parts. */
  trackOpens: boolean;
  /** Click tracking: links in HTML parts go through Herald. */
  trackLinks: boolean;
}

export interface CreateAccountRequest {
  name: string;
  ratePerMinute?: number | null;
  ratePerDay?: number | null;
}

/** An API key as listings show it: never the key, only its first characters. */
export interface ApiKey {
  id: string;
  accountId: string;
  name: string;
  scope: ApiKeyScope;
  /** The key's first characters (`hk_` and a few more), to tell keys apart. */
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt?: Date;
}

/** What `createApiKey` returns: the key is shown here once and never again. */
export interface CreatedApiKey {
  id: string;
  accountId: string;
  name: string;
  scope: ApiKeyScope;
  key: string;
  createdAt: Date;
}

export interface CreateApiKeyRequest {
  /** The owning account's id or name; `default` when omitted. */
  accountId?: string;
  name: string;
  scope: ApiKeyScope;
}

/** Who a request is from, once its key checks out. */
export interface ApiKeyPrincipal {
  keyId: string;
  accountId: string;
  scope: ApiKeyScope;
}

export const DEFAULT_ACCOUNT_ID = 'default';
export const BOOTSTRAP_KEY_NAME = 'bootstrap';
/** Larger than any real limit; keeps a typo (an extra zero or ten) from reading as "no limit". */
export const MAX_RATE = 1_000_000_000;
// Ids carry their kind, so an id pasted in the wrong place is recognised; names may not start
// with these prefixes, so "id or name" is never ambiguous.
const ACCOUNT_ID_PREFIX = 'acc_';
const KEY_ID_PREFIX = 'key_';
/** last_used_at is written at most this often per key: a busy key must not cost a write per request. */
const LAST_USED_EVERY_MS = 60_000;
/** The most lookups by id or name kept in memory (unknown names included); more empties it. */
const ACCOUNT_CACHE_MAX = 1000;

interface AccountRow {
  id: string;
  name: string;
  rate_per_minute: number | null;
  rate_per_day: number | null;
  track_opens: number;
  track_links: number;
  created_at: number;
}

interface KeyRow {
  id: string;
  account_id: string;
  name: string;
  scope: ApiKeyScope;
  prefix: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

interface ActiveKey {
  id: string;
  accountId: string;
  scope: ApiKeyScope;
  hash: Buffer;
  lastUsedAt: number | null;
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    name: row.name,
    ratePerMinute: row.rate_per_minute,
    ratePerDay: row.rate_per_day,
    trackOpens: row.track_opens === 1,
    trackLinks: row.track_links === 1,
    createdAt: new Date(row.created_at),
  };
}

function toApiKey(row: KeyRow): ApiKey {
  const key: ApiKey = {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    scope: row.scope,
    prefix: row.prefix,
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
  };
  if (row.revoked_at !== null) key.revokedAt = new Date(row.revoked_at);
  return key;
}

function checkName(kind: 'account' | 'API key', name: string, reservedPrefix: string): string {
  const trimmed = (name ?? '').trim();
  if (!NAME.test(trimmed)) throw new AccountsError('invalid_name', `${kind} name "${name ?? ''}" is not valid: ${NAME_RULE}`);
  if (trimmed.startsWith(reservedPrefix)) throw new AccountsError('invalid_name', `${kind} name "${trimmed}" is not valid: names starting with "${reservedPrefix}" are kept for ids`);
  return trimmed;
}

function checkRate(field: keyof AccountLimits, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 1 || value > MAX_RATE) {
    const per = field === 'ratePerMinute' ? 'per-minute' : 'per-day';
    throw new AccountsError('invalid_limit', `the ${per} limit must be a whole number from 1 to ${MAX_RATE}, or none (got ${String(value)})`);
  }
  return value;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * Accounts and their API keys in the embedded SQLite database. Keys are checked against an
 * in-memory copy of the active ones, and the accounts the per-request lookups ask for are kept in
 * memory too. The CLI writes from another process, so each lookup first reads the change counter
 * of its table (`accounts`, `api_keys`; moved by triggers) and drops the copy when it moved: a
 * revoke or a new limit applies to the very next request.
 */
export class SqliteAccountStore {
  private readonly clock: Clock;
  private readonly db: SqliteDatabase;
  private readonly stmts;
  private readonly accountChanges: SqliteChangeCounter;
  private readonly keyChanges: SqliteChangeCounter;
  /** Rows by the id or name they were asked for; null: no such account. */
  private readonly accountRows = new Map<string, AccountRow | null>();
  /** Active keys by their display prefix (not unique: a few keys may share one). */
  private activeByPrefix = new Map<string, ActiveKey[]>();

  constructor(db: SqliteDatabase, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
    migrate(db, 'accounts', MIGRATIONS);
    const accountColumns = 'id, name, rate_per_minute, rate_per_day, track_opens, track_links, created_at';
    const keyColumns = 'id, account_id, name, scope, prefix, created_at, last_used_at, revoked_at';
    this.accountChanges = new SqliteChangeCounter(db, 'accounts');
    this.keyChanges = new SqliteChangeCounter(db, 'api_keys');
    this.stmts = {
      // At most one row: ids start with "acc_" (which names may not, see checkName), and the one
      // other id, "default", is also the default account's name.
      account: db.prepare(`SELECT ${accountColumns} FROM accounts WHERE id = @v OR name = @v LIMIT 1`),
      accounts: db.prepare(`SELECT ${accountColumns} FROM accounts ORDER BY created_at, rowid`),
      insertAccount: db.prepare(
        'INSERT INTO accounts (id, name, rate_per_minute, rate_per_day, created_at) VALUES (@id, @name, @ratePerMinute, @ratePerDay, @createdAt)',
      ),
      setLimits: db.prepare(
        `UPDATE accounts SET
           rate_per_minute = CASE WHEN @setMinute THEN @ratePerMinute ELSE rate_per_minute END,
           rate_per_day = CASE WHEN @setDay THEN @ratePerDay ELSE rate_per_day END
         WHERE id = @id`,
      ),
      setTracking: db.prepare(
        `UPDATE accounts SET
           track_opens = CASE WHEN @setOpens THEN @opens ELSE track_opens END,
           track_links = CASE WHEN @setLinks THEN @links ELSE track_links END
         WHERE id = @id`,
      ),
      keys: db.prepare(`SELECT ${keyColumns} FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, rowid`),
      allKeys: db.prepare(`SELECT ${keyColumns} FROM api_keys ORDER BY created_at, rowid`),
      accountKeys: db.prepare(`SELECT ${keyColumns} FROM api_keys WHERE account_id = ? AND revoked_at IS NULL ORDER BY created_at, rowid`),
      allAccountKeys: db.prepare(`SELECT ${keyColumns} FROM api_keys WHERE account_id = ? ORDER BY created_at, rowid`),
      activeHashes: db.prepare('SELECT id, account_id, scope, prefix, key_hash, last_used_at FROM api_keys WHERE revoked_at IS NULL'),
      activeKeyByName: db.prepare('SELECT id FROM api_keys WHERE account_id = ? AND name = ? AND revoked_at IS NULL').pluck(),
      anyKeyOf: db.prepare('SELECT 1 FROM api_keys WHERE account_id = ? LIMIT 1').pluck(),
      insertKey: db.prepare(
        'INSERT INTO api_keys (id, account_id, name, scope, prefix, key_hash, created_at) VALUES (@id, @accountId, @name, @scope, @prefix, @hash, @createdAt)',
      ),
      // An id names one key wherever it lives, unless an account was given; a name is looked up
      // within the account.
      revokeKey: db.prepare(
        `UPDATE api_keys SET revoked_at = @now
         WHERE revoked_at IS NULL AND ((id = @key AND (@anyAccount OR account_id = @accountId)) OR (account_id = @accountId AND name = @key))`,
      ),
      // The condition keeps several processes sharing one key from each writing every minute.
      touchKey: db.prepare('UPDATE api_keys SET last_used_at = @now WHERE id = @id AND (last_used_at IS NULL OR last_used_at <= @before)'),
    };
  }

  // ---- accounts --------------------------------------------------------------------------------

  create(req: CreateAccountRequest): Account {
    const name = checkName('account', req.name, ACCOUNT_ID_PREFIX);
    const ratePerMinute = checkRate('ratePerMinute', req.ratePerMinute);
    const ratePerDay = checkRate('ratePerDay', req.ratePerDay);
    const account: Account = {
      id: ACCOUNT_ID_PREFIX + randomString(ID_ALPHABET, 12),
      name,
      ratePerMinute,
      ratePerDay,
      trackOpens: false,
      trackLinks: false,
      createdAt: this.clock.now(),
    };
    try {
      this.stmts.insertAccount.run({ id: account.id, name, ratePerMinute, ratePerDay, createdAt: account.createdAt.getTime() });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AccountsError('name_taken', `an account named "${name}" already exists`);
      throw err;
    }
    return account;
  }

  list(): Account[] {
    return (this.stmts.accounts.all() as AccountRow[]).map(toAccount);
  }

  /** The account with this id or name, or null. Limits changed by the CLI apply at once (see the class comment). */
  get(idOrName: string): Account | null {
    const row = this.accountRow(idOrName);
    return row ? toAccount(row) : null;
  }

  /** Sets the limits given (null removes one); a limit left out (undefined) keeps its value. */
  setLimits(idOrName: string, limits: Partial<AccountLimits>): Account {
    const account = this.require(idOrName);
    const ratePerMinute = checkRate('ratePerMinute', limits.ratePerMinute);
    const ratePerDay = checkRate('ratePerDay', limits.ratePerDay);
    this.stmts.setLimits.run({
      id: account.id,
      setMinute: limits.ratePerMinute === undefined ? 0 : 1,
      ratePerMinute,
      setDay: limits.ratePerDay === undefined ? 0 : 1,
      ratePerDay,
    });
    return this.require(account.id);
  }

  /** Sets the tracking defaults given; one left out (undefined) keeps its value. */
  setTracking(idOrName: string, tracking: Partial<AccountTracking>): Account {
    const account = this.require(idOrName);
    this.stmts.setTracking.run({
      id: account.id,
      setOpens: tracking.trackOpens === undefined ? 0 : 1,
      opens: tracking.trackOpens ? 1 : 0,
      setLinks: tracking.trackLinks === undefined ? 0 : 1,
      links: tracking.trackLinks ? 1 : 0,
    });
    return this.require(account.id);
  }

  /**
   * The account's tracking defaults by id, for the accept pipeline (a change from the CLI applies
   * to the next message); both off for an unknown account.
   */
  trackingFor(accountId: string): { opens: boolean; links: boolean } {
    const row = this.accountRow(accountId);
    // By id only: a name that happens to equal the argument is not this account.
    const own = row !== null && row.id === accountId;
    return { opens: own && row.track_opens === 1, links: own && row.track_links === 1 };
  }

  private require(idOrName: string): Account {
    const account = this.get(idOrName);
    if (!account) throw new AccountsError('unknown_account', `there is no account "${idOrName}"`);
    return account;
  }

  /** The row for an id or name (at most one, see the statement), from memory while the accounts table is unchanged. */
  private accountRow(idOrName: string): AccountRow | null {
    if (this.accountChanges.moved()) this.accountRows.clear();
    let row = this.accountRows.get(idOrName);
    if (row === undefined) {
      row = (this.stmts.account.get({ v: idOrName }) as AccountRow | undefined) ?? null;
      if (this.accountRows.size >= ACCOUNT_CACHE_MAX) this.accountRows.clear();
      this.accountRows.set(idOrName, row);
    }
    return row;
  }

  // ---- API keys --------------------------------------------------------------------------------

  createApiKey(req: CreateApiKeyRequest): CreatedApiKey {
    const name = checkName('API key', req.name, KEY_ID_PREFIX);
    if (!isApiKeyScope(req.scope)) throw new AccountsError('invalid_scope', `API key scope "${String(req.scope)}" is not valid: use send, read or admin`);
    const account = this.require(req.accountId ?? DEFAULT_ACCOUNT_ID);
    if (this.stmts.activeKeyByName.get(account.id, name)) {
      throw new AccountsError('name_taken', `an API key named "${name}" already exists in account "${account.name}"; revoke it first or pick another name`);
    }
    let created: CreatedApiKey;
    try {
      created = this.insertKey(account.id, name, req.scope);
    } catch (err) {
      // Another process took the name between the check and the insert.
      if (isUniqueViolation(err)) throw new AccountsError('name_taken', `an API key named "${name}" already exists in account "${account.name}"`);
      throw err;
    }
    return created;
  }

  /** Keys of one account (id or name), or of all accounts; never the keys themselves. */
  listApiKeys(accountId?: string, options: { includeRevoked?: boolean } = {}): ApiKey[] {
    let rows: KeyRow[];
    if (accountId === undefined) rows = (options.includeRevoked ? this.stmts.allKeys : this.stmts.keys).all() as KeyRow[];
    else rows = (options.includeRevoked ? this.stmts.allAccountKeys : this.stmts.accountKeys).all(this.require(accountId).id) as KeyRow[];
    return rows.map(toApiKey);
  }

  /**
   * Revokes an active key by id, or by name within the account (`default` when omitted); with an
   * account given, an id of another account's key matches nothing. Requests with the key fail
   * from then on, in this process and in others (the next request sees the change counter move).
   */
  revokeApiKey(idOrName: string, accountId?: string): boolean {
    const account = this.require(accountId ?? DEFAULT_ACCOUNT_ID);
    return this.stmts.revokeKey.run({ now: this.clock.now().getTime(), key: idOrName, accountId: account.id, anyAccount: accountId === undefined ? 1 : 0 }).changes > 0;
  }

  /** The principal of an active key, or null. Hashes are compared in constant time. */
  authenticate(key: string): ApiKeyPrincipal | null {
    if (typeof key !== 'string' || !API_KEY_PATTERN.test(key)) return null;
    const hash = hashApiKey(key);
    this.refreshKeys();
    const hit = this.match(key, hash);
    if (!hit) return null;
    this.touch(hit);
    return { keyId: hit.id, accountId: hit.accountId, scope: hit.scope };
  }

  /**
   * On first start: when the default account has never had an API key, creates an admin key
   * named `bootstrap` and returns it (to be shown once); otherwise null. The check and the insert
   * share one write transaction (BEGIN IMMEDIATE), so of two processes starting together exactly
   * one creates the key. A revoked key still counts, so revoking the bootstrap key is final.
   */
  createBootstrapAdminKey(): CreatedApiKey | null {
    const created = this.db
      .transaction((): CreatedApiKey | null => (this.stmts.anyKeyOf.get(DEFAULT_ACCOUNT_ID) ? null : this.insertKey(DEFAULT_ACCOUNT_ID, BOOTSTRAP_KEY_NAME, 'admin')))
      .immediate();
    return created;
  }

  private insertKey(accountId: string, name: string, scope: ApiKeyScope): CreatedApiKey {
    const key = generateApiKey();
    const created: CreatedApiKey = { id: KEY_ID_PREFIX + randomString(ID_ALPHABET, 12), accountId, name, scope, key, createdAt: this.clock.now() };
    this.stmts.insertKey.run({ id: created.id, accountId, name, scope, prefix: apiKeyPrefix(key), hash: hashApiKey(key), createdAt: created.createdAt.getTime() });
    return created;
  }

  private match(key: string, hash: Buffer): ActiveKey | undefined {
    let found: ActiveKey | undefined;
    for (const candidate of this.activeByPrefix.get(apiKeyPrefix(key)) ?? []) {
      if (timingSafeEqual(candidate.hash, hash)) found = candidate;
    }
    return found;
  }

  private touch(entry: ActiveKey): void {
    const now = this.clock.now().getTime();
    if (entry.lastUsedAt !== null && now - entry.lastUsedAt < LAST_USED_EVERY_MS) return;
    entry.lastUsedAt = now;
    try {
      this.stmts.touchKey.run({ id: entry.id, now, before: now - LAST_USED_EVERY_MS });
    } catch {
      // Bookkeeping only: a busy or read-only database must not turn a valid key away.
    }
  }

  /** Reloads the active keys when the api_keys table changed (here or in another process) since the last look. */
  private refreshKeys(): void {
    if (!this.keyChanges.moved()) return;
    const byPrefix = new Map<string, ActiveKey[]>();
    const rows = this.stmts.activeHashes.all() as { id: string; account_id: string; scope: ApiKeyScope; prefix: string; key_hash: Buffer; last_used_at: number | null }[];
    for (const row of rows) {
      const entry: ActiveKey = { id: row.id, accountId: row.account_id, scope: row.scope, hash: row.key_hash, lastUsedAt: row.last_used_at };
      const list = byPrefix.get(row.prefix);
      if (list) list.push(entry);
      else byPrefix.set(row.prefix, [entry]);
    }
    this.activeByPrefix = byPrefix;
  }
}
