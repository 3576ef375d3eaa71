import type { SqlDatabase } from '../storage/index.js';

/**
 * Connections to one destination domain, counted across every node of a cluster: a node opens a
 * connection only while it holds one of the domain's `limit` numbered slots. A slot is leased
 * (owner + expiry) like claimed work, so a node that dies holds its slots only until they expire.
 */
export interface DestinationSlots {
  /**
   * Takes a free (or expired) slot of `domain` for `owner`: true when it is ours until
   * now + ttlMs, false when all `limit` slots are held by live leases (or the race for the last
   * free ones was lost; the caller asks again later).
   */
  acquire(domain: string, limit: number, owner: string, now: Date, ttlMs: number): Promise<boolean>;
  /** Gives back one of `owner`'s slots of `domain` (the attempt that held it ended). */
  release(domain: string, owner: string): Promise<void>;
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

/** Free slot numbers tried per acquire: each failed try means another node just took that one. */
const TRIES = 3;

/**
 * Slots kept in the shared database (SQLite or PostgreSQL). One row per held slot; the primary
 * key (domain, slot) is what makes two nodes unable to hold the same slot, and the upsert takes
 * over a row only once its lease has expired.
 */
export class SqlDestinationSlots implements DestinationSlots {
  private constructor(private readonly db: SqlDatabase) {}

  static async open(db: SqlDatabase): Promise<SqlDestinationSlots> {
    await db.migrate('destination_slots', MIGRATIONS);
    return new SqlDestinationSlots(db);
  }

  async acquire(domain: string, limit: number, owner: string, now: Date, ttlMs: number): Promise<boolean> {
    const at = now.getTime();
    const rows = await this.db.all<{ slot: number; expires_at: number }>('SELECT slot, expires_at FROM destination_slots WHERE domain = ?', [domain]);
    const live = new Set(rows.filter((r) => Number(r.expires_at) > at).map((r) => Number(r.slot)));
    // Live rows numbered past the limit (it was lowered) still are connections: count them all.
    if (live.size >= limit) return false;
    let tries = 0;
    for (let slot = 0; slot < limit && tries < TRIES; slot++) {
      if (live.has(slot)) continue;
      tries++;
      // Inserts a free number; on a held one, the WHERE lets only an expired lease be taken over.
      // A node racing us for the same number is serialised by the key: one of us changes nothing.
      const { changes } = await this.db.run(
        `INSERT INTO destination_slots (domain, slot, owner, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (domain, slot) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE destination_slots.expires_at <= ?`,
        [domain, slot, owner, at + ttlMs, at],
      );
      if (changes > 0) return true;
    }
    return false;
  }

  async release(domain: string, owner: string): Promise<void> {
    // Our slots of a domain are interchangeable; the one expiring first goes, so those left for
    // our other attempts keep the later expiries (never an early end while one still runs).
    // owner is checked again outside the subquery: a row taken over meanwhile is not ours.
    await this.db.run(
      `DELETE FROM destination_slots WHERE domain = ? AND owner = ? AND slot =
         (SELECT slot FROM destination_slots WHERE domain = ? AND owner = ? ORDER BY expires_at, slot LIMIT 1)`,
      [domain, owner, domain, owner],
    );
  }

  async releaseAll(owner: string): Promise<void> {
    await this.db.run('DELETE FROM destination_slots WHERE owner = ?', [owner]);
  }
}
