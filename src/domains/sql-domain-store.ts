import { randomInt } from 'node:crypto';
import { normalizeDomain, systemClock, type Clock } from '../core/index.js';
import { migrate, SqliteChangeCounter, type SqliteDatabase } from '../storage/index.js';
import { chooseSelector, DKIM_ALGORITHMS, dkimRecordName, dkimRecordValue, generateDkimKey, isDkimAlgorithm, signingAlgorithm } from './dkim-keys.js';
import { checkAccountId, checkReturnPath, DomainsError, normalizeSendingDomain, parentDomains } from './names.js';
import { MIGRATIONS } from './sqlite-schema.js';
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

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

interface StoredResult {
  ok: boolean;
  checkedAt: number;
  records: RecordCheck[];
}

/**
 * An account's sending domains, their DKIM keys and their verification state, in the embedded
 * SQLite database. Scoped by account throughout: another account's domain is simply not found.
 * The lookups the accept pipeline makes per message (development mode, the sending domain, its
 * keys) are answered from memory while the `domains` change counter stands still; it is read
 * first on every lookup and moved by triggers on every write, the CLI's included. Rows are kept,
 * not answers: a status that depends on the time (the failing grace period) is judged at the lookup.
 */
export class SqliteDomainStore {
  private readonly clock: Clock;
  private readonly retireAfterMs: number;
  private readonly graceMs: number;
  private readonly stmts;
  private readonly changes: SqliteChangeCounter;
  private readonly developmentModes = new Map<string, boolean>();
  /** Rows by account and (normalised) name, null: none; only for the lookups below. */
  private readonly rowsByName = new Map<string, DomainRow | null>();
  private readonly activeKeyRows = new Map<string, KeyRow[]>();
  private readonly recordStates = new WeakMap<DomainRow, Record<string, RecordStatus>>();

  constructor(
    private readonly db: SqliteDatabase,
    options: DomainStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.retireAfterMs = options.retireAfterMs ?? RETIRE_AFTER_MS;
    this.graceMs = options.failingGraceMs ?? FAILING_GRACE_MS;
    migrate(db, 'domains', MIGRATIONS);
    this.changes = new SqliteChangeCounter(db, 'domains');
    const keyOrder = "ORDER BY created_at, CASE algorithm WHEN 'rsa' THEN 0 ELSE 1 END, selector";
    this.stmts = {
      owner: db.prepare('SELECT account_id FROM domains WHERE name = ?'),
      byName: db.prepare('SELECT * FROM domains WHERE account_id = ? AND name = ?'),
      ofAccount: db.prepare('SELECT * FROM domains WHERE account_id = ? ORDER BY name'),
      all: db.prepare('SELECT * FROM domains ORDER BY account_id, name'),
      schedule: db.prepare('SELECT account_id, name, verified_at, failing_since, checked_at FROM domains ORDER BY checked_at NULLS FIRST'),
      byReturnPath: db.prepare('SELECT account_id, name, return_path FROM domains WHERE return_path = ? ORDER BY created_at LIMIT 1'),
      keys: db.prepare(`SELECT * FROM dkim_keys WHERE domain_id = ? ${keyOrder}`),
      activeKeys: db.prepare(`SELECT * FROM dkim_keys WHERE domain_id = ? AND state = 'active' AND private_key IS NOT NULL ${keyOrder}`),
      insertDomain: db.prepare('INSERT INTO domains (id, account_id, name, return_path, created_at) VALUES (?, ?, ?, ?, ?)'),
      insertKey: db.prepare(
        'INSERT INTO dkim_keys (domain_id, selector, algorithm, state, public_key, private_key, created_at, activated_at) VALUES (@domainId, @selector, @algorithm, @state, @publicKey, @privateKey, @createdAt, @activatedAt)',
      ),
      deleteKeys: db.prepare('DELETE FROM dkim_keys WHERE domain_id = ?'),
      deleteDomain: db.prepare('DELETE FROM domains WHERE id = ?'),
      deletePending: db.prepare("DELETE FROM dkim_keys WHERE domain_id = ? AND state = 'pending'"),
      activate: db.prepare("UPDATE dkim_keys SET state = 'active', activated_at = ? WHERE domain_id = ? AND selector = ? AND state = 'pending'"),
      retireOld: db.prepare("UPDATE dkim_keys SET state = 'retiring', retire_at = ? WHERE domain_id = ? AND algorithm = ? AND state = 'active' AND selector != ?"),
      dueToRetire: db.prepare("SELECT selector FROM dkim_keys WHERE domain_id = ? AND state = 'retiring' AND retire_at <= ?"),
      // The private key is destroyed; the row stays so the selector is never handed out again.
      retire: db.prepare("UPDATE dkim_keys SET state = 'retired', private_key = NULL, retired_at = ? WHERE domain_id = ? AND selector = ?"),
      updateVerification: db.prepare(
        'UPDATE domains SET verified_at = @verifiedAt, failing_since = @failingSince, checked_at = @checkedAt, last_result = @result, record_states = @states WHERE id = @id',
      ),
      settings: db.prepare('SELECT development_mode FROM domain_settings WHERE account_id = ?'),
      setDevelopment: db.prepare(
        'INSERT INTO domain_settings (account_id, development_mode) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET development_mode = excluded.development_mode',
      ),
    };
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
    this.checkFree(accountId, domain, returnPath);
    const keys = await Promise.all(algorithms.map(generateDkimKey));
    const now = this.clock.now();
    const id = newDomainId();
    try {
      this.db
        .transaction(() => {
          // Again inside the write: another add may have taken the name while keys were made.
          this.checkFree(accountId, domain, returnPath);
          this.stmts.insertDomain.run(id, accountId, domain, returnPath, now.getTime());
          const taken = new Set<string>();
          for (const key of keys) {
            const selector = chooseSelector(now, key.algorithm, taken);
            taken.add(selector);
            this.stmts.insertKey.run({ domainId: id, selector, algorithm: key.algorithm, state: 'active', publicKey: key.publicKey, privateKey: key.privateKey, createdAt: now.getTime(), activatedAt: now.getTime() });
          }
        })
        .immediate();
    } catch (err) {
      if (isUniqueViolation(err)) this.checkFree(accountId, domain, returnPath);
      throw err;
    }
    return this.get(accountId, domain)!;
  }

