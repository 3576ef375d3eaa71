import { createHash, randomBytes } from 'node:crypto';
import { GENERATED_PASSWORD_COST, hashPassword, verifyPassword } from './password-hash.js';
import { anyNetworkContains, parseNetwork, systemClock, type Clock, type Network } from '../core/index.js';
import { ChangeCounter, isUniqueViolation, type SqlDatabase } from '../storage/index.js';
import { CountedCache } from './counted-cache.js';
import { BASE62, ID_ALPHABET, NAME, randomString } from './names.js';
import { ACCOUNTS_MIGRATIONS } from './schema.js';

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
const COLUMNS = 'id, account_id, name, kind, username, networks, created_at, revoked_at';

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
 * SMTP credentials, on either engine. The listeners look up network credentials per connection
 * and per transaction, so the active credentials are kept in memory; the CLI and other nodes
 * write from elsewhere, so each lookup first reads the `smtp_credentials` change counter (moved
 * by triggers) and reloads them when it moved: a new credential or a revoke applies to the next
 * connection, AUTH or transaction.
 */
export class SqlCredentialStore {
  private active = new Map<string, Active>();
  private networkCredentials: Active[] = [];
  private readonly credentials: CountedCache;
  /** username NUL sha256(password) → credential id and expiry. */
  private readonly verified = new Map<string, { credentialId: string; expiresAt: number }>();

  private constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {
    this.credentials = new CountedCache(new ChangeCounter(db, 'smtp_credentials'), () => this.load());
  }

  static async open(db: SqlDatabase, options: { clock?: Clock } = {}): Promise<SqlCredentialStore> {
    await db.migrate('accounts', ACCOUNTS_MIGRATIONS);
    return new SqlCredentialStore(db, options.clock ?? systemClock);
  }

  async create(req: CreateCredentialRequest): Promise<CreatedCredential> {
    const name = (req.name ?? '').trim();
    if (!NAME.test(name)) {
      throw new Error(`credential name "${req.name ?? ''}" is not valid: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
    // parseNetwork throws a plain-words error for anything that is not a CIDR or address.
    const networks = req.networks && req.networks.length > 0 ? req.networks.map((n) => parseNetwork(n).text) : null;
    const accountId = await this.accountId(req.accountId ?? 'default');
    if (!accountId) throw new Error(`there is no account "${req.accountId}"`);
    const taken = () => new Error(`a credential named "${name}" already exists; revoke it first or pick another name`);
    if (await this.db.get('SELECT id FROM smtp_credentials WHERE account_id = ? AND name = ? AND revoked_at IS NULL', [accountId, name])) throw taken();

    const id = randomBytes(8).toString('hex');
    const createdAt = this.clock.now().getTime();
    let created: CreatedCredential;
    let row: { username: string | null; hash: string | null; networks: string | null };
    if (networks) {
      created = { id, accountId, name, networks };
      row = { username: null, hash: null, networks: networks.join(',') };
    } else {
      const username = `herald-${randomString(USERNAME_ALPHABET, 8)}`;
      // Letters and digits only (32 of 62: ~190 bits): a password starting with '-' is taken for
      // an option by command-line clients such as swaks, and '_'/'-' need care in some configs.
      const password = randomString(PASSWORD_ALPHABET, 32);
      created = { id, accountId, name, username, password };
      row = { username, hash: await hashPassword(password, GENERATED_PASSWORD_COST), networks: null };
    }
    try {
      await this.db.run(
        'INSERT INTO smtp_credentials (id, account_id, name, kind, username, password_hash, networks, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [id, accountId, name, networks ? 'network' : 'password', row.username, row.hash, row.networks, createdAt],
      );
    } catch (err) {
      // Another process took the name between the check and the insert.
      if (isUniqueViolation(err)) throw taken();
      throw err;
    }
    return created;
  }

  async list(options: { includeRevoked?: boolean } = {}): Promise<SmtpCredential[]> {
    const rows = await this.db.all<Row>(`SELECT ${COLUMNS} FROM smtp_credentials ${options.includeRevoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY created_at, id`);
    return rows.map(toCredential);
  }

  /** Revokes an active credential by id or by name (within the account, given by id or name). */
  async revoke(idOrName: string, account = 'default'): Promise<boolean> {
    const accountId = await this.accountId(account);
    const result = await this.db.run('UPDATE smtp_credentials SET revoked_at = ? WHERE revoked_at IS NULL AND (id = ? OR (account_id = ? AND name = ?))', [
      this.clock.now().getTime(),
      idOrName,
      accountId,
      idOrName,
    ]);
    return result.changes > 0;
  }

  /** The active password credential for these credentials, or null. Timing-safe. */
  async verifyPassword(username: string, password: string): Promise<SmtpCredential | null> {
    await this.credentials.current();
    const key = `${username}\0${createHash('sha256').update(password).digest('base64')}`;
    const now = this.clock.now().getTime();
    const hit = this.verified.get(key);
    if (hit) {
      const active = this.active.get(hit.credentialId);
      if (hit.expiresAt > now && active) return active.credential;
      this.verified.delete(key);
    }

    const row = await this.db.get<{ id: string; password_hash: string }>(
      "SELECT id, password_hash FROM smtp_credentials WHERE username = ? AND kind = 'password' AND revoked_at IS NULL",
      [username],
    );
    if (!(await verifyPassword(password, row?.password_hash ?? null, GENERATED_PASSWORD_COST)) || !row) return null;

    // The credential may have been revoked while scrypt ran.
    await this.credentials.current();
    const active = this.active.get(row.id);
    if (!active) return null;
    if (this.verified.size >= CACHE_MAX) this.pruneCache(now);
    this.verified.set(key, { credentialId: row.id, expiresAt: now + CACHE_TTL_MS });
    return active.credential;
  }

  /** True while the credential exists and is not revoked (checked per mail transaction). */
  async isActive(id: string): Promise<boolean> {
    await this.credentials.current();
    return this.active.has(id);
  }

  /** The first active network credential whose networks contain this client address, or null. */
  async matchNetwork(ip: string): Promise<SmtpCredential | null> {
    await this.credentials.current();
    for (const entry of this.networkCredentials) {
      if (anyNetworkContains(entry.nets, ip)) return entry.credential;
    }
    return null;
  }

  /** Accounts are named by id or name, as everywhere else (see SqlAccountStore.get). */
  private async accountId(idOrName: string): Promise<string | null> {
    return (await this.db.get<{ id: string }>('SELECT id FROM accounts WHERE id = ? OR name = ? LIMIT 1', [idOrName, idOrName]))?.id ?? null;
  }

  /** The active credentials (run by `credentials` when the table changed, here or elsewhere). */
  private async load(): Promise<void> {
    const active = new Map<string, Active>();
    const networks: Active[] = [];
    for (const row of await this.db.all<Row>(`SELECT ${COLUMNS} FROM smtp_credentials WHERE revoked_at IS NULL ORDER BY created_at, id`)) {
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
