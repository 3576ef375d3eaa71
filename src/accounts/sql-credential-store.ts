import { createHash, randomBytes } from 'node:crypto';
import { GENERATED_PASSWORD_COST, hashPasswordSync, verifyPassword } from './password-hash.js';
import { anyNetworkContains, parseNetwork, systemClock, type Clock, type Network } from '../core/index.js';
import { migrate, type SqliteDatabase } from '../storage/index.js';
import { BASE62, ID_ALPHABET, NAME, randomString } from './names.js';
import { MIGRATIONS } from './sqlite-schema.js';

/** An SMTP credential as shown to operators and used by the listeners. Never carries a hash. */
export interface SmtpCredential {
  id: string;
  accountId: string;
  name: string;
  kind: 'password' | 'network';
  /** Set for password credentials. */
  username?: string;
  /** Set for network credentials: the client networks that may relay without AUTH. */
  networks?: string[];
  createdAt: Date;
  revokedAt?: Date;
}

/** What `create` returns: the password is shown here once and never again. */
export interface CreatedCredential {
  id: string;
  accountId: string;
  name: string;
  username?: string;
  password?: string;
  networks?: string[];
}

export interface CreateCredentialRequest {
  name: string;
  accountId?: string;
  /** When given (non-empty), a network credential is created instead of a password one. */
  networks?: string[];
}

const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 10_000;
// Lowercase without look-alikes, so a username read aloud or retyped survives.
const USERNAME_ALPHABET = ID_ALPHABET;
const PASSWORD_ALPHABET = BASE62;

interface Row {
  id: string;
  account_id: string;
  name: string;
  kind: 'password' | 'network';
  username: string | null;
  networks: string | null;
  created_at: number;
  revoked_at: number | null;
}

interface Active {
  credential: SmtpCredential;
  nets: Network[];
}

function toCredential(row: Row): SmtpCredential {
  const c: SmtpCredential = { id: row.id, accountId: row.account_id, name: row.name, kind: row.kind, createdAt: new Date(row.created_at) };
  if (row.username) c.username = row.username;
  if (row.networks) c.networks = row.networks.split(',');
  if (row.revoked_at !== null) c.revokedAt = new Date(row.revoked_at);
  return c;
}

/**
 * SMTP credentials in the embedded SQLite database. The CLI writes from another process, so
 * in-memory views (network list, verification cache) are refreshed when `PRAGMA data_version`
 * says another connection changed the database.
 */
export class SqliteCredentialStore {
  private readonly clock: Clock;
  private dataVersion = -1;
  private active = new Map<string, Active>();
  private networkCredentials: Active[] = [];
  /** username NUL sha256(password) → credential id and expiry. */
  private readonly verified = new Map<string, { credentialId: string; expiresAt: number }>();
  private readonly stmts;

  constructor(db: SqliteDatabase, options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
    migrate(db, 'accounts', MIGRATIONS);
    const columns = 'id, account_id, name, kind, username, networks, created_at, revoked_at';
    this.stmts = {
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      active: db.prepare(`SELECT ${columns} FROM smtp_credentials WHERE revoked_at IS NULL ORDER BY created_at, id`),
      all: db.prepare(`SELECT ${columns} FROM smtp_credentials ORDER BY created_at, id`),
      // Accounts are named by id or name, as everywhere else (see SqliteAccountStore.get).
      account: db.prepare('SELECT id FROM accounts WHERE id = @v OR name = @v LIMIT 1').pluck(),
      activeByName: db.prepare('SELECT id FROM smtp_credentials WHERE account_id = ? AND name = ? AND revoked_at IS NULL').pluck(),
      insert: db.prepare(
        'INSERT INTO smtp_credentials (id, account_id, name, kind, username, password_hash, networks, created_at) VALUES (@id, @accountId, @name, @kind, @username, @hash, @networks, @createdAt)',
      ),
      revoke: db.prepare(
        'UPDATE smtp_credentials SET revoked_at = @now WHERE revoked_at IS NULL AND (id = @key OR (account_id = @accountId AND name = @key))',
      ),
      hashByUsername: db.prepare("SELECT id, password_hash FROM smtp_credentials WHERE username = ? AND kind = 'password' AND revoked_at IS NULL"),
    };
    this.refresh('reload');
  }