  list(accountId: string): DomainView[] {
    const now = this.clock.now().getTime();
    return (this.stmts.ofAccount.all(accountId) as DomainRow[]).map((row) => this.toView(row, now));
  }

  /** Every account's domains: for the monitor and operators, never for an account's own view. */
  listAll(): DomainView[] {
    const now = this.clock.now().getTime();
    return (this.stmts.all.all() as DomainRow[]).map((row) => this.toView(row, now));
  }

  /** Every domain's status and last check time, in one query: what the monitor needs to pick the due ones. */
  checkSchedule(): { accountId: string; name: string; status: DomainStatus; checkedAt: Date | null }[] {
    const now = this.clock.now().getTime();
    return (this.stmts.schedule.all() as Pick<DomainRow, 'account_id' | 'name' | 'verified_at' | 'failing_since' | 'checked_at'>[]).map((row) => ({
      accountId: row.account_id,
      name: row.name,
      status: this.statusOf(row, now),
      checkedAt: row.checked_at === null ? null : new Date(row.checked_at),
    }));
  }

  get(accountId: string, name: string): DomainView | null {
    const row = this.row(accountId, name);
    return row ? this.toView(row, this.clock.now().getTime()) : null;
  }

  /** Removes the domain and destroys its keys; false when the account has no such domain. */
  delete(accountId: string, name: string): boolean {
    return this.db
      .transaction(() => {
        const row = this.row(accountId, name);
        if (!row) return false;
        this.stmts.deleteKeys.run(row.id);
        this.stmts.deleteDomain.run(row.id);
        return true;
      })
      .immediate();
  }

  /**
   * Starts a key rotation: a new `pending` key per algorithm in use, published beside the current
   * ones, which keep signing. The switch happens in `recordVerification`, once a check sees the
   * new record published correctly. null when the account has no such domain.
   */
  async rotateDkim(accountId: string, name: string): Promise<DomainView | null> {
    const row = this.row(accountId, name);
    if (!row) return null;
    const keys = this.keyRows(row.id);
    this.checkNoRotation(row, keys);
    const inUse = new Set(keys.filter((k) => k.state === 'active').map((k) => k.algorithm));
    const algorithms = inUse.size > 0 ? DKIM_ALGORITHMS.filter((a) => inUse.has(a)) : (['rsa'] as DkimAlgorithm[]);
    const generated = await Promise.all(algorithms.map(generateDkimKey));
    const now = this.clock.now();
    const done = this.db
      .transaction(() => {
        const current = this.row(accountId, name);
        if (!current || current.id !== row.id) return false;
        const currentKeys = this.keyRows(row.id);
        this.checkNoRotation(row, currentKeys);
        const taken = new Set(currentKeys.map((k) => k.selector));
        for (const key of generated) {
          const selector = chooseSelector(now, key.algorithm, taken);
          taken.add(selector);
          this.stmts.insertKey.run({ domainId: row.id, selector, algorithm: key.algorithm, state: 'pending', publicKey: key.publicKey, privateKey: key.privateKey, createdAt: now.getTime(), activatedAt: null });
        }
        return true;
      })
      .immediate();
    return done ? this.get(accountId, name) : null;
  }

