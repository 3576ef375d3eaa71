import { randomInt } from 'node:crypto';
import { normalizeDomain, systemClock, type Clock } from '../core/index.js';
import { ChangeCounter, isUniqueViolation, type SqlDatabase, type SqlExecutor } from '../storage/index.js';
import { chooseSelector, DKIM_ALGORITHMS, dkimRecordName, dkimRecordValue, generateDkimKey, isDkimAlgorithm, signingAlgorithm } from './dkim-keys.js';
import { checkAccountId, checkReturnPath, DomainsError, normalizeSendingDomain, parentDomains } from './names.js';
import { MIGRATIONS, POSTGRES_MIGRATIONS } from './schema.js';
import { TRACKING_LABEL } from './records.js';
import type {
  AddDomainOptions,
  DkimAlgorithm,
  DkimKeyState,
  DkimKeyView,
  DomainStatus,
  DomainView,
  RecordCheck,
  RecordStatus,
  SigningKey,
  VerificationOutcome,
  VerificationResult,
} from './types.js';

/** How long a replaced key stays valid (and its record should stay published) after a rotation. */
export const RETIRE_AFTER_MS = 7 * 24 * 3_600_000;
/** How long a verified domain whose records broke may still send (Amazon SES allows 72 hours too). */
export const FAILING_GRACE_MS = 72 * 3_600_000;
/** The most (account, domain) lookups kept in memory (unknown domains included); more empties it. */
const LOOKUP_CACHE_MAX = 1000;

export interface DomainStoreOptions {
  clock?: Clock;
  retireAfterMs?: number;
  /** 0: a domain stops sending at the first conclusive failed check. */
  failingGraceMs?: number;
}

interface DomainRow {
  id: string;
  account_id: string;
  name: string;
  return_path: string;
  created_at: number;
  verified_at: number | null;
  failing_since: number | null;
  checked_at: number | null;
  last_result: string | null;
  record_states: string;
}

interface KeyRow {
  domain_id: string;
  selector: string;
  algorithm: DkimAlgorithm;
  state: DkimKeyState;
  public_key: string;
  private_key: string | null;
  created_at: number;
  activated_at: number | null;
  retire_at: number | null;
}

const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

