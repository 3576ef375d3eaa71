import type { SqlDatabase } from '../storage/index.js';

/**
 * Connections to one destination domain, counted across every node of a cluster: a node opens a
 * connection only while it holds one of the domain's `limit` numbered slots. A slot is leased
 * (owner + expiry) like claimed work, so a node that dies holds its slots only until they expire.
 */
export interface DestinationSlots {
  /**
   * Takes a free (or expired) slot of `domain` for `owner`: its number when it is ours until
   * now + ttlMs, null when all `limit` slots are held by live leases (the caller asks again later).
   */
  acquire(domain: string, limit: number, owner: string, now: Date, ttlMs: number): Promise<number | null>;
  /** Gives back the slot `acquire` returned (the attempt that held it ended); a no-op once taken over. */
  release(domain: string, slot: number, owner: string): Promise<void>;
  /** Gives back every slot of `owner` (a graceful stop), so other nodes may use them at once. */
  releaseAll(owner: string): Promise<void>;
}

const MIGRATIONS = {
  sqlite: [
    {
      version: 1,
      sql: `CREATE TABLE destination_slots (domain TEXT NOT NULL, slot INTEGER NOT NULL, owner TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (domain, slot)) WITHOUT ROWID;
            CREATE INDEX destination_slots_owner ON destination_slots (owner);`,
    },
  ],
  postgres: [
    {
      version: 1,
      sql: `CREATE TABLE destination_slots (domain TEXT NOT NULL, slot INTEGER NOT NULL, owner TEXT NOT NULL, expires_at BIGINT NOT NULL, PRIMARY KEY (domain, slot));
            CREATE INDEX destination_slots_owner ON destination_slots (owner);`,
    },
  ],
};

/**
 * Takes the lowest slot number of the domain that has no live lease, unless the live leases
 * already number `limit` (rows numbered past the limit, left by a higher limit, still are
 * connections). A free number is inserted; an expired row is taken over by the upsert, whose WHERE
 * is checked against the row as committed: a node that took the same number after this
 * statement's snapshot makes it change nothing, never a second holder.
 */
const TAKE = (slotNumbers: string) => `INSERT INTO destination_slots (domain, slot, owner, expires_at)
  SELECT ?, s.slot, ?, ? FROM ${slotNumbers}
  WHERE (SELECT count(*) FROM destination_slots WHERE domain = ? AND expires_at > ?) < ?
    AND NOT EXISTS (SELECT 1 FROM destination_slots d WHERE d.domain = ? AND d.slot = s.slot AND d.expires_at > ?)
  ORDER BY s.slot LIMIT 1
  ON CONFLICT (domain, slot) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
  WHERE destination_slots.expires_at <= ?
  RETURNING slot`;

// SQLite runs the statement under its write lock: nothing returned means the domain is full.
const SQLITE_TAKE = `WITH RECURSIVE s(slot) AS (SELECT 0 UNION ALL SELECT slot + 1 FROM s WHERE slot + 1 < ?)
  ${TAKE('s')}`;

// PostgreSQL: nothing returned is either a full domain or a race lost to another node; the live
// count as this statement saw it tells which (a lost race is asked again at once).
const POSTGRES_TAKE = `WITH taken AS (${TAKE('generate_series(0, CAST(? AS INTEGER) - 1) AS s(slot)')})
  SELECT (SELECT slot FROM taken) AS slot, (SELECT count(*) FROM destination_slots WHERE domain = ? AND expires_at > ?) AS live`;

/**
 * Slots kept in the shared database (SQLite or PostgreSQL). One row per held slot; the primary
 * key (domain, slot) is what makes two nodes unable to hold the same slot, and the upsert takes
 * over a row only once its lease has expired. An acquire is one statement (plus one more per race
 * lost to another node), a release one DELETE by its key.
 */
export class SqlDestinationSlots implements DestinationSlots {
  /**
   * This node's acquires of one domain run one after the other: asked at once, they would all pick
   * the same lowest free number, and all but one lose the race to their own node.
   */
  private readonly asking = new Map<string, Promise<unknown>>();

  private constructor(private readonly db: SqlDatabase) {}

  static async open(db: SqlDatabase): Promise<SqlDestinationSlots> {
    await db.migrate('destination_slots', MIGRATIONS);
    return new SqlDestinationSlots(db);
  }

  acquire(domain: string, limit: number, owner: string, now: Date, ttlMs: number): Promise<number | null> {
    const taking = (this.asking.get(domain) ?? Promise.resolve()).then(() => this.take(domain, limit, owner, now.getTime(), ttlMs));
    const settled = taking.catch(() => undefined);
    this.asking.set(domain, settled);
    void settled.then(() => {
      if (this.asking.get(domain) === settled) this.asking.delete(domain);
    });
    return taking;
  }

  private async take(domain: string, limit: number, owner: string, at: number, ttlMs: number): Promise<number | null> {
    if (limit < 1) return null;
    // TAKE's placeholders in order; the one for the slot numbers comes first on SQLite (in its
    // WITH), fourth on PostgreSQL (in FROM).
    const values = [domain, owner, at + ttlMs];
    const where = [domain, at, limit, domain, at, at];
    if (this.db.dialect === 'sqlite') {
      const got = await this.db.get<{ slot: number }>(SQLITE_TAKE, [limit, ...values, ...where]);
      return got ? Number(got.slot) : null;
    }
    // Each lost race means another node took a number this statement saw free, and the next try
    // sees it live: without releases meanwhile, limit + 1 tries end in a slot or a full domain.
    for (let tries = 0; tries <= limit; tries++) {
      const got = await this.db.get<{ slot: number | null; live: number | string }>(POSTGRES_TAKE, [...values, limit, ...where, domain, at]);
      if (got?.slot != null) return Number(got.slot);
      if (Number(got?.live ?? limit) >= limit) return null;
    }
    return null;
  }

  async release(domain: string, slot: number, owner: string): Promise<void> {
    // owner is checked: a row taken over after our lease expired is not ours to delete.
    await this.db.run('DELETE FROM destination_slots WHERE domain = ? AND slot = ? AND owner = ?', [domain, slot, owner]);
  }

  async releaseAll(owner: string): Promise<void> {
    await this.db.run('DELETE FROM destination_slots WHERE owner = ?', [owner]);
  }
}