  /** Abandons a rotation whose new record was never published: the pending keys are deleted. */
  cancelRotation(accountId: string, name: string): DomainView | null {
    const row = this.row(accountId, name);
    if (!row) return null;
    this.stmts.deletePending.run(row.id);
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
  recordVerification(accountId: string, name: string, result: VerificationResult): VerificationOutcome | null {
    const now = this.clock.now().getTime();
    const at = result.checkedAt.getTime();
    return this.db
      .transaction((): VerificationOutcome | null => {
        const row = this.row(accountId, name);
        if (!row) return null;
        const before = this.statusOf(row, now);
        // A check older than the stored one, or than the domain itself (deleted and added again
        // while the check ran), says nothing about the domain as it is now.
        if ((row.checked_at !== null && at < row.checked_at) || at < row.created_at) {
          return { domain: this.toView(row, now), before, after: before, changed: [], activated: [], retired: [] };
        }
        // A DKIM check counts for a key only if it looked for that key's own record.
        const keyRows = this.keyRows(row.id);
        const checkOf = (selector: string) => {
          const key = keyRows.find((k) => k.selector === selector);
          return result.records.find(
            (r) => r.purpose === 'dkim' && r.selector === selector && r.name === dkimRecordName(selector, row.name) && key !== undefined && r.expected === dkimRecordValue(key.algorithm, key.public_key),
          );
        };

        const activated: string[] = [];
        for (const key of keyRows) {
          if (key.state !== 'pending' || checkOf(key.selector)?.status !== 'ok') continue;
          this.stmts.retireOld.run(at + this.retireAfterMs, row.id, key.algorithm, key.selector);
          this.stmts.activate.run(at, row.id, key.selector);
          activated.push(key.selector);
        }
        const retired = (this.stmts.dueToRetire.all(row.id, now) as { selector: string }[]).map((r) => r.selector);
        for (const selector of retired) this.stmts.retire.run(now, row.id, selector);

        const active = this.keyRows(row.id).filter((k) => k.state === 'active');
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
        this.stmts.updateVerification.run({ id: row.id, verifiedAt, failingSince, checkedAt: at, result: JSON.stringify(stored), states: JSON.stringify(states) });
        const updated = this.row(accountId, name)!;
        return { domain: this.toView(updated, now), before, after: this.statusOf(updated, now), changed, activated, retired };
      })
      .immediate();
  }

  /**
   * The keys to sign a message from `domain` with, or null when the account may not sign for it.
   * The most specific of the account's verified (or still failing) domains that equals `domain`
   * or is a parent of it is used, with that domain as `d=`: under DMARC's default relaxed
   * alignment (RFC 7489 §3.1.1) a d=example.com signature aligns with From: mail.example.com.
   */
  signingKeysFor(accountId: string, domain: string): SigningKey[] | null {
    this.fresh();
    const row = this.sendingDomain(accountId, domain);
    if (!row) return null;
    let active = this.activeKeyRows.get(row.id);
    if (!active) this.activeKeyRows.set(row.id, (active = this.stmts.activeKeys.all(row.id) as KeyRow[]));
    const keys = active.map((k) => ({
      domain: row.name,
      selector: k.selector,
      algorithm: signingAlgorithm(k.algorithm),
      privateKey: k.private_key!,
    }));
    return keys.length > 0 ? keys : null;
  }

  /** May the account send with a From at `domain`: the signing rule above, or development mode. */
  isSenderAllowed(accountId: string, domain: string): boolean {
    this.fresh();
    return this.developmentModeOf(accountId) || this.sendingDomain(accountId, domain) !== null;
  }

  /** The return-path (bounce) domain for mail from `domain`, by the signing rule above; null when none. */
  returnPathFor(accountId: string, domain: string): string | null {
    this.fresh();
    return this.sendingDomain(accountId, domain)?.return_path ?? null;
  }

  /**
   * The host for open and click tracking links in mail from `domain` (by the signing rule above):
   * `track.<domain>` once a check has seen its CNAME pointing at Herald; null until then. The
   * last conclusive check counts, so a passing DNS failure does not switch links back and forth.
   */
  trackingHostFor(accountId: string, domain: string): string | null {
    this.fresh();
    const row = this.sendingDomain(accountId, domain);
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
  returnPathOwner(name: string): { accountId: string; domain: string; returnPath: string } | null {
    const normal = typeof name === 'string' ? normalizeDomain(name) : '';
    if (!normal) return null;
    const row = this.stmts.byReturnPath.get(normal) as { account_id: string; name: string; return_path: string } | undefined;
    return row ? { accountId: row.account_id, domain: row.name, returnPath: row.return_path } : null;
  }

  /**
   * Development mode lets the account send from any domain, verified or not, unsigned where no
   * verified domain covers it. For local testing only: mail from unverified domains fails SPF,
   * DKIM and DMARC at real receivers, and allowing it lets an account send as anyone.
   */
  setDevelopmentMode(accountId: string, on: boolean): void {
    checkAccountId(accountId);
    this.stmts.setDevelopment.run(accountId, on ? 1 : 0);
  }

  developmentMode(accountId: string): boolean {
    this.fresh();
    return this.developmentModeOf(accountId);
  }

  /** Drops what the lookups keep when the domains, keys or settings changed since the last look. */
  private fresh(): void {
    if (!this.changes.moved()) return;
    this.developmentModes.clear();
    this.rowsByName.clear();
    this.activeKeyRows.clear();
  }

  /** After fresh(). */
  private developmentModeOf(accountId: string): boolean {
    let on = this.developmentModes.get(accountId);
    if (on === undefined) {
      on = (this.stmts.settings.get(accountId) as { development_mode: number } | undefined)?.development_mode === 1;
      if (this.developmentModes.size >= LOOKUP_CACHE_MAX) this.developmentModes.clear();
      this.developmentModes.set(accountId, on);
    }
    return on;
  }

  private row(accountId: string, name: string): DomainRow | null {
    if (typeof accountId !== 'string' || typeof name !== 'string') return null;
    const normal = normalizeDomain(name);
    if (!normal) return null;
    return (this.stmts.byName.get(accountId, normal) as DomainRow | undefined) ?? null;
  }

  private keyRows(domainId: string): KeyRow[] {
    return this.stmts.keys.all(domainId) as KeyRow[];
  }

  /** After fresh(). */
  private sendingDomain(accountId: string, domain: string): DomainRow | null {
    const name = typeof domain === 'string' ? normalizeDomain(domain) : '';
    if (!name || typeof accountId !== 'string') return null;
    const now = this.clock.now().getTime();
    for (const candidate of parentDomains(name)) {
      const key = `${accountId}\n${candidate}`;
      let row = this.rowsByName.get(key);
      if (row === undefined) {
        row = (this.stmts.byName.get(accountId, candidate) as DomainRow | undefined) ?? null;
        if (this.rowsByName.size >= LOOKUP_CACHE_MAX) this.rowsByName.clear();
        this.rowsByName.set(key, row);
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
  private checkFree(accountId: string, domain: string, returnPath: string): void {
    const owner = this.stmts.owner.get(domain) as { account_id: string } | undefined;
    if (owner) {
      throw new DomainsError(
        'domain_taken',
        owner.account_id === accountId
          ? `${domain} is already one of this account's domains`
          : `${domain} is already in use by another account on this Herald; if the domain is yours, ask the operator to remove it there`,
      );
    }
    if (this.stmts.byReturnPath.get(domain)) {
      throw new DomainsError('domain_taken', `${domain} is already the return-path (bounce) domain of another domain on this Herald, so it cannot be a sending domain too`);
    }
    // One bounce domain per sending domain: its MX and the bounces arriving there belong to one owner.
    if (this.stmts.owner.get(returnPath) || this.stmts.byReturnPath.get(returnPath)) {
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

  private toView(row: DomainRow, now: number): DomainView {
    const status = this.statusOf(row, now);
    const stored = row.last_result === null ? null : (JSON.parse(row.last_result) as StoredResult);
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
      dkim: this.keyRows(row.id)
        .filter((k) => k.state !== 'retired')
        .map((k) => toKeyView(k, row.name)),
      createdAt: new Date(row.created_at),
    };
  }
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