  create(req: CreateCredentialRequest): CreatedCredential {
    const name = (req.name ?? '').trim();
    if (!NAME.test(name)) {
      throw new Error(`credential name "${req.name ?? ''}" is not valid: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
    const accountId = this.stmts.account.get({ v: req.accountId ?? 'default' }) as string | undefined;
    if (!accountId) throw new Error(`there is no account "${req.accountId}"`);
    if (this.stmts.activeByName.get(accountId, name)) throw new Error(`a credential named "${name}" already exists; revoke it first or pick another name`);

    const id = randomBytes(8).toString('hex');
    const createdAt = this.clock.now().getTime();
    let created: CreatedCredential;
    if (req.networks && req.networks.length > 0) {
      // parseNetwork throws a plain-words error for anything that is not a CIDR or address.
      const networks = req.networks.map((n) => parseNetwork(n).text);
      this.stmts.insert.run({ id, accountId, name, kind: 'network', username: null, hash: null, networks: networks.join(','), createdAt });
      created = { id, accountId, name, networks };
    } else {
      const username = `herald-${randomString(USERNAME_ALPHABET, 8)}`;
      // Letters and digits only (32 of 62: ~190 bits): a password starting with '-' is taken for
      // an option by command-line clients such as swaks, and '_'/'-' need care in some configs.
      const password = randomString(PASSWORD_ALPHABET, 32);
      this.stmts.insert.run({ id, accountId, name, kind: 'password', username, hash: hashPasswordSync(password, GENERATED_PASSWORD_COST), networks: null, createdAt });
      created = { id, accountId, name, username, password };
    }
    this.refresh('reload');
    return created;
  }

  list(options: { includeRevoked?: boolean } = {}): SmtpCredential[] {
    const rows = (options.includeRevoked ? this.stmts.all : this.stmts.active).all() as Row[];
    return rows.map(toCredential);
  }

  /** Revokes an active credential by id or by name (within the account, given by id or name). */
  revoke(idOrName: string, account = 'default'): boolean {
    const accountId = (this.stmts.account.get({ v: account }) as string | undefined) ?? null;
    const changed = this.stmts.revoke.run({ now: this.clock.now().getTime(), key: idOrName, accountId }).changes > 0;
    if (changed) this.refresh('reload');
    return changed;
  }

  /** The active password credential for these credentials, or null. Timing-safe. */
  async verifyPassword(username: string, password: string): Promise<SmtpCredential | null> {
    // AUTH is rare next to MAIL/RCPT: always look for changes, so a credential created a moment
    // ago by the CLI works at once.
    this.refresh('check');
    const key = `${username}\0${createHash('sha256').update(password).digest('base64')}`;
    const now = this.clock.now().getTime();
    const hit = this.verified.get(key);
    if (hit) {
      const active = this.active.get(hit.credentialId);
      if (hit.expiresAt > now && active) return active.credential;
      this.verified.delete(key);
    }

    const row = this.stmts.hashByUsername.get(username) as { id: string; password_hash: string } | undefined;
    if (!(await verifyPassword(password, row?.password_hash ?? null, GENERATED_PASSWORD_COST)) || !row) return null;

    // The credential may have been revoked while scrypt ran.
    this.refresh();
    const active = this.active.get(row.id);
    if (!active) return null;
    if (this.verified.size >= CACHE_MAX) this.pruneCache(now);
    this.verified.set(key, { credentialId: row.id, expiresAt: now + CACHE_TTL_MS });
    return active.credential;
  }

  /** True while the credential exists and is not revoked (checked per mail transaction). */
  isActive(id: string): boolean {
    this.refresh();
    return this.active.has(id);
  }

  /** The first active network credential whose networks contain this client address, or null. */
  matchNetwork(ip: string): SmtpCredential | null {
    this.refresh();
    const hit = this.findNetwork(ip);
    if (hit) return hit;
    // A miss may be a network credential the CLI created a moment ago: look for changes now.
    this.refresh('check');
    return this.findNetwork(ip);
  }

  private findNetwork(ip: string): SmtpCredential | null {
    for (const entry of this.networkCredentials) {
      if (anyNetworkContains(entry.nets, ip)) return entry.credential;
    }
    return null;
  }

  private checkedAt = 0;

  /**
   * Reloads the active credentials when another connection (the CLI) changed the database.
   * - 'throttled': looks for changes at most once a second — a lookup per SMTP command must not
   *   cost a query each time, and a revoke from the CLI still takes effect within that second;
   * - 'check': looks for changes now;
   * - 'reload': reloads regardless (data_version does not move for this connection's own writes).
   */
  private refresh(mode: 'throttled' | 'check' | 'reload' = 'throttled'): void {
    const checkedAt = this.clock.now().getTime();
    if (mode === 'throttled' && checkedAt - this.checkedAt < 1000) return;
    this.checkedAt = checkedAt;
    const version = this.stmts.dataVersion.get() as number;
    if (mode !== 'reload' && version === this.dataVersion) return;
    this.dataVersion = version;
    const active = new Map<string, Active>();
    const networks: Active[] = [];
    for (const row of this.stmts.active.all() as Row[]) {
      const credential = toCredential(row);
      const entry: Active = { credential, nets: [] };
      if (credential.kind === 'network') {
        entry.nets = (credential.networks ?? []).flatMap((text) => {
          try {
            return [parseNetwork(text)];
          } catch {
            return []; // a hand-edited row must not take the listeners down
          }
        });
        networks.push(entry);
      }
      active.set(credential.id, entry);
    }
    this.active = active;
    this.networkCredentials = networks;
    // A revoke must take effect at once, cached verifications included.
    for (const [key, hit] of this.verified) if (!active.has(hit.credentialId)) this.verified.delete(key);
  }

  private pruneCache(now: number): void {
    for (const [key, hit] of this.verified) if (hit.expiresAt <= now) this.verified.delete(key);
    if (this.verified.size >= CACHE_MAX) this.verified.clear();
  }
}