function newDomainId(): string {
  let id = 'dom_';
  for (let i = 0; i < 12; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

function checkAlgorithms(input: unknown): DkimAlgorithm[] {
  if (input === undefined) return ['rsa'];
  if (!Array.isArray(input) || input.length === 0 || !input.every(isDkimAlgorithm)) {
    throw new DomainsError('invalid_algorithm', `DKIM keys must be a list of "rsa", "ed25519" or both (got ${JSON.stringify(input)})`);
  }
  return DKIM_ALGORITHMS.filter((a) => input.includes(a));
}

interface StoredResult {
  ok: boolean;
  checkedAt: number;
  records: RecordCheck[];
}

const KEY_ORDER = "ORDER BY created_at, CASE algorithm WHEN 'rsa' THEN 0 ELSE 1 END, selector";

/** The room's statements, in the SQL both engines run. */
const SQL = {
  owner: 'SELECT account_id FROM domains WHERE name = ?',
  byName: 'SELECT * FROM domains WHERE account_id = ? AND name = ?',
  ofAccount: 'SELECT * FROM domains WHERE account_id = ? ORDER BY name',
  all: 'SELECT * FROM domains ORDER BY account_id, name',
  schedule: 'SELECT account_id, name, verified_at, failing_since, checked_at FROM domains ORDER BY checked_at NULLS FIRST',
  byReturnPath: 'SELECT account_id, name, return_path FROM domains WHERE return_path = ? ORDER BY created_at LIMIT 1',
  keys: `SELECT * FROM dkim_keys WHERE domain_id = ? ${KEY_ORDER}`,
  activeKeys: `SELECT * FROM dkim_keys WHERE domain_id = ? AND state = 'active' AND private_key IS NOT NULL ${KEY_ORDER}`,
  insertDomain: 'INSERT INTO domains (id, account_id, name, return_path, created_at) VALUES (?, ?, ?, ?, ?)',
  insertKey: 'INSERT INTO dkim_keys (domain_id, selector, algorithm, state, public_key, private_key, created_at, activated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  deleteKeys: 'DELETE FROM dkim_keys WHERE domain_id = ?',
  deleteDomain: 'DELETE FROM domains WHERE id = ?',
  deletePending: "DELETE FROM dkim_keys WHERE domain_id = ? AND state = 'pending'",
  activate: "UPDATE dkim_keys SET state = 'active', activated_at = ? WHERE domain_id = ? AND selector = ? AND state = 'pending'",
  retireOld: "UPDATE dkim_keys SET state = 'retiring', retire_at = ? WHERE domain_id = ? AND algorithm = ? AND state = 'active' AND selector <> ?",
  dueToRetire: "SELECT selector FROM dkim_keys WHERE domain_id = ? AND state = 'retiring' AND retire_at <= ?",
  // The private key is destroyed; the row stays so the selector is never handed out again.
  retire: "UPDATE dkim_keys SET state = 'retired', private_key = NULL, retired_at = ? WHERE domain_id = ? AND selector = ?",
  updateVerification: 'UPDATE domains SET verified_at = ?, failing_since = ?, checked_at = ?, last_result = ?, record_states = ? WHERE id = ?',
  settings: 'SELECT development_mode FROM domain_settings WHERE account_id = ?',
  setDevelopment:
    'INSERT INTO domain_settings (account_id, development_mode) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET development_mode = excluded.development_mode',
} as const;

/**
 * An account's sending domains, their DKIM keys and their verification state, on SQLite or
 * PostgreSQL. Scoped by account throughout: another account's domain is simply not found.
 * The lookups the accept pipeline makes per message (development mode, the sending domain, its
 * keys) are answered from memory while the `domains` change counter stands still; it is read
 * first on every lookup and moved by triggers on every write, the CLI's and other nodes'
 * included. Rows are kept, not answers: a status that depends on the time (the failing grace
 * period) is judged at the lookup.
 */
export class SqlDomainStore {
  private readonly clock: Clock;
  private readonly retireAfterMs: number;
  private readonly graceMs: number;
  private readonly changes: ChangeCounter;
  /**
   * Moves each time the kept lookups are dropped: a lookup that began before the drop does not
   * keep what it read (it may predate the change that moved the counter).
   */
  private generation = 0;
  private readonly developmentModes = new Map<string, boolean>();
  /** Rows by account and (normalised) name, null: none; only for the lookups below. */
  private readonly rowsByName = new Map<string, DomainRow | null>();
  private readonly activeKeyRows = new Map<string, KeyRow[]>();
  private readonly recordStates = new WeakMap<DomainRow, Record<string, RecordStatus>>();

  private constructor(
    private readonly db: SqlDatabase,
    options: DomainStoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.retireAfterMs = options.retireAfterMs ?? RETIRE_AFTER_MS;
    this.graceMs = options.failingGraceMs ?? FAILING_GRACE_MS;
    this.changes = new ChangeCounter(db, 'domains');
  }

  /** Applies the room's migrations (ledger `domains`) and opens the store. */
  static async open(db: SqlDatabase, options: DomainStoreOptions = {}): Promise<SqlDomainStore> {
    await db.migrate('domains', { sqlite: MIGRATIONS, postgres: POSTGRES_MIGRATIONS });
    return new SqlDomainStore(db, options);
  }

  /**
   * Adds a sending domain with a new DKIM key pair per algorithm (active from the start: they
   * sign once the domain is verified). Keys are made before the write, off the main thread.
   */
  async add(accountId: string, name: string, options: AddDomainOptions = {}): Promise<DomainView> {
    checkAccountId(accountId);
    const domain = normalizeSendingDomain(name);
    const returnPath = checkReturnPath(domain, options.returnPath);
    const algorithms = checkAlgorithms(options.dkim);
    await this.checkFree(this.db, accountId, domain, returnPath);
    const keys = await Promise.all(algorithms.map(generateDkimKey));
    const now = this.clock.now().getTime();
    const id = newDomainId();
    try {
      await this.db.transaction(async (tx) => {
        await lockNames(tx);
        // Again inside the write: another add may have taken the name while keys were made.
        await this.checkFree(tx, accountId, domain, returnPath);
        await tx.run(SQL.insertDomain, [id, accountId, domain, returnPath, now]);
        const taken = new Set<string>();
        for (const key of keys) {
          const selector = chooseSelector(new Date(now), key.algorithm, taken);
          taken.add(selector);
          await tx.run(SQL.insertKey, [id, selector, key.algorithm, 'active', key.publicKey, key.privateKey, now, now]);
        }
      });
    } catch (err) {
      if (isUniqueViolation(err)) await this.checkFree(this.db, accountId, domain, returnPath);
      throw err;
    }
    return (await this.get(accountId, domain))!;
  }

  async list(accountId: string): Promise<DomainView[]> {
    const now = this.clock.now().getTime();
    const rows = await this.db.all<DomainRow>(SQL.ofAccount, [accountId]);
    return Promise.all(rows.map((row) => this.toView(this.db, row, now)));
  }

  /** Every account's domains: for the monitor and operators, never for an account's own view. */
  async listAll(): Promise<DomainView[]> {
    const now = this.clock.now().getTime();
    const rows = await this.db.all<DomainRow>(SQL.all);
    return Promise.all(rows.map((row) => this.toView(this.db, row, now)));
  }

  /** Every domain's status and last check time, in one query: what the monitor needs to pick the due ones. */
  async checkSchedule(): Promise<{ accountId: string; name: string; status: DomainStatus; checkedAt: Date | null }[]> {
    const now = this.clock.now().getTime();
    const rows = await this.db.all<Pick<DomainRow, 'account_id' | 'name' | 'verified_at' | 'failing_since' | 'checked_at'>>(SQL.schedule);
    return rows.map((row) => ({
      accountId: row.account_id,
      name: row.name,
      status: this.statusOf(row, now),
      checkedAt: row.checked_at === null ? null : new Date(row.checked_at),
    }));
  }

  async get(accountId: string, name: string): Promise<DomainView | null> {
    const row = await this.row(this.db, accountId, name);
    return row ? this.toView(this.db, row, this.clock.now().getTime()) : null;
  }

  /** Removes the domain and destroys its keys; false when the account has no such domain. */
  delete(accountId: string, name: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const row = await this.row(tx, accountId, name);
      if (!row) return false;
      await tx.run(SQL.deleteKeys, [row.id]);
      await tx.run(SQL.deleteDomain, [row.id]);
      return true;
    });
  }

  /**
   * Starts a key rotation: a new `pending` key per algorithm in use, published beside the current
   * ones, which keep signing. The switch happens in `recordVerification`, once a check sees the
   * new record published correctly. null when the account has no such domain.
   */
  async rotateDkim(accountId: string, name: string): Promise<DomainView | null> {
    const row = await this.row(this.db, accountId, name);
    if (!row) return null;
    const keys = await this.keyRows(this.db, row.id);
    this.checkNoRotation(row, keys);
    const inUse = new Set(keys.filter((k) => k.state === 'active').map((k) => k.algorithm));
    const algorithms = inUse.size > 0 ? DKIM_ALGORITHMS.filter((a) => inUse.has(a)) : (['rsa'] as DkimAlgorithm[]);
    const generated = await Promise.all(algorithms.map(generateDkimKey));
    const now = this.clock.now().getTime();
    const done = await this.db.transaction(async (tx) => {
      // Locked (on PostgreSQL) before its keys are read, so two rotations of one domain take turns.
      const current = await this.row(tx, accountId, name, { lock: true });
      if (!current || current.id !== row.id) return false;
      const currentKeys = await this.keyRows(tx, row.id);
      this.checkNoRotation(row, currentKeys);
      const taken = new Set(currentKeys.map((k) => k.selector));
      for (const key of generated) {
        const selector = chooseSelector(new Date(now), key.algorithm, taken);
        taken.add(selector);
        await tx.run(SQL.insertKey, [row.id, selector, key.algorithm, 'pending', key.publicKey, key.privateKey, now, null]);
      }
      return true;
    });
    return done ? this.get(accountId, name) : null;
  }

  /** Abandons a rotation whose new record was never published: the pending keys are deleted. */
  async cancelRotation(accountId: string, name: string): Promise<DomainView | null> {
    const row = await this.row(this.db, accountId, name);
    if (!row) return null;
    await this.db.run(SQL.deletePending, [row.id]);
    return this.get(accountId, name);
  }

  /**
   * Stores a check's result and moves the domain's state on, in one transaction:
   * - a pending key whose record is ok becomes active, and the active key it replaces (same
   *   algorithm) becomes retiring for `retireAfterMs`; retiring keys past that are retired;
   * - the domain passes when every required record is ok (the DKIM records of the keys active
   *   after the step above, the return path's MX and SPF); it fails when one of them is missing
   *   or wrong; otherwise (only temporary lookup errors) its status is left as it was;
   * - a verified domain that fails becomes `failing`, and `unverified` after the grace period.
   * A result older than the one stored changes nothing. null when the account has no such domain.
   */
  recordVerification(accountId: string, name: string, result: VerificationResult): Promise<VerificationOutcome | null> {
    const now = this.clock.now().getTime();
    const at = result.checkedAt.getTime();
    return this.db.transaction(async (tx): Promise<VerificationOutcome | null> => {
      // Locked (on PostgreSQL) before it is judged, so two checks of one domain take turns.
      const row = await this.row(tx, accountId, name, { lock: true });
      if (!row) return null;
      const before = this.statusOf(row, now);
      // A check older than the stored one, or than the domain itself (deleted and added again
      // while the check ran), says nothing about the domain as it is now.
      if ((row.checked_at !== null && at < row.checked_at) || at < row.created_at) {
        return { domain: await this.toView(tx, row, now), before, after: before, changed: [], activated: [], retired: [] };
      }
      // A DKIM check counts for a key only if it looked for that key's own record.
      const keyRows = await this.keyRows(tx, row.id);
      const checkOf = (selector: string) => {
        const key = keyRows.find((k) => k.selector === selector);
        return result.records.find(
          (r) => r.purpose === 'dkim' && r.selector === selector && r.name === dkimRecordName(selector, row.name) && key !== undefined && r.expected === dkimRecordValue(key.algorithm, key.public_key),
        );
      };

      const activated: string[] = [];
      for (const key of keyRows) {
        if (key.state !== 'pending' || checkOf(key.selector)?.status !== 'ok') continue;
        await tx.run(SQL.retireOld, [at + this.retireAfterMs, row.id, key.algorithm, key.selector]);
        await tx.run(SQL.activate, [at, row.id, key.selector]);
        activated.push(key.selector);
      }
      const retired = (await tx.all<{ selector: string }>(SQL.dueToRetire, [row.id, now])).map((r) => r.selector);
      for (const selector of retired) await tx.run(SQL.retire, [now, row.id, selector]);

      const active = (await this.keyRows(tx, row.id)).filter((k) => k.state === 'active');
      const required: RecordStatus[] = [
        ...result.records.filter((r) => r.purpose !== 'dkim' && r.required).map((r) => r.status),
        // A key the result did not check tells nothing either way.
        ...active.map((k) => checkOf(k.selector)?.status ?? 'error'),
      ];
      const verdict =
        active.length > 0 && required.every((s) => s === 'ok') ? 'pass' : required.some((s) => s === 'missing' || s === 'wrong') ? 'fail' : 'unknown';

      let verifiedAt = before === 'unverified' ? null : row.verified_at;
      let failingSince = before === 'unverified' ? null : row.failing_since;
      if (verdict === 'pass') {
        verifiedAt ??= at;
        failingSince = null;
      } else if (verdict === 'fail' && verifiedAt !== null) {
        failingSince ??= at;
      }

      // What changed is judged between conclusive statuses: a lookup error neither breaks nor fixes a record.
      const previous = JSON.parse(row.record_states) as Record<string, RecordStatus>;
      const states: Record<string, RecordStatus> = {};
      const changed: RecordCheck[] = [];
      for (const record of result.records) {
        const key = `${record.purpose} ${record.name}`;
        if (record.status === 'error') {
          if (previous[key]) states[key] = previous[key];
          continue;
        }
        if (previous[key] !== undefined && previous[key] !== record.status) changed.push(record);
        states[key] = record.status;
      }
      // Stored as it stands after this step: a key activated just now is required, the one it replaced is not.
      const activeSelectors = new Set(active.map((k) => k.selector));
      const records = result.records.map((r) => (r.purpose === 'dkim' && r.selector !== undefined ? { ...r, required: activeSelectors.has(r.selector) } : r));
      const stored: StoredResult = { ok: verdict === 'pass', checkedAt: at, records };
      await tx.run(SQL.updateVerification, [verifiedAt, failingSince, at, JSON.stringify(stored), JSON.stringify(states), row.id]);
      const updated = (await this.row(tx, accountId, name))!;
      return { domain: await this.toView(tx, updated, now), before, after: this.statusOf(updated, now), changed, activated, retired };
    });
  }

  /**
   * The keys to sign a message from `domain` with, or null when the account may not sign for it.
   * The most specific of the account's verified (or still failing) domains that equals `domain`
   * or is a parent of it is used, with that domain as `d=`: under DMARC's default relaxed
   * alignment (RFC 7489 §3.1.1) a d=example.com signature aligns with From: mail.example.com.
   */
  async signingKeysFor(accountId: string, domain: string): Promise<SigningKey[] | null> {
    const generation = await this.fresh();
    const row = await this.sendingDomain(accountId, domain, generation);
    if (!row) return null;
    let active = this.activeKeyRows.get(row.id);
    if (!active) {
      active = await this.db.all<KeyRow>(SQL.activeKeys, [row.id]);
      if (generation === this.generation) this.activeKeyRows.set(row.id, active);
    }
    const keys = active.map((k) => ({
      domain: row.name,
      selector: k.selector,
      algorithm: signingAlgorithm(k.algorithm),
      privateKey: k.private_key!,
    }));
    return keys.length > 0 ? keys : null;
  }

  /** May the account send with a From at `domain`: the signing rule above, or development mode. */
  async isSenderAllowed(accountId: string, domain: string): Promise<boolean> {
    const generation = await this.fresh();
    return (await this.developmentModeOf(accountId, generation)) || (await this.sendingDomain(accountId, domain, generation)) !== null;
  }

  /** The return-path (bounce) domain for mail from `domain`, by the signing rule above; null when none. */
  async returnPathFor(accountId: string, domain: string): Promise<string | null> {
    const generation = await this.fresh();
    return (await this.sendingDomain(accountId, domain, generation))?.return_path ?? null;
  }

  /**
   * The host for open and click tracking links in mail from `domain` (by the signing rule above):
   * `track.<domain>` once a check has seen its CNAME pointing at Herald; null until then. The
   * last conclusive check counts, so a passing DNS failure does not switch links back and forth.
   */
  async trackingHostFor(accountId: string, domain: string): Promise<string | null> {
    const generation = await this.fresh();
    const row = await this.sendingDomain(accountId, domain, generation);
    if (!row) return null;
    const host = `${TRACKING_LABEL}.${row.name}`;
    let states = this.recordStates.get(row);
    if (!states) this.recordStates.set(row, (states = JSON.parse(row.record_states) as Record<string, RecordStatus>));
    return states[`tracking ${host}`] === 'ok' ? host : null;
  }

  /**
   * Whose return-path domain `name` is, across all accounts: for the MX listener, which takes
   * bounces for these names and must know nothing else about the sender. null: none.
   */
  async returnPathOwner(name: string): Promise<{ accountId: string; domain: string; returnPath: string } | null> {
    const normal = typeof name === 'string' ? normalizeDomain(name) : '';
    if (!normal) return null;
    const row = await this.db.get<{ account_id: string; name: string; return_path: string }>(SQL.byReturnPath, [normal]);
    return row ? { accountId: row.account_id, domain: row.name, returnPath: row.return_path } : null;
  }

  /**
   * Development mode lets the account send from any domain, verified or not, unsigned where no
   * verified domain covers it. For local testing only: mail from unverified domains fails SPF,
   * DKIM and DMARC at real receivers, and allowing it lets an account send as anyone.
   */
  async setDevelopmentMode(accountId: string, on: boolean): Promise<void> {
    checkAccountId(accountId);
    await this.db.run(SQL.setDevelopment, [accountId, on ? 1 : 0]);
  }

  async developmentMode(accountId: string): Promise<boolean> {
    return this.developmentModeOf(accountId, await this.fresh());
  }

  /**
   * Drops what the lookups keep when the domains, keys or settings changed since the last look;
   * returns the generation a lookup may keep what it reads under.
   */
  private async fresh(): Promise<number> {
    if (await this.changes.moved()) {
      this.generation++;
      this.developmentModes.clear();
      this.rowsByName.clear();
      this.activeKeyRows.clear();
    }
    return this.generation;
  }

  /** After fresh(). */
  private async developmentModeOf(accountId: string, generation: number): Promise<boolean> {
    let on = this.developmentModes.get(accountId);
    if (on === undefined) {
      on = (await this.db.get<{ development_mode: number }>(SQL.settings, [accountId]))?.development_mode === 1;
      if (generation === this.generation) {
        if (this.developmentModes.size >= LOOKUP_CACHE_MAX) this.developmentModes.clear();
        this.developmentModes.set(accountId, on);
      }
    }
    return on;
  }

  /**
   * The account's domain by name. `lock`: inside a transaction, PostgreSQL locks the row until
   * it ends (SQLite has one writer at a time anyway).
   */
  private async row(db: SqlExecutor, accountId: string, name: string, options: { lock?: boolean } = {}): Promise<DomainRow | null> {
    if (typeof accountId !== 'string' || typeof name !== 'string') return null;
    const normal = normalizeDomain(name);
    if (!normal) return null;
    const sql = options.lock && db.dialect === 'postgres' ? `${SQL.byName} FOR UPDATE` : SQL.byName;
    return (await db.get<DomainRow>(sql, [accountId, normal])) ?? null;
  }

  private keyRows(db: SqlExecutor, domainId: string): Promise<KeyRow[]> {
    return db.all<KeyRow>(SQL.keys, [domainId]);
  }

  /** After fresh(). */
  private async sendingDomain(accountId: string, domain: string, generation: number): Promise<DomainRow | null> {
    const name = typeof domain === 'string' ? normalizeDomain(domain) : '';
    if (!name || typeof accountId !== 'string') return null;
    const now = this.clock.now().getTime();
    for (const candidate of parentDomains(name)) {
      const key = `${accountId}\n${candidate}`;
      let row = this.rowsByName.get(key);
      if (row === undefined) {
        row = (await this.db.get<DomainRow>(SQL.byName, [accountId, candidate])) ?? null;
        if (generation === this.generation) {
          if (this.rowsByName.size >= LOOKUP_CACHE_MAX) this.rowsByName.clear();
          this.rowsByName.set(key, row);
        }
      }
      if (row && this.statusOf(row, now) !== 'unverified') return row;
    }
    return null;
  }

  private statusOf(row: Pick<DomainRow, 'verified_at' | 'failing_since'>, now: number): DomainStatus {
    if (row.verified_at === null) return 'unverified';
    if (row.failing_since === null) return 'verified';
    return now < row.failing_since + this.graceMs ? 'failing' : 'unverified';
  }

  /** The name is nobody's domain, and neither name is already used as a bounce domain or a domain. */
  private async checkFree(db: SqlExecutor, accountId: string, domain: string, returnPath: string): Promise<void> {
    const owner = await db.get<{ account_id: string }>(SQL.owner, [domain]);
    if (owner) {
      throw new DomainsError(
        'domain_taken',
        owner.account_id === accountId
          ? `${domain} is already one of this account's domains`
          : `${domain} is already in use by another account on this Herald; if the domain is yours, ask the operator to remove it there`,
      );
    }
    if (await db.get(SQL.byReturnPath, [domain])) {
      throw new DomainsError('domain_taken', `${domain} is already the return-path (bounce) domain of another domain on this Herald, so it cannot be a sending domain too`);
    }
    // One bounce domain per sending domain: its MX and the bounces arriving there belong to one owner.
    if ((await db.get(SQL.owner, [returnPath])) || (await db.get(SQL.byReturnPath, [returnPath]))) {
      throw new DomainsError('invalid_return_path', `${returnPath} is already used on this Herald (as a sending domain or another domain's return path); choose another return-path domain`);
    }
  }

  private checkNoRotation(row: DomainRow, keys: KeyRow[]): void {
    const pending = keys.filter((k) => k.state === 'pending');
    if (pending.length === 0) return;
    throw new DomainsError(
      'rotation_in_progress',
      `a key rotation for ${row.name} is already waiting for its DNS record: publish the TXT record ${pending.map((k) => dkimRecordName(k.selector, row.name)).join(' and ')} (Herald switches once it sees it), or cancel that rotation first`,
    );
  }

  private async toView(db: SqlExecutor, row: DomainRow, now: number): Promise<DomainView> {
    const status = this.statusOf(row, now);
    const stored = row.last_result === null ? null : (JSON.parse(row.last_result) as StoredResult);
    const keys = await this.keyRows(db, row.id);
    return {
      id: row.id,
      accountId: row.account_id,
      name: row.name,
      returnPath: row.return_path,
      status,
      verifiedAt: status !== 'unverified' && row.verified_at !== null ? new Date(row.verified_at) : null,
      failingSince: status === 'failing' ? new Date(row.failing_since!) : null,
      sendingStopsAt: status === 'failing' ? new Date(row.failing_since! + this.graceMs) : null,
      checkedAt: row.checked_at === null ? null : new Date(row.checked_at),
      verification: stored ? { ok: stored.ok, checkedAt: new Date(stored.checkedAt), records: stored.records } : null,
      dkim: keys.filter((k) => k.state !== 'retired').map((k) => toKeyView(k, row.name)),
      createdAt: new Date(row.created_at),
    };
  }
}

/**
 * Whether a name is free is judged over several rows (domain names and return paths), which no
 * unique index covers: on PostgreSQL, adds take turns on a transaction lock, as SQLite's single
 * writer makes them do anyway.
 */
async function lockNames(tx: SqlExecutor): Promise<void> {
  if (tx.dialect === 'postgres') await tx.get("SELECT pg_advisory_xact_lock(hashtext('herald.domains.names'))");
}

function toKeyView(k: KeyRow, domain: string): DkimKeyView {
  return {
    selector: k.selector,
    algorithm: k.algorithm,
    state: k.state,
    publicKey: k.public_key,
    recordName: dkimRecordName(k.selector, domain),
    recordValue: dkimRecordValue(k.algorithm, k.public_key),
    createdAt: new Date(k.created_at),
    activatedAt: k.activated_at === null ? null : new Date(k.activated_at),
    retireAt: k.retire_at === null ? null : new Date(k.retire_at),
  };
}
