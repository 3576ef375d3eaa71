import { timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../core/index.js';
import { ChangeCounter, isUniqueViolation, type SqlDatabase, type SqlExecutor } from '../storage/index.js';
import { API_KEY_PATTERN, apiKeyPrefix, generateApiKey, hashApiKey, isApiKeyScope, type ApiKeyScope } from './api-keys.js';
import { CountedCache } from './counted-cache.js';
import { AccountsError, ID_ALPHABET, NAME, NAME_RULE, randomString } from './names.js';
import { ACCOUNTS_MIGRATIONS } from './schema.js';

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
const ACCOUNT_COLUMNS = 'id, name, rate_per_minute, rate_per_day, track_opens, track_links, created_at';
const KEY_COLUMNS = 'id, account_id, name, scope, prefix, created_at, last_used_at, revoked_at';
// At most one row: ids start with "acc_" (which names may not, see checkName), and the one other
// id, "default", is also the default account's name.
const ACCOUNT_BY_ID_OR_NAME = `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ? OR name = ? LIMIT 1`;

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

/**
 * Accounts and their API keys, on either engine. Keys are checked against an in-memory copy of
 * the active ones, and the accounts the per-request lookups ask for are kept in memory too. The
 * CLI and other nodes write from elsewhere, so each lookup first reads the change counter of its
 * table (`accounts`, `api_keys`; moved by triggers) and drops the copy when it moved: a revoke or
 * a new limit applies to the very next request.
 */
export class SqlAccountStore {
  /** Rows by the id or name they were asked for; null: no such account. */
  private readonly accountRows = new Map<string, AccountRow | null>();
  private readonly accounts: CountedCache;
  /** Active keys by their display prefix (not unique: a few keys may share one). */
  private activeByPrefix = new Map<string, ActiveKey[]>();
  private readonly keys: CountedCache;

  private constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {
    this.accounts = new CountedCache(new ChangeCounter(db, 'accounts'), () => this.accountRows.clear());
    this.keys = new CountedCache(new ChangeCounter(db, 'api_keys'), () => this.loadKeys());
  }

  static async open(db: SqlDatabase, options: { clock?: Clock } = {}): Promise<SqlAccountStore> {
    await db.migrate('accounts', ACCOUNTS_MIGRATIONS);
    return new SqlAccountStore(db, options.clock ?? systemClock);
  }

  // ---- accounts --------------------------------------------------------------------------------

  async create(req: CreateAccountRequest): Promise<Account> {
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
      await this.db.run('INSERT INTO accounts (id, name, rate_per_minute, rate_per_day, created_at) VALUES (?, ?, ?, ?, ?)', [
        account.id,
        name,
        ratePerMinute,
        ratePerDay,
        account.createdAt.getTime(),
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AccountsError('name_taken', `an account named "${name}" already exists`);
      throw err;
    }
    return account;
  }

  async list(): Promise<Account[]> {
    return (await this.db.all<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, rowid`)).map(toAccount);
  }

  /** The account with this id or name, or null. Limits changed by the CLI apply at once (see the class comment). */
  async get(idOrName: string): Promise<Account | null> {
    const row = await this.accountRow(idOrName);
    return row ? toAccount(row) : null;
  }

  /** Sets the limits given (null removes one); a limit left out (undefined) keeps its value. */
  async setLimits(idOrName: string, limits: Partial<AccountLimits>): Promise<Account> {
    const account = await this.require(idOrName);
    const ratePerMinute = checkRate('ratePerMinute', limits.ratePerMinute);
    const ratePerDay = checkRate('ratePerDay', limits.ratePerDay);
    // One statement, so a concurrent change of the other limit is not written back over.
    await this.db.run(
      `UPDATE accounts SET
         rate_per_minute = CASE WHEN ? = 1 THEN ? ELSE rate_per_minute END,
         rate_per_day = CASE WHEN ? = 1 THEN ? ELSE rate_per_day END
       WHERE id = ?`,
      [limits.ratePerMinute === undefined ? 0 : 1, ratePerMinute, limits.ratePerDay === undefined ? 0 : 1, ratePerDay, account.id],
    );
    return this.require(account.id);
  }

  /** Sets the tracking defaults given; one left out (undefined) keeps its value. */
  async setTracking(idOrName: string, tracking: Partial<AccountTracking>): Promise<Account> {
    const account = await this.require(idOrName);
    await this.db.run(
      `UPDATE accounts SET
         track_opens = CASE WHEN ? = 1 THEN ? ELSE track_opens END,
         track_links = CASE WHEN ? = 1 THEN ? ELSE track_links END
       WHERE id = ?`,
      [tracking.trackOpens === undefined ? 0 : 1, tracking.trackOpens ? 1 : 0, tracking.trackLinks === undefined ? 0 : 1, tracking.trackLinks ? 1 : 0, account.id],
    );
    return this.require(account.id);
  }

  /**
   * The account's tracking defaults by id, for the accept pipeline (a change from the CLI applies
   * to the next message); both off for an unknown account.
   */
  async trackingFor(accountId: string): Promise<{ opens: boolean; links: boolean }> {
    const row = await this.accountRow(accountId);
    // By id only: a name that happens to equal the argument is not this account.
    const own = row !== null && row.id === accountId;
    return { opens: own && row.track_opens === 1, links: own && row.track_links === 1 };
  }

  private async require(idOrName: string): Promise<Account> {
    const account = await this.get(idOrName);
    if (!account) throw new AccountsError('unknown_account', `there is no account "${idOrName}"`);
    return account;
  }

  /** The row for an id or name (at most one, see ACCOUNT_BY_ID_OR_NAME), from memory while the accounts table is unchanged. */
  private async accountRow(idOrName: string): Promise<AccountRow | null> {
    await this.accounts.current();
    const kept = this.accountRows.get(idOrName);
    if (kept !== undefined) return kept;
    const generation = this.accounts.generation;
    const row = (await this.db.get<AccountRow>(ACCOUNT_BY_ID_OR_NAME, [idOrName, idOrName])) ?? null;
    if (generation === this.accounts.generation) {
      if (this.accountRows.size >= ACCOUNT_CACHE_MAX) this.accountRows.clear();
      this.accountRows.set(idOrName, row);
    }
    return row;
  }

  // ---- API keys --------------------------------------------------------------------------------

  async createApiKey(req: CreateApiKeyRequest): Promise<CreatedApiKey> {
    const name = checkName('API key', req.name, KEY_ID_PREFIX);
    if (!isApiKeyScope(req.scope)) throw new AccountsError('invalid_scope', `API key scope "${String(req.scope)}" is not valid: use send, read or admin`);
    const account = await this.require(req.accountId ?? DEFAULT_ACCOUNT_ID);
    if (await this.db.get('SELECT id FROM api_keys WHERE account_id = ? AND name = ? AND revoked_at IS NULL', [account.id, name])) {
      throw new AccountsError('name_taken', `an API key named "${name}" already exists in account "${account.name}"; revoke it first or pick another name`);
    }
    try {
      return await this.insertKey(this.db, account.id, name, req.scope);
    } catch (err) {
      // Another process took the name between the check and the insert.
      if (isUniqueViolation(err)) throw new AccountsError('name_taken', `an API key named "${name}" already exists in account "${account.name}"`);
      throw err;
    }
  }

  /** Keys of one account (id or name), or of all accounts; never the keys themselves. */
  async listApiKeys(accountId?: string, options: { includeRevoked?: boolean } = {}): Promise<ApiKey[]> {
    const active = options.includeRevoked ? '' : 'revoked_at IS NULL';
    let rows: KeyRow[];
    if (accountId === undefined) {
      rows = await this.db.all<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ${active ? `WHERE ${active}` : ''} ORDER BY created_at, rowid`);
    } else {
      const account = await this.require(accountId);
      rows = await this.db.all<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE account_id = ? ${active ? `AND ${active}` : ''} ORDER BY created_at, rowid`, [account.id]);
    }
    return rows.map(toApiKey);
  }

  /**
   * Revokes an active key by id, or by name within the account (`default` when omitted); with an
   * account given, an id of another account's key matches nothing. Requests with the key fail
   * from then on, in this process and in others (the next request sees the change counter move).
   */
  async revokeApiKey(idOrName: string, accountId?: string): Promise<boolean> {
    const account = await this.require(accountId ?? DEFAULT_ACCOUNT_ID);
    // An id names one key wherever it lives, unless an account was given; a name is looked up
    // within the account.
    const result = await this.db.run(
      `UPDATE api_keys SET revoked_at = ?
       WHERE revoked_at IS NULL AND ((id = ? AND (? = 1 OR account_id = ?)) OR (account_id = ? AND name = ?))`,
      [this.clock.now().getTime(), idOrName, accountId === undefined ? 1 : 0, account.id, account.id, idOrName],
    );
    return result.changes > 0;
  }

  /** The principal of an active key, or null. Hashes are compared in constant time. */
  async authenticate(key: string): Promise<ApiKeyPrincipal | null> {
    if (typeof key !== 'string' || !API_KEY_PATTERN.test(key)) return null;
    const hash = hashApiKey(key);
    await this.keys.current();
    const hit = this.match(key, hash);
    if (!hit) return null;
    await this.touch(hit);
    return { keyId: hit.id, accountId: hit.accountId, scope: hit.scope };
  }

  /**
   * On first start: when the default account has never had an API key, creates an admin key
   * named `bootstrap` and returns it (to be shown once); otherwise null. Of several processes or
   * nodes starting together exactly one creates the key: on SQLite the check and the insert share
   * one write transaction; on PostgreSQL a second insert meets the first key's active name and is
   * refused. A revoked key still counts, so revoking the bootstrap key is final.
   */
  async createBootstrapAdminKey(): Promise<CreatedApiKey | null> {
    try {
      return await this.db.transaction(async (tx) =>
        (await tx.get('SELECT 1 AS one FROM api_keys WHERE account_id = ? LIMIT 1', [DEFAULT_ACCOUNT_ID])) ? null : this.insertKey(tx, DEFAULT_ACCOUNT_ID, BOOTSTRAP_KEY_NAME, 'admin'),
      );
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  private async insertKey(db: SqlExecutor, accountId: string, name: string, scope: ApiKeyScope): Promise<CreatedApiKey> {
    const key = generateApiKey();
    const created: CreatedApiKey = { id: KEY_ID_PREFIX + randomString(ID_ALPHABET, 12), accountId, name, scope, key, createdAt: this.clock.now() };
    await db.run('INSERT INTO api_keys (id, account_id, name, scope, prefix, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      created.id,
      accountId,
      name,
      scope,
      apiKeyPrefix(key),
      hashApiKey(key),
      created.createdAt.getTime(),
    ]);
    return created;
  }

  private match(key: string, hash: Buffer): ActiveKey | undefined {
    let found: ActiveKey | undefined;
    for (const candidate of this.activeByPrefix.get(apiKeyPrefix(key)) ?? []) {
      if (timingSafeEqual(candidate.hash, hash)) found = candidate;
    }
    return found;
  }

  private async touch(entry: ActiveKey): Promise<void> {
    const now = this.clock.now().getTime();
    if (entry.lastUsedAt !== null && now - entry.lastUsedAt < LAST_USED_EVERY_MS) return;
    entry.lastUsedAt = now;
    try {
      // The condition keeps several processes sharing one key from each writing every minute.
      await this.db.run('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)', [now, entry.id, now - LAST_USED_EVERY_MS]);
    } catch {
      // Bookkeeping only: a busy or read-only database must not turn a valid key away.
    }
  }

  /** The active keys, by prefix (run by `keys` when the api_keys table changed, here or elsewhere). */
  private async loadKeys(): Promise<void> {
    const byPrefix = new Map<string, ActiveKey[]>();
    const rows = await this.db.all<{ id: string; account_id: string; scope: ApiKeyScope; prefix: string; key_hash: Buffer; last_used_at: number | null }>(
      'SELECT id, account_id, scope, prefix, key_hash, last_used_at FROM api_keys WHERE revoked_at IS NULL',
    );
    for (const row of rows) {
      const entry: ActiveKey = { id: row.id, accountId: row.account_id, scope: row.scope, hash: row.key_hash, lastUsedAt: row.last_used_at };
      const list = byPrefix.get(row.prefix);
      if (list) list.push(entry);
      else byPrefix.set(row.prefix, [entry]);
    }
    this.activeByPrefix = byPrefix;
  }
}
