import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../core/index.js';
import { isUniqueViolation, type Migration, type SqlDatabase, type SqlExecutor } from '../storage/index.js';
import { ID_ALPHABET, randomString } from './names.js';
import { CHOSEN_PASSWORD_COST, hashPassword, verifyPassword } from './password-hash.js';
import { ACCOUNTS_MIGRATIONS } from './schema.js';

/**
 * The people who sign in to the dashboard, their roles per account, their sessions and the
 * record of failed sign-ins. A ledger of its own (`accounts-users`), beside the accounts room's
 * main one, so the two histories grow independently. Add new versions, never edit an applied one.
 */
export const USER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- The e-mail address is stored lowercased: it is the sign-in name, and case must not make two.
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        operator INTEGER NOT NULL DEFAULT 0 CHECK (operator IN (0, 1)),
        created_at INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL
      );
      CREATE TABLE user_roles (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, account_id)
      ) WITHOUT ROWID;
      -- Only the SHA-256 of a session's token is kept: the token is 256 random bits, so a copy of
      -- the database signs nobody in. The active account is per session (a tab switching accounts
      -- does not move another device).
      CREATE TABLE user_sessions (
        token_hash BLOB PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        renewed_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ip TEXT,
        user_agent TEXT
      );
      CREATE INDEX user_sessions_user ON user_sessions (user_id);
      CREATE INDEX user_sessions_expires ON user_sessions (expires_at);
      -- Failed sign-ins per e-mail address (known or not, so a lock-out tells nothing about who
      -- has a user). A row goes away on success, or once it is older than the lock-out.
      CREATE TABLE sign_in_failures (
        email TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_at INTEGER NOT NULL,
        locked_until INTEGER
      );
      CREATE INDEX sign_in_failures_last ON sign_in_failures (last_at);
    `,
  },
];

/** The same tables on PostgreSQL: version 1 is the SQLite history's final schema. */
export const POSTGRES_USER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE users (
        id TEXT COLLATE "C" PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        operator INTEGER NOT NULL DEFAULT 0 CHECK (operator IN (0, 1)),
        created_at BIGINT NOT NULL,
        password_changed_at BIGINT NOT NULL
      );
      CREATE TABLE user_roles (
        user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
        created_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, account_id)
      );
      CREATE TABLE user_sessions (
        token_hash BYTEA PRIMARY KEY,
        user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        account_id TEXT COLLATE "C" NOT NULL,
        created_at BIGINT NOT NULL,
        renewed_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        ip TEXT,
        user_agent TEXT
      );
      CREATE INDEX user_sessions_user ON user_sessions (user_id);
      CREATE INDEX user_sessions_expires ON user_sessions (expires_at);
      CREATE TABLE sign_in_failures (
        email TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_at BIGINT NOT NULL,
        locked_until BIGINT
      );
      CREATE INDEX sign_in_failures_last ON sign_in_failures (last_at);
    `,
  },
];

