import type { SqlDatabase } from './sql-database.js';

const MIGRATIONS = {
  sqlite: [{ version: 1, sql: 'CREATE TABLE job_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL)' }],
  postgres: [{ version: 1, sql: 'CREATE TABLE job_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at BIGINT NOT NULL)' }],
};

/**
 * Which node runs a periodic job (retention purge, statistics, webhook dispatch, domain checks):
 * one lease row per job. A node runs the job only while it holds the lease, renewing it at each
 * run; a node that dies stops renewing, and another takes the job once the lease has expired.
 * So every job runs on one node of a cluster at a time, with nothing but the shared database.
 */
export interface JobLeases {
  /**
   * True when this node holds the lease on `job` for the next `ttlMs` (taken or renewed now);
   * false while another node's lease has not expired.
   */
  hold(job: string, ttlMs: number): Promise<boolean>;
  /** Gives up this node's leases (a clean stop), so another node takes over at once. */
  releaseAll(): Promise<void>;
}

/** Leases kept in the shared database, for several nodes. */
export class SqlJobLeases implements JobLeases {
  private constructor(
    private readonly db: SqlDatabase,
    readonly owner: string,
    private readonly now: () => number,
  ) {}

  static async open(db: SqlDatabase, owner: string, now: () => number = Date.now): Promise<SqlJobLeases> {
    await db.migrate('jobs', MIGRATIONS);
    return new SqlJobLeases(db, owner, now);
  }

  async hold(job: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    // One statement: take a missing or expired lease, or renew our own; another's live lease stays.
    const { changes } = await this.db.run(
      `INSERT INTO job_leases (name, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE job_leases.owner = excluded.owner OR job_leases.expires_at <= ?`,
      [job, this.owner, now + ttlMs, now],
    );
    return changes > 0;
  }

  async releaseAll(): Promise<void> {
    await this.db.run('DELETE FROM job_leases WHERE owner = ?', [this.owner]);
  }
}

/** A node alone on its database (the embedded SQLite deployment): every job is always its own. */
export const soloJobLeases: JobLeases = {
  hold: async () => true,
  releaseAll: async () => {},
};

/** A job that can be started and stopped (a feeder, the webhook dispatcher, a sweeper). */
export interface StoppableJob {
  stop(): void | Promise<void>;
}

export interface LeasedJob<J extends StoppableJob> {
  /** The running job while this node holds its lease; null otherwise. */
  current(): J | null;
  /** Resolves when the lease check in progress (or the last one) has finished. */
  checked(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs `start()`'s job on this node only while it holds the job's lease: tries to take or renew it
 * every `ttlMs / 3`, starts the job when it gets the lease, stops it when another node has it.
 * A node that dies stops renewing, and another node starts the job within `ttlMs`.
 */
export function runWhileLeased<J extends StoppableJob>(options: {
  leases: JobLeases;
  job: string;
  start: () => J;
  ttlMs?: number;
  onError?: (err: unknown) => void;
}): LeasedJob<J> {
  const ttlMs = options.ttlMs ?? 30_000;
  let running: J | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> = Promise.resolve();
  const check = async () => {
    let held = false;
    try {
      held = await options.leases.hold(options.job, ttlMs);
    } catch (err) {
      // Without an answer the lease may lapse: stop rather than risk two nodes running the job.
      options.onError?.(err);
    }
    if (stopped) return;
    if (held && !running) running = options.start();
    else if (!held && running) {
      const job = running;
      running = null;
      await job.stop();
    }
  };
  const tick = () => {
    checking = check().finally(() => {
      if (!stopped) {
        // Kept referenced: stop() clears it, and a node's jobs are what it is there for.
        timer = setTimeout(tick, Math.max(1, Math.floor(ttlMs / 3)));
      }
    });
  };
  tick();
  return {
    current: () => running,
    checked: () => checking,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await checking;
      const job = running;
      running = null;
      await job?.stop();
    },
  };
}