/** A user's part in one account. Public API (CLI, session answers): add, never rename. */
export const USER_ROLES = ['owner', 'admin', 'viewer'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export function isUserRole(value: unknown): value is UserRole {
  return typeof value === 'string' && (USER_ROLES as readonly string[]).includes(value);
}

export interface UserAccountRole {
  accountId: string;
  role: UserRole;
}

/** A user as listings show it: never the password hash. */
export interface User {
  id: string;
  email: string;
  /** Operators may open every account, with the admin role. */
  operator: boolean;
  roles: UserAccountRole[];
  createdAt: Date;
}

export interface CreateUserRequest {
  email: string;
  password: string;
  /** Account id or name; with `role`, the user's first account. */
  accountId?: string;
  role?: UserRole;
  operator?: boolean;
}

/** A signed-in session, as the HTTP edge sees it. */
export interface UserSession {
  user: User;
  /** The account the session acts on, and the user's role there. */
  accountId: string;
  role: UserRole;
  expiresAt: Date;
}

export interface StartedSession extends UserSession {
  /** The cookie value: shown here once, stored only as a hash. */
  token: string;
  /** The CSRF token the dashboard sends back in `X-Herald-CSRF` (derived from the token). */
  csrf: string;
}

export type SignInResult =
  | { ok: true; session: StartedSession }
  | { ok: false; reason: 'bad_credentials' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number }
  | { ok: false; reason: 'no_account' };

export interface UserStoreOptions {
  clock?: Clock;
  /** A session unused this long ends (sliding: each use renews it). */
  sessionIdleMs?: number;
  /** Failed sign-ins for one address, in a row, before it is locked out. */
  maxFailures?: number;
  /** How long an address stays locked out. */
  lockoutMs?: number;
}

export type UsersErrorCode = 'invalid_email' | 'weak_password' | 'email_taken' | 'unknown_user' | 'unknown_account' | 'invalid_role';

/** A refusal with a plain-words message and a stable code the CLI and the HTTP API map to their own. */
export class UsersError extends Error {
  constructor(
    readonly code: UsersErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UsersError';
  }
}

const USER_COLUMNS = 'id, email, operator, created_at';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;
/** However often it is renewed, a session ends this long after sign-in (a stolen cookie expires). */
export const SESSION_MAX_AGE_MS = 7 * 86_400_000;
/** The session's expiry is written at most this often: a busy dashboard must not cost a write per request. */
const RENEW_EVERY_MS = 60_000;
const USER_ID_PREFIX = 'usr_';
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;

interface UserRow {
  id: string;
  email: string;
  operator: number;
  created_at: number;
}

interface SessionRow {
  user_id: string;
  account_id: string;
  created_at: number;
  renewed_at: number;
  expires_at: number;
}

function checkEmail(email: string): string {
  const normal = (email ?? '').trim().toLowerCase();
  if (normal.length > 254 || !EMAIL.test(normal)) throw new UsersError('invalid_email', `"${email ?? ''}" is not an e-mail address (name@example.com)`);
  return normal;
}

function checkPassword(password: string): void {
  if (typeof password !== 'string' || [...password].length < MIN_PASSWORD_LENGTH) {
    throw new UsersError('weak_password', `the password must have at least ${MIN_PASSWORD_LENGTH} characters (a few words make a good one)`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) throw new UsersError('weak_password', `the password may have at most ${MAX_PASSWORD_LENGTH} characters`);
}

function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * The CSRF token of a session: an HMAC keyed with the session's own token. It is bound to the
 * session (a token from another session does not fit), needs nothing stored, and cannot be
 * worked out by a page that cannot read the HTTP-only cookie.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('herald-csrf').digest('base64url');
}

export function csrfTokenMatches(sessionToken: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Dashboard users, roles, sessions and sign-in lock-out, on either engine. The CLI creates users
 * and changes passwords from another process (and other nodes share the database); every lookup
 * reads the database, so their changes apply at once (a new password ends the user's sessions
 * everywhere).
 */
export class SqlUserStore {
  private readonly clock: Clock;
  private readonly idleMs: number;
  private readonly maxFailures: number;
  private readonly lockoutMs: number;

  private constructor(
    private readonly db: SqlDatabase,
    options: UserStoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.idleMs = options.sessionIdleMs ?? 12 * 3_600_000;
    this.maxFailures = options.maxFailures ?? 5;
    this.lockoutMs = options.lockoutMs ?? 15 * 60_000;
  }

  static async open(db: SqlDatabase, options: UserStoreOptions = {}): Promise<SqlUserStore> {
    // Roles reference accounts: their table must exist first.
    await db.migrate('accounts', ACCOUNTS_MIGRATIONS);
    await db.migrate('accounts-users', { sqlite: USER_MIGRATIONS, postgres: POSTGRES_USER_MIGRATIONS });
    return new SqlUserStore(db, options);
  }

  // ---- users -----------------------------------------------------------------------------------

  async create(req: CreateUserRequest): Promise<User> {
    const email = checkEmail(req.email);
    checkPassword(req.password);
    if (req.role !== undefined && !isUserRole(req.role)) throw new UsersError('invalid_role', `role "${String(req.role)}" is not valid: use owner, admin or viewer`);
    const accountId = req.accountId !== undefined || req.role !== undefined ? await this.requireAccount(req.accountId ?? 'default') : null;
    if (await this.userRow(email)) throw new UsersError('email_taken', `a user with the e-mail address ${email} already exists (change the password with: herald users set-password)`);
    const hash = await hashPassword(req.password, CHOSEN_PASSWORD_COST);
    const id = USER_ID_PREFIX + randomString(ID_ALPHABET, 12);
    const now = this.clock.now().getTime();
    try {
      await this.db.transaction(async (tx) => {
        await tx.run('INSERT INTO users (id, email, password_hash, operator, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?, ?)', [id, email, hash, req.operator ? 1 : 0, now, now]);
        if (accountId) await upsertRole(tx, id, accountId, req.role ?? 'owner', now);
      });
    } catch (err) {
      // Another process created the address while scrypt ran.
      if (isUniqueViolation(err)) throw new UsersError('email_taken', `a user with the e-mail address ${email} already exists`);
      throw err;
    }
    return (await this.get(id))!;
  }

  async list(): Promise<User[]> {
    const rows = await this.db.all<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY created_at, id`);
    return Promise.all(rows.map((row) => this.toUser(row)));
  }

  /** The user with this id or e-mail address, or null. */
  async get(idOrEmail: string): Promise<User | null> {
    const row = await this.userRow(idOrEmail);
    return row ? this.toUser(row) : null;
  }

  /** Sets a new password; the user's sessions end everywhere (a leaked password stops working). */
  async setPassword(idOrEmail: string, password: string): Promise<User> {
    const user = await this.require(idOrEmail);
    checkPassword(password);
    const hash = await hashPassword(password, CHOSEN_PASSWORD_COST);
    await this.db.transaction(async (tx) => {
      await tx.run('UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?', [hash, this.clock.now().getTime(), user.id]);
      await tx.run('DELETE FROM user_sessions WHERE user_id = ?', [user.id]);
      await tx.run('DELETE FROM sign_in_failures WHERE email = ?', [user.email]);
    });
    return user;
  }

  /** Gives the user a role on an account, or changes it. */
  async grant(idOrEmail: string, account: string, role: UserRole): Promise<User> {
    const user = await this.require(idOrEmail);
    if (!isUserRole(role)) throw new UsersError('invalid_role', `role "${String(role)}" is not valid: use owner, admin or viewer`);
    await upsertRole(this.db, user.id, await this.requireAccount(account), role, this.clock.now().getTime());
    return this.require(user.id);
  }

  /** Takes the user's role on an account away; false when there was none. */
  async revoke(idOrEmail: string, account: string): Promise<boolean> {
    const user = await this.require(idOrEmail);
    const accountId = await this.requireAccount(account);
    return (await this.db.run('DELETE FROM user_roles WHERE user_id = ? AND account_id = ?', [user.id, accountId])).changes > 0;
  }

  async setOperator(idOrEmail: string, operator: boolean): Promise<User> {
    const user = await this.require(idOrEmail);
    await this.db.run('UPDATE users SET operator = ? WHERE id = ?', [operator ? 1 : 0, user.id]);
    return this.require(user.id);
  }

  /** The role the user has on the account: operators are admins everywhere; null for none. */
  async roleOn(user: User, accountId: string): Promise<UserRole | null> {
    const own = user.roles.find((r) => r.accountId === accountId)?.role ?? null;
    if (own === 'owner' || !user.operator) return own;
    return (await this.accountId(accountId)) === accountId ? 'admin' : own;
  }

  /** The accounts the user may open: their own, or every account for an operator. */
  async accountsOf(user: User): Promise<UserAccountRole[]> {
    if (!user.operator) return user.roles;
    const ids = await this.db.all<{ id: string }>('SELECT id FROM accounts ORDER BY created_at, id');
    // What roleOn says of an account that exists.
    return ids.map(({ id }) => ({ accountId: id, role: user.roles.find((r) => r.accountId === id)?.role === 'owner' ? 'owner' : 'admin' }));
  }

  // ---- sessions --------------------------------------------------------------------------------

  /**
   * Checks the password and starts a session. Refused while the address is locked out (without
   * looking at the password), and with the same answer for an unknown address as for a wrong
   * password; each failure counts towards the lock-out, a success clears the count.
   */
  async signIn(emailText: string, password: string, client: { ip?: string; userAgent?: string } = {}): Promise<SignInResult> {
    const email = String(emailText ?? '').trim().toLowerCase().slice(0, 254);
    const locked = await this.lockedFor(email);
    if (locked > 0) return { ok: false, reason: 'locked', retryAfterSeconds: locked };
    const row = await this.db.get<{ id: string; password_hash: string }>('SELECT id, password_hash FROM users WHERE email = ?', [email]);
    const ok = await verifyPassword(String(password ?? '').slice(0, MAX_PASSWORD_LENGTH), row?.password_hash ?? null, CHOSEN_PASSWORD_COST);
    const now = this.clock.now().getTime();
    if (!ok || !row) {
      await this.db.run('DELETE FROM sign_in_failures WHERE last_at <= ? AND (locked_until IS NULL OR locked_until <= ?)', [now - this.lockoutMs, now]);
      const lockedUntil = now + this.lockoutMs;
      // One statement: failures from several nodes at once all count.
      await this.db.run(
        `INSERT INTO sign_in_failures (email, failures, last_at, locked_until) VALUES (?, 1, ?, ?)
         ON CONFLICT (email) DO UPDATE SET
           failures = sign_in_failures.failures + 1,
           last_at = excluded.last_at,
           locked_until = CASE WHEN sign_in_failures.failures + 1 >= ? THEN ? ELSE sign_in_failures.locked_until END`,
        [email, now, this.maxFailures <= 1 ? lockedUntil : null, this.maxFailures, lockedUntil],
      );
      const lockedNow = await this.lockedFor(email);
      return lockedNow > 0 ? { ok: false, reason: 'locked', retryAfterSeconds: lockedNow } : { ok: false, reason: 'bad_credentials' };
    }
    await this.db.run('DELETE FROM sign_in_failures WHERE email = ?', [email]);
    const user = (await this.get(row.id))!;
    const first = (await this.accountsOf(user))[0];
    if (!first) return { ok: false, reason: 'no_account' };
    const token = randomBytes(32).toString('base64url');
    const expiresAt = Math.min(now + this.idleMs, now + SESSION_MAX_AGE_MS);
    await this.db.run('DELETE FROM user_sessions WHERE expires_at <= ?', [now]);
    await this.db.run(
      `INSERT INTO user_sessions (token_hash, user_id, account_id, created_at, renewed_at, expires_at, ip, user_agent)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [tokenHash(token), user.id, first.accountId, now, now, expiresAt, client.ip ?? null, client.userAgent?.slice(0, 300) ?? null],
    );
    return { ok: true, session: { user, accountId: first.accountId, role: first.role, expiresAt: new Date(expiresAt), token, csrf: csrfTokenFor(token) } };
  }

  /**
   * The session of a cookie's token, renewed (sliding expiry, never past SESSION_MAX_AGE_MS from
   * sign-in); null when it is unknown, expired, or its user lost the role on its account.
   */
  async resume(token: string): Promise<UserSession | null> {
    if (typeof token !== 'string' || token.length < 20 || token.length > 100) return null;
    const hash = tokenHash(token);
    const row = await this.db.get<SessionRow>('SELECT user_id, account_id, created_at, renewed_at, expires_at FROM user_sessions WHERE token_hash = ?', [hash]);
    const now = this.clock.now().getTime();
    if (!row) return null;
    if (row.expires_at <= now) {
      await this.db.run('DELETE FROM user_sessions WHERE token_hash = ?', [hash]);
      return null;
    }
    const user = await this.get(row.user_id);
    const role = user ? await this.roleOn(user, row.account_id) : null;
    if (!user || !role) return null;
    let expiresAt = row.expires_at;
    if (now - row.renewed_at >= RENEW_EVERY_MS) {
      expiresAt = Math.min(now + this.idleMs, row.created_at + SESSION_MAX_AGE_MS);
      try {
        await this.db.run('UPDATE user_sessions SET renewed_at = ?, expires_at = ? WHERE token_hash = ?', [now, expiresAt, hash]);
      } catch {
        // Bookkeeping only: a busy database must not sign the user out; the old expiry stands.
        expiresAt = row.expires_at;
      }
    }
    return { user, accountId: row.account_id, role, expiresAt: new Date(expiresAt) };
  }

  /** Moves the session to another of the user's accounts; null when the user has no role there. */
  async switchAccount(token: string, account: string): Promise<UserSession | null> {
    const session = await this.resume(token);
    if (!session) return null;
    const accountId = await this.accountId(account);
    if (!accountId || !(await this.roleOn(session.user, accountId))) return null;
    await this.db.run('UPDATE user_sessions SET account_id = ? WHERE token_hash = ?', [accountId, tokenHash(token)]);
    return this.resume(token);
  }

  /** Signs out: the session's token no longer works. */
  async end(token: string): Promise<boolean> {
    if (typeof token !== 'string') return false;
    return (await this.db.run('DELETE FROM user_sessions WHERE token_hash = ?', [tokenHash(token)])).changes > 0;
  }

  /** Seconds the address stays locked out; 0 when it is not. */
  async lockedFor(email: string): Promise<number> {
    const row = await this.db.get<{ locked_until: number | null }>('SELECT locked_until FROM sign_in_failures WHERE email = ?', [email.trim().toLowerCase()]);
    const now = this.clock.now().getTime();
    if (!row?.locked_until || row.locked_until <= now) return 0;
    return Math.ceil((row.locked_until - now) / 1000);
  }

  /** The account's id, named by id or name, or null. */
  private async accountId(account: string): Promise<string | null> {
    return (await this.db.get<{ id: string }>('SELECT id FROM accounts WHERE id = ? OR name = ? LIMIT 1', [account, account]))?.id ?? null;
  }

  private async requireAccount(account: string): Promise<string> {
    const id = await this.accountId(account);
    if (!id) throw new UsersError('unknown_account', `there is no account "${account}" (see: herald accounts list)`);
    return id;
  }

  private userRow(idOrEmail: string): Promise<UserRow | undefined> {
    return idOrEmail.startsWith(USER_ID_PREFIX)
      ? this.db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`, [idOrEmail])
      : this.db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE email = ?`, [idOrEmail.trim().toLowerCase()]);
  }

  private async require(idOrEmail: string): Promise<User> {
    const user = await this.get(idOrEmail);
    if (!user) throw new UsersError('unknown_user', `there is no user "${idOrEmail}" (see: herald users list)`);
    return user;
  }

  private async toUser(row: UserRow): Promise<User> {
    const roles = await this.db.all<{ account_id: string; role: UserRole }>('SELECT account_id, role FROM user_roles WHERE user_id = ? ORDER BY created_at, account_id', [row.id]);
    return { id: row.id, email: row.email, operator: row.operator === 1, roles: roles.map((r) => ({ accountId: r.account_id, role: r.role })), createdAt: new Date(row.created_at) };
  }
}

function upsertRole(db: SqlExecutor, userId: string, accountId: string, role: UserRole, now: number): Promise<unknown> {
  return db.run(
    'INSERT INTO user_roles (user_id, account_id, role, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, account_id) DO UPDATE SET role = excluded.role',
    [userId, accountId, role, now],
  );
}
